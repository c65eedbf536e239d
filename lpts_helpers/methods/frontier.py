"""What pruning buys: accuracy against the compute spent per problem, and the Pareto frontier.

Pruning is sold as saving compute, and test-time scaling spends compute. The fair comparison puts every model
variant on one axis: the decoder-layer passes spent on a problem, ``layers × generated tokens`` summed over the k
samples drawn (the per-token cost of a decoder layer is the same in every variant of a model, so this is FLOPs up
to a constant per model; the prompt is read once per sample by every variant alike and left out). Each variant
contributes one point per k (k = 1, 2, 4, … samples, scored by majority vote — the realistic verifier-free
strategy — or by pass@k, the oracle), with its 95% CI over problems.

``pareto`` marks the points no other point beats with less compute; ``matched`` asks the question directly: for
each pruned point, the best unpruned point that spends no more compute, and the paired difference of their
accuracies over the same problems. A pruned model "wins" at that compute when the difference's 95% CI is above 0.
Chapter ``10-what-pruning-buys`` (``chapters.ch10_frontier``) draws it.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core import metrics
from ..engine import evaluation
from ..models.presets import get_preset
from ..models.registry import base_model

SCORES = ("maj", "pass")


def depth(cell: Any) -> int:
    """Decoder layers of a cell's model variant: its base model's depth minus the layers cut."""
    return get_preset(base_model(cell.model)).n_layers - cell.n_layers


def points(cells: list, store: Any, *, score: str = "maj", options: Any = None
           ) -> tuple[pd.DataFrame, dict[tuple, np.ndarray]]:
    """One row per cell and k: mean compute per problem (layer passes), accuracy (maj@k or pass@k) with its 95% CI.
    Also returns the per-problem scores keyed by (model, method, pruned layers, k), for paired comparisons."""
    if score not in SCORES:
        raise ValueError(f"score={score!r} is not allowed; allowed: {list(SCORES)}")
    evaluation.sweep([c.config for c in cells], store, options=options)
    rows, per_problem = [], {}
    for cell in cells:
        samples = evaluation.run_evaluation(cell.config, store).samples
        tokens = float(samples.groupby("problem_id")["completion_tokens"].mean().mean())
        for k in (k for k in (1, 2, 4, 8, 16, 32, 64, 128) if k <= cell.config.n_samples):
            values = evaluation.per_problem(cell.config, store, score, k)
            estimate = metrics.bootstrap_ci(values.to_numpy())
            per_problem[(cell.model, cell.method, cell.n_layers, k)] = values.to_numpy()
            rows.append({"model": cell.model, "method": cell.method, "pruned_layers": cell.n_layers, "k": k,
                         "layers": depth(cell), "tokens per sample": tokens,
                         "compute": k * tokens * depth(cell),  # expected layer passes of k samples per problem
                         "accuracy": estimate.value, "low": estimate.low, "high": estimate.high,
                         "n_problems": estimate.n_problems})
    return pd.DataFrame(rows), per_problem


def pareto(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with a ``frontier`` column per model: no other point of the model has less or equal compute and
    higher accuracy (or equal accuracy with less compute)."""
    marked = []
    for _, group in table.groupby("model", sort=False):
        compute, accuracy = group["compute"].to_numpy(), group["accuracy"].to_numpy()
        dominated = [bool(np.any(((compute <= c) & (accuracy > a)) | ((compute < c) & (accuracy >= a))))
                     for c, a in zip(compute, accuracy)]
        marked.append(group.assign(frontier=~np.array(dominated)))
    return pd.concat(marked).sort_index()


def matched(table: pd.DataFrame, per_problem: dict[tuple, np.ndarray]) -> pd.DataFrame:
    """Each pruned point against the best unpruned point of its model with no more compute (the unpruned model's
    most accurate setting it could afford): the paired accuracy difference with its 95% CI."""
    rows = []
    for model, group in table.groupby("model", sort=False):
        unpruned = group[group["pruned_layers"] == 0]
        for _, point in group[group["pruned_layers"] > 0].iterrows():
            affordable = unpruned[unpruned["compute"] <= point["compute"]]
            if affordable.empty:
                rows.append({**_describe(point), "unpruned match": "none cheaper", "difference (95% CI)": "—",
                             "pruned wins": False, "difference": np.nan, "low": np.nan, "high": np.nan})
                continue
            best = affordable.sort_values(["accuracy", "compute"], ascending=[False, True]).iloc[0]
            diff = metrics.paired_difference_ci(per_problem[(model, best["method"], 0, int(best["k"]))],
                                                per_problem[(model, point["method"], int(point["pruned_layers"]),
                                                             int(point["k"]))])
            rows.append({**_describe(point), "unpruned match": f"k = {int(best['k'])}, compute {best['compute']:.0f}, "
                                                              f"accuracy {best['accuracy']:.2f}",
                         "difference (95% CI)": metrics.interval(diff.value, diff.low, diff.high),
                         "pruned wins": bool(diff.low > 0), "difference": diff.value, "low": diff.low,
                         "high": diff.high})
    return pd.DataFrame(rows)


def _describe(point: pd.Series) -> dict[str, Any]:
    return {"model": point["model"], "method": point["method"], "pruned layers": int(point["pruned_layers"]),
            "k": int(point["k"]), "compute": round(float(point["compute"])),
            "accuracy": metrics.interval(point["accuracy"], point["low"], point["high"])}
