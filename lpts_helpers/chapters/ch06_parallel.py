"""Chapter 06, parallel scaling: pass@k and maj@k per variant, what k samples add, beside the paper's AIME
curves, the chapter's findings and its claim row (C4).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.metrics import interval
from ..core.paper import MODEL
from ..core.store import RunStore
from ..core.verdicts import claim_table, evidence_row, glue_key
from ..engine import evaluation
from ..methods.study import Cell, Task, cut_words, model_words
from ..models.presets import PRESETS


def k_table(cells: list[Cell], store: RunStore, *, options: Any = None) -> pd.DataFrame:
    """pass@k and maj@k (k = 1, 2, 4, … ≤ samples) with 95% CIs, one row per cell × metric × k."""
    evaluation.sweep([c.config for c in cells], store, options=options)
    return pd.DataFrame([{"model": cell.model, "method": cell.method, "pruned_layers": cell.n_layers,
                          "task": cell.task.label, **row}
                         for cell in cells for row in evaluation.k_rows(
                             evaluation.run_evaluation(cell.config, store).metrics)])


def sampling_gains(cells: list[Cell], store: RunStore) -> pd.DataFrame:
    """Per cell, at k = its number of samples: pass@k − pass@1 and maj@k − pass@1 (paired over problems), pass@k
    of the pruned model minus pass@1 of the unpruned one (does sampling recover what pruning took?), and how much
    the pass@k gain changed against the unpruned model's (negative: pruning flattened the curve)."""
    scores = {id(c): {m: evaluation.per_problem(c.config, store, m, c.config.n_samples)
                      for m in ("accuracy", "pass", "maj")} for c in cells}
    unpruned = {(c.model, c.task): scores[id(c)] for c in cells if c.n_layers == 0}
    rows = []
    for cell in cells:
        k = cell.config.n_samples
        single, passed, voted = (scores[id(cell)][m] for m in ("accuracy", "pass", "maj"))
        reference = unpruned[(cell.model, cell.task)]["accuracy"]
        reference_gain = unpruned[(cell.model, cell.task)]["pass"] - reference
        row = {"model": cell.model, "method": cell.method, "pruned_layers": cell.n_layers, "task": cell.task.label,
               "k": k, "pass@1": float(single.mean())}
        for name, before, after in (("pass@k − pass@1", single, passed), ("maj@k − pass@1", single, voted),
                                    ("pass@k − unpruned pass@1", reference, passed),
                                    ("gain change vs unpruned", reference_gain, passed - single)):
            gain = evaluation.paired_gain(before, after)
            row[name] = interval(gain.value, gain.low, gain.high)
            row[f"{name} value"], row[f"{name} low"], row[f"{name} high"] = gain.value, gain.low, gain.high
        rows.append(row)
    return pd.DataFrame(rows)


def parallel_beside_paper(curves: pd.DataFrame, paper_parallel: pd.DataFrame) -> pd.DataFrame:
    """pass@1 → pass@k per method and level: the paper's on AIME (Qwen3-8B) beside ours (largest k we drew
    that the paper also reports)."""
    rows = []
    passed = curves[curves["metric"] == "pass"]
    for (method, n), group in passed.groupby(["method", "pruned_layers"]):
        theirs = paper_parallel[(paper_parallel["method"] == method) & (paper_parallel["pruned_layers"] == n)]
        ours = []
        for (model, task), g in group.groupby(["model", "task"], sort=False):
            top = g[g["k"] == g["k"].max()].iloc[0]
            one = g[g["k"] == 1].iloc[0]
            ours.append(f"{model} {task}: {one.accuracy:.2f} → {top.accuracy:.2f} [{top.low:.2f}, {top.high:.2f}] "
                        f"at k = {int(top.k)}")
        k = int(group["k"].max())
        paper_k = theirs[theirs["k"] == k] if k in set(theirs["k"]) else theirs[theirs["k"] == theirs["k"].max()]
        rows.append({"method": method, "pruned layers": int(n),
                     "paper, AIME pass@1 → pass@k (Qwen3-8B)": (
                         f"{theirs[theirs['k'] == 1]['paper_pass_at_k'].iloc[0]:.2f} → "
                         f"{paper_k['paper_pass_at_k'].iloc[0]:.2f} at k = {int(paper_k['k'].iloc[0])}")
                     if len(theirs) else "—",
                     "ours": "; ".join(ours)})
    return pd.DataFrame(rows)


def gains_view(gains: pd.DataFrame) -> pd.DataFrame:
    """``sampling_gains`` as the book shows it: the intervals, without the numeric helper columns."""
    return gains[[c for c in gains.columns if not c.endswith((" value", " low", " high"))]]


def parallel_findings(gains: pd.DataFrame) -> dict[str, str]:
    """Per model and task: what k samples add unpruned and at the deepest level, per method."""
    findings = {}
    for (model, task), group in gains.groupby(["model", "task"], sort=False):
        deepest = group["pruned_layers"].max()
        unpruned = group[group["pruned_layers"] == 0].iloc[0]
        k = int(unpruned["k"])
        parts = [(f"unpruned pass@1 {unpruned['pass@1']:.2f}, pass@{k} − pass@1 {unpruned['pass@k − pass@1']}, "
                  f"maj@{k} − pass@1 {unpruned['maj@k − pass@1']}")]
        parts += [f"{r['method']} with {deepest} cut: pass@1 {r['pass@1']:.2f}, pass@{k} − pass@1 "
                  f"{r['pass@k − pass@1']}, pass@{k} − unpruned pass@1 {r['pass@k − unpruned pass@1']}"
                  for _, r in group[group["pruned_layers"] == deepest].iterrows()]
        findings[glue_key(f"{model}_{task}")] = f"{model} on {task}: " + "; ".join(parts)
    return findings


def parallel_claim(gains: pd.DataFrame, paper_parallel: pd.DataFrame) -> pd.DataFrame:
    """C4 (parallel scaling is flattened) as evidence rows: per model, task and method at the deepest level run,
    how much the gain of k samples (pass@k − pass@1) changed against the unpruned model's, paired over problems,
    beside the change of the paper's AIME gain (pass@32 − pass@1) with 2 ShortGPT layers cut. A change agrees when
    its interval lies below 0; a model none of whose samples is ever right cannot test the claim."""
    theirs = paper_parallel[paper_parallel["method"] == "shortgpt"].set_index(["pruned_layers", "k"])[
        "paper_pass_at_k"]
    before, after = theirs[(0, 32)] - theirs[(0, 1)], theirs[(2, 32)] - theirs[(2, 1)]
    paper = (f"{after - before:+.2f} (AIME24, pass@32 − pass@1, 2 of {PRESETS[MODEL].n_layers} layers; unpruned "
             f"gain {before:+.2f})")
    rows = []
    for (model, task), group in gains.groupby(["model", "task"], sort=False):
        unpruned = group[group["pruned_layers"] == 0].iloc[0]
        deepest = group[group["pruned_layers"] == group["pruned_layers"].max()]
        testable = not (unpruned["pass@1"] == 0 and unpruned["pass@k − pass@1 value"] == 0)
        subject = f"{model_words(model)}, {Task.parse(task).words}"
        for _, row in deepest.iterrows():
            measure = (f"change in pass@{int(row['k'])} − pass@1 (unpruned gain "
                       f"{unpruned['pass@k − pass@1 value']:+.2f})")
            agrees = ("agrees" if row["gain change vs unpruned high"] < 0 else "disagrees") if testable else \
                "not testable here"
            rows.append(evidence_row("C4 parallel scaling (pass@k) is flattened", subject,
                                     cut_words(model, row["method"], int(row["pruned_layers"])), measure,
                                     row["gain change vs unpruned value"], row["gain change vs unpruned low"],
                                     row["gain change vs unpruned high"], agrees, paper=paper,
                                     paper_value=after - before,
                                     ours=None if testable else "no sample right unpruned"))
    return claim_table(rows)
