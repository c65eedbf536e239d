"""Readable views of per-sample tables in the book: transcripts instead of cramped table cells.

Introduced in ``00-models-and-benchmarks``; every chapter that shows raw completions uses ``transcripts``.
"""

from __future__ import annotations

import html

import pandas as pd
from IPython.display import HTML

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
