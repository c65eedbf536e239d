"""Chapter 10, what pruning buys: the findings, claim rows, prose numbers and verdict of the compute-accuracy
frontier (the frontier itself is ``methods.frontier``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core.metrics import interval
from ..core.prose import NOT_RUN, NUMBER_LEVELS, NUMBER_METHODS
from ..core.store import RunStore
from ..core.verdicts import claim_table, claims_sentence, evidence_row
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
    """The chapter's claim rows (``claim_rows``) recomputed from the stored samples, for the book's summary."""
    cells = plan.frontier_cells(store)
    table, per_problem = points(cells, store, score=plan.frontier_score, options=options)
    return claim_rows(matched(pareto(table), per_problem), cells, plan.frontier_score)


def claim_rows(matches: pd.DataFrame, cells: list, score: str) -> pd.DataFrame:
    """The compute-matched question (the paper compares at equal layers removed, not at equal compute) as
    evidence rows: per model, the pruned setting that does best against the most accurate unpruned setting it can
    afford, and that paired difference (a loss even there means no pruned setting wins)."""
    tasks = {c.model: c.task.words for c in cells}
    rows = []
    for model, group in matches[matches["difference"].notna()].groupby("model", sort=False):
        best = group.loc[group["difference"].idxmax()]
        wins, losses = int(group["pruned wins"].sum()), int((group["high"] < 0).sum())
        rows.append(evidence_row(
            R3, f"{study.model_words(model)}, {tasks[model]}",
            f"{study.cut_words(model, best['method'], int(best['pruned layers']))}, k = {int(best['k'])}",
            f"the best pruned setting's {score}@k − the unpruned setting it can afford ({wins} of "
            f"{len(group)} settings win, {losses} lose)", best["difference"], best["low"], best["high"],
            "beyond the paper",
            paper="not tested (compared at equal layers removed)"))
    return claim_table(rows)


# The prose's numbers: every role, method and level below gets a key in every profile ("—" where the plan does not
# run it), so a page cites the same keys whichever profile built it.


def _variant_numbers(rows: pd.DataFrame, unpruned: pd.DataFrame) -> dict[str, str]:
    """One variant of a model (its rows of the frontier table, one per k): the accuracy of one sample with its
    95% CI, tokens per sample, and what a sample costs as a share of an unpruned one."""
    if rows.empty:
        return {"acc": NOT_RUN, "tokens": NOT_RUN, "cost": NOT_RUN}
    one = rows.sort_values("k").iloc[0]
    per_sample = rows["tokens per sample"].iloc[0] * rows["layers"].iloc[0]  # layer passes of one sample
    cost = per_sample / (unpruned["tokens per sample"].iloc[0] * unpruned["layers"].iloc[0]) if len(unpruned) \
        else float("nan")
    return {"acc": interval(one["accuracy"], one["low"], one["high"]), "tokens": f"{one['tokens per sample']:.0f}",
            "cost": NOT_RUN if np.isnan(cost) else f"{cost:.2f}"}


def key_numbers(table: pd.DataFrame, matches: pd.DataFrame, cells: list, roles: dict[str, str]) -> dict[str, str]:
    """The numbers chapter 10's prose cites, by name: per role ("organism", "control", "reference") its task in
    words (``{role}_task``), the pruned settings with an affordable unpruned match (``{role}_matched``) and how
    many of them beat it or lose to it beyond the 95% CI (``{role}_wins``, ``{role}_losses``); per variant (``0``
    unpruned, or ``{method}_{level}`` over ``NUMBER_METHODS`` × ``NUMBER_LEVELS``) one sample's accuracy
    (``{role}_acc_…``), tokens per sample (``{role}_tokens_…``) and cost per sample over the unpruned model's
    (``{role}_cost_…``); over all models, the matched settings and the wins (``all_matched``, ``all_wins``)."""
    tasks = {c.model: c.task.words for c in cells}
    resolved = matches[matches["difference"].notna()] if "difference" in matches \
        else pd.DataFrame(columns=["model", "pruned wins", "high"])
    numbers = {"all_matched": str(len(resolved)), "all_wins": str(int(resolved["pruned wins"].sum()))}
    for role, model in roles.items():
        rows, mine = table[table["model"] == model], resolved[resolved["model"] == model]
        unpruned = rows[rows["pruned_layers"] == 0]
        levels = sorted(rows.loc[rows["pruned_layers"] > 0, "pruned_layers"].unique())
        counts = {"matched": len(mine), "wins": int(mine["pruned wins"].sum()), "losses": int((mine["high"] < 0).sum())}
        numbers[f"{role}_task"] = tasks.get(model, NOT_RUN)
        numbers |= {f"{role}_{name}": str(count) if len(rows) else NOT_RUN for name, count in counts.items()}
        numbers |= {f"{role}_{name}_0": text for name, text in _variant_numbers(unpruned, unpruned).items()}
        for method in NUMBER_METHODS:
            for level in NUMBER_LEVELS:
                n = (levels[-1] if levels else None) if level == "deep" else level
                at = rows[(rows["method"] == method) & (rows["pruned_layers"] == n)]
                numbers |= {f"{role}_{name}_{method}_{level}": text
                            for name, text in _variant_numbers(at, unpruned).items()}
    return numbers


def verdict(table: pd.DataFrame, matches: pd.DataFrame, cells: list, roles: dict[str, str],
            claims: pd.DataFrame) -> str:
    """Chapter 10's verdict: how many pruned settings beat the best unpruned setting they can afford, how many
    lose to it on the real model and on the organism, then how the chapter's claim came out."""
    n = key_numbers(table, matches, cells, roles)
    first = (f"At equal compute, {n['all_wins']} of the {n['all_matched']} pruned settings that can afford an "
             f"unpruned match beat it; the {study.model_words(roles['reference'])} loses to its match in "
             f"{n['reference_losses']} of {n['reference_matched']} and the {study.model_words(roles['organism'])} "
             f"in {n['organism_losses']} of {n['organism_matched']}, beyond the 95% CI of the paired difference.")
    return f"{first} {claims_sentence(claims)}"
