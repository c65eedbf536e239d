"""Chapter plans: which runs a chapter makes under each profile, as one typed config per chapter.

A plan is not a run: it lists the stage configs (each hashed and stored on its own) that a chapter evaluates, so
the chapter's ``parameters`` cell maps onto one validated object and the smoke, default and paper profiles of a
chapter live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import evaluation, metrics, study
from .analysis import PAPER_SOURCE, AnalysisConfig, LoopSpec
from .benchmarks import BENCHMARKS, LOCAL_BENCHMARKS
from .config import ConfigError, StageConfig, knob
from .evaluation import EvalConfig
from .grading import EXTRACTORS
from .likelihood import SCORINGS, ChoiceConfig, run_choice_loglik
from .models import check_model
from .prune import PruneConfig
from .redundancy import RemovalConfig
from .store import RunStore

PAPER_METHODS = ("shortgpt", "reverse", "laco")
RG_FAMILIES = tuple(name for name, spec in BENCHMARKS.items() if spec.source == "reasoning-gym")


@dataclass(frozen=True)
class BaselinePlan(StageConfig):
    """Chapter 01: the unpruned model on every task family, graded two ways, plus MMLU by log-likelihood."""

    PROFILE_DEFAULTS = {
        "smoke": {"families": ("chain_sum",), "chain_lengths": (2,), "benchmarks": ("gsm8k",), "n_problems": 2,
                  "max_answer_tokens": 8, "mmlu_questions": 4, "mmlu_scorings": ("letter",)},
        "default": {},
        "paper": {"model": "qwen3-8b", "backend": "vllm", "families": (), "benchmarks": ("gsm8k", "math500", "aime24"),
                  "n_problems": 500, "thinking_budget": 8192, "max_answer_tokens": 1024, "mmlu_questions": 1000,
                  "mmlu_scorings": ("letter",)},
    }

    model: str = knob("smollm2-135m", doc="a model preset or a local checkpoint directory")
    backend: str = knob("hf", choices=("hf", "vllm"), doc="generation backend")
    families: tuple[str, ...] = knob(RG_FAMILIES, doc="reasoning-gym families, each at every chain length")
    chain_lengths: tuple[int, ...] = knob((2, 4, 8), ge=1, doc="steps per synthetic problem")
    benchmarks: tuple[str, ...] = knob(("gsm8k",), doc="local benchmarks answered generatively")
    n_problems: int = knob(40, ge=1, doc="problems per benchmark or family and length")
    thinking_budget: int | None = knob(None, ge=1, doc="thinking tokens; None = answer directly")
    max_answer_tokens: int = knob(192, ge=1, doc="answer tokens at most")
    extractors: tuple[str, ...] = knob(("boxed", "flex"), doc="readings compared on the same samples")
    mmlu_questions: int = knob(200, ge=1, doc="MMLU questions scored by log-likelihood")
    mmlu_scorings: tuple[str, ...] = knob(("letter", "text-normalized"), doc="what the log-likelihood compares")

    def validate(self) -> None:
        check_model(self.model)
        for field, values, allowed in (("families", self.families, RG_FAMILIES),
                                       ("benchmarks", self.benchmarks, LOCAL_BENCHMARKS),
                                       ("extractors", self.extractors, tuple(EXTRACTORS)),
                                       ("mmlu_scorings", self.mmlu_scorings, SCORINGS)):
            unknown = sorted(set(values) - set(allowed))
            if unknown:
                raise ConfigError(f"{field}={list(values)!r} has unknown entries {unknown}; allowed: {list(allowed)}")

    def eval_configs(self) -> list[EvalConfig]:
        common = {"model": self.model, "backend": self.backend, "n_problems": self.n_problems,
                  "thinking_budget": self.thinking_budget, "max_answer_tokens": self.max_answer_tokens}
        tasks = [{"benchmark": f, "chain_length": k} for f in self.families for k in self.chain_lengths]
        tasks += [{"benchmark": b} for b in self.benchmarks if b != "mmlu"]
        return [EvalConfig(**common, **task, extractor=extractor) for task in tasks for extractor in self.extractors]

    def choice_configs(self) -> list[ChoiceConfig]:
        return [ChoiceConfig(model=self.model, n_problems=self.mmlu_questions, scoring=scoring)
                for scoring in self.mmlu_scorings]


def reference_removal(model: str, tasks: tuple[str, ...], max_answer_tokens: int, *, n_problems: int,
                      n_texts: int) -> RemovalConfig:
    """Single-layer removal of a real LLM: the loss on worked GSM8K solutions (128 tokens), direct answers on its
    tasks (chapters 02 and 03 share the run)."""
    return RemovalConfig(model=model, text_source="gsm8k-train", tasks=tasks, thinking_budget=None,
                         max_answer_tokens=max_answer_tokens, text_length=128, n_problems=n_problems, n_texts=n_texts)


@dataclass(frozen=True)
class OrganismPlan(StageConfig):
    """Chapter 02: three seeds of the thinking organism and its control per task and chain length, sequential
    scaling (thinking budget on a mixed-length set, forced "Wait"s) and parallel scaling (many samples) on long
    chains, and the targets the pruning chapters need."""

    PROFILE_DEFAULTS = {
        "smoke": {"models": ("organism", "organism-direct"), "chain_lengths": (2,), "long_chain": 8, "n_problems": 3,
                  "recall_problems": 4, "budgets": (16, 32), "wait_counts": (0, 1), "n_samples": 2,
                  "removal_problems": 2, "removal_texts": 4,
                  "reference_tasks": ()},  # the reference's removal sweep: held-out loss only
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

    def validate(self) -> None:
        for model in (*self.models, self.reference):
            check_model(model)
        if not self._thinks(self.models[0]) or self._thinks(self.models[-1]):
            raise ConfigError(f"models={list(self.models)!r}: allowed: thinking models first and the direct-answer "
                              f"control last")
        if len(self.budgets) < 2 or any(b <= a for a, b in zip(self.budgets, self.budgets[1:])):
            raise ConfigError(f"budgets={list(self.budgets)!r}; allowed: two or more, increasing")

    @property
    def thinking_models(self) -> tuple[str, ...]:
        return tuple(m for m in self.models if self._thinks(m))

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

    def _thinks(self, model: str) -> bool:
        return not model.endswith("-direct")

    def _budget(self, model: str) -> int | None:
        return self.thinking_budget if self._thinks(model) else None

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

    def target_table(self, store: RunStore) -> pd.DataFrame:
        """The organism's targets, one row per target and model: the measured value, its 95% CI and whether the
        target is met. Differences between two settings are paired over the same problems; the budget slope is
        accuracy gained per doubling of the budget, with a bootstrap CI over problems."""
        by = {(c.model, c.benchmark, c.chain_length): c for c in self.accuracy_configs()}
        short = [k for k in self.chain_lengths if k <= 3]
        rows = []

        def add(key: str, target: str, model: str, estimate: metrics.Estimate, met: bool, miss: str = "no") -> None:
            rows.append({"key": key, "target": target, "model": model, "measured": estimate.value,
                         "low": estimate.low, "high": estimate.high, "met": "yes" if met else miss})

        def accuracy(model: str, benchmark: str, length: int | None = None) -> pd.Series:
            return evaluation.per_problem(by[(model, benchmark, length)], store)

        choices = {c.model: c for c in self.choice_configs()}
        for model in self.models:
            scored = run_choice_loglik(choices[model], store).samples.set_index("problem_id")["correct"]
            mc = metrics.bootstrap_ci(scored.astype(float))
            add("recall", "knowledge, multiple choice (log-likelihood of each option) ≥ 0.95", model, mc,
                mc.value >= 0.95)
            open_ = metrics.bootstrap_ci(accuracy(model, "organism_recall_open"))
            add("recall_open", "knowledge, open recall ≥ 0.90", model, open_, open_.value >= 0.90)
            bar = 0.95 if self._thinks(model) else 0.90
            estimate = metrics.bootstrap_ci(pd.concat([accuracy(model, "organism_chain", k) for k in short]))
            add("short", f"short chains (1–3 steps), greedy ≥ {bar:.2f}", model, estimate, estimate.value >= bar)
            if not self._thinks(model):
                continue
            long = metrics.bootstrap_ci(accuracy(model, "organism_chain", self.long_chain))
            add("long", f"long chains ({self.long_chain} steps), greedy within 0.50–0.90", model, long,
                0.5 <= long.value <= 0.9)
            sampled = self.sampling_config(model)
            one = evaluation.per_problem(sampled, store)
            for key, metric, bar in (("maj_gain", "maj", 0.10), ("pass_gain", "pass", 0.15)):
                gain = evaluation.paired_gain(one, evaluation.per_problem(sampled, store, metric, self.n_samples))
                add(key, f"parallel: {metric}@{self.n_samples} − pass@1 (T = {self.temperature}) ≥ +{bar:.2f}, CI "
                    f"above 0", model, gain, gain.value >= bar and gain.low > 0)
            budgets = self.budget_configs(model)
            matrix = pd.concat([evaluation.per_problem(c, store) for c in budgets], axis=1)
            slope = metrics.slope_ci(np.log2([c.thinking_budget for c in budgets]), matrix.to_numpy())
            add("budget_slope", f"sequential: accuracy per doubling of the budget ({self.budgets[0]}–"
                f"{self.budgets[-1]} tokens, chains of 1–{self.long_chain}) ≥ +0.05, CI above 0", model, slope,
                slope.value >= 0.05 and slope.low > 0)
            waits = self.wait_configs(model)
            gain = evaluation.paired_gain(evaluation.per_problem(waits[0], store),
                                          evaluation.per_problem(waits[-1], store))
            add("wait_gain", f"sequential: 0 → {self.wait_counts[-1]} forced 'Wait' at a fixed budget, a gain with CI "
                f"above 0 (else a negative result)", model, gain, gain.low > 0, miss="negative")
        return pd.DataFrame(rows)


def targets_view(targets: pd.DataFrame) -> pd.DataFrame:
    """The target table as a reader scans it: one row per target, one column per model ("value [low, high] ✓")."""
    marks = {"yes": "✓", "no": "✗", "negative": "(a measured negative result)"}
    cells = targets.assign(cell=[f"{evaluation.interval(r.measured, r.low, r.high)} {marks[r.met]}"
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


@dataclass(frozen=True)
class PruningPlan(StageConfig):
    """Chapters 03–06, the paper's core claims: which layers look redundant, static accuracy against the number
    of pruned layers, and sequential and parallel scaling at each level of pruning, for the organism, its
    direct-answer control and a real LLM (the embedded default), or the paper's models (``paper``)."""

    PROFILE_DEFAULTS = {
        "smoke": {"methods": ("shortgpt", "reverse"), "organism_seeds": (), "organism_levels": (1,),
                  "reference_levels": (1,),
                  "n_problems": 3, "reference_problems": 2, "reference_answer_tokens": 8,
                  "organism_tasks": ("organism_recall_open", "organism_chain@2"), "reference_tasks": ("chain_sum@2",),
                  "sensitivity_tasks": ("organism_recall_open",), "sensitivity_problems": 2, "sensitivity_texts": 2,
                  "reference_sensitivity_tasks": (), "scaling_levels": (0, 1),
                  "long_task": "organism_chain@8", "budget_task": "organism_chain_mix@8", "budgets": (16, 64),
                  "wait_counts": (0, 1), "parallel_tasks": ("organism_chain@2",),
                  "n_samples": 2, "reference_samples": 2, "parallel_problems": 2},
        "default": {},
        "paper": {"organism": "qwen3-8b", "organism_seeds": (), "control": "qwen3-8b", "reference": "s1.1-7b",
                  "backend": "vllm",
                  "organism_levels": (1, 2, 3, 4, 5, 6, 7), "reference_levels": (1, 2, 3),
                  "organism_tasks": ("mmlu", "gsm8k", "math500", "aime24"), "reference_tasks": ("math500", "aime24"),
                  "n_problems": 500, "reference_problems": 500, "thinking_budget": 8192, "max_answer_tokens": 1024,
                  "reference_answer_tokens": 1024, "budgets": (512, 1024, 2048, 4096, 8192), "long_task": "aime24",
                  "budget_task": "aime24",
                  "parallel_tasks": ("aime24",), "n_samples": 64, "reference_samples": 64, "parallel_problems": 30,
                  "scaling_levels": (0, 1, 2, 3), "sensitivity_tasks": (), "reference_sensitivity_tasks": (),
                  "reference_thinks": True},
    }

    organism: str = knob("organism", doc="the thinking model (paper: Qwen3-8B)")
    organism_seeds: tuple[str, ...] = knob(("organism-seed1", "organism-seed2"), doc="the thinking model's other "
                                           "training seeds, pruned and evaluated as it is in chapter 04 (the "
                                           "spread over seeds); empty: none")
    control: str = knob("organism-direct", doc="the direct-answer control (paper profile: the same model)")
    reference: str = knob("smollm2-135m", doc="the real LLM of the embedded default (paper: s1.1-7B)")
    reference_thinks: bool = knob(False, doc="whether the reference writes a thinking section (SmolLM2 does not)")
    backend: str = knob("hf", choices=("hf", "vllm"), doc="generation backend")
    methods: tuple[str, ...] = knob(("shortgpt", "reverse", "laco"), doc="pruning methods compared")
    organism_levels: tuple[int, ...] = knob((1, 2, 3), ge=1, doc="layers cut from the organism and the control "
                                            "(3 of 12 is 25% of depth)")
    reference_levels: tuple[int, ...] = knob((1, 2, 3, 8), ge=1, doc="layers cut from the reference (8 of 30 is 27%)")
    organism_tasks: tuple[str, ...] = knob(("organism_recall_open", "organism_recall", "organism_chain@2",
                                            "organism_chain@24"), doc="the organism's and the control's tasks "
                                            "(24 steps: chapter 02's long chains)")
    reference_tasks: tuple[str, ...] = knob(("chain_sum@2",), doc="the reference's tasks (reasoning-gym chains "
                                            "it partly solves; at 4 terms and more it is at the floor unpruned)")
    n_problems: int = knob(60, ge=1, doc="problems per organism task")
    reference_problems: int = knob(30, ge=1, doc="problems per reference task")
    thinking_budget: int = knob(384, ge=1, doc="thinking tokens (a 24-step chain takes about 200; slips and "
                                "forced Waits add lines)")
    max_answer_tokens: int = knob(16, ge=1, doc="answer tokens of the organism")
    reference_answer_tokens: int = knob(48, ge=1, doc="answer tokens of the reference")
    sensitivity_tasks: tuple[str, ...] = knob(("organism_recall_open", "organism_recall", "organism_chain@2",
                                               "organism_chain@24"), doc="tasks of the single-layer map")
    sensitivity_problems: int = knob(40, ge=1, doc="problems per task in the single-layer map")
    sensitivity_texts: int = knob(16, ge=1, doc="held-out texts for the loss in the single-layer map")
    reference_sensitivity_tasks: tuple[str, ...] = knob(("chain_sum@2",), doc="the reference's tasks in the "
                                                         "single-layer map (chapter 02's sweep; empty: none)")
    reference_sensitivity_problems: int = knob(60, ge=1, doc="problems per task in the reference's map")
    reference_sensitivity_texts: int = knob(32, ge=1, doc="held-out texts in the reference's map")
    scaling_levels: tuple[int, ...] = knob((0, 1, 2), ge=0, doc="pruned layers of the scaling curves")
    long_task: str = knob("organism_chain@24", doc="the long-chain task of the forced-'Wait' curve and the traces")
    budget_task: str = knob("organism_chain_mix@24", doc="the set the thinking budget is swept on: chains of 1-24 "
                            "steps mixed, as MATH500 mixes levels (one length would make the curve a single step)")
    budgets: tuple[int, ...] = knob((24, 48, 96, 192, 384), ge=1, doc="thinking budgets of the sequential curve "
                                    "(doubling; a 24-step chain needs about 200)")
    wait_counts: tuple[int, ...] = knob((0, 1, 2), ge=0, doc="forced 'Wait's of the sequential curve")
    parallel_tasks: tuple[str, ...] = knob(("organism_chain@24", "organism_chain@2"), doc="the organism's tasks "
                                           "of the parallel curves (the first is also chapters 07, 08 and 10's; the "
                                           "reference uses its first task)")
    n_samples: int = knob(16, ge=1, doc="samples per problem for the organism's pass@k and maj@k")
    reference_samples: int = knob(8, ge=1, doc="samples per problem for the reference's pass@k and maj@k")
    parallel_problems: int = knob(30, ge=1, doc="problems per task of the parallel curves")
    temperature: float = knob(1.0, ge=0.0, doc="sampling temperature of the parallel curves (the paper's 1.0)")

    def validate(self) -> None:
        for model in (self.organism, *self.organism_seeds, self.control, self.reference):
            check_model(model)
        unknown = sorted(set(self.methods) - set(PAPER_METHODS))
        if unknown:
            raise ConfigError(f"methods={list(self.methods)!r} has unknown entries {unknown}; allowed: "
                              f"{list(PAPER_METHODS)}")
        for task in (*self.organism_tasks, *self.reference_tasks, *self.sensitivity_tasks, self.long_task,
                     self.budget_task, *self.parallel_tasks):
            study.Task.parse(task)

    # --- who is pruned how far, and how each is evaluated ---------------------------------------------------------

    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.organism, self.control, self.reference)))

    def levels(self, model: str) -> tuple[int, ...]:
        return self.reference_levels if model == self.reference else self.organism_levels

    def thinks(self, model: str) -> bool:
        if model == self.reference:
            return self.reference_thinks
        return model == self.organism or model in self.organism_seeds

    def tasks(self, model: str) -> tuple[str, ...]:
        return self.reference_tasks if model == self.reference else self.organism_tasks

    def seed_models(self) -> tuple[str, ...]:
        """The thinking model and its other seeds (the first seed alone when there are none)."""
        return tuple(dict.fromkeys((self.organism, *self.organism_seeds)))

    def evaluation_of(self, model: str, name: str, task: Any, **knobs: Any) -> EvalConfig:
        """How variant ``name`` of ``model`` (the model itself, pruned or recovered) is evaluated on ``task``:
        the same settings for every variant, so their stored runs compare."""
        reference = model == self.reference
        return study.task_config(name, task,
                                 n_problems=knobs.pop("n_problems", self.reference_problems if reference
                                                      else self.n_problems),
                                 thinks=self.thinks(model), thinking_budget=knobs.pop("thinking_budget",
                                                                                      self.thinking_budget),
                                 max_answer_tokens=knobs.pop("max_answer_tokens", self.reference_answer_tokens
                                                             if reference else self.max_answer_tokens),
                                 backend=self.backend, **knobs)

    def sampling_knobs(self, model: str) -> dict[str, Any]:
        """The parallel-scaling settings of ``model``: problems, samples per problem, temperature."""
        return {"n_problems": self.parallel_problems, "temperature": self.temperature,
                "n_samples": self.reference_samples if model == self.reference else self.n_samples}

    def parallel_task(self, model: str) -> str:
        """The task of ``model``'s parallel curves (the reference's first task)."""
        return self.reference_tasks[0] if model == self.reference else self.parallel_tasks[0]

    def variants(self, model: str, methods: tuple[str, ...] | None = None) -> list[tuple[str, int]]:
        """(method, pruned layers) of every variant of ``model`` by ``methods`` (default: the plan's): the
        unpruned model once, under the first method, then each method at each level."""
        methods = methods or self.methods
        return [(method, n) for method in methods for n in (0, *self.levels(model)) if n > 0 or method == methods[0]]

    def parallel_cells(self, store: RunStore, profile: str = "default") -> list:
        """The sampling cells of each model's first parallel task, the unpruned model once (chapters 08 and 10)."""
        return [c for c in self.sampling_cells(store, profile)
                if c.task.label == study.Task.parse(self.parallel_task(c.model)).label
                and (c.n_layers > 0 or c.method == self.methods[0])]

    def cell(self, model: str, method: str, n: int, task: Any, store: RunStore, profile: str, setting: dict,
             **knobs: Any):
        """``model`` cut by ``method`` at ``n`` layers (0: unpruned), evaluated on ``task`` with this plan's
        settings (``knobs`` override them)."""
        config = self.evaluation_of(model, study.variant(model, method, n, store, profile), task, **knobs)
        return study.Cell(model, method, n, task, config, setting)

    # --- chapter 03: which layers look redundant --------------------------------------------------------------

    def influence_configs(self) -> dict[str, PruneConfig]:
        """Block Influence of every layer (the last scored too) of each model, on its own calibration text."""
        return {m: PruneConfig(model=m, method="shortgpt", n_layers=1, score_last_layer=True,
                               calibration=study.calibration_for(m)) for m in self.models()}

    def sensitivity_configs(self) -> dict[str, RemovalConfig]:
        """The single-layer map: each layer of the organism, the control and the reference removed alone, per
        task."""
        configs = {}
        for model in (self.organism, self.control):
            if model in configs or not self.sensitivity_tasks:
                continue
            configs[model] = RemovalConfig(model=model, text_source=study.calibration_for(model),
                                           tasks=self.sensitivity_tasks,
                                           n_problems=self.sensitivity_problems,
                                           n_texts=self.sensitivity_texts,
                                           thinking_budget=self.thinking_budget if self.thinks(model) else None)
        if self.reference_sensitivity_tasks:
            configs[self.reference] = reference_removal(
                self.reference, self.reference_sensitivity_tasks, self.reference_answer_tokens,
                n_problems=self.reference_sensitivity_problems, n_texts=self.reference_sensitivity_texts)
        return configs

    # --- chapter 04: static benchmarks --------------------------------------------------------------------------

    def static_cells(self, store: RunStore, profile: str = "default", models: tuple[str, ...] | None = None) -> list:
        """Every model × task × method × level (level 0, the unpruned model, shared by the methods), for
        ``models`` (default: the plan's)."""
        return [self.cell(model, method, n, study.Task.parse(name), store, profile, {})
                for model in (self.models() if models is None else models) for name in self.tasks(model)
                for method in self.methods for n in (0, *self.levels(model))]

    def seed_cells(self, store: RunStore, profile: str = "default") -> list:
        """The static cells of the thinking model's other seeds (each pruned by its own Block Influence)."""
        return self.static_cells(store, profile, self.organism_seeds)

    # --- chapters 05 and 06: sequential and parallel scaling ---------------------------------------------------

    def _scaling_models(self) -> tuple[str, ...]:
        return tuple(m for m in self.models() if self.thinks(m))

    def budget_cells(self, store: RunStore, profile: str = "default") -> list:
        """The budget set at each thinking budget (cut, then s1's "Final Answer:" cue), per method and level."""
        task = study.Task.parse(self.budget_task)
        return [self.cell(m, method, n, task, store, profile, {"budget": b}, thinking_budget=b)
                for m in self._scaling_models() for method in self.methods for n in self.scaling_levels
                for b in self.budgets]

    def wait_cells(self, store: RunStore, profile: str = "default") -> list:
        """Long chains with each early end of thinking suppressed n times by "Wait" (s1's budget forcing)."""
        task = study.Task.parse(self.long_task)
        return [self.cell(m, method, n, task, store, profile, {"waits": w}, n_ignore=w)
                for m in self._scaling_models() for method in self.methods for n in self.scaling_levels
                for w in self.wait_counts]

    def sampling_cells(self, store: RunStore, profile: str = "default") -> list:
        """Many samples per problem at the sampling temperature, per model, task, method and level."""
        cells = []
        for model in self.models():
            names = self.reference_tasks[:1] if model == self.reference else self.parallel_tasks
            cells += [self.cell(model, method, n, study.Task.parse(name), store, profile, {},
                                 **self.sampling_knobs(model))
                      for name in names for method in self.methods for n in self.scaling_levels]
        return cells


# The recovery recipes the chapter compares: how each trains, in RecoveryConfig's terms (the data of the SFT
# recipes comes from the plan: the organism's own distribution, distilled traces for a real LLM, s1K at paper scale).
RECIPES = {"lora": {"method": "sft", "adapter": "lora"}, "full": {"method": "sft", "adapter": "full"},
           "self": {"method": "sft", "adapter": "lora", "data": "self"}, "grpo": {"method": "grpo", "adapter": "full"}}


@dataclass(frozen=True)
class RecoveryPlan(StageConfig):
    """Chapter 07: one pruned variant of the organism and of the reference, recovered by each recipe, evaluated
    with chapters 04 and 06's settings (the pruning plan's) beside the unpruned and the pruned model."""

    PROFILE_DEFAULTS = {
        "smoke": {"organism_method": "shortgpt", "organism_layers": 1, "reference_layers": 1,
                  "organism_train_tasks": ("organism_recall_open",), "organism_grpo_steps": 4,
                  "reference_grpo_steps": 2, "organism_epochs": 0.1, "reference_epochs": 1.0, "n_train_problems": 16,
                  "n_train_samples": 4, "organism_self_samples": 4, "self_epochs": 1.0, "num_generations": 4,
                  "grpo_prompts": 1},
        "default": {},
        "paper": {"organism_method": "shortgpt", "reference_method": "shortgpt", "organism_data": "s1k",
                  "reference_data": "s1k", "organism_train_tasks": ("basic_arithmetic@4", "chain_sum@8"),
                  "reference_train_tasks": ("basic_arithmetic@4", "chain_sum@8"),
                  "organism_lr": (1e-5, 1e-5, 1e-6), "reference_lr": (1e-5, 1e-5, 1e-6), "organism_epochs": 5.0,
                  "reference_epochs": 5.0, "organism_grpo_steps": 200, "reference_grpo_steps": 200,
                  "num_generations": 16, "n_train_problems": 1000},
    }

    organism_method: str = knob("shortgpt", choices=PAPER_METHODS, doc="how the organism is cut (the paper's "
                                "method; with two layers cut, 16 samples of 24-step chains stay below the unpruned "
                                "model's single answer and its 2-step pass@16 is flat, chapter 06)")
    organism_layers: int = knob(2, ge=1, doc="layers cut from the organism")
    reference_method: str = knob("shortgpt", choices=PAPER_METHODS, doc="how the reference is cut (ShortGPT "
                                 "flattened SmolLM2's pass@k in chapter 06)")
    reference_layers: int = knob(2, ge=1, doc="layers cut from the reference")
    recipes: tuple[str, ...] = knob(tuple(RECIPES), doc="lora / full: SFT on the plan's data; self: LoRA SFT on "
                                    "the pruned model's own correct answers; grpo: RL with a correctness reward")
    organism_data: str = knob("organism", doc="SFT data of the organism's lora / full recipes (its own "
                              "training distribution: the s1K analogue)")
    reference_data: str = knob("distill", doc="SFT data of the reference's lora / full recipes (the unpruned "
                               "model's correct traces: self-distillation)")
    organism_train_tasks: tuple[str, ...] = knob(("organism_chain@2", "organism_recall_open"),
                                                 doc="problems of the organism's self / grpo recipes")
    reference_train_tasks: tuple[str, ...] = knob(("chain_sum@2",), doc="problems of the reference's distill, "
                                                  "self and grpo recipes")
    n_train_problems: int = knob(200, ge=1, doc="training problems per task (problem seed 1; evaluation's are "
                                 "kept out)")
    n_train_samples: int = knob(4, ge=1, doc="samples per training problem for distill and the reference's "
                                "self recipe (correct kept)")
    organism_self_samples: int = knob(16, ge=1, doc="samples per training problem for the organism's self "
                                      "recipe (correct kept): sampled, the pruned organism is rarely right")
    self_epochs: float = knob(5.0, ge=0.01, doc="passes over the self-generated answers (the paper's 5 epochs "
                              "of s1K: the kept set is small)")
    organism_lr: tuple[float, ...] = knob((3e-3, 1e-3, 3e-4), ge=0.0, doc="learning rates of LoRA SFT, full SFT "
                                          "and GRPO on the organism (the paper: 1e-5 for SFT of 8B models)")
    reference_lr: tuple[float, ...] = knob((2e-4, 2e-5, 1e-5), ge=0.0, doc="learning rates of LoRA SFT, full "
                                           "SFT and GRPO on the reference")
    organism_epochs: float = knob(2.0, ge=0.01, doc="passes over the organism's SFT data (2048 conversations)")
    reference_epochs: float = knob(3.0, ge=0.01, doc="passes over the reference's SFT data (its kept traces)")
    organism_grpo_steps: int = knob(60, ge=1, doc="GRPO optimizer steps on the organism")
    reference_grpo_steps: int = knob(30, ge=1, doc="GRPO optimizer steps on the reference")
    num_generations: int = knob(8, ge=2, doc="GRPO samples per problem")
    grpo_prompts: int = knob(4, ge=1, doc="GRPO problems per optimizer step")

    def validate(self) -> None:
        for name in ("organism_lr", "reference_lr"):
            if len(getattr(self, name)) != 3:
                raise ConfigError(f"{name}={getattr(self, name)!r} is not allowed; allowed: three learning rates "
                                  f"(LoRA SFT, full SFT, GRPO)")
        unknown = sorted(set(self.recipes) - set(RECIPES))
        if unknown:
            raise ConfigError(f"recipes={list(self.recipes)!r} has unknown entries {unknown}; allowed: "
                              f"{list(RECIPES)}")
        for task in (*self.organism_train_tasks, *self.reference_train_tasks):
            study.Task.parse(task)

    def pruning(self, profile: str = "default") -> PruningPlan:
        """The pruning plan whose models, cuts and evaluation settings this chapter reuses."""
        return PruningPlan.for_profile(profile)

    def cut(self, model: str, pruning: PruningPlan) -> tuple[str, int]:
        if model == pruning.reference:
            return self.reference_method, self.reference_layers
        return self.organism_method, self.organism_layers

    def recovery_config(self, model: str, recipe: str, store: RunStore, profile: str = "default"):
        """How ``recipe`` recovers ``model``'s pruned variant."""
        from .recovery import RecoveryConfig

        pruning = self.pruning(profile)
        reference = model == pruning.reference
        method, n = self.cut(model, pruning)
        knobs = dict(RECIPES[recipe])
        knobs.setdefault("data", self.reference_data if reference else self.organism_data)
        lora, full, grpo = self.reference_lr if reference else self.organism_lr
        grpo_steps = self.reference_grpo_steps if reference else self.organism_grpo_steps
        return RecoveryConfig.for_profile(
            profile, model=study.variant(model, method, n, store, profile), **knobs,
            tasks=self.reference_train_tasks if reference else self.organism_train_tasks,
            n_train_problems=self.n_train_problems,
            n_train_samples=self.organism_self_samples if recipe == "self" and not reference
            else self.n_train_samples,
            thinks=pruning.thinks(model),
            # a model that does not think keeps the config's default budget (unused), so its stored runs stay
            **({"thinking_budget": pruning.thinking_budget} if pruning.thinks(model) else {}),
            eval_problems=max(pruning.reference_problems if reference else pruning.n_problems,
                              pruning.parallel_problems),
            max_answer_tokens=pruning.reference_answer_tokens if reference else pruning.max_answer_tokens,
            lr=grpo if recipe == "grpo" else lora if knobs["adapter"] == "lora" else full,
            epochs=self.self_epochs if recipe == "self" else self.reference_epochs if reference
            else self.organism_epochs,
            max_steps=grpo_steps if recipe == "grpo" else None, num_generations=self.num_generations,
            batch_size=self.grpo_prompts * self.num_generations if recipe == "grpo" else None)

    def arms(self, store: RunStore, profile: str = "default", *, options: Any = None) -> dict[str, list]:
        """Per model: (label, model name, layers cut) of the unpruned, the pruned and each recovered model;
        recoveries are trained here when not stored."""
        from .recovery import recovered_name

        pruning = self.pruning(profile)
        arms = {}
        for model in (pruning.organism, pruning.reference):
            method, n = self.cut(model, pruning)
            rows = [("unpruned", model, 0), (self.pruned_label(model, pruning), study.variant(model, method, n, store,
                                                                                              profile), n)]
            configs = [self.recovery_config(model, r, store, profile) for r in self.recipes]
            rows += [(c.label(), recovered_name(c, store, options=options, progress=False), n) for c in configs]
            arms[model] = rows
        return arms

    def recovery_runs(self, store: RunStore, profile: str = "default") -> dict[str, Any]:
        """Every recovery's stored run (trained when missing), labelled "model · recipe"."""
        from .recovery import train_recovery

        pruning = self.pruning(profile)
        runs = {}
        for model in (pruning.organism, pruning.reference):
            for recipe in self.recipes:
                config = self.recovery_config(model, recipe, store, profile)
                runs[f"{model} · {config.label()}"] = train_recovery(config, store, progress=False)
        return runs

    def recipe_arms(self, store: RunStore, profile: str = "default") -> dict[str, dict[str, str]]:
        """Per model, each recipe's arm label (as the chapter's tables name it)."""
        pruning = self.pruning(profile)
        return {model: {r: self.recovery_config(model, r, store, profile).label() for r in self.recipes}
                for model in (pruning.organism, pruning.reference)}

    def pruned_arms(self, profile: str = "default") -> dict[str, str]:
        """Each model's pruned arm, by label."""
        pruning = self.pruning(profile)
        return {model: self.pruned_label(model, pruning) for model in (pruning.organism, pruning.reference)}

    def pruned_label(self, model: str, pruning: PruningPlan) -> str:
        method, n = self.cut(model, pruning)
        return f"pruned ({method}, {n} cut)"

    def static_cells(self, arms: dict[str, list], profile: str = "default") -> list:
        """Every arm on every task of its model, with chapter 04's settings."""
        pruning = self.pruning(profile)
        return [study.Cell(model, label, n, study.Task.parse(task),
                           pruning.evaluation_of(model, name, study.Task.parse(task)), {})
                for model, rows in arms.items() for task in pruning.tasks(model)
                if task in self.tasks_shown(model, pruning) for label, name, n in rows]

    def tasks_shown(self, model: str, pruning: PruningPlan) -> tuple[str, ...]:
        """The tasks the chapter evaluates (multiple-choice recall is at chance for the organism: left out)."""
        return tuple(t for t in pruning.tasks(model) if t != "organism_recall")

    def sampling_cells(self, arms: dict[str, list], profile: str = "default") -> list:
        """Every arm sampled many times on its model's parallel task, with chapter 06's settings."""
        pruning = self.pruning(profile)
        cells = []
        for model, rows in arms.items():
            task = study.Task.parse(pruning.parallel_task(model))
            cells += [study.Cell(model, label, n, task,
                                 pruning.evaluation_of(model, name, task, **pruning.sampling_knobs(model)), {})
                      for label, name, n in rows]
        return cells


@dataclass(frozen=True)
class AnalysisPlan(StageConfig):
    """Chapter 08: the traces of the thinking models at every level of pruning (chapter 04's greedy long chains,
    the reference's answers given room to run on, chapter 06's samples) and the paper's own s1.1-7B traces,
    measured for loops, diversity and self-reflection (``lpts_helpers.analysis``)."""

    PROFILE_DEFAULTS = {
        "smoke": {"reference_answer_tokens": 24, "paper_samples": 1},
        "default": {},
        "paper": {"reference_answer_tokens": None, "line_split_models": ()},
    }

    reference_answer_tokens: int | None = knob(256, ge=1, doc="answer tokens of the reference's traces (SmolLM2 "
                                               "answers without a thinking section; chapter 04's 48 tokens leave "
                                               "no room for a loop); None: the pruning plan's")
    paper_samples: int | None = knob(None, ge=1, doc="the paper's s1.1-7B traces measured per problem (of 8; "
                                     "Self-BLEU takes ~1 min for all 16 here); None: all")
    loop_n: int = knob(10, ge=2, doc="tokens per n-gram of a repeated span (a loop)")
    loop_repeats: int = knob(3, ge=2, doc="occurrences that make an n-gram a repeated span")
    loop_fraction: float = knob(0.2, ge=0.0, le=1.0, doc="looping fraction of tokens from which a trace loops")
    line_split_models: tuple[str, ...] = knob(("organism",), doc="models whose traces put one step per line "
                                              "with no sentence punctuation: Self-BLEU sentences end at lines")
    judge_model: str | None = knob(None, doc="the self-reflection judge's model; None = lexical measure only")
    judge_base_url: str | None = knob(None, doc="the judge's OpenAI-compatible endpoint")
    judge_api_key_env: str = knob("OPENAI_API_KEY", doc="environment variable holding the judge's API key")

    def validate(self) -> None:
        self.analysis_config(PAPER_SOURCE, False)  # checks the judge's fields

    def pruning(self, profile: str = "default") -> PruningPlan:
        return PruningPlan.for_profile(profile)

    def models(self, pruning: PruningPlan) -> tuple[str, ...]:
        """The models that reason in writing: the organism (thinks) and the reference (answers step by step); the
        direct-answer control writes no trace."""
        return tuple(dict.fromkeys((pruning.organism, pruning.reference)))

    def analysis_config(self, source: str, split_lines: bool) -> AnalysisConfig:
        return AnalysisConfig(source=source, loop_n=self.loop_n, loop_repeats=self.loop_repeats,
                              loop_fraction=self.loop_fraction, split_lines=split_lines,
                              judge_model=self.judge_model, judge_base_url=self.judge_base_url,
                              judge_api_key_env=self.judge_api_key_env)

    @property
    def loop_spec(self) -> LoopSpec:
        return self.analysis_config(PAPER_SOURCE, False).loop_spec

    def split_lines(self, model: str) -> bool:
        return model in self.line_split_models

    def trace_cells(self, store: RunStore, profile: str = "default") -> list:
        """One greedy trace per problem at every level of every method: the organism's long chains (chapter 04's
        runs) and the reference's first task with room for long answers."""
        pruning = self.pruning(profile)
        cells = []
        for model in self.models(pruning):
            reference = model == pruning.reference
            task = study.Task.parse(pruning.reference_tasks[0] if reference else pruning.long_task)
            knobs = {"max_answer_tokens": self.reference_answer_tokens} if reference and \
                self.reference_answer_tokens else {}
            cells += [pruning.cell(model, method, n, task, store, profile, {}, **knobs)
                      for method, n in pruning.variants(model)]
        return cells

    def sample_cells(self, store: RunStore, profile: str = "default") -> list:
        """Chapter 06's samples (many per problem) of the same models and tasks: cross-sample diversity."""
        pruning = self.pruning(profile)
        return [c for c in pruning.parallel_cells(store, profile) if c.model in self.models(pruning)]



@dataclass(frozen=True)
class BeyondPlan(StageConfig):
    """Chapters 09 and 10, beyond the paper: chains of several lengths for the error-compounding fits (the
    thinking model, its direct-answer control, the reference) and the compute frontier over chapter 06's samples."""

    PROFILE_DEFAULTS = {
        "smoke": {"organism_lengths": (1, 2, 3), "reference_lengths": (2, 3), "organism_holdout": 3,
                  "reference_holdout": 2},
        "default": {},
        "paper": {"organism_task": "basic_arithmetic", "organism_lengths": (2, 4, 8, 16, 32),
                  "reference_lengths": (2, 4, 8, 16), "organism_holdout": 16, "reference_holdout": 8,
                  "reference_methods": PAPER_METHODS, "chain_problems": 100},
    }

    organism_task: str = knob("organism_chain", doc="chains of the thinking model and its control (paper "
                              "profile: reasoning-gym's mixed + and −)")
    organism_lengths: tuple[int, ...] = knob((1, 2, 4, 8, 16, 24), ge=1, doc="chain lengths (steps) of the "
                                             "organism and its control (2 and 24 are chapter 04's runs)")
    organism_holdout: int = knob(16, ge=2, doc="steps from which the organism's chains are predicted, not fitted")
    reference_task: str = knob("chain_sum", doc="chains of the reference")
    reference_lengths: tuple[int, ...] = knob((2, 3, 4), ge=1, doc="chain lengths of the reference (terms of a "
                                              "chain sum: one step fewer)")
    reference_holdout: int = knob(3, ge=2, doc="steps from which the reference's chains are predicted")
    reference_methods: tuple[str, ...] = knob(("shortgpt",), doc="methods cutting the reference (each level "
                                              "× length costs a SmolLM2 evaluation)")
    chain_problems: int | None = knob(None, ge=1, doc="problems per chain length; None: the pruning plan's")
    frontier_score: str = knob("maj", choices=("maj", "pass"), doc="how k samples are scored on the frontier: "
                               "majority vote (no verifier) or pass@k (an oracle verifier)")

    def validate(self) -> None:
        for name, lengths in ((self.organism_task, self.organism_lengths),
                              (self.reference_task, self.reference_lengths)):
            for length in lengths:
                study.Task.parse(f"{name}@{length}")
        unknown = sorted(set(self.reference_methods) - set(PAPER_METHODS))
        if unknown:
            raise ConfigError(f"reference_methods={list(self.reference_methods)!r} has unknown entries {unknown}; "
                              f"allowed: {list(PAPER_METHODS)}")

    def pruning(self, profile: str = "default") -> PruningPlan:
        return PruningPlan.for_profile(profile)

    def holdout(self, model: str, pruning: PruningPlan) -> int:
        return self.reference_holdout if model == pruning.reference else self.organism_holdout

    def chain_cells(self, store: RunStore, profile: str = "default") -> list:
        """Every chain length at every level: the thinking model and its control by each of the pruning plan's
        methods, the reference by ``reference_methods`` (the unpruned model once per model and length)."""
        pruning = self.pruning(profile)
        cells = []
        for model in pruning.models():
            reference = model == pruning.reference
            task, lengths = ((self.reference_task, self.reference_lengths) if reference
                             else (self.organism_task, self.organism_lengths))
            methods = self.reference_methods if reference else pruning.methods
            knobs = {"n_problems": self.chain_problems} if self.chain_problems else {}
            cells += [pruning.cell(model, method, n, study.Task.parse(f"{task}@{length}"), store, profile, {},
                                   **knobs)
                      for length in lengths for method, n in pruning.variants(model, methods)]
        return cells

    def frontier_cells(self, store: RunStore, profile: str = "default") -> list:
        """Chapter 06's samples of each model's first parallel task, the unpruned model once."""
        return self.pruning(profile).parallel_cells(store, profile)
