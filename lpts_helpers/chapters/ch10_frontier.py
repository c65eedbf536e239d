"""Chapter 10, what pruning buys: the findings and claim row of the compute-accuracy frontier (the frontier
itself is ``methods.frontier``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.store import RunStore
from ..core.verdicts import verdict_row
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


def claims(plan: BeyondPlan, store: RunStore, *, options: Any = None) -> pd.DataFrame:
    """The summary page's row for the compute-matched question (the paper compares at equal layers removed, not
    at equal compute)."""
    table, per_problem = points(plan.frontier_cells(store), store, score=plan.frontier_score,
                                options=options)
    table = pareto(table)
    matches = matched(table, per_problem)
    found = findings(table, matches)
    compared = matches[matches["difference"].notna()]
    wins, losses = int(compared["pruned wins"].sum()), int((compared["high"] < 0).sum())
    return pd.DataFrame([verdict_row(
        "R3 at equal compute, a pruned model that samples more beats the unpruned model",
        "not tested (the paper compares at equal numbers of removed layers)", "; ".join(found.values()),
        f"{wins} of {len(compared)} pruned settings beat the best unpruned setting they can afford, {losses} lose "
        f"to it ({plan.frontier_score}@k, 95% CI of the paired difference clear of 0)", "beyond the paper")])
