"""Why long chains break: a per-step error that compounds over the steps of a chain.

If every step of a chain goes right with probability 1 − ε, independently, a chain of k steps comes out right with
probability (1 − ε)^k: an error rate too small to see on short chains empties the long ones. ``fit`` estimates ε
per model variant from its accuracy at several chain lengths by binomial maximum likelihood, in two forms:

- ``one``: accuracy(k) = (1 − ε)^k, the pure compounding model;
- ``two``: accuracy(k) = a · (1 − ε)^k, where a is the chance that everything outside the steps goes right
  (reading the question, stating the answer) — a model that fails one-step chains has a < 1.

Intervals come from resampling the problems at each chain length (a parametric model, but a nonparametric
interval). How well the fit holds: the deviance against the saturated model and its χ² p-value (a small p: the
accuracies do not follow the curve), and an out-of-sample check — fit on the chains up to ``holdout_from`` steps,
predict the longer ones, and compare with what was measured. Steps are counted as operations: a k-step organism
chain applies k operations; reasoning-gym's chain sums of t terms apply t − 1 (``steps``).
Chapter ``09-why-long-chains-break`` (``chapters.ch09_compounding``) shows the fits per pruned variant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from ..core import metrics

FORMS = ("one", "two")
# chain length (the task's knob) → steps: operations applied; chain sums count terms
STEP_OFFSET = {"chain_sum": -1, "basic_arithmetic": -1}
_EPS = 1e-9


def steps(benchmark: str, chain_length: int) -> int:
    return chain_length + STEP_OFFSET.get(benchmark, 0)


def _log_likelihood(p: np.ndarray, solved: np.ndarray, total: np.ndarray) -> float:
    p = np.clip(p, _EPS, 1 - _EPS)
    return float(np.sum(solved * np.log(p) + (total - solved) * np.log1p(-p)))


def predict(k, epsilon: float, a: float = 1.0) -> np.ndarray:
    return a * (1 - epsilon) ** np.asarray(k, dtype=float)


def _negative_two(v: np.ndarray, k: np.ndarray, solved: np.ndarray, total: np.ndarray) -> tuple[float, np.ndarray]:
    """−log-likelihood of accuracy a·(1 − ε)^k and its gradient in (ε, a)."""
    epsilon, a = v
    q = (1 - epsilon) ** k
    p = np.clip(a * q, _EPS, 1 - _EPS)
    slope = solved / p - (total - solved) / (1 - p)  # dLL/dp per length
    grad = np.array([np.sum(slope * -a * k * (1 - epsilon) ** (k - 1)), np.sum(slope * q)])
    return -_log_likelihood(p, solved, total), -grad


def mle(k, solved, total, form: str = "two", start: tuple[float, float] | None = None) -> tuple[float, float]:
    """Maximum-likelihood (ε, a) for chain lengths ``k`` with ``solved`` of ``total`` problems right at each
    (``a`` is 1 for the one-parameter form). ``start``: where the two-parameter search begins (default: three
    starts, the best kept)."""
    if form not in FORMS:
        raise ValueError(f"form={form!r} is not allowed; allowed: {list(FORMS)}")
    k, solved, total = (np.asarray(v, dtype=float) for v in (k, solved, total))
    if form == "one":
        best = optimize.minimize_scalar(lambda e: -_log_likelihood(predict(k, e), solved, total),
                                        bounds=(0.0, 1 - _EPS), method="bounded")
        return float(best.x), 1.0
    starts = [start] if start else [(0.1, 0.9), (0.5, 0.5), (0.01, 0.2)]
    fits = [optimize.minimize(_negative_two, s, args=(k, solved, total), jac=True,
                              bounds=[(0.0, 1 - 1e-6), (_EPS, 1.0)], method="L-BFGS-B") for s in starts]
    best = min(fits, key=lambda f: f.fun)
    return float(best.x[0]), float(best.x[1])


def deviance(k, solved, total, epsilon: float, a: float) -> float:
    """Twice the log-likelihood gap between the saturated model (each length its own accuracy) and the fit."""
    k, solved, total = (np.asarray(v, dtype=float) for v in (k, solved, total))
    saturated = _log_likelihood(solved / total, solved, total)
    return max(0.0, 2 * (saturated - _log_likelihood(predict(k, epsilon, a), solved, total)))


@dataclass(frozen=True)
class Fit:
    """A fitted compounding curve: ε and a with 95% intervals, and how well it holds."""

    form: str
    epsilon: metrics.Estimate
    a: metrics.Estimate
    deviance: float
    p_value: float  # χ² test of the deviance; NaN when there are no spare degrees of freedom
    lengths: tuple[int, ...]


def fit(scores: dict[int, np.ndarray], form: str = "two", *, n_resamples: int = 500, seed: int = 0) -> Fit:
    """Fit ``form`` to per-problem correctness (0/1 arrays) at each chain length (in steps), with a bootstrap
    over problems within each length."""
    lengths = sorted(scores)
    if len(lengths) < (1 if form == "one" else 2):
        raise ValueError(f"form={form!r} needs at least {1 if form == 'one' else 2} chain lengths; got {lengths}")
    arrays = [np.asarray(scores[k], dtype=float) for k in lengths]
    solved, total = np.array([a.sum() for a in arrays]), np.array([len(a) for a in arrays], dtype=float)
    epsilon, a = mle(lengths, solved, total, form)
    rng = np.random.default_rng(seed)
    draws = np.array([mle(lengths, [rng.choice(x, len(x)).sum() for x in arrays], total, form, (epsilon, a))
                      for _ in range(n_resamples)])
    low, high = np.quantile(draws, [0.025, 0.975], axis=0)
    dev = deviance(lengths, solved, total, epsilon, a)
    dof = len(lengths) - (1 if form == "one" else 2)
    p_value = float(stats.chi2.sf(dev, dof)) if dof > 0 else float("nan")
    n = int(total.min())
    return Fit(form, metrics.Estimate(epsilon, float(low[0]), float(high[0]), n),
               metrics.Estimate(a, float(low[1]), float(high[1]), n), dev, p_value, tuple(lengths))


def holdout(scores: dict[int, np.ndarray], holdout_from: int, form: str = "two", *, n_resamples: int = 500,
            seed: int = 0) -> pd.DataFrame:
    """Fit on the lengths below ``holdout_from`` and predict each longer one: predicted accuracy with its 95%
    interval (from the fit's bootstrap) beside the measured accuracy with its own."""
    short = {k: v for k, v in scores.items() if k < holdout_from}
    long = {k: v for k, v in scores.items() if k >= holdout_from}
    if not long:
        raise ValueError(f"holdout_from={holdout_from} leaves no longer chain to predict; lengths: {sorted(scores)}")
    arrays = {k: np.asarray(v, dtype=float) for k, v in short.items()}
    lengths = sorted(arrays)
    total = [len(arrays[k]) for k in lengths]
    point = mle(lengths, [arrays[k].sum() for k in lengths], total, form)
    rng = np.random.default_rng(seed)
    draws = [mle(lengths, [rng.choice(arrays[k], len(arrays[k])).sum() for k in lengths], total, form, point)
             for _ in range(n_resamples)]
    rows = []
    for k, values in sorted(long.items()):
        predicted = np.array([predict(k, e, a) for e, a in draws])
        measured = metrics.bootstrap_ci(np.asarray(values, dtype=float))
        low, high = np.quantile(predicted, [0.025, 0.975])
        rows.append({"steps": k, "predicted": float(predict(k, *point)), "predicted low": float(low),
                     "predicted high": float(high), "measured": measured.value, "measured low": measured.low,
                     "measured high": measured.high,
                     "holds": bool(measured.low <= high and low <= measured.high)})
    return pd.DataFrame(rows)


# --- the chapter: fits per model variant --------------------------------------------------------------------------
