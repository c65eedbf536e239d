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
from stored results. Chapter ``08-why-scaling-breaks`` shows them against the number of pruned layers.
"""

from __future__ import annotations

import dataclasses
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

from . import metrics
from .config import ConfigError, StageConfig, knob
from .evaluation import interval, run_evaluation
from .judge import Endpoint
from .paths import BENCHMARKS_DIR, REPO_ROOT
from .store import Run, RunStore

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
    if not (path / "COMPLETE").is_file():
        raise FileNotFoundError(f"source={source!r} is not a finished run folder; allowed: {PAPER_SOURCE!r} or an "
                                f"evaluation run folder relative to the repository (data/runs/evaluation/<hash>)")
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
    """The stored measures of ``config.source`` (computed per problem, resumable)."""
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
        row[label] = _interval(estimate)
    return row


def _interval(estimate: metrics.Estimate | None) -> str:
    """``evaluation.interval``, with one decimal for measures on the 0–100 scale (Self-BLEU, rates)."""
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
                     "correlation with correct (95% CI)": _interval(estimate)})
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
        rows.append({"pair": label, "traces": estimate.n_problems, "spearman (95% CI)": _interval(estimate)})
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

CLAIM_MEASURES = {  # claim → (its summary measure, the direction the paper reports, what the paper reports)
    "C6 pruned models loop": (
        "loop share", +1, "loops in case studies (MATH500 traces that circle back to the same speculation)"),
    "C7 pruned models lose diversity (higher Self-BLEU)": (
        "Self-BLEU (within)", +1, "higher Self-BLEU within each response (tables not available to us)"),
    "C8 pruned models reflect less": (
        "reflections per 1k tokens", -1,
        "fewer verification, backtracking and subgoal-setting steps (LLM-judged; tables not available to us)"),
}


def cell_measures(cells: list, store: RunStore, plan: Any, *, options: Any = None) -> list[pd.DataFrame]:
    """The stored measures of each cell's evaluation run (evaluated first when not stored)."""
    measures = []
    for cell in cells:
        run = run_evaluation(cell.config, store, options=options)
        config = plan.analysis_config(run_source(run), plan.split_lines(cell.model))
        measures.append(run_analysis(config, store).samples)
    return measures


def paper_example(plan: Any, store: RunStore) -> pd.DataFrame:
    """The measures of the paper's s1.1-7B traces (stored like any other source)."""
    config = dataclasses.replace(plan.analysis_config(PAPER_SOURCE, False), samples_per_problem=plan.paper_samples)
    return run_analysis(config, store).samples


def variant_table(cells: list, measures: list[pd.DataFrame]) -> pd.DataFrame:
    """One row per cell: model, method, pruned layers, task, samples per problem, and every summary measure with
    its 95% CI."""
    return pd.DataFrame([{"model": c.model, "method": c.method, "pruned_layers": c.n_layers, "task": c.task.label,
                          "samples": int(m["sample"].nunique()), **summary_row(summarize(m))}
                         for c, m in zip(cells, measures)])


def measures_view(table: pd.DataFrame, labels: tuple[str, ...]) -> pd.DataFrame:
    return table[["model", "method", "pruned_layers", *labels]].rename(columns={"pruned_layers": "pruned layers"})


def long_form(table: pd.DataFrame, labels: tuple[str, ...],
              paper_summary: dict[str, metrics.Estimate | None] | None = None) -> pd.DataFrame:
    """The variant table as one row per cell and measure (value, low, high), for charts; with ``paper_summary``,
    the paper's unpruned s1.1-7B traces as one more model (its trace-level summary)."""
    frames = [table[["model", "method", "pruned_layers", "task"]].assign(
        measure=label, value=table[f"{label} value"], low=table[f"{label} low"], high=table[f"{label} high"])
        for label in labels]
    if paper_summary is not None:
        frames.append(pd.DataFrame([{"model": PAPER_MODEL, "method": "unpruned", "pruned_layers": 0,
                                     "task": "aime (2022)", "measure": label, "value": estimate.value,
                                     "low": estimate.low, "high": estimate.high}
                                    for label in labels if (estimate := paper_summary[label]) is not None]))
    return pd.concat(frames, ignore_index=True).dropna(subset=["value"])


def changes(cells: list, measures: list[pd.DataFrame], labels: tuple[str, ...], traces: str = "greedy"
            ) -> pd.DataFrame:
    """Per pruned cell and measure: the change from its unpruned cell (same model and task), paired over problems,
    with its 95% CI; ``traces`` names the kind of traces (greedy, or sampled) in every row."""
    base = {(c.model, c.task.label): m for c, m in zip(cells, measures) if c.n_layers == 0}
    base_summary = {key: summarize(frame) for key, frame in base.items()}
    rows = []
    for cell, frame in zip(cells, measures):
        if cell.n_layers == 0:
            continue
        unpruned = base[(cell.model, cell.task.label)]
        for label in labels:
            estimate = paired_change(unpruned, frame, label)
            before = base_summary[(cell.model, cell.task.label)][label]
            rows.append({"model": cell.model, "traces": traces, "method": cell.method,
                         "pruned_layers": cell.n_layers, "measure": label,
                         "unpruned": before.value if before else np.nan,
                         "unpruned high": before.high if before else np.nan,
                         "change": estimate.value if estimate else np.nan,
                         "low": estimate.low if estimate else np.nan, "high": estimate.high if estimate else np.nan,
                         "change (95% CI)": _interval(estimate)})
    return pd.DataFrame(rows)


def loop_sensitivity(cells: list, store: RunStore, ns: tuple[int, ...] = (6, 8, 10, 12, 16),
                     spec: LoopSpec = LoopSpec()) -> pd.DataFrame:
    """The share of traces that loop, per cell and n-gram length: does the loop verdict hang on ``n``?"""
    rows = []
    for cell in cells:
        samples = run_evaluation(cell.config, store).samples
        texts = [reasoning_text(t, c) for t, c in zip(samples["thinking"], samples["completion"])]
        rows.append({"model": cell.model, "method": cell.method, "pruned layers": cell.n_layers,
                     **{f"n = {n}": float(np.mean([loop_stats(t, LoopSpec(n, spec.min_repeats, spec.min_fraction))
                                                   ["loops"] for t in texts])) for n in ns}})
    return pd.DataFrame(rows)


def trace_claims(*tables: pd.DataFrame) -> pd.DataFrame:
    """C6–C8 as "paper vs ours" rows: per model and kind of traces (greedy; sampled), the change of the claim's
    measure at the deepest level of each method, paired over problems; a method agrees when the 95% CI of the
    change lies on the paper's side of 0, and a model whose unpruned value is 0 (no reflection to lose) cannot
    test a fall. ``tables``: ``changes`` tables (greedy and sampled traces)."""
    from .study import agreement, verdict_row

    changed = pd.concat(tables, ignore_index=True)
    rows = []
    for claim, (label, sign, reported) in CLAIM_MEASURES.items():
        parts, hits, contrary, total = [], 0, 0, 0
        for (name, traces), group in changed[changed["measure"] == label].groupby(["model", "traces"], sort=False):
            model = f"{name} ({traces})"
            deepest = group[group["pruned_layers"] == group["pruned_layers"].max()]
            unpruned = deepest["unpruned"].iloc[0]
            if sign < 0 and deepest["unpruned high"].iloc[0] <= 0:
                parts.append(f"{model}: unpruned {unpruned:.2f}, nothing to lose (not testable)")
                continue
            for _, row in deepest.iterrows():
                total += 1
                hits += bool(row["low"] > 0) if sign > 0 else bool(row["high"] < 0)
                contrary += bool(row["high"] < 0) if sign > 0 else bool(row["low"] > 0)
            parts.append(f"{model} (unpruned {unpruned:.2f}), change at {int(deepest['pruned_layers'].iloc[0])} cut: "
                         + ", ".join(f"{r['method']} {r['change (95% CI)']}" for _, r in deepest.iterrows()))
        if total == 0:
            rows.append(verdict_row(claim, reported, "; ".join(parts) or "—", "not testable here",
                                    "not testable here"))
            continue
        verdict = (f"{hits} of {total} pruned models change as the paper says, {contrary} the opposite way (95% CI "
                   f"of the paired change clear of 0)")
        rows.append(verdict_row(claim, reported, "; ".join(parts), verdict, agreement(hits, total)))
    return pd.DataFrame(rows)


def findings(table: pd.DataFrame, paper_summary: dict[str, metrics.Estimate | None]) -> dict[str, str]:
    """The chapter's verdict, one sentence per model and one for the paper's traces."""
    out = {}
    for model, rows in table.groupby("model", sort=False):
        unpruned = rows[rows["pruned_layers"] == 0].iloc[0]
        deepest = rows[rows["pruned_layers"] == rows["pruned_layers"].max()]
        parts = []
        for label, short in (("loop share", "loop"), ("Self-BLEU (within)", "Self-BLEU"),
                             ("reflections per 1k tokens", "reflections per 1k tokens")):
            parts.append(f"{short} {unpruned[label]} unpruned vs " + ", ".join(
                f"{r['method']} {r[label]}" for _, r in deepest.iterrows()))
        out[model] = (f"{model}, unpruned → {int(deepest['pruned_layers'].iloc[0])} layers cut: "
                      + "; ".join(parts))
    out[PAPER_MODEL] = (
        "the paper's unpruned s1.1-7B traces: "
        + ", ".join(f"{label} {_interval(paper_summary[label])}" for label in
                    ("loop share", "Self-BLEU (within)", "reflections per 1k tokens")))
    return out


def case_traces(cells: list, measures: list[pd.DataFrame], store: RunStore, model: str) -> pd.DataFrame:
    """A case study for ``model``: one problem's first trace from the unpruned model and from its most-pruned
    variant whose looping fraction rose most (``case_pair`` picks the problem), with each trace's measures."""
    mine = [(c, m) for c, m in zip(cells, measures) if c.model == model]
    if not mine:
        raise ValueError(f"model={model!r} has no cell; allowed: {sorted({c.model for c in cells})}")
    unpruned = next((c, m) for c, m in mine if c.n_layers == 0)
    deepest = max(c.n_layers for c, _ in mine)
    pruned = max(((c, m) for c, m in mine if c.n_layers == deepest), key=lambda cm: cm[1]["loop_fraction"].mean())
    item = case_pair(unpruned[1], pruned[1])
    rows = []
    for cell, frame in (unpruned, pruned):
        samples = by_problem(run_evaluation(cell.config, store).samples)
        sample = samples[samples["item_id"] == item].iloc[0]
        measured = frame[(frame["item_id"] == item) & (frame["sample"] == sample["sample"])].iloc[0]
        label = "unpruned" if cell.n_layers == 0 else f"{cell.method}, {cell.n_layers} layers cut"
        rows.append(_case_row(label, sample, measured))
    return pd.DataFrame(rows)


def paper_case(samples: pd.DataFrame, measures: pd.DataFrame) -> pd.DataFrame:
    """Two of the paper's s1.1-7B traces of one problem: the one that loops most and the one that loops least."""
    ordered = measures.sort_values("loop_fraction", kind="stable")
    item = ordered.iloc[-1]["item_id"]
    same = ordered[ordered["item_id"] == item]
    rows = []
    for label, measured in (("least looping trace", same.iloc[0]), ("most looping trace", same.iloc[-1])):
        sample = samples[(samples["item_id"] == item) & (samples["sample"] == measured["sample"])].iloc[0]
        rows.append(_case_row(f"s1.1-7B, {label}", sample, measured))
    return pd.DataFrame(rows)


def _case_row(label: str, sample: pd.Series, measured: pd.Series) -> dict[str, Any]:
    return {"label": label, "item_id": sample["item_id"], "question": sample["question"], "gold": sample["gold"],
            "text": reasoning_text(sample.get("thinking"), sample["completion"]), "correct": bool(sample["correct"]),
            "hit budget": bool(measured["hit_budget"]), "loop fraction": round(float(measured["loop_fraction"]), 2),
            "Self-BLEU": round(float(measured["self_bleu"]), 1),
            "reflections per 1k": round(float(measured["reflection_rate"]), 1)}


def summary_view(summary: dict[str, metrics.Estimate | None]) -> pd.DataFrame:
    """A summary as a two-column table: measure, mean with its 95% CI."""
    return pd.DataFrame({"measure": list(summary), "mean (95% CI)": [_interval(e) for e in summary.values()]})


def changes_view(*tables: pd.DataFrame) -> pd.DataFrame:
    """``changes`` tables side by side: one row per pruned model, one column per measure's change (95% CI)."""
    long = pd.concat(tables, ignore_index=True)
    wide = long.pivot_table(index=["model", "traces", "method", "pruned_layers"], columns="measure",
                            values="change (95% CI)", aggfunc="first", sort=False)
    return wide.reset_index().rename(columns={"pruned_layers": "pruned layers"}).rename_axis(columns=None)


def correlations(cells: list, measures: list[pd.DataFrame], paper_measures: pd.DataFrame) -> pd.DataFrame:
    """``correlation_with_accuracy`` per model over all its traces, and over the paper's traces (resampled per
    trace: they come from two problems)."""
    frames = {model: pd.concat([m for c, m in zip(cells, measures) if c.model == model], ignore_index=True)
              for model in dict.fromkeys(c.model for c in cells)}
    tables = [correlation_with_accuracy(frame).assign(model=model) for model, frame in frames.items()]
    tables.append(correlation_with_accuracy(paper_measures, unit="trace").assign(model=PAPER_MODEL))
    table = pd.concat(tables, ignore_index=True)
    return table[["model", "measure", "correlation with correct (95% CI)", "samples", "problems"]]


def judge_report(paper_measures: pd.DataFrame, measures: list[pd.DataFrame]) -> pd.DataFrame:
    """The judge's agreement with the lexical count on the paper's traces and on ours (empty note without a
    judge)."""
    if "judge_verification" not in paper_measures:
        note = ("no judge configured: set judge_model and judge_base_url to run the paper's LLM count of "
                "verification, backtracking and subgoal-setting steps")
        return pd.DataFrame({"note": [note]})
    ours = pd.concat(measures, ignore_index=True)
    return pd.concat([judge_agreement(paper_measures).assign(traces_of="s1.1-7B (paper)"),
                      judge_agreement(ours).assign(traces_of="ours, every level")], ignore_index=True)


def claims(plan: Any, store: RunStore, profile: str = "default", *, options: Any = None) -> pd.DataFrame:
    """The chapter's C6–C8 rows recomputed from its stored runs (the summary page's rows)."""
    labels = tuple(label for label, _, _ in CLAIM_MEASURES.values())
    changed = []
    for traces, cells in (("greedy", plan.trace_cells(store, profile)), ("sampled", plan.sample_cells(store, profile))):
        changed.append(changes(cells, cell_measures(cells, store, plan, options=options), labels, traces))
    return trace_claims(*changed)
