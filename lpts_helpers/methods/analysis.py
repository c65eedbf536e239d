"""Why test-time scaling breaks: loops, lost diversity and vanishing self-reflection, measured on traces.

The paper explains the collapse of pruned models by three things it sees in their reasoning traces (PAPER.md,
"Analyses"). This module measures each on any per-sample table (an evaluation run, or the paper's own s1.1-7B
traces), on the *reasoning text* of a sample: its thinking section when it wrote one, else its whole completion.

- **Loops** (``loop_stats``). Tokens are words and single punctuation marks (``TOKEN``), lower-cased. A repeated
  span is an n-gram of ``n`` tokens occurring at least ``min_repeats`` times in the trace; every token inside the
  second or a later occurrence of a repeated span is a *looping token*. The looping fraction is looping tokens /
  tokens, and a trace *loops* when that fraction is at least ``min_fraction``. Whether the sample hit its budget
  (thinking cut, or generation stopped by the token limit) is reported beside it: a loop that never ends is what
  runs a trace into its budget.
- **Diversity**. ``self_bleu_within`` is the paper's Self-BLEU: the response split into sentences (NLTK's Punkt
  splitter, untrained because its English model cannot be downloaded offline; optionally also at line breaks,
  for traces that write one step per line and no sentence punctuation), each sentence scored with NLTK's
  ``sentence_bleu`` (4-gram, smoothing method 4, NLTK word tokens) against all other sentences of the response,
  averaged; a response of fewer than two sentences scores 0. ``self_bleu_across`` is the cross-sample
  complement: each of a problem's n samples scored against the other n − 1. Both on a 0–100 scale; higher is more
  repetitive. (Within-trace Self-BLEU costs time quadratic in the number of sentences: ~17 s for a 500-sentence
  s1.1-7B trace on this CPU.)
- **Self-reflection**. ``reflection_stats`` counts reflection markers (``MARKERS``: verification phrases such as
  "let me check", "verify", "double-check"; backtracking words such as "wait", "alternatively", "actually") per
  1,000 tokens (``TOKEN`` tokens, so that models with different tokenizers compare), leaving out markers inside
  a loop (a "Wait" repeated by a loop is not a new reflection), and asks of each marker whether it changed the
  running answer: the last number stated before the marker does not occur again between
  the marker and the next one (a marker with no number before or after it is not judged). ``ReflectionJudge``
  is the paper's measure: an LLM at any OpenAI-compatible endpoint counts answer-verification, backtracking and
  subgoal-setting steps per trace, counting repeated text once; where both ran, ``judge_agreement`` reports the
  rank correlation between the judge's and the lexical counts.

``AnalysisConfig`` stores the per-sample measures of one source through the run store, so the chapter re-renders
from stored results. Chapter ``08-why-scaling-breaks`` (``chapters.ch08_traces``) shows them per pruned variant.
"""

from __future__ import annotations

import html
import json
import re
import warnings
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from nltk.tokenize import NLTKWordTokenizer
from nltk.tokenize.punkt import PunktSentenceTokenizer
from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

from ..core import metrics
from ..core.config import ConfigError, StageConfig, knob
from ..core.metrics import interval
from ..core.paths import BENCHMARKS_DIR, REPO_ROOT
from ..core.store import MARKER as COMPLETE
from ..core.store import Run, RunStore, mark_used, verify
from ..tasks.judge import Endpoint, check_endpoint

TOKEN = re.compile(r"\w+|[^\w\s]")
NUMBER = re.compile(r"\d+(?:\.\d+)?")
# Reflection markers by kind; longer phrases first so that "let me verify" counts once, not also as "verify".
MARKERS = {
    "verification": (r"let me (?:double[- ])?check", r"let me verify", r"let's (?:double[- ])?check", r"let's verify",
                     r"double[- ]check(?:ing)?", r"verif(?:y|ying|ied|ication)", r"sanity check"),
    "backtracking": (r"wait", r"alternatively", r"actually", r"hmm+", r"on second thought", r"i made a mistake",
                     r"let me re-?(?:think|consider|do|calculate|compute)"),
}
MARKER = re.compile("|".join(rf"\b(?P<{kind}>{'|'.join(phrases)})\b" for kind, phrases in MARKERS.items()),
                    re.IGNORECASE)
PAPER_EXAMPLE = BENCHMARKS_DIR / "paper_example" / "s1.1-7B_aime24.jsonl"
PAPER_SOURCE = "paper-example"
PAPER_MODEL = "s1.1-7B (paper's traces)"  # how the paper's traces are labelled beside our models
ANALYSIS_VERSION = 1  # bump when a measure's definition changes

_SENTENCES = PunktSentenceTokenizer()  # untrained: the pre-trained English model needs a download
_WORDS = NLTKWordTokenizer()
_SMOOTHING = SmoothingFunction().method4


# --- loops ------------------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LoopSpec:
    """What counts as a loop (see the module docstring)."""

    n: int = 10  # about a clause: a restated formula is not yet a loop (see chapter 08's sensitivity table)
    min_repeats: int = 3
    min_fraction: float = 0.2


def tokens_with_spans(text: str) -> list[tuple[str, int, int]]:
    return [(m.group().lower(), m.start(), m.end()) for m in TOKEN.finditer(text)]


def loop_mask(tokens: list[str], spec: LoopSpec = LoopSpec()) -> np.ndarray:
    """Per token: whether it lies in the second or a later occurrence of an n-gram repeated ``min_repeats`` times."""
    mask = np.zeros(len(tokens), dtype=bool)
    starts: dict[tuple[str, ...], list[int]] = defaultdict(list)
    for i in range(len(tokens) - spec.n + 1):
        starts[tuple(tokens[i:i + spec.n])].append(i)
    for positions in starts.values():
        if len(positions) >= spec.min_repeats:
            for start in positions[1:]:
                mask[start:start + spec.n] = True
    return mask


def loop_stats(text: str, spec: LoopSpec = LoopSpec()) -> dict[str, Any]:
    """Tokens, looping tokens, the looping fraction and whether the trace loops."""
    tokens = [t for t, _, _ in tokens_with_spans(text)]
    looping = int(loop_mask(tokens, spec).sum())
    fraction = looping / len(tokens) if tokens else 0.0
    return {"tokens": len(tokens), "looping_tokens": looping, "loop_fraction": fraction,
            "loops": fraction >= spec.min_fraction}


# --- diversity --------------------------------------------------------------------------------------------------

def sentences(text: str, *, split_lines: bool = False) -> list[list[str]]:
    """NLTK word tokens of each sentence (Punkt), also split at line breaks when ``split_lines``."""
    chunks = text.splitlines() if split_lines else [text]
    found = [_WORDS.tokenize(s) for chunk in chunks for s in _SENTENCES.tokenize(chunk)]
    return [words for words in found if words]


def _bleu(references: list[list[str]], hypothesis: list[str]) -> float:
    with warnings.catch_warnings():  # NLTK warns about zero n-gram overlaps, which smoothing handles
        warnings.simplefilter("ignore")
        return float(sentence_bleu(references, hypothesis, smoothing_function=_SMOOTHING))


def self_bleu_within(text: str, *, split_lines: bool = False) -> float:
    """The paper's Self-BLEU of one response (0–100): each sentence's BLEU against the response's others."""
    units = sentences(text, split_lines=split_lines)
    if len(units) < 2:
        return 0.0
    return 100 * float(np.mean([_bleu(units[:i] + units[i + 1:], unit) for i, unit in enumerate(units)]))


def self_bleu_across(texts: list[str], *, split_lines: bool = False) -> float:
    """Cross-sample Self-BLEU (0–100) of one problem's samples: each sample's BLEU against the others."""
    if len(texts) < 2:
        raise ValueError(f"cross-sample Self-BLEU needs at least 2 samples; got {len(texts)}")
    words = [[w for unit in sentences(t, split_lines=split_lines) for w in unit] for t in texts]
    return 100 * float(np.mean([_bleu(words[:i] + words[i + 1:], w) for i, w in enumerate(words)]))


# --- self-reflection --------------------------------------------------------------------------------------------

def reflection_stats(text: str, spec: LoopSpec = LoopSpec()) -> dict[str, Any]:
    """Reflection markers by kind, their rate per 1,000 tokens, and how many changed the running answer.

    A marker inside a loop (its first token is a looping token, see ``loop_mask``) is a repetition, not a new
    reflection — the paper's judge likewise counts repeated text once — so it is counted in ``repeated_markers``
    and left out of the kinds, the rate and the answer changes."""
    tokens = tokens_with_spans(text)
    looping_starts = {start for looping, (_, start, _) in zip(loop_mask([t for t, _, _ in tokens], spec), tokens)
                      if looping}
    found = list(MARKER.finditer(text))
    fresh = [m for m in found if m.start() not in looping_starts]
    judged = changed = 0
    for i, match in enumerate(fresh):
        before = NUMBER.findall(text[:match.start()])
        after = NUMBER.findall(text[match.end():fresh[i + 1].start() if i + 1 < len(fresh) else len(text)])
        if before and after:
            judged += 1
            changed += float(before[-1]) not in {float(a) for a in after}
    kinds = {kind: sum(m.lastgroup == kind for m in fresh) for kind in MARKERS}
    return {"markers": len(fresh), "repeated_markers": len(found) - len(fresh), **kinds,
            "reflection_rate": 1000 * len(fresh) / len(tokens) if tokens else 0.0,
            "reflections_judged": judged, "answer_changes": changed}


JUDGE_KINDS = ("verification", "backtracking", "subgoal_setting")
_JUDGE_SYSTEM = (
    "You read a language model's reasoning trace for a math problem and count three kinds of step in it. "
    "verification: the model checks a result it already has (re-computes it, substitutes it back, compares with "
    "the problem). backtracking: the model notices a mistake or a dead end and abandons or revises an earlier "
    "step. subgoal_setting: the model splits the problem into smaller goals (\"first find x, then y\"). When the "
    "same text is repeated, count it once. Reply with a JSON object with the integer fields verification, "
    "backtracking and subgoal_setting, and nothing else.")


@dataclass(frozen=True)
class ReflectionJudge(Endpoint):
    """The paper's self-reflection measure: an LLM counts reflection steps per trace (temperature 0)."""

    timeout_s: float = 120.0  # long traces
    max_trace_chars: int = 60_000  # longer traces are cut in the middle, keeping both ends

    def messages(self, question: str, trace: str) -> list[dict[str, str]]:
        if len(trace) > self.max_trace_chars:
            half = self.max_trace_chars // 2
            trace = f"{trace[:half]}\n[…]\n{trace[-half:]}"
        return [{"role": "system", "content": _JUDGE_SYSTEM},
                {"role": "user", "content": f"Problem:\n{question}\n\nReasoning trace:\n{trace}"}]

    def count(self, question: str, trace: str) -> dict[str, float]:
        return parse_counts(self.chat(self.messages(question, trace), max_tokens=64))


def parse_counts(reply: str) -> dict[str, float]:
    """The judge's three counts from its reply (the first JSON object in it); NaN for a missing or bad count."""
    found = re.search(r"\{.*?\}", reply or "", re.DOTALL)
    try:
        values = json.loads(found.group()) if found else {}
    except json.JSONDecodeError:
        values = {}
    counts = {}
    for kind in JUDGE_KINDS:
        value = values.get(kind) if isinstance(values, dict) else None
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0
        counts[kind] = float(value) if ok else float("nan")
    return counts


# --- the traces: evaluation runs and the paper's example ----------------------------------------------------------

def reasoning_text(thinking: str | None, completion: str) -> str:
    """What the measures read: the thinking section when the sample wrote one, else the whole completion."""
    return thinking if thinking and thinking.strip() else completion


def paper_example_samples(path: Path = PAPER_EXAMPLE) -> pd.DataFrame:
    """The paper's s1.1-7B traces (2 AIME 2022 problems × 8 samples) as a per-sample table like ours.

    s1's format: ``<|im_start|>think`` … ``<|im_start|>answer`` …; the thinking is the text before the first answer
    marker. s1's harness appends "Final Answer:" after the answer marker when the thinking budget (8192 tokens) ran
    out, and the model writes "Answer:" itself when it stops thinking on its own, so "Final Answer:" marks a trace
    that hit its budget.
    """
    rows = []
    for line in path.read_text().splitlines():
        record = json.loads(line)
        for sample, (response, extracted, match) in enumerate(zip(record["resps"][0], record["extracted_answers"],
                                                                  record["exact_matches"])):
            thinking, _, answer = response.partition("<|im_start|>answer")
            rows.append({"item_id": f"aime2022-{record['doc']['id']}", "sample": sample,
                         "question": record["doc"]["problem"], "gold": record["target"],
                         "thinking": thinking.removeprefix("<|im_start|>think").strip(), "answer": answer.strip(),
                         "completion": response, "extracted": extracted, "correct": bool(match),
                         "hit_budget": answer.lstrip().startswith("Final Answer:")})
    return pd.DataFrame(rows)


def source_samples(source: str) -> pd.DataFrame:
    """The per-sample table an analysis reads: a finished evaluation run's folder, or ``paper-example``."""
    if source == PAPER_SOURCE:
        return paper_example_samples()
    path = REPO_ROOT / source
    if not (path / COMPLETE).is_file():
        raise FileNotFoundError(f"source={source!r} is not a finished run folder; allowed: {PAPER_SOURCE!r} or an "
                                f"evaluation run folder relative to the repository (data/runs/evaluation/<hash>)")
    verify(path, json.loads((path / COMPLETE).read_text()))  # a damaged table must not be measured
    return by_problem(pd.read_parquet(path / "samples.parquet"))


def by_problem(samples: pd.DataFrame) -> pd.DataFrame:
    """An evaluation table as the measures read it: keyed by problem (an evaluation keys its rows by sample,
    item_id "<problem>#<sample>"), with whether each sample hit its budget."""
    return samples.assign(item_id=samples["problem_id"],
                          hit_budget=samples["thinking_cut"] | (samples["finish_reason"] == "length"))


def run_source(run: Run) -> str:
    """An evaluation run's folder as an analysis source (relative to the repository when inside it)."""
    path = run.path.resolve()
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


@dataclass(frozen=True)
class AnalysisConfig(StageConfig):
    """The three measures of every sample of one source (the run store's "analysis" stage)."""

    STAGE = "analysis"

    source: str = knob(PAPER_SOURCE, doc="an evaluation run folder, or 'paper-example' (the paper's s1.1-7B traces)")
    loop_n: int = knob(10, ge=2, doc="tokens per n-gram of a repeated span")
    loop_repeats: int = knob(3, ge=2, doc="occurrences that make an n-gram a repeated span")
    loop_fraction: float = knob(0.2, ge=0.0, le=1.0, doc="looping fraction from which a trace loops")
    split_lines: bool = knob(False, doc="Self-BLEU sentences also end at line breaks (traces with one step a line)")
    samples_per_problem: int | None = knob(None, ge=1, doc="measure only each problem's first samples; None: all")
    judge_model: str | None = knob(None, doc="the reflection judge's model at judge_base_url; None = no judge")
    judge_base_url: str | None = knob(None, doc="an OpenAI-compatible endpoint, e.g. http://localhost:8000/v1")
    judge_api_key_env: str = knob("OPENAI_API_KEY", doc="environment variable holding the judge's API key")

    def validate(self) -> None:
        if (self.judge_model is None) != (self.judge_base_url is None):
            raise ConfigError(f"judge_model={self.judge_model!r} and judge_base_url={self.judge_base_url!r}: "
                              f"allowed: both set (to use a judge) or both None")
        if self.judge_base_url is not None:
            check_endpoint(self.judge_base_url)

    def versions(self) -> dict[str, int | str]:
        return {"analysis": ANALYSIS_VERSION}

    @property
    def loop_spec(self) -> LoopSpec:
        return LoopSpec(self.loop_n, self.loop_repeats, self.loop_fraction)

    @property
    def judge(self) -> ReflectionJudge | None:
        if self.judge_model is None:
            return None
        return ReflectionJudge(self.judge_base_url, self.judge_model, self.judge_api_key_env)


def measure(samples: pd.DataFrame, config: AnalysisConfig) -> list[dict[str, Any]]:
    """One row per sample of one problem's samples: every measure (cross-sample Self-BLEU shared by the problem)."""
    texts = [reasoning_text(t, c) for t, c in zip(samples.get("thinking", [None] * len(samples)),
                                                  samples["completion"])]
    across = self_bleu_across(texts, split_lines=config.split_lines) if len(texts) > 1 else float("nan")
    judge = config.judge
    rows = []
    for text, sample in zip(texts, samples.to_dict("records")):
        row = {"item_id": sample["item_id"], "sample": int(sample["sample"]), "correct": bool(sample["correct"]),
               "hit_budget": bool(sample["hit_budget"]), **loop_stats(text, config.loop_spec),
               "self_bleu": self_bleu_within(text, split_lines=config.split_lines), "cross_self_bleu": across,
               **reflection_stats(text, config.loop_spec)}
        if judge is not None:
            row.update({f"judge_{k}": v for k, v in judge.count(str(sample["question"]), text).items()})
        rows.append(row)
    return rows


def run_analysis(config: AnalysisConfig, store: RunStore, *, fresh: bool = False) -> Run:
    """The stored measures of ``config.source`` (computed per problem, resumable; read without its source when
    finished)."""
    if not fresh and (finished := store.finished(config)) is not None:
        if config.source != PAPER_SOURCE:
            mark_used(REPO_ROOT / config.source)  # unread, but still these measures' input
        return finished
    samples = source_samples(config.source)
    if config.samples_per_problem is not None:
        samples = samples[samples["sample"] < config.samples_per_problem]
    groups = {item: frame for item, frame in samples.groupby("item_id", sort=False)}
    items = [{"item_id": item} for item in groups]

    def compute(chunk: list[dict]) -> list[dict]:
        return [row for item in chunk for row in measure(groups[item["item_id"]], config)]

    return store.run(config, items, compute, chunk_size=8, fresh=fresh)


# --- summaries --------------------------------------------------------------------------------------------------

# The per-variant summary: label → (the per-sample column, whether only the first sample of a problem counts)
SUMMARY = {
    "accuracy": ("correct", False),
    "loop share": ("loops", False),
    "looping fraction": ("loop_fraction", False),
    "hit budget": ("hit_budget", False),
    "Self-BLEU (within)": ("self_bleu", True),
    "Self-BLEU (across samples)": ("cross_self_bleu", True),
    "reflections per 1k tokens": ("reflection_rate", False),
    "reflections that change the answer": ("change_share", False),
}


def _per_unit(measures: pd.DataFrame, column: str, first_only: bool, unit: str) -> pd.Series:
    frame = measures[measures["sample"] == measures["sample"].min()] if first_only else measures
    frame = frame.assign(change_share=frame["answer_changes"] / frame["reflections_judged"].where(
        frame["reflections_judged"] > 0))
    return frame.groupby(unit, sort=False)[column].mean().astype(float).dropna()


def summarize(measures: pd.DataFrame, *, unit: str = "item_id") -> dict[str, metrics.Estimate | None]:
    """Each summary measure's mean over ``unit`` (problems; or single traces) with its 95% bootstrap CI. Within-
    trace and cross-sample Self-BLEU read the first sample of each problem, as the paper does (every trace when the
    unit is the trace); a measure with no value (one sample per problem for cross-sample Self-BLEU, no judged
    reflection) is None."""
    summary = {}
    for label, (column, first_only) in SUMMARY.items():
        values = _per_unit(measures.assign(unit_id=_unit_ids(measures, unit)), column,
                           first_only and unit == "item_id", "unit_id")
        summary[label] = metrics.bootstrap_ci(values.to_numpy()) if len(values) else None
    return summary


def _unit_ids(measures: pd.DataFrame, unit: str) -> pd.Series:
    if unit == "item_id":
        return measures["item_id"]
    if unit == "trace":
        return measures["item_id"].astype(str) + "#" + measures["sample"].astype(str)
    raise ValueError(f"unit={unit!r} is not allowed; allowed: 'item_id', 'trace'")


def summary_row(summary: dict[str, metrics.Estimate | None]) -> dict[str, Any]:
    """A summary as one table row: each measure's value, low and high, and its text with the interval."""
    row = {}
    for label, estimate in summary.items():
        for part in ("value", "low", "high"):
            row[f"{label} {part}"] = getattr(estimate, part) if estimate else np.nan
        row[label] = measure_interval(estimate)
    return row


def measure_interval(estimate: metrics.Estimate | None) -> str:
    """``metrics.interval``, with one decimal for measures on the 0–100 scale (Self-BLEU, rates)."""
    if estimate is None:
        return "—"
    digits = 1 if max(abs(estimate.value), abs(estimate.high)) >= 10 else 2
    return interval(estimate.value, estimate.low, estimate.high, digits)


def paired_change(unpruned: pd.DataFrame, pruned: pd.DataFrame, label: str) -> metrics.Estimate | None:
    """The change of a summary measure from the unpruned to the pruned model, paired over the same problems."""
    column, first_only = SUMMARY[label]
    before = _per_unit(unpruned, column, first_only, "item_id")
    after = _per_unit(pruned, column, first_only, "item_id")
    common = before.index.intersection(after.index)
    if len(common) == 0:
        return None
    return metrics.paired_difference_ci(before[common].to_numpy(), after[common].to_numpy())


CORRELATED = {"looping fraction": "loop_fraction", "Self-BLEU (within)": "self_bleu",
              "reflections per 1k tokens": "reflection_rate"}


def correlation_with_accuracy(measures: pd.DataFrame, *, unit: str = "item_id") -> pd.DataFrame:
    """Spearman correlation of each measure with correctness over all samples, with a 95% CI from resampling
    ``unit`` (problems: the samples of a problem stay together; or single traces)."""
    rows = []
    for label, column in CORRELATED.items():
        estimate = metrics.correlation_ci(measures[column], measures["correct"].astype(float),
                                          _unit_ids(measures, unit))
        rows.append({"measure": label, "spearman": estimate.value, "low": estimate.low, "high": estimate.high,
                     "samples": len(measures), "problems": estimate.n_problems,
                     "correlation with correct (95% CI)": measure_interval(estimate)})
    return pd.DataFrame(rows)


def judge_agreement(measures: pd.DataFrame) -> pd.DataFrame:
    """Where the judge ran: rank correlation, per trace, of its verification + backtracking count with the
    lexical marker count (and of its verification count with the lexical verification markers)."""
    if "judge_verification" not in measures:
        return pd.DataFrame()
    traces = _unit_ids(measures, "trace")
    pairs = {"verification + backtracking vs all markers": (measures["judge_verification"]
                                                             + measures["judge_backtracking"], measures["markers"]),
             "verification vs verification markers": (measures["judge_verification"], measures["verification"])}
    rows = []
    for label, (judged, lexical) in pairs.items():
        estimate = metrics.correlation_ci(judged, lexical, traces)
        rows.append({"pair": label, "traces": estimate.n_problems, "spearman (95% CI)": measure_interval(estimate)})
    return pd.DataFrame(rows)


# --- case studies -----------------------------------------------------------------------------------------------

def highlights(text: str, spec: LoopSpec = LoopSpec()) -> list[tuple[int, int, str]]:
    """Character spans to mark in a trace: runs of looping tokens ("loop") and reflection markers ("reflection")."""
    tokens = tokens_with_spans(text)
    mask = loop_mask([t for t, _, _ in tokens], spec)
    spans: list[tuple[int, int, str]] = []
    for looping, (_, start, end) in zip(mask, tokens):
        if not looping:
            continue
        if spans and not text[spans[-1][1]:start].strip():  # only blanks since the last looping token
            spans[-1] = (spans[-1][0], end, "loop")
        else:
            spans.append((start, end, "loop"))
    spans += [(m.start(), m.end(), "reflection") for m in MARKER.finditer(text)]
    return sorted(spans)


def case_pair(unpruned: pd.DataFrame, pruned: pd.DataFrame) -> str:
    """The problem whose traces show the contrast best: the largest rise of the looping fraction from the unpruned
    to the pruned model's first sample (ties: the unpruned model right, then the first such problem)."""
    first = [m[m["sample"] == m["sample"].min()].set_index("item_id") for m in (unpruned, pruned)]
    common = first[0].index.intersection(first[1].index)
    if len(common) == 0:
        raise ValueError("the two tables share no problem")
    score = pd.DataFrame({"rise": first[1].loc[common, "loop_fraction"] - first[0].loc[common, "loop_fraction"],
                          "right": first[0].loc[common, "correct"].astype(int)})
    return str(score.sort_values(["rise", "right"], ascending=False, kind="stable").index[0])


def marked_html(text: str, spec: LoopSpec = LoopSpec(), limit: int | None = None) -> str:
    """A trace as HTML with its loops shaded and its reflection markers in bold; ``limit``: show only the first
    characters (the marks are those of the whole trace)."""
    style = {"loop": "background:#fde2c8", "reflection": "font-weight:bold;color:#1f5fa8"}
    limit = len(text) if limit is None else limit
    out, cursor = [], 0
    for start, end, kind in highlights(text, spec):
        if start < cursor or start >= limit:  # a marker inside a shaded loop is already covered
            continue
        end = min(end, limit)
        out.append(html.escape(text[cursor:start]))
        out.append(f'<span style="{style[kind]}" title="{kind}">{html.escape(text[start:end])}</span>')
        cursor = end
    out.append(html.escape(text[cursor:limit]))
    return "".join(out)


# --- the chapter: measures per model variant ----------------------------------------------------------------------
