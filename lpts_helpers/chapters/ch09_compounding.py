"""Chapter 09, why long chains break: the per-step error fits of every variant (fitted on short chains,
long ones predicted), the thinking model against its direct-answer control, findings and claim rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core import metrics
from ..core.derived import stored_table
from ..core.store import RunStore
from ..core.verdicts import claim_table, evidence_row
from ..engine import evaluation
from ..methods import compounding, study
from ..methods.compounding import FORMS, fit, holdout, predict, steps
from ..tasks.benchmarks import get_benchmark
from .beyond import BeyondPlan


def chain_scores(cells: list, store: Any, *, options: Any = None) -> dict[tuple, dict[int, pd.Series]]:
    """Per (model, method, pruned layers): per-problem correctness (indexed by problem) at each chain length in
    steps."""
    evaluation.sweep([c.config for c in cells], store, options=options)
    grouped: dict[tuple, dict[int, pd.Series]] = {}
    for cell in cells:
        key = (cell.model, cell.method, cell.n_layers)
        k = steps(cell.task.benchmark, cell.task.chain_length)
        grouped.setdefault(key, {})[k] = evaluation.per_problem(cell.config, store)
    return grouped


def fit_table(scores: dict[tuple, dict[int, pd.Series]], holdout_from: dict[str, int] | None = None
              ) -> pd.DataFrame:
    """One row per variant and form: ε and a with 95% CIs, deviance, p-value, and (with ``holdout_from``, steps
    per model) whether the fit on shorter chains predicts every longer one. A variant that solves no chain at all
    has no identifiable ε (NaN)."""
    rows = []
    for (model, method, n_layers), by_length in scores.items():
        cut = (holdout_from or {}).get(model)
        for form in FORMS:
            if not any(np.asarray(v).any() for v in by_length.values()):
                rows.append({"model": model, "method": method, "pruned_layers": n_layers, "form": form,
                             "epsilon": np.nan, "a": np.nan, "ε (95% CI)": "— (no chain solved)"})
                continue
            result = fit(by_length, form)
            row = {"model": model, "method": method, "pruned_layers": n_layers, "form": form,
                   "epsilon": result.epsilon.value, "epsilon low": result.epsilon.low,
                   "epsilon high": result.epsilon.high, "ε (95% CI)": metrics.interval(
                       result.epsilon.value, result.epsilon.low, result.epsilon.high, 3),
                   "a": result.a.value,
                   "a (95% CI)": metrics.interval(result.a.value, result.a.low, result.a.high),
                   "deviance": round(result.deviance, 2), "p": result.p_value,
                   "lengths": ", ".join(map(str, result.lengths))}
            if cut is not None and any(k >= cut for k in by_length) and \
                    sum(k < cut for k in by_length) >= (1 if form == "one" else 2):
                check = holdout(by_length, cut, form)
                row["long chains predicted"] = "; ".join(
                    f"{r['steps']} steps: "
                    f"{metrics.interval(r['predicted'], r['predicted low'], r['predicted high'])}"
                    f" vs measured {metrics.interval(r['measured'], r['measured low'], r['measured high'])}"
                    + ("" if r["holds"] else " (misses)") for _, r in check.iterrows())
                row["holds"] = bool(check["holds"].all())
            rows.append(row)
    return pd.DataFrame(rows)


def stored_fit_table(scores: dict[tuple, dict[int, pd.Series]], holdout_from: dict[str, int] | None,
                     store: RunStore) -> pd.DataFrame:
    """``fit_table``, computed once per set of per-problem results and read back from the store afterwards: its
    thousands of bootstrap refits take a minute, and this chapter and the summary both show them."""
    return stored_table(store, "compounding-fits", fit_table, scores, holdout_from, code=(compounding,))


def curves(scores: dict[tuple, dict[int, pd.Series]], table: pd.DataFrame, form: str = "two") -> pd.DataFrame:
    """Measured accuracy per length (95% CI) and the fitted curve, in long form for ``plots.compounding_chart``."""
    rows = []
    fitted = table[table["form"] == form].set_index(["model", "method", "pruned_layers"])
    for key, by_length in scores.items():
        model, method, n_layers = key
        epsilon, a = fitted.loc[key, "epsilon"], fitted.loc[key, "a"]
        for k, values in sorted(by_length.items()):
            estimate = metrics.bootstrap_ci(np.asarray(values, dtype=float))
            rows.append({"model": model, "method": method, "pruned_layers": n_layers, "steps": k,
                         "accuracy": estimate.value, "low": estimate.low, "high": estimate.high, "kind": "measured"})
        if np.isnan(epsilon):
            continue
        grid = np.arange(min(by_length), max(by_length) + 1)
        rows += [{"model": model, "method": method, "pruned_layers": n_layers, "steps": int(k),
                  "accuracy": float(predict(k, epsilon, a)), "low": np.nan, "high": np.nan, "kind": "fit"}
                 for k in grid]
    return pd.DataFrame(rows)


def control_gap(scores: dict[tuple, dict[int, pd.Series]], thinking: str, control: str) -> pd.DataFrame:
    """Does the model that thinks in chains lose more than its direct-answer control? Per method, level and chain
    length: each model's change from its unpruned accuracy and the difference of the two changes (thinking −
    control), paired over the same problems, with 95% CIs. Below 0: pruning cost the thinking model more."""
    rows = []
    for (model, method, n_layers), by_length in scores.items():
        if model != thinking or n_layers == 0 or (control, method, n_layers) not in scores:
            continue
        for k, after in sorted(by_length.items()):
            before = scores[(thinking, _unpruned_method(scores, thinking), 0)][k]
            direct_after = scores[(control, method, n_layers)][k]
            direct_before = scores[(control, _unpruned_method(scores, control), 0)][k]
            common = before.index.intersection(direct_before.index)
            think = (after[common] - before[common]).to_numpy(dtype=float)
            direct = (direct_after[common] - direct_before[common]).to_numpy(dtype=float)
            gap = metrics.bootstrap_ci(think - direct)
            rows.append({"method": method, "pruned_layers": n_layers, "steps": k,
                         "thinking change": _ci(metrics.bootstrap_ci(think)),
                         "control change": _ci(metrics.bootstrap_ci(direct)),
                         "thinking − control (95% CI)": _ci(gap), "gap": gap.value, "low": gap.low,
                         "high": gap.high, "thinking loses more": bool(gap.high < 0)})
    return pd.DataFrame(rows)


def _unpruned_method(scores: dict[tuple, Any], model: str) -> str:
    return next(method for (m, method, n) in scores if m == model and n == 0)


def _ci(estimate: metrics.Estimate) -> str:
    return metrics.interval(estimate.value, estimate.low, estimate.high)


def fits_view(fits: pd.DataFrame) -> pd.DataFrame:
    columns = ["model", "method", "pruned_layers", "form", "ε (95% CI)", "a (95% CI)", "deviance", "p",
               "long chains predicted", "holds"]
    view = fits[[c for c in columns if c in fits]].rename(columns={"pruned_layers": "pruned layers"})
    return view.assign(p=view["p"].round(3)) if "p" in view else view


def gap_view(gap: pd.DataFrame) -> pd.DataFrame:
    return gap[["method", "pruned_layers", "steps", "thinking change", "control change",
                "thinking − control (95% CI)"]].rename(columns={"pruned_layers": "pruned layers"})


def _rejected(one: pd.DataFrame) -> tuple[int, int]:
    """Of the pure-form fits with a p-value: how many the deviance rejects (p < 0.05), and how many there are."""
    return int((one["p"] < 0.05).sum()), len(one)


def _held_out(two: pd.DataFrame) -> tuple[int, int]:
    """Of the two-parameter fits tested out of sample: how many predict every longer chain, and how many there
    are."""
    tested = two[two["holds"].notna()] if "holds" in two else two.iloc[0:0]
    return int(tested["holds"].sum()), len(tested)


def _control_counts(gap: pd.DataFrame) -> tuple[int, int, int, int]:
    """At the deepest level of ``gap``: the layers cut, the comparisons the thinking model lost more in, those it
    lost less in (the paired CI clear of 0 either way), and how many there are."""
    deepest = gap[gap["pruned_layers"] == gap["pruned_layers"].max()]
    return (int(deepest["pruned_layers"].iloc[0]), int(deepest["thinking loses more"].sum()),
            int((deepest["low"] > 0).sum()), len(deepest))


def findings(fits: pd.DataFrame, gap: pd.DataFrame, thinking: str, control: str) -> dict[str, str]:
    """The chapter's verdict: per model, the two-parameter fit (ε and a) unpruned and at the deepest level that
    still solves a chain, how often the pure form (a = 1) is rejected and how often the fit predicts the longer
    chains out of sample; and whether the thinking model lost more than its control."""
    out = {}
    for model, rows in fits.groupby("model", sort=False):
        two, one = rows[rows["form"] == "two"], rows[(rows["form"] == "one") & rows["p"].notna()]
        unpruned = two[two["pruned_layers"] == 0].iloc[0]
        solved = two[two["epsilon"].notna()]  # a level that solves no chain has no ε to report
        deepest = two[two["pruned_layers"] == (solved if len(solved) else two)["pruned_layers"].max()]
        rejected, fitted = _rejected(one)
        text = (f"{model}: per-step error ε {unpruned['ε (95% CI)']} and start a {unpruned['a (95% CI)']} unpruned; "
                f"at {int(deepest['pruned_layers'].iloc[0])} layers cut "
                + ", ".join(f"{r['method']} ε {r['ε (95% CI)']}" + (f", a {r['a (95% CI)']}"
                                                                     if pd.notna(r["a"]) else "")
                            for _, r in deepest.iterrows())
                + f"; the pure form (1 − ε)^k is rejected (p < 0.05) for {rejected} of {fitted} variants")
        held, tested = _held_out(two)
        if tested:
            text += (f"; fitted on the shorter chains, a·(1 − ε)^k predicts the longest within its interval for "
                     f"{held} of {tested} variants")
        out[model] = text
    if not gap.empty:
        n_layers, worse, better, total = _control_counts(gap)
        out["control"] = (f"{thinking} vs its direct-answer control {control}, {n_layers} "
                          f"layers cut: the thinking model lost more in {worse} of {total} method × length "
                          f"comparisons and less in {better} (95% CI of the paired difference clear of 0)")
    return out


R1 = "R1 long chains break because per-step errors compound"
R2 = "R2 a model that thinks in chains loses more than a direct-answer control"


def claims(plan: BeyondPlan, store: RunStore, *, options: Any = None) -> pd.DataFrame:
    """The reviewers' two questions this chapter answers (the paper tested neither) as evidence rows: per model
    and method, the per-step error ε of a·(1 − ε)^k at the deepest level that still solves a chain (beside the
    unpruned ε), with how often the fit predicts the longer chains; and per method, how much more the thinking
    model lost than its direct-answer control on the longest chains (paired difference of the changes)."""
    pruning = plan.pruning
    cells = plan.chain_cells(store)
    scores = chain_scores(cells, store, options=options)
    fits = stored_fit_table(scores, {model: plan.holdout(model, pruning) for model in pruning.models()}, store)
    benchmarks = {c.model: c.task.benchmark for c in cells}
    rows = []
    for model, group in fits[fits["form"] == "two"].groupby("model", sort=False):
        unpruned = group[group["pruned_layers"] == 0].iloc[0]
        solved = group[group["epsilon"].notna()]
        deepest = solved[solved["pruned_layers"] == solved["pruned_layers"].max()]
        held, tested = _held_out(group)
        task = get_benchmark(benchmarks[model]).words("k")  # every length: "k-term sums"
        for _, row in deepest.iterrows():
            measure = (f"per-step error ε (unpruned {unpruned['epsilon']:.3f}); the fit predicts the longer chains "
                       f"for {held} of {tested} variants")
            rows.append(evidence_row(R1, f"{study.model_words(model)}, {task}",
                                     study.cut_words(model, row["method"], int(row["pruned_layers"])), measure,
                                     row["epsilon"],
                                     row["epsilon low"], row["epsilon high"], "beyond the paper",
                                     paper="not tested (reviewers: the explanation is thin)", digits=3))
    gap = control_gap(scores, pruning.organism, pruning.control)
    if not gap.empty:
        deepest = gap[gap["pruned_layers"] == gap["pruned_layers"].max()]
        longest = deepest[deepest["steps"] == deepest["steps"].max()]
        subject = (f"{study.model_words(pruning.organism)} vs {study.model_words(pruning.control)}, "
                   f"{int(longest['steps'].iloc[0])}-step chains")
        for _, row in longest.iterrows():
            rows.append(evidence_row(R2, subject,
                                     study.cut_words(pruning.organism, row["method"], int(row["pruned_layers"])),
                                     "change of the thinking model − change of the control", row["gap"], row["low"],
                                     row["high"], "beyond the paper",
                                     paper="not tested (reviewers asked for non-reasoning baselines)"))
    return claim_table(rows)


def key_numbers(fits: pd.DataFrame, gap: pd.DataFrame, thinking: str, control: str, reference: str
                ) -> dict[str, str]:
    """The numbers the chapter's prose cites, by glue key: the two-parameter fit of each model unpruned (ε, and
    a for the thinking model) and of the thinking model at its deepest level per method, the reference's at its
    shallowest cut and its start (a) at the deeper ones, how often the thinking model's pure form is rejected and
    the out-of-sample prediction holds (the reference's too), and the thinking-vs-control count."""
    two = fits[fits["form"] == "two"]
    mine = two[two["model"] == thinking]
    deepest = int(mine["pruned_layers"].max())
    out = {"deepest": str(deepest)}
    for model, key in ((thinking, "thinking"), (control, "control"), (reference, "reference")):
        row = two[(two["model"] == model) & (two["pruned_layers"] == 0)]
        if len(row):
            out[f"{key}_eps"], out[f"{key}_a"] = f"{row['epsilon'].iloc[0]:.3f}", f"{row['a'].iloc[0]:.2f}"
    for _, row in mine[mine["pruned_layers"] == deepest].iterrows():
        out[f"{row['method']}_eps"], out[f"{row['method']}_a"] = f"{row['epsilon']:.3f}", f"{row['a']:.2f}"
    out["pure_rejected"] = "{} of {}".format(*_rejected(
        fits[(fits["model"] == thinking) & (fits["form"] == "one") & fits["p"].notna()]))
    out["predicted"] = "{} of {}".format(*_held_out(mine))
    theirs = two[two["model"] == reference]
    cut = theirs[theirs["pruned_layers"] > 0].sort_values("pruned_layers")
    if len(cut):  # the shallowest cut's fit, and a at the deeper cuts that still solve a chain
        first = cut.iloc[0]
        out["reference_first_cut"] = str(int(first["pruned_layers"]))
        out["reference_first_eps"], out["reference_first_a"] = f"{first['epsilon']:.3f}", f"{first['a']:.2f}"
        deeper = cut.iloc[1:][cut.iloc[1:]["a"].notna()]
        out["reference_deeper"] = (
            "a {} with {} layers cut".format(" and ".join(f"{a:.2f}" for a in deeper["a"]),
                                             " and ".join(str(int(n)) for n in deeper["pruned_layers"]))
            if len(deeper) else "no deeper cut solves a chain")
    out["reference_predicted"] = "{} of {}".format(*_held_out(theirs))
    if not gap.empty:
        _, worse, better, total = _control_counts(gap)
        out["gap_worse"], out["gap_better"] = f"{worse} of {total}", str(better)
    return out
