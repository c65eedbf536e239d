"""Derived tables stored in the run store: computed once per inputs and code, read back identical afterwards."""

import json
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

from lpts_helpers.core import derived, metrics
from lpts_helpers.core import store as store_module
from lpts_helpers.core.config import StageConfig, knob
from lpts_helpers.core.store import MARKER

CALLS = []


def _fits(scores: dict, n_resamples: int = 50) -> pd.DataFrame:
    CALLS.append(n_resamples)
    rows = []
    for name, values in scores.items():
        estimate = metrics.bootstrap_ci(np.asarray(values, dtype=float), n_resamples=n_resamples)
        rows.append({"name": name, "value": estimate.value, "low": estimate.low, "high": estimate.high,
                     "note": None if estimate.value else "none solved", "holds": True if estimate.value else None})
    return pd.DataFrame(rows)


def test_a_table_is_computed_once_per_inputs_and_read_back_identical(store):
    CALLS.clear()
    scores = {"a": pd.Series([1, 0, 1, 1], index=[3, 4, 5, 6]), "b": pd.Series([0, 0], index=[1, 2])}
    first = derived.stored_table(store, "fits", _fits, scores)
    again = derived.stored_table(store, "fits", _fits, {"b": scores["b"].copy(), "a": scores["a"].copy()})
    assert CALLS == [50]  # equal values in another order: read back, not recomputed
    pd.testing.assert_frame_equal(first, again)
    assert pd.isna(first["note"][0]) and first["note"][1] == "none solved"  # missing values survive the disk
    assert first["holds"][0] == True and pd.isna(first["holds"][1])
    (path,) = (store.root / "derived").iterdir()
    assert (path / MARKER).is_file() and json.loads((path / "config.json").read_text())["config"]["name"] == "fits"

    derived.stored_table(store, "fits", _fits, scores, n_resamples=60)  # another argument: computed
    changed = {**scores, "a": pd.Series([1, 0, 1, 0], index=[3, 4, 5, 6])}
    derived.stored_table(store, "fits", _fits, changed)  # another result in the runs: computed
    moved = {**scores, "a": pd.Series([1, 0, 1, 1], index=[3, 4, 5, 7])}
    derived.stored_table(store, "fits", _fits, moved)  # the same values for other problems: computed
    assert CALLS == [50, 60, 50, 50]


def test_digest_separates_types_and_structure():
    assert derived.digest([1, 2]) != derived.digest((1, 2))
    assert derived.digest("1") != derived.digest(1)
    assert derived.digest({"a": 1, "b": 2}) == derived.digest({"b": 2, "a": 1})
    assert derived.digest(np.array([1.0, 2.0])) != derived.digest(np.array([1, 2]))
    assert derived.digest(pd.DataFrame({"x": [1]})) != derived.digest(pd.DataFrame({"y": [1]}))
    with pytest.raises(TypeError, match="cannot key a derived table on a set"):
        derived.digest({1, 2})


def test_code_digest_follows_the_modules():
    assert store_module.code_digest([derived]) == store_module.code_digest([derived, derived])
    assert store_module.code_digest([derived]) != store_module.code_digest([derived, metrics])


def test_compute_must_return_a_table(store):
    with pytest.raises(TypeError, match="bad: compute returned a dict"):
        derived.stored_table(store, "bad", lambda: {"a": 1})


@dataclass(frozen=True)
class CountConfig(StageConfig):
    STAGE = "count"
    n: int = knob(2)


def _count_run(store, config, *, fresh=False):
    return store.run(config, [{"item_id": i} for i in range(config.n)],
                     lambda chunk: [{"item_id": item["item_id"], "y": item["item_id"] ** 2} for item in chunk],
                     fresh=fresh)


def test_a_tracked_table_is_read_back_while_the_runs_it_read_are_unchanged(store):
    calls = []

    def claims():
        calls.append(1)
        return pd.DataFrame({"total": [int(_count_run(store, CountConfig()).samples["y"].sum())]})

    assert derived.tracked_table(store, "claims", {"plan": 1}, claims)["total"].tolist() == [1]
    with store_module.recording_reads() as reads:
        assert derived.tracked_table(store, "claims", {"plan": 1}, claims)["total"].tolist() == [1]
    assert len(calls) == 1  # read back
    assert any(where.endswith(f"count/{CountConfig().config_hash()}") for where in reads)  # its runs still count
    derived.tracked_table(store, "claims", {"plan": 2}, claims)  # another plan: computed
    assert len(calls) == 2
    _count_run(store, CountConfig(), fresh=True)  # a run it read was recomputed: computed again
    derived.tracked_table(store, "claims", {"plan": 1}, claims)
    assert len(calls) == 3
