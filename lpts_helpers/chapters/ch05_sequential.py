"""Chapter 05, sequential scaling: slopes of accuracy against the thinking budget and the forced "Wait"s at
each level of pruning, beside the paper's, the chapter's findings and its claim row (C3).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..core.metrics import interval
from ..core.paper import MODEL
from ..core.store import RunStore
from ..core.verdicts import claim_table, evidence_row, glue_key
from ..methods.study import Cell, Task, cut_words, model_words, slopes
from ..models.presets import PRESETS


def scaling_slopes(budget_cells: list[Cell], wait_cells: list[Cell], store: RunStore,
                   paper_sequential: pd.DataFrame) -> pd.DataFrame:
    """Slopes of the sequential curves: ours per doubling of the budget and per forced "Wait" (95% CIs over
    problems), and the paper's per doubling of the budget from its reported points (no CI)."""
    ours = pd.concat([slopes(budget_cells, store, "budget", transform=np.log2)
                      .assign(knob="per doubling of the budget"),
                      slopes(wait_cells, store, "waits").assign(knob="per forced 'Wait'")], ignore_index=True)
    ours["source"] = "ours"
    rows = []
    for (method, benchmark, n), group in paper_sequential.groupby(["method", "benchmark", "pruned_layers"]):
        slope = np.polyfit(np.log2(group["budget"].to_numpy(float)), group["paper_accuracy"].to_numpy(float), 1)[0]
        rows.append({"model": "Qwen3-8B (paper)", "method": method, "pruned_layers": n, "task": benchmark,
                     "slope": slope, "low": np.nan, "high": np.nan, "n_problems": np.nan,
                     "knob": "per doubling of the budget", "source": "paper"})
    both = pd.concat([ours, pd.DataFrame(rows)], ignore_index=True)
    both["slope (95% CI)"] = [interval(s, lo, hi, 3) if pd.notna(lo) else f"{s:.3f}"
                              for s, lo, hi in zip(both["slope"], both["low"], both["high"])]
    return both[["source", "model", "method", "pruned_layers", "task", "knob", "slope (95% CI)", "slope", "low",
                 "high"]]


def sequential_findings(slope_table: pd.DataFrame, budgets: pd.DataFrame, waits: pd.DataFrame) -> dict[str, str]:
    """Per model and knob: the slope unpruned and at the deepest level, per method, and the accuracy at the
    largest budget (for the verdict)."""
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
    agrees when its interval lies below the unpruned slope; a model whose unpruned slope does not clear 0 cannot
    test the claim."""
    theirs = slope_table[(slope_table["source"] == "paper") & (slope_table["method"] == "shortgpt")
                         & (slope_table["task"] == "math500")].set_index("pruned_layers")["slope"]
    paper_value = float(theirs.get(2, np.nan))
    paper = f"{paper_value:+.3f} (MATH500, 2 of {PRESETS[MODEL].n_layers} layers; unpruned {theirs.get(0, np.nan):+.3f})"
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
            agrees = ("agrees" if row["high"] < unpruned["slope"] else "disagrees") if testable else \
                "not testable here"
            rows.append(evidence_row(claim, subject, cut_words(model, row["method"], int(row["pruned_layers"])),
                                     measure, row["slope"], row["low"], row["high"], agrees,
                                     paper=paper if "budget" in knob else "— (the paper reports budgets only)",
                                     paper_value=paper_value if "budget" in knob else np.nan, digits=3))
    return claim_table(rows)
