"""Chapter 10, what pruning buys: the findings and claim row of the compute-accuracy frontier (the frontier
itself is ``methods.frontier``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.store import RunStore
from ..core.verdicts import claim_table, evidence_row
from ..methods import study
from ..methods.frontier import matched, pareto, points
from .beyond import BeyondPlan


def matched_view(matches: pd.DataFrame) -> pd.DataFrame:
    return matches[["model", "method", "pruned layers", "k", "compute", "accuracy", "unpruned match",
                    "difference (95% CI)", "pruned wins"]]


def findings(table: pd.DataFrame, matches: pd.DataFrame) -> dict[str, str]:
    """Per model: which variants make up the Pareto frontier, and how many pruned settings beat (or lose to) the
    best unpruned setting they can afford."""
    out = {}
    for model, rows in table.groupby("model", sort=False):
        front = rows[rows["frontier"]].sort_values("compute")
        members = ", ".join(f"{'unpruned' if r.pruned_layers == 0 else f'{r.method} {r.pruned_layers}'} k={r.k}"
                            for r in front.itertuples())
        mine = matches[(matches["model"] == model) & matches["difference"].notna()]
        wins, losses = int(mine["pruned wins"].sum()), int((mine["high"] < 0).sum())
        out[model] = (f"{model}: the frontier is {members}; of {len(mine)} pruned settings with an affordable "
                      f"unpruned match, {wins} beat it and {losses} lose to it (95% CI of the paired difference "
                      f"clear of 0)")
    return out


R3 = "R3 at equal compute, a pruned model that samples more beats the unpruned model"


def claims(plan: BeyondPlan, store: RunStore, *, options: Any = None) -> pd.DataFrame:
    """The compute-matched question (the paper compares at equal layers removed, not at equal compute) as
    evidence rows: per model, the pruned setting that does best against the most accurate unpruned setting it can
    afford, and that paired difference (a loss even there means no pruned setting wins)."""
    cells = plan.frontier_cells(store)
    tasks = {c.model: c.task.words for c in cells}
    table, per_problem = points(cells, store, score=plan.frontier_score, options=options)
    matches = matched(pareto(table), per_problem)
    rows = []
    for model, group in matches[matches["difference"].notna()].groupby("model", sort=False):
        best = group.loc[group["difference"].idxmax()]
        wins, losses = int(group["pruned wins"].sum()), int((group["high"] < 0).sum())
        rows.append(evidence_row(
            R3, f"{study.model_words(model)}, {tasks[model]}",
            f"{study.cut_words(model, best['method'], int(best['pruned layers']))}, k = {int(best['k'])}",
            f"the best pruned setting's {plan.frontier_score}@k − the unpruned setting it can afford ({wins} of "
            f"{len(group)} settings win, {losses} lose)", best["difference"], best["low"], best["high"],
            "beyond the paper",
            paper="not tested (compared at equal layers removed)"))
    return claim_table(rows)
