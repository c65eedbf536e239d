"""The paper's core experiment on any model: cut 0, 1, 2, … layers with each pruning method, evaluate every pruned
variant with the same protocol as the unpruned model, and compare them over the same problems.

A *task* is a benchmark (at a chain length, for chained ones) with a family — knowledge, short chains, long
chains — so that tables and charts group the organism's recall with the paper's MMLU and its long chains with
AIME. A pruned variant is named ``pruned:<prune run>`` (``prune.pruned_name``) and evaluated like any model.
Comparisons are paired over problems: the drop (pruned − unpruned accuracy) and the retention (pruned / unpruned
accuracy), each with a 95% bootstrap CI; a task whose unpruned accuracy does not clear chance is reported as
uninformative, never as retained. Used by chapters 03–06.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import evaluation, metrics
from .benchmarks import get_benchmark
from .config import ConfigError
from .evaluation import EvalConfig, interval
from .models import PRESETS
from .prune import PruneConfig, pruned_name, run_prune
from .store import RunStore

FAMILIES = ("knowledge", "short chains", "long chains")
LONG_CHAIN = 8  # a chain this long or longer is a long chain (the AIME analogue); shorter ones are short


@dataclass(frozen=True)
class Task:
    """A benchmark at one chain length, as the pruning chapters group it."""

    benchmark: str
    chain_length: int | None = None

    @classmethod
    def parse(cls, text: str) -> Task:
        """``"organism_chain@8"`` or ``"organism_recall_open"``; an unknown benchmark or bad length is an error."""
        name, _, length = text.partition("@")
        if length and not length.isdigit():
            raise ConfigError(f"task {text!r} is not allowed; allowed: 'benchmark' or 'benchmark@<steps>'")
        spec = get_benchmark(name)
        if spec.chained != bool(length):
            raise ConfigError(f"task {text!r}: {name} {'needs' if spec.chained else 'takes no'} a chain length "
                              f"('{name}@<steps>')")
        return cls(name, int(length) if length else None)

    @property
    def label(self) -> str:
        return self.benchmark if self.chain_length is None else f"{self.benchmark}@{self.chain_length}"

    @property
    def family(self) -> str:
        if self.chain_length is None:
            return "knowledge" if get_benchmark(self.benchmark).answer_type in ("choice letter", "name") \
                else "short chains"
        return "long chains" if self.chain_length >= LONG_CHAIN else "short chains"

    @property
    def chance(self) -> float:
        return get_benchmark(self.benchmark).chance


def calibration_for(model: str) -> str:
    """The calibration text ShortGPT and LaCo score a model on: its own kind of text (the organism's held-out
    chats; worked GSM8K solutions for a real LLM, as BookCorpus is not reachable offline)."""
    preset = PRESETS.get(model)
    if preset is None or preset.source != "organism":
        return "gsm8k-train"
    return f"organism-{preset.organism[0]}"


def prune_config(model: str, method: str, n_layers: int, profile: str = "default") -> PruneConfig:
    return PruneConfig.for_profile(profile, model=model, method=method, n_layers=n_layers,
                                   calibration=calibration_for(model))


def variant(model: str, method: str, n_layers: int, store: RunStore, profile: str = "default") -> str:
    """The model name of ``model`` with ``n_layers`` cut by ``method`` (the model itself when ``n_layers`` is 0);
    the layers are chosen (or read back) now."""
    if n_layers == 0:
        return model
    return pruned_name(prune_config(model, method, n_layers, profile), store)


def removed_layers(models: tuple[str, ...], methods: tuple[str, ...], levels: dict[str, tuple[int, ...]],
                   store: RunStore, profile: str = "default") -> pd.DataFrame:
    """Which layers each method removes from each model at each level (0-based), with LaCo's threshold."""
    rows = []
    for model in models:
        for method in methods:
            for n in levels[model]:
                recipe = run_prune(prune_config(model, method, n, profile), store).metrics
                rows.append({"model": model, "method": method, "pruned layers": n,
                             "share of depth": n / recipe["n_total"], "removed": recipe["removed"],
                             "LaCo threshold": recipe["threshold"] if method == "laco" else None})
    return pd.DataFrame(rows)


def task_config(model: str, task: Task, *, n_problems: int, thinks: bool, thinking_budget: int | None,
                max_answer_tokens: int, **knobs: Any) -> EvalConfig:
    """The evaluation of ``task`` for ``model``: a thinking model thinks on every reasoning task (chains, and the
    paper's GSM8K, MATH500 and AIME with its 8192-token budget) and answers knowledge tasks directly."""
    budget = thinking_budget if thinks and task.family != "knowledge" else None
    return EvalConfig(model=model, benchmark=task.benchmark, chain_length=task.chain_length, n_problems=n_problems,
                      thinking_budget=budget, max_answer_tokens=max_answer_tokens, **knobs)


@dataclass(frozen=True)
class Cell:
    """One evaluated point of a pruning sweep: which model, method and level, and its evaluation config."""

    model: str
    method: str
    n_layers: int
    task: Task
    config: EvalConfig
    setting: dict


def compare(cells: list[Cell], store: RunStore, *, options: Any = None, metric: str = "accuracy",
            k: int = 1) -> pd.DataFrame:
    """Evaluate every cell (read back when stored) and compare each with its unpruned cell (same model, task and
    setting, ``n_layers`` 0): accuracy, drop and retention with 95% CIs, and whether the task is informative
    (the unpruned accuracy's CI clears chance). One row per cell."""
    swept = evaluation.sweep([c.config for c in cells], store, options=options)
    thinking = dict(zip(map(id, cells), swept["mean_thinking_tokens"]))
    scores = {id(c): evaluation.per_problem(c.config, store, metric, k) for c in cells}
    base = {(c.model, c.task, tuple(sorted(c.setting.items()))): c for c in cells if c.n_layers == 0}
    rows = []
    for cell in cells:
        reference = base.get((cell.model, cell.task, tuple(sorted(cell.setting.items()))))
        if reference is None:
            raise ValueError(f"no unpruned cell for {cell.model} on {cell.task.label} with {cell.setting}: add "
                             f"level 0 to the sweep")
        after, before = scores[id(cell)], scores[id(reference)]
        estimate = metrics.bootstrap_ci(after)
        base_estimate = metrics.bootstrap_ci(before)
        informative = base_estimate.low > cell.task.chance
        drop = evaluation.paired_gain(before, after)
        retention = metrics.paired_ratio_ci(before.to_numpy(), after.reindex(before.index).to_numpy()) \
            if informative else None
        rows.append({"model": cell.model, "method": cell.method, "pruned_layers": cell.n_layers,
                     "task": cell.task.label, "family": cell.task.family, **cell.setting,
                     "accuracy": estimate.value, "low": estimate.low, "high": estimate.high,
                     "n_problems": estimate.n_problems, "baseline": base_estimate.value,
                     "informative": informative, "drop": drop.value, "drop_low": drop.low, "drop_high": drop.high,
                     "retention": retention.value if retention else np.nan,
                     "retention_low": retention.low if retention else np.nan,
                     "retention_high": retention.high if retention else np.nan,
                     "mean_thinking_tokens": thinking[id(cell)]})
    return pd.DataFrame(rows)


def retention_view(table: pd.DataFrame) -> pd.DataFrame:
    """A comparison table as the book shows it: accuracy, drop and retention with CIs, uninformative marked."""
    return pd.DataFrame({
        "model": table["model"], "method": table["method"], "pruned layers": table["pruned_layers"],
        "task": table["task"], "family": table["family"],
        "accuracy (95% CI)": [interval(*v) for v in zip(table["accuracy"], table["low"], table["high"])],
        "drop vs unpruned": [interval(*v) for v in zip(table["drop"], table["drop_low"], table["drop_high"])],
        "retention": [interval(*v) if inf else "uninformative (unpruned at chance)" for *v, inf in
                      zip(table["retention"], table["retention_low"], table["retention_high"],
                          table["informative"])],
    }).reset_index(drop=True)


def slopes(cells: list[Cell], store: RunStore, x: str, *, transform: Any = None) -> pd.DataFrame:
    """The slope of each scaling curve (accuracy against setting ``x``, optionally transformed, e.g. log2 of a
    budget), per model, method and level, with a bootstrap CI over problems: does more test-time compute still
    help at this level of pruning?"""
    rows = []
    groups: dict[tuple, list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.model, cell.method, cell.n_layers, cell.task), []).append(cell)
    for (model, method, n, task), group in groups.items():
        group = sorted(group, key=lambda c: c.setting[x])
        values = np.array([c.setting[x] for c in group], dtype=float)
        frame = pd.concat([evaluation.per_problem(c.config, store) for c in group], axis=1).dropna()
        estimate = metrics.slope_ci(transform(values) if transform else values, frame.to_numpy())
        rows.append({"model": model, "method": method, "pruned_layers": n, "task": task.label, "slope": estimate.value,
                     "low": estimate.low, "high": estimate.high, "n_problems": estimate.n_problems})
    return pd.DataFrame(rows)


AGREEMENTS = ("agrees", "partly", "disagrees", "not testable here", "beyond the paper")


def agreement(hits: int, total: int) -> str:
    """How many of our tests came out as the paper says: all, some or none of them."""
    return "agrees" if hits == total else "disagrees" if hits == 0 else "partly"


def verdict_row(claim: str, paper: str, ours: str, verdict: str, agrees: str) -> dict[str, str]:
    """One "paper vs ours" row (``agrees`` is one of ``AGREEMENTS``); the chapters show their rows and the
    summary page collects them."""
    if agrees not in AGREEMENTS:
        raise ValueError(f"agrees={agrees!r} is not allowed; allowed: {list(AGREEMENTS)}")
    return {"claim": claim, "paper (Qwen3-8B / s1.1-7B)": paper, "ours": ours, "agreement": agrees,
            "verdict": verdict}


def influence_frame(influence: dict[str, Any]) -> pd.DataFrame:
    """Block Influence per layer of several models in the long form of ``plots.layer_profile_chart``."""
    frames = [pd.DataFrame({"model": model, "layer": run.samples["layer"], "measure": "Block Influence (1 − cos)",
                            "value": run.samples["score"], "depth": (run.samples["layer"] + 0.5) / len(run.samples)})
              for model, run in influence.items()]
    return pd.concat(frames, ignore_index=True)


def stacked(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per-model tables stacked into one with a ``model`` column."""
    return pd.concat([table.assign(model=model) for model, table in tables.items()], ignore_index=True)


def glue_key(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def redundancy_findings(influence: dict[str, Any], tables: dict[str, pd.DataFrame],
                        summary: pd.DataFrame) -> dict[str, str]:
    """One sentence per model for the verdict: ShortGPT's first pick and what the model keeps without it, and
    how many single layers each task survives."""
    findings = {}
    for model, run in influence.items():
        scores = run.samples.dropna(subset=["score"])
        first = int(scores.loc[scores["score"].idxmin(), "layer"])
        table = tables.get(model)
        kept = ""
        if table is not None:
            at = table[(table["layer"] == first) & (table["measure"] != "heldout_nll")]
            loss = table[(table["layer"] == first) & (table["measure"] == "heldout_nll")]["relative"]
            parts = [f"{row.measure} {row.relative:.2f}" if pd.notna(row.relative) else f"{row.measure} uninformative"
                     for row in at.itertuples()]
            kept = (f"; without it the held-out loss rises {float(loss.iloc[0]):+.0%} and it keeps "
                    + ", ".join(parts)) if len(loss) else ""
        counts = summary[summary["model"] == model]
        survived = "; ".join(f"{row['measure'].replace('accuracy: ', '')}: {row['layers removable at small cost']}"
                             for _, row in counts.iterrows())
        findings[glue_key(model)] = (f"{model}: ShortGPT's first pick is layer {first} of {len(run.samples)} "
                                     f"(BI {float(scores['score'].min()):.3f}){kept}. Single layers that cost "
                                     f"little — {survived}")
    return findings


def findings_view(findings: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"finding": list(findings.values())})


PAPER_FAMILIES = {"mmlu": "knowledge", "gsm8k": "short chains", "math500": "long chains", "aime24": "long chains"}


def _kept(row: Any) -> str:
    if not row.informative:
        return "uninformative"
    return interval(row.retention, row.retention_low, row.retention_high)


def static_beside_paper(table: pd.DataFrame, paper_static: pd.DataFrame, method: str = "shortgpt") -> pd.DataFrame:
    """Per family and number of pruned layers: the paper's retention (its accuracy over its unpruned accuracy,
    ShortGPT on Qwen3-8B) beside ours (retention with its 95% CI, per model and task)."""
    ours = table[(table["method"] == method) & (table["pruned_layers"] > 0)]
    rows = []
    for n in sorted(ours["pruned_layers"].unique()):
        for family in FAMILIES:
            theirs = paper_static[(paper_static["pruned_layers"] == n) &
                                  (paper_static["benchmark"].map(PAPER_FAMILIES) == family)]
            mine = ours[(ours["pruned_layers"] == n) & (ours["family"] == family)]
            if mine.empty and theirs.empty:
                continue
            rows.append({"family": family, "pruned layers": int(n),
                         "paper (Qwen3-8B, 36 layers)": "; ".join(
                             f"{r.benchmark} {r.paper_retention:.2f}" for r in theirs.itertuples())
                         or "—",
                         "ours": "; ".join(f"{r.model} {r.task} {_kept(r)}" for r in mine.itertuples()) or "—"})
    return pd.DataFrame(rows)


def static_findings(table: pd.DataFrame) -> dict[str, str]:
    """Per model, one sentence: what each task keeps at the first and at the deepest level of pruning, per method."""
    findings = {}
    for model, group in table[table["pruned_layers"] > 0].groupby("model", sort=False):
        clauses = []
        for n in (group["pruned_layers"].min(), group["pruned_layers"].max()):
            at = group[group["pruned_layers"] == n]
            parts = []
            for task, rows in at.groupby("task", sort=False):
                if not rows["informative"].iloc[0]:
                    parts.append(f"{task} uninformative (unpruned {rows['baseline'].iloc[0]:.2f}, at chance)")
                    continue
                parts.append(f"{task} keeps " + ", ".join(f"{r.retention:.2f} [{r.retention_low:.2f}, "
                                                           f"{r.retention_high:.2f}] ({r.method})"
                                                           for r in rows.itertuples()))
            clauses.append(f"with {int(n)} layer{'s' if n > 1 else ''} cut: " + "; ".join(parts))
        findings[glue_key(model)] = f"{model} — " + ". ".join(clauses)
    return findings


def seed_spread(table: pd.DataFrame, seed_cells: list[Cell], seeds: tuple[str, ...], store: RunStore, *,
                options: Any = None) -> pd.DataFrame:
    """Accuracy of each seed of a model per task, method and level (the unpruned model once, as "unpruned"), and
    its range over seeds: how far a claim about which cut breaks what depends on the training run. ``table`` is
    the first seed's comparison; ``seed_cells`` (evaluated here when not stored) are the other seeds'."""
    if seed_cells:
        table = pd.concat([table, compare(seed_cells, store, options=options)], ignore_index=True)
    rows = table[table["model"].isin(seeds)].copy()
    rows["method"] = rows["method"].where(rows["pruned_layers"] > 0, "unpruned")
    rows = rows.drop_duplicates(["model", "task", "method", "pruned_layers"])
    wide = rows.pivot_table(index=["task", "method", "pruned_layers"], columns="model", values="accuracy",
                            sort=False)[list(seeds)].rename_axis(columns=None)
    wide["lowest"], wide["highest"] = wide[list(seeds)].min(axis=1), wide[list(seeds)].max(axis=1)
    return wide.reset_index()


def seed_findings(spread: pd.DataFrame, seeds: tuple[str, ...], method: str = "shortgpt") -> str:
    """One clause per task: the range over ``seeds`` unpruned and at each level of ``method``."""
    levels = sorted(spread.loc[spread["method"] == method, "pruned_layers"].unique())
    parts = []
    for task, rows in spread.groupby("task", sort=False):
        picked = [rows[rows["method"] == "unpruned"]] + [rows[(rows["method"] == method) &
                                                              (rows["pruned_layers"] == n)] for n in levels]
        parts.append(f"{task} " + " / ".join(f"{r['lowest'].iloc[0]:.2f}–{r['highest'].iloc[0]:.2f}"
                                             for r in picked if len(r)))
    return (f"Over {len(seeds)} seed{'s' if len(seeds) > 1 else ''}, the lowest–highest accuracy unpruned / with "
            f"{' / '.join(map(str, levels))} layer{'s' if levels != [1] else ''} cut by {method}: "
            + "; ".join(parts))


def scaling_slopes(budget_cells: list[Cell], wait_cells: list[Cell], store: RunStore,
                   paper_sequential: pd.DataFrame) -> pd.DataFrame:
    """Slopes of the sequential curves: ours per doubling of the budget and per forced "Wait" (95% CIs over
    problems), and the paper's per doubling of the budget from its reported points (no CI)."""
    ours = pd.concat([slopes(budget_cells, store, "budget", transform=np.log2).assign(knob="per doubling of the budget"),
                      slopes(wait_cells, store, "waits").assign(knob="per forced 'Wait'")], ignore_index=True)
    ours["source"] = "ours"
    rows = []
    for (method, benchmark, n), group in paper_sequential.groupby(["method", "benchmark", "pruned_layers"]):
        slope = np.polyfit(np.log2(group["budget"].to_numpy(float)), group["paper_accuracy"].to_numpy(float), 1)[0]
        rows.append({"model": "Qwen3-8B (paper)", "method": method, "pruned_layers": n, "task": benchmark,
                     "slope": slope, "low": np.nan, "high": np.nan, "n_problems": np.nan,
                     "knob": "per doubling of the budget", "source": "paper"})
    both = pd.concat([ours, pd.DataFrame(rows)], ignore_index=True)
    both["slope (95% CI)"] = [interval(s, lo, hi, 3) if pd.notna(lo) else f"{s:.3f}"
                              for s, lo, hi in zip(both["slope"], both["low"], both["high"])]
    return both[["source", "model", "method", "pruned_layers", "task", "knob", "slope (95% CI)", "slope", "low",
                 "high"]]


def sequential_findings(slope_table: pd.DataFrame, budgets: pd.DataFrame, waits: pd.DataFrame) -> dict[str, str]:
    """Per model and knob: the slope unpruned and at the deepest level, per method, and the accuracy at the
    largest budget (for the verdict)."""
    findings = {}
    ours = slope_table[slope_table["source"] == "ours"]
    for (model, knob), group in ours.groupby(["model", "knob"], sort=False):
        deepest = group["pruned_layers"].max()
        unpruned = group[group["pruned_layers"] == 0].iloc[0]
        parts = [f"unpruned {unpruned['slope (95% CI)']}"]
        parts += [f"{r.method} with {deepest} cut {interval(r.slope, r.low, r.high, 3)}"
                  for r in group[group["pruned_layers"] == deepest].itertuples()]
        findings[glue_key(f"{model}_{knob}")] = f"{model}, accuracy {knob}: " + "; ".join(parts)
    for name, frame, column in (("budget", budgets, "budget"), ("waits", waits, "waits")):
        top = frame[frame[column] == frame[column].max()]
        for model, group in top.groupby("model", sort=False):
            parts = [f"{r.method} {int(r.pruned_layers)} cut {interval(r.accuracy, r.low, r.high)}"
                     for r in group.itertuples() if r.pruned_layers > 0]
            unpruned = group[group["pruned_layers"] == 0].iloc[0]
            findings[glue_key(f"{model}_top_{name}")] = (
                f"{model} at {column} {frame[column].max()}: unpruned "
                f"{interval(unpruned.accuracy, unpruned.low, unpruned.high)}; " + "; ".join(parts))
    return findings


def k_table(cells: list[Cell], store: RunStore, *, options: Any = None) -> pd.DataFrame:
    """pass@k and maj@k (k = 1, 2, 4, … ≤ samples) with 95% CIs, one row per cell × metric × k."""
    evaluation.sweep([c.config for c in cells], store, options=options)
    return pd.DataFrame([{"model": cell.model, "method": cell.method, "pruned_layers": cell.n_layers,
                          "task": cell.task.label, **row}
                         for cell in cells for row in evaluation.k_rows(
                             evaluation.run_evaluation(cell.config, store).metrics)])


def sampling_gains(cells: list[Cell], store: RunStore) -> pd.DataFrame:
    """Per cell, at k = its number of samples: pass@k − pass@1 and maj@k − pass@1 (paired over problems), pass@k
    of the pruned model minus pass@1 of the unpruned one (does sampling recover what pruning took?), and how much
    the pass@k gain changed against the unpruned model's (negative: pruning flattened the curve)."""
    scores = {id(c): {m: evaluation.per_problem(c.config, store, m, c.config.n_samples)
                      for m in ("accuracy", "pass", "maj")} for c in cells}
    unpruned = {(c.model, c.task): scores[id(c)] for c in cells if c.n_layers == 0}
    rows = []
    for cell in cells:
        k = cell.config.n_samples
        single, passed, voted = (scores[id(cell)][m] for m in ("accuracy", "pass", "maj"))
        reference = unpruned[(cell.model, cell.task)]["accuracy"]
        reference_gain = unpruned[(cell.model, cell.task)]["pass"] - reference
        row = {"model": cell.model, "method": cell.method, "pruned_layers": cell.n_layers, "task": cell.task.label,
               "k": k, "pass@1": float(single.mean())}
        for name, before, after in (("pass@k − pass@1", single, passed), ("maj@k − pass@1", single, voted),
                                    ("pass@k − unpruned pass@1", reference, passed),
                                    ("gain change vs unpruned", reference_gain, passed - single)):
            gain = evaluation.paired_gain(before, after)
            row[name] = interval(gain.value, gain.low, gain.high)
            row[f"{name} value"], row[f"{name} low"], row[f"{name} high"] = gain.value, gain.low, gain.high
        rows.append(row)
    return pd.DataFrame(rows)


def parallel_beside_paper(curves: pd.DataFrame, paper_parallel: pd.DataFrame) -> pd.DataFrame:
    """pass@1 → pass@k per method and level: the paper's on AIME (Qwen3-8B) beside ours (largest k we drew
    that the paper also reports)."""
    rows = []
    passed = curves[curves["metric"] == "pass"]
    for (method, n), group in passed.groupby(["method", "pruned_layers"]):
        theirs = paper_parallel[(paper_parallel["method"] == method) & (paper_parallel["pruned_layers"] == n)]
        ours = []
        for (model, task), g in group.groupby(["model", "task"], sort=False):
            top = g[g["k"] == g["k"].max()].iloc[0]
            one = g[g["k"] == 1].iloc[0]
            ours.append(f"{model} {task}: {one.accuracy:.2f} → {top.accuracy:.2f} [{top.low:.2f}, {top.high:.2f}] "
                        f"at k = {int(top.k)}")
        k = int(group["k"].max())
        paper_k = theirs[theirs["k"] == k] if k in set(theirs["k"]) else theirs[theirs["k"] == theirs["k"].max()]
        rows.append({"method": method, "pruned layers": int(n),
                     "paper, AIME pass@1 → pass@k (Qwen3-8B)": (
                         f"{theirs[theirs['k'] == 1]['paper_pass_at_k'].iloc[0]:.2f} → "
                         f"{paper_k['paper_pass_at_k'].iloc[0]:.2f} at k = {int(paper_k['k'].iloc[0])}")
                     if len(theirs) else "—",
                     "ours": "; ".join(ours)})
    return pd.DataFrame(rows)


def gains_view(gains: pd.DataFrame) -> pd.DataFrame:
    """``sampling_gains`` as the book shows it: the intervals, without the numeric helper columns."""
    return gains[[c for c in gains.columns if not c.endswith((" value", " low", " high"))]]


def parallel_findings(gains: pd.DataFrame) -> dict[str, str]:
    """Per model and task: what k samples add unpruned and at the deepest level, per method."""
    findings = {}
    for (model, task), group in gains.groupby(["model", "task"], sort=False):
        deepest = group["pruned_layers"].max()
        unpruned = group[group["pruned_layers"] == 0].iloc[0]
        k = int(unpruned["k"])
        parts = [(f"unpruned pass@1 {unpruned['pass@1']:.2f}, pass@{k} − pass@1 {unpruned['pass@k − pass@1']}, "
                  f"maj@{k} − pass@1 {unpruned['maj@k − pass@1']}")]
        parts += [f"{r['method']} with {deepest} cut: pass@1 {r['pass@1']:.2f}, pass@{k} − pass@1 "
                  f"{r['pass@k − pass@1']}, pass@{k} − unpruned pass@1 {r['pass@k − unpruned pass@1']}"
                  for _, r in group[group["pruned_layers"] == deepest].iterrows()]
        findings[glue_key(f"{model}_{task}")] = f"{model} on {task}: " + "; ".join(parts)
    return findings


# --- the claims each chapter tests, as "paper vs ours" rows (the summary page collects them) ----------------------

CLAIM_LAYERS = 3  # the paper's static claims are about 1–3 pruned layers: each model is judged at the level nearest
KNOWLEDGE_KEPT = 0.85  # ShortGPT's claim: about 85% of knowledge-benchmark accuracy kept at 25% of layers cut
COLLAPSE = 0.5  # a task "collapses" when less than half of its unpruned accuracy is left


def _paper_retention(paper_static: pd.DataFrame, benchmark: str, levels: list[int]) -> str:
    values = paper_static[paper_static["benchmark"] == benchmark].set_index("pruned_layers")["paper_retention"]
    return f"{benchmark} keeps " + " / ".join(f"{values[n]:.2f}" for n in levels if n in values.index) \
        + f" with {' / '.join(str(n) for n in levels if n in values.index)} ShortGPT layers cut"


def static_claims(table: pd.DataFrame, paper_static: pd.DataFrame, method: str = "shortgpt") -> pd.DataFrame:
    """C1 (knowledge survives pruning) and C2 (long chains collapse) as measured: per family, what each of our
    models keeps with ``CLAIM_LAYERS`` layers cut by ``method`` (or the nearest level run), against the paper's."""
    ours = table[(table["method"] == method) & (table["pruned_layers"] > 0)]
    rows = []
    for claim, family, benchmarks, test in (
            ("C1 knowledge (MMLU) degrades only gradually", "knowledge", ("mmlu",),
             lambda r: r.retention_high >= KNOWLEDGE_KEPT),
            ("C2 long-chain reasoning collapses", "long chains", ("aime24", "math500"),
             lambda r: r.retention_high < COLLAPSE),
            ("C2′ short chains (GSM8K) hold longer than long ones", "short chains", ("gsm8k",),
             lambda r: r.retention_high >= COLLAPSE)):
        found, verdicts = [], []
        for (model, task), group in ours[ours["family"] == family].groupby(["model", "task"], sort=False):
            deepest = group.loc[(group["pruned_layers"] - CLAIM_LAYERS).abs().idxmin()]
            if not deepest.informative:
                found.append(f"{model} {task}: uninformative (unpruned {deepest.baseline:.2f}, at chance)")
                continue
            found.append(f"{model} {task}: keeps {_kept(deepest)} with {int(deepest.pruned_layers)} cut")
            verdicts.append(bool(test(deepest)))
        agrees = agreement(sum(verdicts), len(verdicts)) if verdicts else "not testable here"
        if not verdicts:
            verdict = "not testable here: every model is at chance on this family before pruning"
        else:
            verdict = (f"as in the paper ({sum(verdicts)} of {len(verdicts)} model-task pairs)" if all(verdicts)
                       else f"unlike the paper in {len(verdicts) - sum(verdicts)} of {len(verdicts)} model-task pairs")
        paper_text = "; ".join(_paper_retention(paper_static, b, [1, 2, 3]) for b in benchmarks)
        rows.append(verdict_row(claim, paper_text, "; ".join(found) or "—", verdict, agrees))
    return pd.DataFrame(rows)


def sequential_claim(slope_table: pd.DataFrame) -> pd.DataFrame:
    """C3 (sequential scaling stops paying off after pruning): our slopes unpruned and at the deepest level,
    per knob, against the paper's MATH500 slope (ShortGPT) unpruned and with 2 layers cut."""
    paper_rows = slope_table[(slope_table["source"] == "paper") & (slope_table["method"] == "shortgpt")
                             & (slope_table["task"] == "math500")].set_index("pruned_layers")["slope"]
    paper_text = (f"MATH500 accuracy per doubling of the budget: {paper_rows.get(0, np.nan):+.3f} unpruned, "
                  f"{paper_rows.get(2, np.nan):+.3f} with 2 ShortGPT layers cut")
    rows = []
    ours = slope_table[slope_table["source"] == "ours"]
    for (model, knob), group in ours.groupby(["model", "knob"], sort=False):
        unpruned = group[group["pruned_layers"] == 0].iloc[0]
        deepest = group[group["pruned_layers"] == group["pruned_layers"].max()]
        text = (f"{model}, {knob}: unpruned {unpruned['slope (95% CI)']}; "
                + "; ".join(f"{r['method']} {int(r['pruned_layers'])} cut {r['slope (95% CI)']}"
                            for _, r in deepest.iterrows()))
        if unpruned["low"] <= 0:
            verdict = ("not testable here: the unpruned model does not scale (its slope's CI "
                       + ("includes 0)" if unpruned["high"] >= 0 else "is below 0: it loses)"))
            agrees = "not testable here"
        else:
            lost = [r for _, r in deepest.iterrows() if r["high"] < unpruned["slope"]]
            verdict = (f"as in the paper: pruning flattens the curve ({len(lost)} of {len(deepest)} methods)"
                       if lost else "unlike the paper: the pruned curves are not flatter")
            agrees = agreement(len(lost), len(deepest))
        reported = paper_text if "budget" in knob else f"(the paper reports budgets only) {paper_text}"
        rows.append(verdict_row(f"C3 sequential scaling stops paying off ({knob})", reported, text, verdict, agrees))
    return pd.DataFrame(rows)


def parallel_claim(gains: pd.DataFrame, paper_parallel: pd.DataFrame) -> pd.DataFrame:
    """C4 (parallel scaling is flattened): what k samples add (pass@k − pass@1) unpruned and at the deepest
    level, per model and task, against the paper's AIME pass@1 → pass@32."""
    theirs = paper_parallel[paper_parallel["method"] == "shortgpt"].set_index(["pruned_layers", "k"])[
        "paper_pass_at_k"]
    paper_text = (f"AIME pass@1 → pass@32: {theirs[(0, 1)]:.2f} → {theirs[(0, 32)]:.2f} unpruned, "
                  f"{theirs[(2, 1)]:.2f} → {theirs[(2, 32)]:.2f} with 2 ShortGPT layers cut")
    rows = []
    for (model, task), group in gains.groupby(["model", "task"], sort=False):
        unpruned = group[group["pruned_layers"] == 0].iloc[0]
        deepest = group[group["pruned_layers"] == group["pruned_layers"].max()]
        k = int(unpruned["k"])
        text = (f"{model} {task}, pass@{k} − pass@1: unpruned {unpruned['pass@k − pass@1']}; "
                + "; ".join(f"{r['method']} {int(r['pruned_layers'])} cut {r['pass@k − pass@1']} (change "
                            f"{r['gain change vs unpruned']})" for _, r in deepest.iterrows()))
        if unpruned["pass@1"] == 0 and unpruned["pass@k − pass@1 value"] == 0:
            verdict, agrees = "not testable here: no sample is ever right unpruned", "not testable here"
        else:  # flatter: the paired CI of the change in the gain lies below 0
            flatter = [r["method"] for _, r in deepest.iterrows() if r["gain change vs unpruned high"] < 0]
            verdict = (f"as in the paper for {len(flatter)} of {len(deepest)} methods"
                       + (f" ({', '.join(flatter)}: the gain shrinks, 95% CI below 0)" if flatter else
                          ": no method's gain shrinks beyond its 95% CI"))
            agrees = agreement(len(flatter), len(deepest))
        rows.append(verdict_row("C4 parallel scaling (pass@k) is flattened", paper_text, text, verdict, agrees))
    return pd.DataFrame(rows)


def claims(plan: Any, store: RunStore, profile: str = "default", *, options: Any = None,
           static: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every core claim's "paper vs ours" row, recomputed from the stored runs of chapters 04–06 (seconds when
    they are stored): what the summary page shows. ``static`` is chapter 04's ``compare`` table when at hand."""
    from . import paper

    if static is None:
        static = compare(plan.static_cells(store, profile), store, options=options)
    budget_cells, wait_cells = plan.budget_cells(store, profile), plan.wait_cells(store, profile)
    evaluation.sweep([c.config for c in budget_cells + wait_cells], store, options=options)
    sampling = plan.sampling_cells(store, profile)
    evaluation.sweep([c.config for c in sampling], store, options=options)
    return pd.concat([static_claims(static, paper.static_table()),
                      sequential_claim(scaling_slopes(budget_cells, wait_cells, store, paper.sequential_table())),
                      parallel_claim(sampling_gains(sampling, store), paper.parallel_table())], ignore_index=True)


def retention_points(static: pd.DataFrame, paper_static: pd.DataFrame, method: str = "shortgpt") -> pd.DataFrame:
    """Retention with ``CLAIM_LAYERS`` layers cut (or the nearest level run), per family: the paper's benchmarks
    (no CI) and each of our informative model-task pairs (95% CI), for the summary's chart."""
    at = paper_static[paper_static["pruned_layers"] == CLAIM_LAYERS]
    rows = [{"family": PAPER_FAMILIES[r.benchmark], "who": f"paper: {r.benchmark} (Qwen3-8B)", "source": "paper",
             "pruned layers": CLAIM_LAYERS, "retention": r.paper_retention, "low": r.paper_retention,
             "high": r.paper_retention} for r in at.itertuples()]
    ours = static[(static["method"] == method) & (static["pruned_layers"] > 0) & static["informative"]]
    for (model, task), group in ours.groupby(["model", "task"], sort=False):
        row = group.loc[(group["pruned_layers"] - CLAIM_LAYERS).abs().idxmin()]
        rows.append({"family": row["family"], "who": f"ours: {model} {task}", "source": "ours",
                     "pruned layers": int(row["pruned_layers"]), "retention": row["retention"],
                     "low": row["retention_low"], "high": row["retention_high"]})
    return pd.DataFrame(rows)


def claims_verdict(table: pd.DataFrame) -> str:
    """The claim rows counted by how they came out (the summary's verdict)."""
    counts = table["agreement"].value_counts()
    parts = [f"{int(counts.get(a, 0))} {a}" for a in AGREEMENTS if counts.get(a, 0)]
    return f"Of {len(table)} claim rows: " + ", ".join(parts) + "."
