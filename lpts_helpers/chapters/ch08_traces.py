"""Chapter 08, why scaling breaks: the plan of the traces measured (greedy and sampled, and the paper's own),
their loops, diversity and self-reflection per variant, the paired changes, case studies and claim rows.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core import metrics
from ..core.config import knob
from ..core.prose import NOT_RUN, NUMBER_LEVELS, NUMBER_METHODS, NUMBER_ROLES, span
from ..core.store import RunStore
from ..core.verdicts import claim_table, claims_sentence, direction, evidence_row
from ..engine.evaluation import run_evaluation
from ..methods import study
from ..methods.analysis import (
    PAPER_MODEL,
    PAPER_SOURCE,
    AnalysisConfig,
    LoopSpec,
    by_problem,
    case_pair,
    correlation_with_accuracy,
    judge_agreement,
    loop_stats,
    measure_interval,
    paired_change,
    reasoning_text,
    run_analysis,
    run_source,
    summarize,
    summary_row,
)
from ..methods.prune import METHOD_TITLES
from ..models.presets import PRESETS
from .pruning import DerivedPlan, PruningPlan


@dataclass(frozen=True)
class AnalysisPlan(DerivedPlan):
    """Chapter 08: the traces of the thinking models at every level of pruning (chapter 04's greedy long chains,
    the reference's answers given room to run on, chapter 06's samples) and the paper's own s1.1-7B traces,
    measured for loops, diversity and self-reflection (``lpts_helpers.methods.analysis``)."""

    PROFILE_DEFAULTS = {
        "smoke": {"paper_samples": 1},
        "default": {},
        "paper": {"line_split_models": ()},
    }

    reference_answer_tokens: int | None = knob(None, ge=1, doc="answer tokens of the reference's traces, for a "
                                               "reference that answers without thinking (room for a loop); None: "
                                               "the pruning plan's (chapter 04's runs)")
    paper_samples: int | None = knob(None, ge=1, doc="the paper's s1.1-7B traces measured per problem (of 8; "
                                     "Self-BLEU takes ~1 min for all 16 here); None: all")
    loop_n: int = knob(10, ge=2, doc="tokens per n-gram of a repeated span (a loop)")
    loop_repeats: int = knob(3, ge=2, doc="occurrences that make an n-gram a repeated span")
    loop_fraction: float = knob(0.2, ge=0.0, le=1.0, doc="looping fraction of tokens from which a trace loops")
    line_split_models: tuple[str, ...] = knob(("organism", "smollm2-135m-think"), doc="models whose traces put "
                                              "one step per line "
                                              "with no sentence punctuation: Self-BLEU sentences end at lines")
    judge_model: str | None = knob(None, doc="the self-reflection judge's model; None = lexical measure only")
    judge_base_url: str | None = knob(None, doc="the judge's OpenAI-compatible endpoint")
    judge_api_key_env: str = knob("OPENAI_API_KEY", doc="environment variable holding the judge's API key")

    def validate(self) -> None:
        self.analysis_config(PAPER_SOURCE, False)  # checks the judge's fields


    def models(self, pruning: PruningPlan) -> tuple[str, ...]:
        """The models that reason in writing: the organism (thinks) and the reference (answers step by step); the
        direct-answer control writes no trace."""
        return tuple(dict.fromkeys((pruning.organism, pruning.reference)))

    def analysis_config(self, source: str, split_lines: bool) -> AnalysisConfig:
        return AnalysisConfig(source=source, loop_n=self.loop_n, loop_repeats=self.loop_repeats,
                              loop_fraction=self.loop_fraction, split_lines=split_lines,
                              judge_model=self.judge_model, judge_base_url=self.judge_base_url,
                              judge_api_key_env=self.judge_api_key_env)

    @property
    def loop_spec(self) -> LoopSpec:
        return self.analysis_config(PAPER_SOURCE, False).loop_spec

    def split_lines(self, model: str) -> bool:
        return model in self.line_split_models

    def trace_cells(self, store: RunStore) -> list:
        """One greedy trace per problem at every level of every method: the organism's long chains (chapter 04's
        runs) and the reference's first task with room for long answers."""
        pruning = self.pruning
        cells = []
        for model in self.models(pruning):
            reference = model == pruning.reference
            task = study.Task.parse(pruning.parallel_task(model) if reference else pruning.long_task)
            knobs = {"max_answer_tokens": self.reference_answer_tokens} if reference and \
                self.reference_answer_tokens else {}
            cells += [pruning.cell(model, method, n, task, store, {}, **knobs)
                      for method, n in pruning.variants(model)]
        return cells

    def sample_cells(self, store: RunStore) -> list:
        """Chapter 06's samples (many per problem) of the same models and tasks: cross-sample diversity."""
        pruning = self.pruning
        return [c for c in pruning.parallel_cells(store) if c.model in self.models(pruning)]


CLAIM_MEASURES = {  # claim → (its summary measure, the direction the paper reports, what the paper reports)
    "C6 pruned models loop": ("loop share", +1, "loops in its case studies (no rate reported)"),
    "C7 pruned models lose diversity (higher Self-BLEU)": (
        "Self-BLEU (within)", +1, "higher Self-BLEU within a response (no table available)"),
    "C8 pruned models reflect less": (
        "reflections per 1k tokens", -1, "fewer verification and backtracking steps, LLM-judged (no table available)"),
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
                         "change (95% CI)": measure_interval(estimate)})
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
    """C6–C8 as evidence rows: per model, kind of traces (greedy; sampled) and method at the deepest level run,
    the change of the claim's measure against the unpruned model, paired over problems. A change agrees when its
    95% CI lies on the paper's side of 0, disagrees when on the other side or at 0 (no change), and is
    inconclusive when it spans 0; a model whose unpruned value is 0 (no reflection to lose) cannot test a fall.
    ``tables``: ``changes`` tables."""
    changed = pd.concat(tables, ignore_index=True)
    rows = []
    for claim, (label, sign, reported) in CLAIM_MEASURES.items():
        for (model, traces), group in changed[changed["measure"] == label].groupby(["model", "traces"], sort=False):
            deepest = group[group["pruned_layers"] == group["pruned_layers"].max()]
            unpruned = deepest["unpruned"].iloc[0]
            testable = not (sign < 0 and deepest["unpruned high"].iloc[0] <= 0)
            for _, row in deepest.iterrows():
                rows.append(evidence_row(
                    claim, f"{study.model_words(model)}, {traces} traces",
                    study.cut_words(model, row["method"], int(row["pruned_layers"])),
                    f"change in {label} (unpruned {unpruned:.2f})", row["change"], row["low"], row["high"],
                    direction(row["low"], row["high"], sign) if testable else "not testable here", paper=reported,
                    ours=None if testable else "nothing to lose (unpruned 0)"))
    return claim_table(rows)


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
        + ", ".join(f"{label} {measure_interval(paper_summary[label])}" for label in
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
    return pd.DataFrame({"measure": list(summary), "mean (95% CI)": [measure_interval(e) for e in summary.values()]})


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


def claims(plan: AnalysisPlan, store: RunStore, *, options: Any = None) -> pd.DataFrame:
    """The chapter's C6–C8 rows recomputed from its stored runs (the summary page's rows)."""
    labels = tuple(label for label, _, _ in CLAIM_MEASURES.values())
    changed = []
    for traces, cells in (("greedy", plan.trace_cells(store)), ("sampled", plan.sample_cells(store))):
        changed.append(changes(cells, cell_measures(cells, store, plan, options=options), labels, traces))
    return trace_claims(*changed)


# The prose's numbers: every role that writes traces, measure, method and level gets a key in every profile ("—"
# where the plan does not run it), so a page cites the same keys whichever profile built it.
GREEDY_KEYS = {"accuracy": "acc", "loop share": "loop", "hit budget": "budget", "Self-BLEU (within)": "selfbleu",
               "reflections per 1k tokens": "reflections", "reflections that change the answer": "fixes"}
SAMPLED_KEYS = {"Self-BLEU (across samples)": "across", "reflections per 1k tokens": "reflections"}
TRACE_METHODS = (*NUMBER_METHODS, "any")  # "any": every method at that level
TRACE_LEVELS = (*NUMBER_LEVELS, "deeper")  # "deep": the deepest level a table has; "deeper": every one above one


def _levels(level: int | str, run: list[int]) -> list[int]:
    """The levels of ``run`` (pruned levels run, ascending) that a level of ``TRACE_LEVELS`` names."""
    if level == "deep":
        return run[-1:]
    return [n for n in run if n > 1] if level == "deeper" else [n for n in run if n == level]


def _measure_text(rows: pd.DataFrame, label: str) -> str:
    """``label`` over ``rows``: one row's interval, the span of several rows' point values (one decimal on the
    0–100 scale, as ``measure_interval``), "—" for none."""
    if rows.empty:
        return NOT_RUN
    if len(rows) == 1:
        return rows[label].iloc[0]
    values = rows[f"{label} value"].dropna()
    return span(values.tolist(), 1 if len(values) and values.abs().max() >= 10 else 2)


def _role_numbers(table: pd.DataFrame, prefix: str, keys: dict[str, str]) -> dict[str, str]:
    """One model's measures (``keys``: label → key) unpruned (``{prefix}_{key}_0``) and per method of
    ``TRACE_METHODS`` and level of ``TRACE_LEVELS`` (``{prefix}_{key}_{method}_{level}``)."""
    pruned = table[table["pruned_layers"] > 0]
    run = sorted(pruned["pruned_layers"].unique())
    numbers = {}
    for label, key in keys.items():
        numbers[f"{prefix}_{key}_0"] = _measure_text(table[table["pruned_layers"] == 0], label)
        for method in TRACE_METHODS:
            mine = pruned if method == "any" else pruned[pruned["method"] == method]
            for level in TRACE_LEVELS:
                numbers[f"{prefix}_{key}_{method}_{level}"] = _measure_text(
                    mine[mine["pruned_layers"].isin(_levels(level, run))], label)
    return numbers


def key_numbers(table: pd.DataFrame, sample_table: pd.DataFrame, paper_summary: dict[str, metrics.Estimate | None],
                roles: dict[str, str]) -> dict[str, str]:
    """The numbers chapter 08's prose cites, by name: per role ("organism", "reference") its traces' task in words
    (``{role}_task``), its deepest cut (``{role}_deep``, "8 of 30"), the greedy traces' measures
    (``{role}_{measure}_0`` unpruned, ``{role}_{measure}_{method}_{level}``) and the sampled ones'
    (``{role}_sampled_{measure}_…``); and the measures of the paper's s1.1-7B traces (``paper_{measure}``)."""
    numbers: dict[str, str] = {}
    for role in NUMBER_ROLES:
        model = roles[role]
        greedy = table[table["model"] == model]
        deep = greedy["pruned_layers"].max() if len(greedy) else 0
        depth = f" of {PRESETS[model].n_layers}" if model in PRESETS else ""
        numbers[f"{role}_task"] = study.Task.parse(greedy["task"].iloc[0]).words if len(greedy) else NOT_RUN
        numbers[f"{role}_deep"] = f"{deep}{depth}" if deep else NOT_RUN
        numbers |= _role_numbers(greedy, role, GREEDY_KEYS)
        numbers |= _role_numbers(sample_table[sample_table["model"] == model], f"{role}_sampled", SAMPLED_KEYS)
    for label, key in (GREEDY_KEYS | SAMPLED_KEYS).items():
        numbers[f"paper_{key}"] = measure_interval(paper_summary.get(label))
    return numbers


def _unchanged(changed: pd.DataFrame, model: str, method: str, n_layers: int) -> bool | None:
    """Whether the 95% CI of every measure's change (``changes`` rows) includes 0 for ``model`` cut by ``n_layers``
    of ``method``: pruning it changed nothing these measures see; None when that variant was not measured."""
    rows = changed[(changed["model"] == model) & (changed["method"] == method) & (changed["pruned_layers"] == n_layers)]
    if rows.empty:
        return None
    return bool(((rows["low"] <= 0) & (rows["high"] >= 0)).all())


def verdict(table: pd.DataFrame, changed: pd.DataFrame, roles: dict[str, str], claims: pd.DataFrame,
            method: str = "shortgpt") -> str:
    """Chapter 08's verdict: what one layer cut by ``method`` does to the real model's accuracy and to its traces
    (``changed``: greedy ``changes`` rows), what its deepest cut does to them, then how the chapter's claims came
    out."""
    model = roles["reference"]
    n = key_numbers(table, table.iloc[:0], {}, roles)
    title = METHOD_TITLES.get(method, method)
    same = _unchanged(changed, model, method, 1)
    traces = ("yet leaves its traces as they were by every measure" if same else
              "and changes its traces" if same is not None else "(its traces not measured)")
    first = (f"One {title} layer cut takes the {study.model_words(model)}'s {n['reference_task']} from "
             f"{n['reference_acc_0']} to {n[f'reference_acc_{method}_1']} {traces} (Self-BLEU "
             f"{n[f'reference_selfbleu_{method}_1']} against {n['reference_selfbleu_0']} unpruned)")
    deep = table.loc[table["model"] == model, "pruned_layers"].max()
    if deep > 1:
        first += (f"; with {n['reference_deep']} layers cut by {title}, {n[f'reference_loop_{method}_deep']} of its "
                  f"traces loop (unpruned {n['reference_loop_0']})")
    return f"{first}. {claims_sentence(claims)}"
