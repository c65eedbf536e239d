"""Chapter 09, why long chains break: the per-step error fits of every variant (fitted on short chains,
long ones predicted), the thinking model against its direct-answer control, findings and claim rows.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..core import metrics
from ..core.derived import stored_table
from ..core.prose import NOT_RUN, NUMBER_LEVELS, NUMBER_METHODS, span
from ..core.store import RunStore
from ..core.verdicts import claim_table, claims_sentence, evidence_row
from ..engine import evaluation
from ..methods import compounding, study
from ..methods.compounding import FORMS, fit, holdout, predict, steps
from ..methods.prune import METHOD_TITLES
from ..models.presets import PRESETS
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
    per model) whether the fit on shorter chains predicts every longer one (and the longest, as the prose cites
    it). A variant that solves no chain at all has no identifiable ε (NaN)."""
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
                    f"{r['steps']} steps: {_interval(r, 'predicted')} vs measured {_interval(r, 'measured')}"
                    + ("" if r["holds"] else " (misses)") for _, r in check.iterrows())
                row["holds"] = bool(check["holds"].all())
                longest = check.iloc[-1]
                row["longest predicted"] = (f"predicted {_interval(longest, 'predicted')}, "
                                            f"measured {_interval(longest, 'measured')}")
            rows.append(row)
    return pd.DataFrame(rows)


def _interval(check: pd.Series, name: str) -> str:
    """One ``holdout`` row's ``name`` ("predicted" or "measured") with its 95% interval."""
    return metrics.interval(check[name], check[f"{name} low"], check[f"{name} high"])


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
    control), paired over the same problems, with 95% CIs, and the control's unpruned accuracy (a control that
    solves nothing unpruned has nothing to lose). Below 0: pruning cost the thinking model more."""
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
                         "high": gap.high, "thinking loses more": bool(gap.high < 0),
                         "control unpruned": float(direct_before[common].mean())})
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
    """Of the fits with a p-value: how many the deviance rejects (p < 0.05), and how many there are."""
    return int((one["p"] < 0.05).sum()), len(one)


def _held_out(two: pd.DataFrame) -> tuple[int, int]:
    """Of the two-parameter fits tested out of sample: how many predict every longer chain, and how many there
    are."""
    tested = two[two["holds"].notna()] if "holds" in two else two.iloc[0:0]
    return int(tested["holds"].sum()), len(tested)


def deepest_solving(two: pd.DataFrame) -> int | None:
    """The deepest pruned level at which one model's two-parameter fits still solve a chain (some method has an
    ε there): the level the findings and claim rows cite, as deeper variants that solve nothing have no ε. None
    when no pruned variant solves a chain: no pruned ε to cite (the unpruned fit never stands in for one)."""
    solved = two[(two["pruned_layers"] > 0) & two["epsilon"].notna()]
    return int(solved["pruned_layers"].max()) if len(solved) else None


def _fit_words(row: pd.Series) -> str:
    """One two-parameter fit as the findings state it: ε and a with their CIs, or that it solves no chain."""
    return f"ε {row['ε (95% CI)']}, a {row['a (95% CI)']}" if pd.notna(row["epsilon"]) else "no chain solved"


# A chain length counts as short in the control comparison when the unpruned control solves at least this share:
# on the longer ones it has nothing to lose, and every comparison there measures the thinking model alone.
CONTROL_SOLVES = 0.5


def _gap_counts(gap: pd.DataFrame, n_layers: int, short: bool = False) -> tuple[int, int, int]:
    """At one level of ``gap`` (every length, or the short ones): the comparisons the thinking model lost more in,
    those it lost less in (the paired 95% CI clear of 0 either way), and how many there are."""
    rows = gap[gap["pruned_layers"] == n_layers]
    rows = rows[rows["control unpruned"] >= CONTROL_SOLVES] if short else rows
    return int(rows["thinking loses more"].sum()), int((rows["low"] > 0).sum()), len(rows)


def findings(fits: pd.DataFrame, gap: pd.DataFrame, thinking: str, control: str) -> dict[str, str]:
    """The chapter's findings: per model, the two-parameter fit (ε and a) unpruned and at the deepest level that
    still solves a chain, how often the pure form (a = 1) is rejected and how often the fit predicts the longer
    chains out of sample; and whether the thinking model lost more than its control."""
    out = {}
    for model, rows in fits.groupby("model", sort=False):
        two, one = rows[rows["form"] == "two"], rows[(rows["form"] == "one") & rows["p"].notna()]
        level = deepest_solving(two)
        text = f"{model}: unpruned {_fit_words(two[two['pruned_layers'] == 0].iloc[0])}; " + (
            f"at {level} layers cut, the deepest that still solves a chain, " + ", ".join(
                f"{r['method']} ({_fit_words(r)})" for _, r in two[two["pruned_layers"] == level].iterrows())
            if level is not None else "no pruned variant solves a chain")
        rejected, fitted = _rejected(one)
        text += f"; the pure form (1 − ε)^k is rejected (p < 0.05) for {rejected} of {fitted} variants"
        held, tested = _held_out(two)
        if tested:
            text += (f"; fitted on the shorter chains, a·(1 − ε)^k predicts the longest within its interval for "
                     f"{held} of {tested} variants")
        out[model] = text
    if not gap.empty:
        n_layers = int(gap["pruned_layers"].max())
        worse, better, total = _gap_counts(gap, n_layers)
        short_worse, short_better, short_total = _gap_counts(gap, n_layers, short=True)
        out["control"] = (f"{thinking} vs its direct-answer control {control}, {n_layers} layers cut: the thinking "
                          f"model lost more in {worse} of {total} method × length comparisons and less in {better} "
                          f"(95% CI of the paired difference clear of 0); on the lengths the unpruned control "
                          f"mostly solves, more in {short_worse} of {short_total} and less in {short_better}")
    return out


R1 = "R1 long chains break because per-step errors compound"
R2 = "R2 a model that thinks in chains loses more than a direct-answer control"


def holdouts(plan: BeyondPlan) -> dict[str, int]:
    """Per model, the steps from which its chains are predicted rather than fitted."""
    return {model: plan.holdout(model, plan.pruning) for model in plan.pruning.models()}


def claims(plan: BeyondPlan, store: RunStore, *, options: Any = None) -> pd.DataFrame:
    """The chapter's claim rows (``claim_rows``) computed from the plan's stored runs, for the summary."""
    pruning = plan.pruning
    cells = plan.chain_cells(store)
    scores = chain_scores(cells, store, options=options)
    fits = stored_fit_table(scores, holdouts(plan), store)
    return claim_rows(fits, control_gap(scores, pruning.organism, pruning.control), cells, pruning.roles())


def claim_rows(fits: pd.DataFrame, gap: pd.DataFrame, cells: list, roles: dict[str, str]) -> pd.DataFrame:
    """The reviewers' two questions this chapter answers (the paper tested neither) as evidence rows: per model
    and method, the per-step error ε of a·(1 − ε)^k at the deepest level that still solves a chain (beside the
    unpruned ε; none for a model no pruned variant of which solves one), with how often the fit predicts the
    longer chains; and per method, how much more the thinking model lost than its direct-answer control on the
    longest chains (paired difference of the changes)."""
    benchmarks = {c.model: c.task.benchmark for c in cells}
    rows = []
    for model, group in fits[fits["form"] == "two"].groupby("model", sort=False):
        level = deepest_solving(group)
        if level is None:
            continue
        unpruned = group[group["pruned_layers"] == 0].iloc[0]
        held, tested = _held_out(group)
        task = get_benchmark(benchmarks[model]).words("k")  # every length: "k-term sums"
        for _, row in group[(group["pruned_layers"] == level) & group["epsilon"].notna()].iterrows():
            measure = (f"per-step error ε (unpruned {unpruned['epsilon']:.3f}); the fit predicts the longer chains "
                       f"for {held} of {tested} variants")
            rows.append(evidence_row(R1, f"{study.model_words(model)}, {task}",
                                     study.cut_words(model, row["method"], level), measure, row["epsilon"],
                                     row["epsilon low"], row["epsilon high"], "beyond the paper",
                                     paper="not tested (reviewers: the explanation is thin)", digits=3))
    if not gap.empty:
        deepest = gap[gap["pruned_layers"] == gap["pruned_layers"].max()]
        longest = deepest[deepest["steps"] == deepest["steps"].max()]
        subject = (f"{study.model_words(roles['organism'])} vs {study.model_words(roles['control'])}, "
                   f"{int(longest['steps'].iloc[0])}-step chains")
        for _, row in longest.iterrows():
            rows.append(evidence_row(R2, subject,
                                     study.cut_words(roles["organism"], row["method"], int(row["pruned_layers"])),
                                     "change of the thinking model − change of the control", row["gap"], row["low"],
                                     row["high"], "beyond the paper",
                                     paper="not tested (reviewers asked for non-reasoning baselines)"))
    return claim_table(rows)


# The prose's numbers: every role, method and level below gets a key in every profile ("—" where the plan does not
# run it), so the page cites the same keys whichever profile built it.


def _p_text(p: float) -> str:
    return NOT_RUN if pd.isna(p) else "< 0.001" if p < 0.001 else f"{p:.3f}"


def _fit_numbers(row: pd.Series | None, key: str) -> dict[str, str]:
    """One two-parameter fit's prose numbers under ``key`` ("organism_{name}_reverse_3"): ε with its 95% CI, a,
    the deviance's p-value and the out-of-sample check of the longest chain; "—" where the plan has no such
    variant or the fit has no such number."""
    solved = row is not None and pd.notna(row["epsilon"])
    longest = row.get("longest predicted") if solved else None
    return {key.format(name="eps"): NOT_RUN if row is None else row["ε (95% CI)"],
            key.format(name="a"): f"{row['a']:.2f}" if solved else NOT_RUN,
            key.format(name="p"): _p_text(row["p"]) if solved else NOT_RUN,
            key.format(name="longest"): longest if isinstance(longest, str) else NOT_RUN}


def _erring(two: pd.DataFrame) -> pd.DataFrame:
    """The fits of variants that make any error: ε above 0 or a below 1 (at the digits the book prints)."""
    return two[(two["epsilon"].round(3) > 0) | (two["a"].round(2) < 1)]


def _model_numbers(fits: pd.DataFrame, role: str, model: str) -> dict[str, str]:
    """One model's prose numbers, keyed by its ``role``: each fit (``{role}_{eps|a|p|longest}_0`` unpruned,
    ``…_{method}_{level}`` pruned), its deepest level and the deepest that still solves a chain ("3 of 12"), and
    counts ("2 of 5"): the pure form rejected, the two-parameter form rejected among the pruned variants that make
    any error, and the out-of-sample check holding, of all variants and of those that make any error."""
    rows = fits[fits["model"] == model]
    two, one = rows[rows["form"] == "two"], rows[(rows["form"] == "one") & rows["p"].notna()]
    unpruned = two[two["pruned_layers"] == 0]
    numbers = _fit_numbers(unpruned.iloc[0] if len(unpruned) else None, f"{role}_{{name}}_0")
    levels = sorted(two.loc[two["pruned_layers"] > 0, "pruned_layers"].unique())
    deep, solving = (int(levels[-1]) if levels else None), deepest_solving(two)
    depth = f" of {PRESETS[model].n_layers}" if model in PRESETS else ""
    numbers[f"{role}_deep"] = NOT_RUN if deep is None else f"{deep}{depth}"
    numbers[f"{role}_solving"] = NOT_RUN if deep is None else "none" if solving is None else f"{solving}{depth}"
    for method in NUMBER_METHODS:
        for level in NUMBER_LEVELS:
            at = two[(two["method"] == method) & (two["pruned_layers"] == (deep if level == "deep" else level))]
            numbers |= _fit_numbers(at.iloc[0] if len(at) else None, f"{role}_{{name}}_{method}_{level}")
    erring = _erring(two[(two["pruned_layers"] > 0) & two["p"].notna()])
    counts = {"pure_rejected": _rejected(one), "two_rejected": _rejected(erring), "predicted": _held_out(two),
              "predicted_erring": _held_out(_erring(two))}
    return numbers | {f"{role}_{name}": "{} of {}".format(*count) if len(rows) else NOT_RUN
                      for name, count in counts.items()}


def _gap_numbers(gap: pd.DataFrame) -> dict[str, str]:
    """The thinking-vs-control prose numbers: per level, the comparisons the thinking model lost more in ("6 of
    9") and less in, over every length and over the short ones (``gap_short_…``); the deepest level; the short
    lengths and the control's unpruned accuracy on them and on the longer ones."""
    numbers = {}
    levels = sorted(gap["pruned_layers"].unique()) if not gap.empty else []
    numbers["gap_deep"] = str(int(levels[-1])) if levels else NOT_RUN
    for level in NUMBER_LEVELS:
        n_layers = (levels[-1] if levels else None) if level == "deep" else level
        for prefix, short in (("gap", False), ("gap_short", True)):
            worse, better, total = _gap_counts(gap, n_layers, short) if n_layers in levels else (0, 0, 0)
            numbers[f"{prefix}_worse_{level}"] = f"{worse} of {total}" if total else NOT_RUN
            numbers[f"{prefix}_better_{level}"] = str(better) if total else NOT_RUN
    lengths = gap.drop_duplicates("steps") if not gap.empty else pd.DataFrame(columns=["steps", "control unpruned"])
    short = lengths[lengths["control unpruned"] >= CONTROL_SOLVES]
    steps = sorted(short["steps"].astype(int))
    numbers["gap_short_steps"] = NOT_RUN if not steps else str(steps[0]) if len(steps) == 1 else \
        f"{steps[0]}–{steps[-1]}"
    numbers["control_short_acc"] = span(short["control unpruned"].tolist())
    numbers["control_long_acc"] = span(lengths.loc[lengths["control unpruned"] < CONTROL_SOLVES,
                                                   "control unpruned"].tolist())
    return numbers


def key_numbers(fits: pd.DataFrame, gap: pd.DataFrame, roles: dict[str, str]) -> dict[str, str]:
    """The numbers chapter 09's prose cites, by glue key, the same keys in every profile: per role ("organism",
    "control", "reference"; ``_model_numbers``) its fits unpruned and per method and level, its deepest levels
    and how often its fits are rejected or predict the longer chains; and the thinking-vs-control counts
    (``_gap_numbers``)."""
    numbers: dict[str, str] = {}
    for role, model in roles.items():
        numbers |= _model_numbers(fits, role, model)
    return numbers | _gap_numbers(gap)


def verdict(fits: pd.DataFrame, gap: pd.DataFrame, roles: dict[str, str], claims: pd.DataFrame,
            method: str = "shortgpt") -> str:
    """Chapter 09's verdict: what one and two layers cut by ``method`` do to the reference's per-step error and
    start and how often its fit predicts the longest chains, how often the thinking organism loses more than its
    control on the short chains at the first and the deepest cut, then how the chapter's claims came out."""
    n = key_numbers(fits, gap, roles)
    fit = (f"One {METHOD_TITLES[method]} layer cut takes the {study.model_words(roles['reference'])}'s per-step "
           f"error ε from {n['reference_eps_0']} to {n[f'reference_eps_{method}_1']} and its start a from "
           f"{n['reference_a_0']} to {n[f'reference_a_{method}_1']} (with two layers cut, a "
           f"{n[f'reference_a_{method}_2']}); fitted on its shorter sums, the curve predicts the longest for "
           f"{n['reference_predicted']} of its variants.")
    gap_text = (f"On the short chains both models solve unpruned, the thinking organism lost more than its "
                f"direct-answer control in {n['gap_short_worse_1']} method × length comparisons with one layer cut "
                f"and in {n['gap_short_worse_deep']} with {n['gap_deep']} layers cut.")
    return f"{fit} {gap_text} {claims_sentence(claims)}"
