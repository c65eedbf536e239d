"""Readable views of per-sample tables in the book: transcripts instead of cramped table cells.

Introduced in ``00-models-and-benchmarks``; every chapter that shows raw completions uses ``transcripts``.
"""

from __future__ import annotations

import html
from collections.abc import Mapping

import pandas as pd
from IPython.display import HTML

from ..methods.analysis import LoopSpec, marked_html

_STYLE = ("border:1px solid #ddd;border-radius:6px;padding:0.6em 0.9em;margin:0.8em 0;"
          "font-size:0.9em;line-height:1.45")
_TEXT = "white-space:pre-wrap;font-family:var(--pst-font-family-monospace, monospace);margin:0.3em 0 0"


def transcripts(samples: pd.DataFrame, *, text: str = "completion", title: str = "question",
                facts: tuple[str, ...] = ("item_id", "gold", "completion_tokens", "finish_reason"),
                max_chars: int = 4000) -> HTML:
    """One box per row: the ``facts`` in a line, the ``title`` text, then the raw ``text`` as written.

    Texts longer than ``max_chars`` are cut in the middle (the stored table keeps them whole).
    """
    boxes = []
    for row in samples.to_dict("records"):
        body = str(row[text])
        if len(body) > max_chars:
            half = max_chars // 2
            body = f"{body[:half]}\n[… {len(body) - max_chars} characters not shown …]\n{body[-half:]}"
        line = " · ".join(f"<b>{html.escape(f)}</b> {html.escape(str(row[f]))}" for f in facts if f in row)
        boxes.append(f'<div style="{_STYLE}"><div>{line}</div>'
                     f'<div style="margin-top:0.4em"><i>{html.escape(str(row[title]))}</i></div>'
                     f'<pre style="{_TEXT}">{html.escape(body)}</pre></div>')
    return HTML("\n".join(boxes))


def side_by_side(case: pd.DataFrame, *, spec=None, max_chars: int = 6000) -> HTML:
    """A case study: the traces of ``analysis.case_traces`` (or ``paper_case``) in columns, loops shaded and
    reflection markers in bold (``analysis.marked_html``), each headed by its measures. Longer traces show their
    first ``max_chars`` characters (the measures are of the whole trace)."""
    spec = spec or LoopSpec()
    facts = ("correct", "hit budget", "loop fraction", "Self-BLEU", "reflections per 1k")
    columns = []
    for row in case.to_dict("records"):
        text = row["text"]
        tail = f"\n[… {len(text) - max_chars} more characters …]" if len(text) > max_chars else ""
        line = " · ".join(f"<b>{html.escape(f)}</b> {html.escape(str(row[f]))}" for f in facts)
        columns.append(f'<div style="flex:1;min-width:18em;{_STYLE}"><div><b>{html.escape(row["label"])}</b></div>'
                       f'<div style="font-size:0.9em">{line}</div>'
                       f'<pre style="{_TEXT};max-height:32em;overflow:auto">'
                       f'{marked_html(text, spec, max_chars)}{html.escape(tail)}</pre></div>')
    first = case.iloc[0]
    head = (f'<div><i>{html.escape(str(first["question"]))}</i> · <b>gold</b> {html.escape(str(first["gold"]))} · '
            f'<span style="background:#fde2c8">shaded: loop</span> · '
            f'<b style="color:#1f5fa8">bold: reflection marker</b></div>')
    return HTML(head + f'<div style="display:flex;gap:0.8em;flex-wrap:wrap">{"".join(columns)}</div>')


def glue_numbers(numbers: Mapping[str, str]) -> None:
    """Glue each of a chapter's prose numbers under its key, for ``{glue:text}`` roles in the page's markdown (the
    prose types no number of its own)."""
    from myst_nb import glue  # the book's renderer; only a page being executed needs it

    for key, text in numbers.items():
        glue(key, text, display=False)
