"""The paper's core experiment on any model: cut 0, 1, 2, … layers with each pruning method, evaluate every pruned
variant with the same protocol as the unpruned model, and compare them over the same problems.

A *task* is a benchmark (at a chain length, for chained ones) with a family — knowledge, short chains, long
chains — so that tables and charts group the organism's recall with the paper's MMLU and its long chains with
AIME. A pruned variant is named ``pruned:<prune run>`` (``prune.pruned_name``) and evaluated like any model.
Comparisons are paired over problems: the drop (pruned − unpruned accuracy) and the retention (pruned / unpruned
accuracy), each with a 95% bootstrap CI; a task whose unpruned accuracy does not clear chance is reported as
uninformative, never as retained. Used by chapters 03–06 (``chapters.ch03_redundancy`` … ``ch06_parallel`` hold
their findings and claim rows).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core import metrics
from ..core.config import ConfigError
from ..core.metrics import interval
from ..core.store import RunStore
from ..engine import evaluation
from ..engine.evaluation import EvalConfig
from ..engine.likelihood import StaticConfig, static_scores
from ..models.presets import PRESETS
from ..tasks.benchmarks import get_benchmark
from ..tasks.static import STATIC_BENCHMARKS, get_static
from .prune import METHOD_TITLES, PruneConfig, pruned_name, run_prune

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
        if name in STATIC_BENCHMARKS:
            if length:
                raise ConfigError(f"task {text!r}: {name} is a static benchmark and takes no chain length")
            return cls(name)
        spec = get_benchmark(name)
        if spec.chained != bool(length):
            raise ConfigError(f"task {text!r}: {name} {'needs' if spec.chained else 'takes no'} a chain length "
                              f"('{name}@<steps>')")
        return cls(name, int(length) if length else None)

    @property
    def label(self) -> str:
        return self.benchmark if self.chain_length is None else f"{self.benchmark}@{self.chain_length}"

    @property
    def words(self) -> str:
        """The task in a few words, as tables and claims name it ("15-term sums", "ARC-Easy")."""
        return get_static(self.benchmark).title if self.static else \
            get_benchmark(self.benchmark).words(self.chain_length)

    @property
    def static(self) -> bool:
        """Scored by the log-likelihood of each choice (lm-eval's way), not by a generated answer."""
        return self.benchmark in STATIC_BENCHMARKS

    @property
    def family(self) -> str:
        if self.static:
            return "knowledge"
        if self.chain_length is None:
            spec = get_benchmark(self.benchmark)
            return spec.family or ("knowledge" if spec.answer_type in ("choice letter", "name") else "short chains")
        return "long chains" if self.chain_length >= LONG_CHAIN else "short chains"

    @property
    def chance(self) -> float:
        return get_static(self.benchmark).chance if self.static else get_benchmark(self.benchmark).chance


def model_words(model: str) -> str:
    """A model as tables and claims name it: its preset's few words ("thinking SmolLM2"), else its name."""
    return PRESETS[model].words if model in PRESETS else model


def cut_words(model: str, method: str, n_layers: int) -> str:
    """A pruned variant in words: "ShortGPT, 1 of 30 layers cut" ("unpruned" at 0)."""
    if n_layers == 0:
        return "unpruned"
    depth = f" of {PRESETS[model].n_layers} layers" if model in PRESETS else \
        f" layer{'s' if n_layers > 1 else ''}"
    return f"{METHOD_TITLES.get(method, method)}, {n_layers}{depth} cut"


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
    config: EvalConfig | StaticConfig
    setting: dict


def scores(config: EvalConfig | StaticConfig, store: RunStore, metric: str = "accuracy", k: int = 1) -> pd.Series:
    """Per-problem scores of a cell's run: a static benchmark's headline metric, or a generated evaluation's
    accuracy, maj@k or pass@k."""
    if isinstance(config, StaticConfig):
        return static_scores(config, store)
    return evaluation.per_problem(config, store, metric, k)


def compare(cells: list[Cell], store: RunStore, *, options: Any = None, metric: str = "accuracy",
            k: int = 1) -> pd.DataFrame:
    """Evaluate every cell (read back when stored) and compare each with its unpruned cell (same model, task and
    setting, ``n_layers`` 0): accuracy, drop and retention with 95% CIs, and whether the task is informative
    (the unpruned accuracy's CI clears chance). One row per cell."""
    generated = [c for c in cells if not c.task.static]
    swept = evaluation.sweep([c.config for c in generated], store, options=options)
    thinking = dict(zip(map(id, generated), swept["mean_thinking_tokens"])) if generated else {}
    per_cell = {id(c): scores(c.config, store, metric, k) for c in cells}
    base = {(c.model, c.task, tuple(sorted(c.setting.items()))): c for c in cells if c.n_layers == 0}
    rows = []
    for cell in cells:
        reference = base.get((cell.model, cell.task, tuple(sorted(cell.setting.items()))))
        if reference is None:
            raise ValueError(f"no unpruned cell for {cell.model} on {cell.task.label} with {cell.setting}: add "
                             f"level 0 to the sweep")
        after, before = per_cell[id(cell)], per_cell[id(reference)]
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
                     "mean_thinking_tokens": thinking.get(id(cell), 0.0)})
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
    for (model, method, n, task), (values, frame) in curves(cells, store, x, transform=transform).items():
        estimate = metrics.slope_ci(values, frame.dropna().to_numpy())
        rows.append({"model": model, "method": method, "pruned_layers": n, "task": task.label, "slope": estimate.value,
                     "low": estimate.low, "high": estimate.high, "n_problems": estimate.n_problems})
    return pd.DataFrame(rows)


def curves(cells: list[Cell], store: RunStore, x: str, *, transform: Any = None
           ) -> dict[tuple, tuple[np.ndarray, pd.DataFrame]]:
    """Each scaling curve's data, per (model, method, level, task): the settings ``x`` in increasing order
    (optionally transformed) and the per-problem accuracy at each, problems × settings (columns named by setting)."""
    groups: dict[tuple, list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.model, cell.method, cell.n_layers, cell.task), []).append(cell)
    out = {}
    for key, group in groups.items():
        group = sorted(group, key=lambda c: c.setting[x])
        values = np.array([c.setting[x] for c in group], dtype=float)
        frame = pd.concat([evaluation.per_problem(c.config, store).rename(c.setting[x]) for c in group], axis=1)
        out[key] = (transform(values) if transform else values, frame)
    return out


# --- the claims each chapter tests, as "paper vs ours" rows (the summary page collects them) ----------------------
