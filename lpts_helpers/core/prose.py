"""The numbers a chapter's prose cites, as text: every chapter's ``key_numbers`` builds its keys on one grid of
methods and levels, so a page cites the same keys whichever profile built it ("—" where a plan does not run a
variant), and formats each estimate the same way (an interval for one, the span of the points for several).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .metrics import interval

NOT_RUN = "—"  # a number the prose cites that this profile's plan does not produce
NUMBER_METHODS = ("shortgpt", "reverse", "laco")  # the pruning methods the prose's keys name
NUMBER_LEVELS = (1, 2, 3, "deep")  # layers cut; "deep": the deepest level a table holds for the model
FAMILY_KEYS = {"knowledge": "knowledge", "short chains": "short", "long chains": "long"}  # a family, as keys name it
NUMBER_ROLES = ("organism", "reference")  # the thinking models, whose traces and recoveries the prose follows
COUNTS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
          "thirteen", "fourteen", "fifteen", "sixteen")


def span(values: list[float], digits: int = 2) -> str:
    """Several point estimates as prose cites them: one value, or the lowest–highest ("0.93–0.99")."""
    values = [v for v in values if not np.isnan(v)]
    if not values:
        return NOT_RUN
    low, high = f"{min(values):.{digits}f}", f"{max(values):.{digits}f}"
    return low if low == high else f"{low}–{high}"


def estimate_text(rows: pd.DataFrame, value: str = "accuracy", low: str = "low", high: str = "high",
                  digits: int = 2) -> str:
    """The estimate in column ``value`` of ``rows``: "—" for none, with its 95% CI (columns ``low``, ``high``)
    for one row, the span of the point values for several (several tasks or methods at once)."""
    if rows.empty:
        return NOT_RUN
    if len(rows) == 1:
        row = rows.iloc[0]
        return interval(row[value], row[low], row[high], digits)
    return span(rows[value].tolist(), digits)


def estimate_columns(estimate: str) -> tuple[str, str, str]:
    """The value, low and high columns of an estimate in the gain and slope tables ("slope value", …), for
    ``estimate_text``."""
    return f"{estimate} value", f"{estimate} low", f"{estimate} high"


def count_words(n: int, noun: str) -> str:
    """A count as prose writes it ("two layers", "one sample"), so that a design count types no digit."""
    return f"{COUNTS[n] if 0 <= n < len(COUNTS) else n} {noun}{'' if n == 1 else 's'}"


def deepest_cut(table: pd.DataFrame, model: str) -> str:
    """The deepest level ``table`` (columns model, pruned_layers) holds for ``model``, in words ("two layers")."""
    levels = table.loc[table["model"] == model, "pruned_layers"]
    return count_words(int(levels.max()) if len(levels) else 0, "layer")


def variant_rows(rows: pd.DataFrame, levels: tuple = NUMBER_LEVELS) -> dict[str, pd.DataFrame]:
    """One model's rows (columns method, pruned_layers) per variant key of the prose: "0" (unpruned, whose rows
    every method repeats: the first method's), "{method}_{level}" and "any_{level}" (every method) for each of
    ``NUMBER_METHODS`` and ``levels``; a variant the plan does not run has no rows."""
    unpruned = rows[rows["pruned_layers"] == 0]
    pruned = rows[rows["pruned_layers"] > 0]
    deep = pruned["pruned_layers"].max() if len(pruned) else None
    variants = {"0": unpruned[unpruned["method"] == unpruned["method"].iloc[0]] if len(unpruned) else unpruned}
    for level in levels:
        at = pruned[pruned["pruned_layers"] == (deep if level == "deep" else level)]
        variants[f"any_{level}"] = at
        variants.update({f"{method}_{level}": at[at["method"] == method] for method in NUMBER_METHODS})
    return variants
