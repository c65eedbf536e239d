"""Chapter 05, sequential scaling: slopes of accuracy against the thinking budget and the forced "Wait"s at
each level of pruning, beside the paper's, the chapter's findings and its claim row (C3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.metrics import interval
from ..core.paper import MODEL, SEQUENTIAL
from ..core.prose import NOT_RUN, NUMBER_METHODS, count_words, deepest_cut, estimate_text, span, variant_rows
from ..core.store import RunStore
from ..core.verdicts import claim_table, claims_sentence, direction, evidence_row, glue_key
from ..methods.prune import METHOD_TITLES
from ..methods.study import Cell, Task, cut_words, model_words, slopes
from ..models.presets import PRESETS

BUDGET_KNOB, WAIT_KNOB = "per doubling of the budget", "per forced 'Wait'"  # the two knobs' slopes, by name


def scaling_slopes(budget_cells: list[Cell], wait_cells: list[Cell], store: RunStore,
                   paper_sequential: pd.DataFrame) -> pd.DataFrame:
    """Slopes of the sequential curves: ours per doubling of the budget and per forced "Wait" (95% CIs over
    problems), and the paper's per doubling of the budget from its reported points (no CI)."""
    ours = pd.concat([slopes(budget_cells, store, "budget", transform=np.log2).assign(knob=BUDGET_KNOB),
                      slopes(wait_cells, store, "waits").assign(knob=WAIT_KNOB)], ignore_index=True)
    ours["source"] = "ours"
    rows = []
    for (method, benchmark, n), group in paper_sequential.groupby(["method", "benchmark", "pruned_layers"]):
        slope = np.polyfit(np.log2(group["budget"].to_numpy(float)), group["paper_accuracy"].to_numpy(float), 1)[0]
        rows.append({"model": "Qwen3-8B (paper)", "method": method, "pruned_layers": n, "task": benchmark,
                     "slope": slope, "low": np.nan, "high": np.nan, "n_problems": np.nan,
                     "knob": BUDGET_KNOB, "source": "paper"})
    both = pd.concat([ours, pd.DataFrame(rows)], ignore_index=True)
    both["slope (95% CI)"] = [interval(s, lo, hi, 3) if pd.notna(lo) else f"{s:.3f}"
                              for s, lo, hi in zip(both["slope"], both["low"], both["high"])]
    return both[["source", "model", "method", "pruned_layers", "task", "knob", "slope (95% CI)", "slope", "low",
                 "high"]]


def sequential_findings(slope_table: pd.DataFrame, budgets: pd.DataFrame, waits: pd.DataFrame) -> dict[str, str]:
    """Per model and knob: the slope unpruned and at the deepest level, per method, and the accuracy at the
    largest budget (the findings the page shows beside its tables)."""
    findings = {}
    ours = slope_table[slope_table["source"] == "ours"]
    for (model, knob), group in ours.groupby(["model", "knob"], sort=False):
        deepest = group["pruned_layers"].max()
        unpruned = group[group["pruned_layers"] == 0].iloc[0]
        parts = [f"unpruned {unpruned['slope (95% CI)']}"]
        parts += [f"{r.method} with {deepest} cut {interval(r.slope, r.low, r.high, 3)}"
                  for r in group[group["pruned_layers"] == deepest].itertuples()]
        findings[glue_key(f"{model}_{knob}")] = f"{model}, accuracy {knob}: " + "; ".join(parts)
    for name, frame, column in (("budget", budgets, "budget"), ("waits", waits, "waits")):
        top = frame[frame[column] == frame[column].max()]
        for model, group in top.groupby("model", sort=False):
            parts = [f"{r.method} {int(r.pruned_layers)} cut {interval(r.accuracy, r.low, r.high)}"
                     for r in group.itertuples() if r.pruned_layers > 0]
            unpruned = group[group["pruned_layers"] == 0].iloc[0]
            findings[glue_key(f"{model}_top_{name}")] = (
                f"{model} at {column} {frame[column].max()}: unpruned "
                f"{interval(unpruned.accuracy, unpruned.low, unpruned.high)}; " + "; ".join(parts))
    return findings


def sequential_claim(slope_table: pd.DataFrame) -> pd.DataFrame:
    """C3 (sequential scaling stops paying off after pruning) as evidence rows: per model, knob and method, the
    slope at the deepest level run, beside the paper's MATH500 slope with 2 ShortGPT layers cut. A pruned slope
    agrees when its interval lies below the unpruned slope, disagrees when it lies at or above it, and is
    inconclusive when it spans it; a model whose unpruned slope does not clear 0 cannot test the claim."""
    theirs = slope_table[(slope_table["source"] == "paper") & (slope_table["method"] == "shortgpt")
                         & (slope_table["task"] == "math500")].set_index("pruned_layers")["slope"]
    paper_value = float(theirs.get(2, np.nan))
    paper = (f"{paper_value:+.3f} (MATH500, 2 of {PRESETS[MODEL].n_layers} layers; unpruned "
             f"{theirs.get(0, np.nan):+.3f})")
    rows = []
    ours = slope_table[slope_table["source"] == "ours"]
    for (model, task, knob), group in ours.groupby(["model", "task", "knob"], sort=False):
        unpruned = group[group["pruned_layers"] == 0].iloc[0]
        deepest = group[group["pruned_layers"] == group["pruned_layers"].max()]
        claim = f"C3 sequential scaling stops paying off ({'budget' if 'budget' in knob else 'forced Wait'})"
        subject = f"{model_words(model)}, {Task.parse(task).words}"
        testable = unpruned["low"] > 0
        for _, row in deepest.iterrows():
            measure = f"accuracy {knob} (unpruned {unpruned['slope']:+.3f})"
            agrees = direction(row["low"], row["high"], -1, unpruned["slope"]) if testable else \
                "not testable here"
            rows.append(evidence_row(claim, subject, cut_words(model, row["method"], int(row["pruned_layers"])),
                                     measure, row["slope"], row["low"], row["high"], agrees,
                                     paper=paper if "budget" in knob else "— (the paper reports budgets only)",
                                     paper_value=paper_value if "budget" in knob else np.nan, digits=3))
    return claim_table(rows)


PAPER_BENCHMARKS = tuple(dict.fromkeys(benchmark for _, benchmark in SEQUENTIAL))  # MATH500, AIME24


def _at_end(rows: pd.DataFrame, x: str, end: str, value: str = "accuracy", digits: int = 2) -> str:
    """The point ``value`` where setting ``x`` is smallest (``end`` "first") or largest ("last"); the span over
    several methods."""
    if rows.empty:
        return NOT_RUN
    setting = rows[x].min() if end == "first" else rows[x].max()
    return span(rows.loc[rows[x] == setting, value].tolist(), digits)


def _words(rows: pd.DataFrame) -> str:
    return Task.parse(rows["task"].iloc[0]).words if len(rows) else NOT_RUN


def key_numbers(slope_table: pd.DataFrame, budgets: pd.DataFrame, waits: pd.DataFrame,
                roles: dict[str, str]) -> dict[str, str]:
    """The numbers chapter 05's prose cites, by name. Per role ("organism", "control", "reference") and variant
    (``variant_rows``): the slope per doubling of the budget and per forced "Wait" (``{role}_budget_slope_{v}``,
    ``{role}_wait_slope_{v}``, with CIs), the accuracy at the smallest and largest budget
    (``{role}_budget_first_{v}``, ``…_last_{v}``), the mean thinking tokens at the largest
    (``{role}_thinking_last_{v}``), the accuracy with no and the most forced Waits (``{role}_wait_none_{v}``,
    ``…_most_{v}``), and its tasks in words (``{role}_budget_words``, ``{role}_long_words``). The budgets at the
    ends (``budget_first``, ``budget_last``), the most Waits (``most_waits``, in words) and the paper's slopes on
    its benchmarks (``paper_{benchmark}_slope_0``, ``…_{method}_{level}`` for one to three layers)."""
    ours = slope_table[slope_table["source"] == "ours"]
    numbers: dict[str, str] = {}
    for role, model in roles.items():
        slopes_by = {knob: variant_rows(ours[(ours["model"] == model) & (ours["knob"] == knob)])
                     for knob in (BUDGET_KNOB, WAIT_KNOB)}
        budget_by = variant_rows(budgets[budgets["model"] == model])
        wait_by = variant_rows(waits[waits["model"] == model])
        numbers[f"{role}_budget_words"] = _words(budget_by["0"])
        numbers[f"{role}_long_words"] = _words(wait_by["0"])
        for variant, rows in budget_by.items():
            numbers[f"{role}_budget_slope_{variant}"] = estimate_text(slopes_by[BUDGET_KNOB][variant], "slope")
            numbers[f"{role}_wait_slope_{variant}"] = estimate_text(slopes_by[WAIT_KNOB][variant], "slope")
            numbers[f"{role}_budget_first_{variant}"] = _at_end(rows, "budget", "first")
            numbers[f"{role}_budget_last_{variant}"] = _at_end(rows, "budget", "last")
            numbers[f"{role}_thinking_last_{variant}"] = _at_end(rows, "budget", "last", "mean_thinking_tokens", 0)
            numbers[f"{role}_wait_none_{variant}"] = _at_end(wait_by[variant], "waits", "first")
            numbers[f"{role}_wait_most_{variant}"] = _at_end(wait_by[variant], "waits", "last")
    numbers["budget_first"] = f"{budgets['budget'].min()}" if len(budgets) else NOT_RUN
    numbers["budget_last"] = f"{budgets['budget'].max()}" if len(budgets) else NOT_RUN
    numbers["most_waits"] = count_words(int(waits["waits"].max()), "forced Wait") if len(waits) else NOT_RUN
    theirs = slope_table[slope_table["source"] == "paper"]
    for benchmark in PAPER_BENCHMARKS:
        rows = theirs[theirs["task"] == benchmark]
        unpruned = rows.loc[rows["pruned_layers"] == 0, "slope"]
        numbers[f"paper_{benchmark}_slope_0"] = f"{unpruned.iloc[0]:.3f}" if len(unpruned) else NOT_RUN
        for method in NUMBER_METHODS:
            for level in (1, 2, 3):
                value = rows.loc[(rows["method"] == method) & (rows["pruned_layers"] == level), "slope"]
                numbers[f"paper_{benchmark}_slope_{method}_{level}"] = f"{value.iloc[0]:.3f}" if len(value) \
                    else NOT_RUN
    return numbers


def verdict(slope_table: pd.DataFrame, budgets: pd.DataFrame, waits: pd.DataFrame, roles: dict[str, str],
            claims: pd.DataFrame, method: str = "shortgpt") -> str:
    """Chapter 05's verdict: what a doubled budget buys the real thinking model and the organism, unpruned and at
    their deepest cut by ``method``; what a forced "Wait" does to them unpruned (and that it cannot test the claim
    when no model gains from it); then how the claim came out."""
    numbers = key_numbers(slope_table, budgets, waits, roles)
    cut = {role: deepest_cut(budgets, roles[role]) for role in ("reference", "organism")}
    first = (f"A doubled thinking budget buys the {model_words(roles['reference'])} "
             f"{numbers['reference_budget_slope_0']} of accuracy unpruned and "
             f"{numbers[f'reference_budget_slope_{method}_deep']} with {cut['reference']} cut by "
             f"{METHOD_TITLES[method]}, the {model_words(roles['organism'])} {numbers['organism_budget_slope_0']} "
             f"and {numbers[f'organism_budget_slope_{method}_deep']} with {cut['organism']} cut.")
    waits_claim = claims[claims["claim"].str.contains("forced Wait")]
    untestable = len(waits_claim) and (waits_claim["agreement"] == "not testable here").all()
    second = (f"Each forced \"Wait\" changes the unpruned models' accuracy by {numbers['reference_wait_slope_0']} "
              f"and {numbers['organism_wait_slope_0']}" + (", so it cannot test the claim." if untestable else "."))
    return f"{first} {second} {claims_sentence(claims)}"
