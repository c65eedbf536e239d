"""Metrics on hand-computable matrices, and CIs that cover the truth on a simulated Bernoulli case."""

import numpy as np
import pytest

from lpts_helpers.core import metrics

CORRECT = np.array([[1, 0, 0],
                    [1, 1, 1],
                    [0, 0, 0],
                    [0, 1, 0]], dtype=bool)  # 4 problems × 3 samples


def test_accuracy_and_coverage():
    assert metrics.accuracy_per_problem(CORRECT).tolist() == pytest.approx([1 / 3, 1, 0, 1 / 3])
    assert metrics.coverage(CORRECT).tolist() == [1, 1, 0, 1]


@pytest.mark.parametrize("k, expected", [
    (1, [1 / 3, 1, 0, 1 / 3]),
    (2, [2 / 3, 1, 0, 2 / 3]),  # 1 − C(2,2)/C(3,2) = 1 − 1/3
    (3, [1, 1, 0, 1]),
])
def test_pass_at_k_by_hand(k, expected):
    assert metrics.pass_at_k(CORRECT, k).tolist() == pytest.approx(expected)


def test_pass_at_k_matches_the_combinatorial_formula():
    from math import comb

    rng = np.random.default_rng(0)
    matrix = rng.random((50, 16)) < 0.3
    for k in (1, 4, 16):
        c = matrix.sum(axis=1)
        expected = [1 - comb(16 - ci, k) / comb(16, k) for ci in c]
        assert metrics.pass_at_k(matrix, k) == pytest.approx(expected)
    with pytest.raises(ValueError, match="k=17 is out of range; allowed: 1 <= k <= n_samples=16"):
        metrics.pass_at_k(matrix, 17)


def test_majority_vote_breaks_ties_by_first_appearance_and_ignores_missing():
    assert metrics.majority_vote(["3", "4", "4", "3"]) == "3"
    assert metrics.majority_vote([None, "5", None]) == "5"
    assert metrics.majority_vote([None, None]) is None


def test_maj_at_k_by_hand():
    answers = np.array([["7", "5", "5"],
                        ["2", "2", "9"],
                        [None, None, None],
                        ["1", "8", "1"]], dtype=object)
    correct = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 0], [0, 1, 0]], dtype=bool)
    assert metrics.maj_at_k(answers, correct, 3).tolist() == [0, 1, 0, 0]
    assert metrics.maj_at_k(answers, correct, 1).tolist() == [1, 1, 0, 0]
    assert metrics.maj_at_k(answers, correct, 2).tolist() == [1, 1, 0, 0]  # "7" and "5" tie: "7" came first


def test_bootstrap_ci_covers_the_truth_about_95_percent_of_the_time():
    rng = np.random.default_rng(1)
    truth, covered, trials = 0.3, 0, 200
    for trial in range(trials):
        sample = (rng.random(60) < truth).astype(float)
        estimate = metrics.bootstrap_ci(sample, n_resamples=2000, seed=trial)
        covered += estimate.low <= truth <= estimate.high
        assert estimate.low <= estimate.value <= estimate.high
    assert 0.88 <= covered / trials <= 0.99


def test_paired_difference_ci():
    base = np.array([1, 1, 1, 0, 1, 0, 1, 1, 0, 1], dtype=float)
    pruned = np.array([0, 1, 0, 0, 0, 0, 1, 0, 0, 0], dtype=float)
    diff = metrics.paired_difference_ci(base, pruned)
    assert diff.value == pytest.approx(-0.5) and diff.high < 0 < 1 + diff.low
    same = metrics.paired_difference_ci(base, base)
    assert (same.value, same.low, same.high) == (0.0, 0.0, 0.0)
    with pytest.raises(ValueError, match="equal-length"):
        metrics.paired_difference_ci(base, pruned[:5])


def test_degenerate_and_bad_inputs():
    assert metrics.bootstrap_ci([1.0, 1.0, 1.0]).as_dict() == {"value": 1.0, "low": 1.0, "high": 1.0,
                                                              "n_problems": 3}
    with pytest.raises(ValueError, match="2-d array"):
        metrics.pass_at_k(np.array([1, 0]), 1)
    with pytest.raises(ValueError, match="non-empty 1-d"):
        metrics.bootstrap_ci([])
