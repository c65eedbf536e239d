"""Metrics over per-sample correctness, with 95% bootstrap confidence intervals over problems.

Pure functions, no I/O. Shapes: ``correct`` is a boolean array (problems × samples); ``answers`` an object array of
the same shape holding each sample's extracted answer (None when there is none). Every per-problem score is a
float in [0, 1], and every headline number comes with a bootstrap CI over problems (rliable's practice: with 30
AIME problems a point estimate alone misleads). Used by ``lpts_helpers.engine.evaluation`` and the chapters.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass

import numpy as np
from scipy import stats


def _matrix(correct) -> np.ndarray:
    matrix = np.asarray(correct, dtype=bool)
    if matrix.ndim != 2 or matrix.shape[1] == 0:
        raise ValueError(f"correct must be a 2-d array (problems × samples); got shape {matrix.shape}")
    return matrix


def accuracy_per_problem(correct) -> np.ndarray:
    """Mean correctness of each problem's samples (pass@1 estimated from all n samples)."""
    return _matrix(correct).mean(axis=1)


def pass_at_k(correct, k: int) -> np.ndarray:
    """Unbiased pass@k per problem from n samples with c correct: 1 − C(n−c, k) / C(n, k) (Chen et al., 2021).

    Computed as a product, stable for any n; k must be between 1 and n.
    """
    matrix = _matrix(correct)
    n = matrix.shape[1]
    if not 1 <= k <= n:
        raise ValueError(f"k={k} is out of range; allowed: 1 <= k <= n_samples={n}")
    c = matrix.sum(axis=1)
    result = np.ones(len(matrix))
    for i, ci in enumerate(c):
        if n - ci >= k:
            # C(n-c, k) / C(n, k) = prod_{j=n-c+1}^{n} (1 - k / j)
            result[i] = 1.0 - np.prod(1.0 - k / np.arange(n - ci + 1, n + 1))
    return result


def majority_vote(answers: list[Hashable | None]) -> Hashable | None:
    """The most frequent answer, ignoring None; a tie goes to the answer that appeared first."""
    counts: dict[Hashable, int] = {}
    for answer in answers:
        if answer is not None:
            counts[answer] = counts.get(answer, 0) + 1
    if not counts:
        return None
    best = max(counts.values())
    return next(a for a in counts if counts[a] == best)  # dicts keep first-appearance order


def maj_at_k(answers, correct, k: int) -> np.ndarray:
    """Per problem, whether the majority answer of the first ``k`` samples is correct (0 or 1).

    A vote's correctness is read from ``correct`` at the first sample that gave the winning answer, so any
    grader (math-verify included) decides it; answers should be normalised before voting.
    """
    matrix = _matrix(correct)
    answers = np.asarray(answers, dtype=object)
    if answers.shape != matrix.shape:
        raise ValueError(f"answers {answers.shape} and correct {matrix.shape} must have the same shape")
    if not 1 <= k <= matrix.shape[1]:
        raise ValueError(f"k={k} is out of range; allowed: 1 <= k <= n_samples={matrix.shape[1]}")
    result = np.zeros(len(matrix))
    for i, (row_answers, row_correct) in enumerate(zip(answers[:, :k], matrix[:, :k])):
        winner = majority_vote(list(row_answers))
        if winner is not None:
            result[i] = float(row_correct[list(row_answers).index(winner)])
    return result


def coverage(correct) -> np.ndarray:
    """Per problem, whether any sample is correct (pass@n)."""
    return _matrix(correct).any(axis=1).astype(float)


@dataclass(frozen=True)
class Estimate:
    """A mean over problems with its bootstrap confidence interval."""

    value: float
    low: float
    high: float
    n_problems: int

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"

    def as_dict(self) -> dict[str, float]:
        return {"value": self.value, "low": self.low, "high": self.high, "n_problems": self.n_problems}


def interval(value: float | None, low: float, high: float, digits: int = 2) -> str:
    """An estimate as the book prints it, "0.42 [0.30, 0.55]"; "—" when there is none (None or NaN)."""
    if value is None or np.isnan(value):
        return "—"
    return f"{value:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def bootstrap_ci(per_problem, *, confidence: float = 0.95, n_resamples: int = 10_000, seed: int = 0) -> Estimate:
    """Mean of per-problem scores with a percentile bootstrap CI over problems (``scipy.stats.bootstrap``)."""
    values = np.asarray(per_problem, dtype=float)
    if values.ndim != 1 or len(values) == 0:
        raise ValueError(f"per_problem must be a non-empty 1-d array; got shape {values.shape}")
    mean = float(values.mean())
    if len(values) == 1 or np.all(values == values[0]):
        return Estimate(mean, mean, mean, len(values))  # no spread to resample
    result = stats.bootstrap((values,), np.mean, confidence_level=confidence, n_resamples=n_resamples,
                             method="percentile", rng=np.random.default_rng(seed))
    return Estimate(mean, float(result.confidence_interval.low), float(result.confidence_interval.high),
                    len(values))


def paired_difference_ci(baseline, treatment, *, confidence: float = 0.95, n_resamples: int = 10_000,
                         seed: int = 0) -> Estimate:
    """Mean of (treatment − baseline) over the same problems, with a paired bootstrap CI (problems resampled
    together), e.g. pruned − unpruned accuracy."""
    a, b = np.asarray(baseline, dtype=float), np.asarray(treatment, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"baseline {a.shape} and treatment {b.shape} must be equal-length, non-empty 1-d arrays")
    return bootstrap_ci(b - a, confidence=confidence, n_resamples=n_resamples, seed=seed)


def paired_ratio_ci(baseline, treatment, *, confidence: float = 0.95, n_resamples: int = 10_000,
                    seed: int = 0) -> Estimate:
    """Retention: mean(treatment) / mean(baseline) over the same problems, with a paired bootstrap CI (problems
    resampled together). The baseline must have a positive mean; resamples whose baseline mean is 0 count as
    retention 0 (they can only occur when few problems are solved, and then the interval is wide anyway)."""
    a, b = np.asarray(baseline, dtype=float), np.asarray(treatment, dtype=float)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        raise ValueError(f"baseline {a.shape} and treatment {b.shape} must be equal-length, non-empty 1-d arrays")
    if a.mean() <= 0:
        raise ValueError("the baseline solves no problem: retention is undefined (report the task as uninformative)")

    def ratio(x, y, axis=-1):
        base = np.mean(x, axis=axis)
        return np.divide(np.mean(y, axis=axis), base, out=np.zeros_like(base), where=base > 0)

    value = float(b.mean() / a.mean())
    if len(a) == 1 or (np.all(a == a[0]) and np.all(b == b[0])):
        return Estimate(value, value, value, len(a))
    result = stats.bootstrap((a, b), ratio, paired=True, vectorized=True, confidence_level=confidence,
                             n_resamples=n_resamples, method="percentile", rng=np.random.default_rng(seed))
    return Estimate(value, float(result.confidence_interval.low), float(result.confidence_interval.high), len(a))


def slope_ci(x, per_problem, *, confidence: float = 0.95, n_resamples: int = 2_000, seed: int = 0) -> Estimate:
    """Least-squares slope of mean accuracy against ``x`` (one value per setting), with a bootstrap CI over
    problems: ``per_problem`` is problems × settings (the same problems scored at every setting), so a resample
    draws whole problems and refits the line. The slope of a scaling curve: accuracy gained per unit of ``x``."""
    x = np.asarray(x, dtype=float)
    matrix = np.asarray(per_problem, dtype=float)
    if matrix.ndim != 2 or matrix.shape[1] != len(x) or len(x) < 2 or len(matrix) == 0:
        raise ValueError(f"per_problem must be problems × {len(x)} settings with at least 2 settings; got "
                         f"shape {matrix.shape}")
    centered = x - x.mean()

    def fit(rows: np.ndarray) -> float:
        return float(centered @ (rows.mean(axis=0) - rows.mean()) / (centered @ centered))

    rng = np.random.default_rng(seed)
    draws = np.array([fit(matrix[rng.integers(0, len(matrix), len(matrix))]) for _ in range(n_resamples)])
    tail = (1 - confidence) / 2
    return Estimate(fit(matrix), float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail)), len(matrix))


def correlation_ci(x, y, groups, *, confidence: float = 0.95, n_resamples: int = 2_000, seed: int = 0) -> Estimate:
    """Spearman correlation of ``x`` and ``y`` over all rows, with a bootstrap CI that resamples whole ``groups``
    (e.g. problems, whose samples are not independent). ``n_problems`` is the number of groups; NaN rows are
    dropped; a constant ``x`` or ``y`` has no correlation (NaN)."""
    x, y, groups = np.asarray(x, dtype=float), np.asarray(y, dtype=float), np.asarray(groups)
    keep = ~(np.isnan(x) | np.isnan(y))
    x, y, groups = x[keep], y[keep], groups[keep]
    if len(x) == 0:
        raise ValueError("correlation_ci needs at least one row with both values")

    def rho(index: np.ndarray) -> float:
        a, b = x[index], y[index]
        if np.all(a == a[0]) or np.all(b == b[0]):
            return float("nan")
        return float(stats.spearmanr(a, b).statistic)

    members = [np.flatnonzero(groups == g) for g in dict.fromkeys(groups.tolist())]
    rng = np.random.default_rng(seed)
    draws = np.array([rho(np.concatenate([members[i] for i in rng.integers(0, len(members), len(members))]))
                      for _ in range(n_resamples)])
    draws = draws[~np.isnan(draws)]
    tail = (1 - confidence) / 2
    value = rho(np.arange(len(x)))
    if np.isnan(value) or len(draws) == 0:
        return Estimate(value, float("nan"), float("nan"), len(members))
    return Estimate(value, float(np.quantile(draws, tail)), float(np.quantile(draws, 1 - tail)), len(members))
