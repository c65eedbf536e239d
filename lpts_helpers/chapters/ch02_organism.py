"""Chapter 02, the embedded reasoning models: the model organism (the plan of its accuracy, scaling and removal
runs, the target table measured from them, the tables of its training) and SmolLM2-135M-Instruct taught to think
the s1 way (its targets: chains, scaling, and static benchmarks kept).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..core import metrics
from ..core.config import ConfigError, knob
from ..core.store import Run, RunStore
from ..engine import evaluation
from ..engine.evaluation import EvalConfig
from ..engine.likelihood import ChoiceConfig, StaticConfig, headline_metric, run_choice_loglik, static_scores
from ..methods.organism import checkpoint_path, prompt_text
from ..methods.prune import PruneConfig
from ..methods.redundancy import RemovalConfig
from ..methods.thinking import s1_trace, trained_run
from ..models.registry import check_model
from ..tasks.static import STATIC_BENCHMARKS, get_static
from ..tasks.world import (
    chain_problem,
    chain_trace,
    recall_open_problem,
    recall_problem,
    recall_trace,
)
from .base import ChapterPlan, reference_removal


@dataclass(frozen=True)
class OrganismPlan(ChapterPlan):
    """Chapter 02: three seeds of the thinking organism and its control per task and chain length, sequential
    scaling (thinking budget on a mixed-length set, forced "Wait"s) and parallel scaling (many samples) on long
    chains, and the targets the pruning chapters need."""

    PROFILE_DEFAULTS = {
        "smoke": {"models": ("organism", "organism-direct"), "chain_lengths": (2,), "long_chain": 8, "n_problems": 3,
                  "recall_problems": 4, "budgets": (16, 32), "wait_counts": (0, 1), "n_samples": 2,
                  "removal_problems": 2, "removal_texts": 4,
                  "reference_tasks": (),  # the reference's removal sweep: held-out loss only
                  "thinker_lengths": (2, 3), "thinker_long": (3,), "thinker_problems": 2, "thinker_budget": 48,
                  "thinker_budgets": (8, 16), "thinker_scaling_length": 3, "thinker_samples": 2,
                  "thinker_sample_problems": 2, "thinker_static": ("arc_easy",), "static_questions": 4},
        "default": {},
        "paper": {},  # the organism exists only on the embedded default
    }

    models: tuple[str, ...] = knob(("organism", "organism-seed1", "organism-seed2", "organism-direct"),
                                   doc="the thinking organism's seeds, then its direct-answer control (last)")
    chain_lengths: tuple[int, ...] = knob((1, 2, 3, 4, 8, 12, 16, 20, 24, 28, 32), ge=1,
                                          doc="short (1-3) to long chains")
    long_chain: int = knob(24, ge=1, doc="the longest chain the chapters use: its scaling curves and targets")
    n_problems: int = knob(100, ge=1, doc="chain problems per length")
    recall_problems: int = knob(200, ge=1, doc="facts asked (all of them by default)")
    thinking_budget: int = knob(512, ge=1, doc="thinking tokens when the budget is not the variable")
    budgets: tuple[int, ...] = knob((24, 48, 96, 192), ge=1, doc="thinking budgets of the sequential curve, on "
                                    "chains of 1 to long_chain steps (doubling)")
    wait_counts: tuple[int, ...] = knob((0, 1, 2, 3), ge=0, doc="forced 'Wait's of the sequential curve")
    n_samples: int = knob(16, ge=1, doc="samples per problem for pass@k and maj@k")
    temperature: float = knob(1.0, ge=0.0, doc="sampling temperature of the parallel curve (the paper's 1.0)")
    max_answer_tokens: int = knob(16, ge=1, doc="answer tokens at most")
    reference: str = knob("smollm2-135m", doc="the real model the organism's redundancy is compared with")
    reference_tasks: tuple[str, ...] = knob(("chain_sum@2",), doc="short tasks the reference can partly do")
    removal_problems: int = knob(60, ge=1, doc="problems per task in the single-layer removal sweep")
    removal_texts: int = knob(32, ge=1, doc="held-out texts for the loss in the removal sweep")
    reference_answer_tokens: int = knob(48, ge=1, doc="answer tokens of the reference in the removal sweep")
    thinker: str = knob("smollm2-135m-think", doc="the real model taught to think (methods.thinking)")
    thinker_base: str = knob("smollm2-135m", doc="the instruct model it was fine-tuned from")
    thinker_lengths: tuple[int, ...] = knob((2, 3, 4, 9, 13, 15, 17), ge=2,
                                            doc="chain-sum lengths in terms (a chain of k terms takes k - 1 steps)")
    thinker_long: tuple[int, ...] = knob((13, 15, 17), ge=2, doc="its long chains, in terms (12-16 steps)")
    thinker_problems: int = knob(100, ge=1, doc="chain-sum problems per length")
    thinker_budget: int = knob(384, ge=1, doc="its thinking tokens when the budget is not the variable")
    thinker_budgets: tuple[int, ...] = knob((24, 48, 96, 192), ge=1, doc="its thinking budgets (doubling), on "
                                            "chain sums of 1 step to the scaling length mixed")
    thinker_scaling_length: int = knob(15, ge=2, doc="the long chain (terms) its budget is swept and it samples on")
    thinker_samples: int = knob(16, ge=1, doc="its samples per long-chain problem (pass@k, maj@k)")
    thinker_sample_problems: int = knob(50, ge=1, doc="long-chain problems it samples")
    thinker_dtype: str = knob("bf16", choices=("auto", "bf16", "fp32"), doc="its weights when generating (bf16: "
                              "the CPU's matrix units)")
    thinker_temperature: float = knob(0.6, ge=0.0, doc="its sampling temperature")
    thinker_static: tuple[str, ...] = knob(tuple(STATIC_BENCHMARKS), doc="static sets it must keep")
    static_questions: int = knob(500, ge=1, doc="questions per static set (seeded, the same for both models)")

    def validate(self) -> None:
        for model in (*self.models, self.reference, self.thinker, self.thinker_base):
            check_model(model)
        unknown = sorted(set(self.thinker_static) - set(STATIC_BENCHMARKS))
        if unknown:
            raise ConfigError(f"thinker_static has unknown entries {unknown}; allowed: {list(STATIC_BENCHMARKS)}")
        if not self.thinks(self.models[0]) or self.thinks(self.models[-1]):
            raise ConfigError(f"models={list(self.models)!r}: allowed: thinking models first and the direct-answer "
                              f"control last")
        if len(self.budgets) < 2 or any(b <= a for a, b in zip(self.budgets, self.budgets[1:])):
            raise ConfigError(f"budgets={list(self.budgets)!r}; allowed: two or more, increasing")

    @property
    def thinking_models(self) -> tuple[str, ...]:
        return tuple(m for m in self.models if self.thinks(m))

    @property
    def control(self) -> str:
        return self.models[-1]

    def removal_configs(self) -> list[RemovalConfig]:
        """Single-layer removal of each thinking seed (on its own held-out chats) and of the reference (worked
        solutions)."""
        sizes = {"n_problems": self.removal_problems, "n_texts": self.removal_texts}
        organisms = [RemovalConfig(model=model, text_source="organism-thinking", **sizes,
                                   tasks=("organism_recall", "organism_chain@2"))
                     for model in self.thinking_models]
        return [*organisms, reference_removal(self.reference, self.reference_tasks, self.reference_answer_tokens,
                                              **sizes)]

    def influence_configs(self) -> list[PruneConfig]:
        """Block Influence of every layer (the last one included) of each seed and of the reference."""
        return [PruneConfig(model=config.model, method="shortgpt", n_layers=1, score_last_layer=True,
                            calibration=config.text_source, n_calibration=self.removal_texts,
                            calibration_length=config.text_length)
                for config in self.removal_configs()]

    def _common(self, model: str) -> dict:
        return {"model": model, "max_answer_tokens": self.max_answer_tokens}

    def thinks(self, model: str) -> bool:
        return not model.endswith("-direct")

    def _budget(self, model: str) -> int | None:
        return self.thinking_budget if self.thinks(model) else None

    def accuracy_configs(self) -> list[EvalConfig]:
        """Greedy, per model: recall (both forms) and chains at every length (the control answers directly)."""
        configs = []
        for model in self.models:
            configs += [EvalConfig(**self._common(model), benchmark=name, n_problems=self.recall_problems)
                        for name in ("organism_recall", "organism_recall_open")]
            configs += [EvalConfig(**self._common(model), benchmark="organism_chain", chain_length=k,
                                   n_problems=self.n_problems, thinking_budget=self._budget(model))
                        for k in sorted({*self.chain_lengths, self.long_chain})]
        return configs

    def choice_configs(self) -> list[ChoiceConfig]:
        """Multiple-choice recall scored as MMLU-style benchmarks are: by the log-likelihood of each option (the
        cloze form, in the model's own answer format), per model."""
        return [ChoiceConfig(model=model, benchmark="organism_recall", n_problems=self.recall_problems,
                             scoring="boxed-text") for model in self.models]

    def _long(self, model: str, **knobs) -> EvalConfig:
        return EvalConfig(**self._common(model), benchmark="organism_chain", chain_length=self.long_chain,
                          n_problems=self.n_problems, **knobs)

    def budget_configs(self, model: str) -> list[EvalConfig]:
        """Sequential scaling by budget on chains of 1 to ``long_chain`` steps (lengths mixed as MATH500 mixes
        levels): thinking cut at each budget (then s1's "Final Answer:" cue)."""
        return [EvalConfig(**self._common(model), benchmark="organism_chain_mix", chain_length=self.long_chain,
                           n_problems=self.n_problems, thinking_budget=b) for b in self.budgets]

    def wait_configs(self, model: str) -> list[EvalConfig]:
        """Sequential scaling by forced "Wait"s on long chains: each early end of thinking suppressed n times."""
        return [self._long(model, thinking_budget=self.thinking_budget, n_ignore=n) for n in self.wait_counts]

    def sampling_config(self, model: str) -> EvalConfig:
        """Parallel scaling: ``n_samples`` samples per long-chain problem (pass@k, maj@k)."""
        return self._long(model, thinking_budget=self._budget(model), n_samples=self.n_samples,
                          temperature=self.temperature)

    def scaling_configs(self) -> dict[str, list[EvalConfig]]:
        """Every scaling run of the chapter by kind: budget and wait curves of the thinking seeds, samples of all."""
        return {"budget": [c for m in self.thinking_models for c in self.budget_configs(m)],
                "wait": [c for m in self.thinking_models for c in self.wait_configs(m)],
                "sampling": [self.sampling_config(m) for m in self.models]}


    # --- SmolLM2 taught to think ---------------------------------------------------------------------------------

    def _chain(self, model: str, length: int, benchmark: str = "chain_sum", **knobs) -> EvalConfig:
        return EvalConfig(model=model, benchmark=benchmark, chain_length=length, dtype=self.thinker_dtype, **knobs)

    def thinker_accuracy_configs(self) -> list[EvalConfig]:
        """Greedy chain sums at every length, thinking within ``thinker_budget``."""
        return [self._chain(self.thinker, k, n_problems=self.thinker_problems, thinking_budget=self.thinker_budget,
                            max_answer_tokens=self.max_answer_tokens)
                for k in sorted({*self.thinker_lengths, *self.thinker_long})]

    def thinker_budget_configs(self) -> list[EvalConfig]:
        """Its thinking cut at each budget (then s1's "Final Answer:" cue), on chains of 1 step to the scaling
        length mixed (one length would make the curve a single step)."""
        return [self._chain(self.thinker, self.thinker_scaling_length, benchmark="chain_sum_mix",
                            n_problems=self.thinker_problems, thinking_budget=b,
                            max_answer_tokens=self.max_answer_tokens) for b in self.thinker_budgets]

    def thinker_sampling_config(self) -> EvalConfig:
        """``thinker_samples`` samples per long-chain problem."""
        return self._chain(self.thinker, self.thinker_scaling_length, n_problems=self.thinker_sample_problems,
                           thinking_budget=self.thinker_budget, max_answer_tokens=self.max_answer_tokens,
                           n_samples=self.thinker_samples, temperature=self.thinker_temperature)

    def thinker_static_configs(self) -> list[StaticConfig]:
        """Both models on the same seeded questions of each static set (bf16 weights: 2.3x faster on the CPU)."""
        return [StaticConfig(model=model, benchmark=name, n_problems=self.static_questions, dtype="bf16")
                for model in (self.thinker_base, self.thinker) for name in self.thinker_static]


def target_table(plan: OrganismPlan, store: RunStore) -> pd.DataFrame:
    """The organism's targets, one row per target and model: the measured value, its 95% CI and whether the
    target is met. Differences between two settings are paired over the same problems; the budget slope is
    accuracy gained per doubling of the budget, with a bootstrap CI over problems."""
    by = {(c.model, c.benchmark, c.chain_length): c for c in plan.accuracy_configs()}
    short = [k for k in plan.chain_lengths if k <= 3]
    rows = []

    def add(key: str, target: str, model: str, estimate: metrics.Estimate, met: bool, miss: str = "no") -> None:
        rows.append({"key": key, "target": target, "model": model, "measured": estimate.value,
                     "low": estimate.low, "high": estimate.high, "met": "yes" if met else miss})

    def accuracy(model: str, benchmark: str, length: int | None = None) -> pd.Series:
        return evaluation.per_problem(by[(model, benchmark, length)], store)

    choices = {c.model: c for c in plan.choice_configs()}
    for model in plan.models:
        scored = run_choice_loglik(choices[model], store).samples.set_index("problem_id")["correct"]
        mc = metrics.bootstrap_ci(scored.astype(float))
        add("recall", "knowledge, multiple choice (log-likelihood of each option) ≥ 0.95", model, mc,
            mc.value >= 0.95)
        open_ = metrics.bootstrap_ci(accuracy(model, "organism_recall_open"))
        add("recall_open", "knowledge, open recall ≥ 0.90", model, open_, open_.value >= 0.90)
        bar = 0.95 if plan.thinks(model) else 0.90
        estimate = metrics.bootstrap_ci(pd.concat([accuracy(model, "organism_chain", k) for k in short]))
        add("short", f"short chains (1–3 steps), greedy ≥ {bar:.2f}", model, estimate, estimate.value >= bar)
        if not plan.thinks(model):
            continue
        long = metrics.bootstrap_ci(accuracy(model, "organism_chain", plan.long_chain))
        add("long", f"long chains ({plan.long_chain} steps), greedy within 0.50–0.90", model, long,
            0.5 <= long.value <= 0.9)
        sampled = plan.sampling_config(model)
        one = evaluation.per_problem(sampled, store)
        for key, metric, bar in (("maj_gain", "maj", 0.10), ("pass_gain", "pass", 0.15)):
            gain = evaluation.paired_gain(one, evaluation.per_problem(sampled, store, metric, plan.n_samples))
            add(key, f"parallel: {metric}@{plan.n_samples} − pass@1 (T = {plan.temperature}) ≥ +{bar:.2f}, CI "
                f"above 0", model, gain, gain.value >= bar and gain.low > 0)
        budgets = plan.budget_configs(model)
        matrix = pd.concat([evaluation.per_problem(c, store) for c in budgets], axis=1)
        slope = metrics.slope_ci(np.log2([c.thinking_budget for c in budgets]), matrix.to_numpy())
        add("budget_slope", f"sequential: accuracy per doubling of the budget ({plan.budgets[0]}–"
            f"{plan.budgets[-1]} tokens, chains of 1–{plan.long_chain}) ≥ +0.05, CI above 0", model, slope,
            slope.value >= 0.05 and slope.low > 0)
        waits = plan.wait_configs(model)
        gain = evaluation.paired_gain(evaluation.per_problem(waits[0], store),
                                      evaluation.per_problem(waits[-1], store))
        add("wait_gain", f"sequential: 0 → {plan.wait_counts[-1]} forced 'Wait' at a fixed budget, a gain with CI "
            f"above 0 (else a negative result)", model, gain, gain.low > 0, miss="negative")
    return pd.DataFrame(rows)


def thinker_targets(plan: OrganismPlan, store: RunStore) -> pd.DataFrame:
    """The thinking SmolLM2's targets (issue table): chains short and long (greedy), the budget slope, the
    maj@k gain on long chains, and on each static set the instruct model is informative on, the paired change
    from the instruct model (lm-eval's headline metric: acc_norm where it reports one); same columns as
    ``target_table``."""
    rows = []

    def add(key: str, target: str, estimate: metrics.Estimate, met: bool) -> None:
        rows.append({"key": key, "target": target, "model": plan.thinker, "measured": estimate.value,
                     "low": estimate.low, "high": estimate.high, "met": "yes" if met else "no"})

    chains = {c.chain_length: c for c in plan.thinker_accuracy_configs()}
    short = [k for k in plan.thinker_lengths if k <= 4]
    estimate = metrics.bootstrap_ci(pd.concat([evaluation.per_problem(chains[k], store) for k in short]))
    add("short", f"short chains ({min(short) - 1}–{max(short) - 1} steps), greedy ≥ 0.90", estimate,
        estimate.value >= 0.90)
    long = plan.thinker_long
    estimate = metrics.bootstrap_ci(pd.concat([evaluation.per_problem(chains[k], store) for k in long]))
    add("long", f"long chains ({min(long) - 1}–{max(long) - 1} steps), greedy within 0.40–0.90", estimate,
        0.40 <= estimate.value <= 0.90)
    budgets = plan.thinker_budget_configs()
    matrix = pd.concat([evaluation.per_problem(c, store) for c in budgets], axis=1)
    slope = metrics.slope_ci(np.log2([c.thinking_budget for c in budgets]), matrix.to_numpy())
    add("budget_slope", f"accuracy per doubling of the budget ({plan.thinker_budgets[0]}–{plan.thinker_budgets[-1]} "
        f"tokens, chains of 1–{plan.thinker_scaling_length - 1} steps mixed), CI above 0", slope, slope.low > 0)
    sampled = plan.thinker_sampling_config()
    gain = evaluation.paired_gain(evaluation.per_problem(sampled, store),
                                  evaluation.per_problem(sampled, store, "maj", plan.thinker_samples))
    add("maj_gain", f"maj@{plan.thinker_samples} − pass@1 on {plan.thinker_scaling_length - 1}-step chains "
        f"(T = {plan.thinker_temperature}), CI above 0", gain, gain.low > 0)
    static = {(c.model, c.benchmark): c for c in plan.thinker_static_configs()}
    for name in plan.thinker_static:
        spec = get_static(name)
        before = static_scores(static[(plan.thinker_base, name)], store)
        after = static_scores(static[(plan.thinker, name)], store)
        if metrics.bootstrap_ci(before).low <= spec.chance:
            continue  # the instruct model is at chance: nothing to keep
        change = evaluation.paired_gain(before, after)
        add(f"static_{name}", f"{spec.title} {headline_metric(name)}: change from the instruct model within ±0.02",
            change, abs(change.value) <= 0.02)
    return pd.DataFrame(rows)


def missed_targets(targets: pd.DataFrame) -> str:
    """The unmet targets as a clause for the verdict, each with its measurement, or that none was missed."""
    missed = targets[targets["met"] == "no"]
    if missed.empty:
        return "none missed"
    return "missed: " + "; ".join(f"{r.target}, measured {metrics.interval(r.measured, r.low, r.high)}"
                                  for r in missed.itertuples())


def thinker_view(targets: pd.DataFrame) -> pd.DataFrame:
    """The thinking SmolLM2's targets as the chapter prints them."""
    return pd.DataFrame({"target": targets["target"],
                         "measured (95% CI)": [metrics.interval(r.measured, r.low, r.high)
                                               for r in targets.itertuples()],
                         "met": targets["met"].map({"yes": "✓", "no": "✗"})})


def thinker_training_summary(plan: OrganismPlan) -> pd.DataFrame:
    """The thinking SmolLM2's training, read back from the book's store, where its preset's adapter is (never
    retrained by the book): steps, minutes, losses, the adapter's size and where it is."""
    run = trained_run(plan.thinker_base)
    adapter = run.path / "adapter" / "adapter_model.safetensors"
    return pd.DataFrame([{"model": plan.thinker, "base": plan.thinker_base, "steps": run.metrics["steps"],
                          "minutes": round(run.metrics["minutes"], 1),
                          "first loss": round(run.metrics["first_loss"], 3),
                          "final loss": round(run.metrics["final_loss"], 3),
                          "adapter (MB)": round(adapter.stat().st_size / 1e6, 1),
                          "adapter": str(adapter.parent.relative_to(run.path.parents[2]))}])


def thinker_examples(seed: int = 7) -> pd.DataFrame:
    """Training traces of the thinking SmolLM2 (a short chain, and a longer one with a slip), masked text marked."""
    rng = random.Random(seed)
    return pd.DataFrame([{"chain": expression, "reply": _marked(s1_trace(expression, rng, slip))}
                         for expression, slip in (("4 + 3 - 1", 0.0), ("6 + 2 - 6 + 6 + 4 + 7 - 4 - 7", 1.0))])


def targets_view(targets: pd.DataFrame) -> pd.DataFrame:
    """The target table as a reader scans it: one row per target, one column per model ("value [low, high] ✓")."""
    marks = {"yes": "✓", "no": "✗", "negative": "(a measured negative result)"}
    cells = targets.assign(cell=[f"{metrics.interval(r.measured, r.low, r.high)} {marks[r.met]}"
                                 for r in targets.itertuples()])
    order = list(dict.fromkeys(targets["target"]))
    models = list(dict.fromkeys(targets["model"]))
    view = cells.pivot(index="target", columns="model", values="cell").reindex(index=order, columns=models)
    return view.fillna("—").rename_axis(index=None, columns=None)


def target_range(targets: pd.DataFrame, key: str, models: tuple[str, ...]) -> dict[str, float]:
    """Over ``models`` (the seeds): the lowest and highest measured value of target ``key`` and how many met it."""
    rows = targets[(targets["key"] == key) & targets["model"].isin(models)]
    return {"low": float(rows["measured"].min()), "high": float(rows["measured"].max()),
            "met": int((rows["met"] == "yes").sum()), "of": len(rows)}


def training_curves(runs: dict[str, tuple[Run, Run]]) -> pd.DataFrame:
    """The stored loss of each training, one row per step over both phases, labelled by model and phase (for the
    loss chart)."""
    frames = []
    for model, (first, second) in runs.items():
        offset = int(first.samples["step"].max())
        frames += [first.samples.assign(model=model, phase="1: chains and facts"),
                   second.samples.assign(model=model, phase="2: facts, chains replayed",
                                         step=second.samples["step"] + offset)]
    return pd.concat(frames, ignore_index=True)


def training_summary(runs: dict[str, tuple[Run, Run]]) -> pd.DataFrame:
    """One row per trained organism: size, steps and minutes of each phase, throughput, final loss, where its
    checkpoint is."""
    rows = []
    for model, (first, second) in runs.items():
        config = first.config["config"]
        n_params = sum(int(np.prod(shape)) for shape in _parameter_shapes(checkpoint_path(second.path)))
        rows.append({"model": model, "layers": config["n_layers"], "width": config["hidden_size"],
                     "parameters (M)": round(n_params / 1e6, 3),
                     "steps (phase 1 + 2)": f"{first.metrics['steps']} + {second.metrics['steps']}",
                     "minutes": round(first.metrics["minutes"] + second.metrics["minutes"], 1),
                     "tokens/s (phase 1)": round(first.metrics["tokens_per_second"]),
                     "final loss": round(second.metrics["final_loss"], 4),
                     "checkpoint": str(checkpoint_path(second.path).relative_to(second.path.parents[2]))})
    return pd.DataFrame(rows)


def _parameter_shapes(path: Path) -> list[tuple[int, ...]]:
    from safetensors import safe_open

    with safe_open(str(path / "model.safetensors"), framework="pt") as handle:
        names = list(handle.keys())  # a safetensors handle is not a dict
        return [tuple(handle.get_slice(name).get_shape()) for name in names]


def example_table(seed: int = 7) -> pd.DataFrame:
    """Training conversations of each kind of task, with the untrained (masked) text marked, for the chapter."""
    rng = random.Random(seed)
    problems = {"recall": recall_problem(rng, 0), "recall_open": recall_open_problem(1)}
    rows = [{"task": task, "chain_length": "—", "prompt": prompt_text(task, problem),
             "reply": _marked(recall_trace(problem))} for task, problem in problems.items()]
    for n_steps, slip in ((3, 0.0), (8, 0.25)):
        problem = chain_problem(rng, n_steps)
        rows.append({"task": "chain", "chain_length": n_steps, "prompt": prompt_text("chain", problem),
                     "reply": _marked(chain_trace(problem, "thinking", rng, slip=slip, answer_cue=0.0))})
    return pd.DataFrame(rows)


def _marked(segments: list[tuple[str, bool]]) -> str:
    return "".join(text if trained else f"[masked: {text.rstrip()}]" + ("\n" if text.endswith("\n") else "")
                   for text, trained in segments)
