"""Chapter plans: which runs a chapter makes under each profile, as one typed config per chapter.

A plan is not a run: it lists the stage configs (each hashed and stored on its own) that a chapter evaluates, so
the chapter's ``parameters`` cell maps onto one validated object and the smoke, default and paper profiles of a
chapter live in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from . import evaluation, metrics
from .benchmarks import BENCHMARKS, LOCAL_BENCHMARKS
from .config import ConfigError, StageConfig, knob
from .evaluation import EvalConfig
from .grading import EXTRACTORS
from .likelihood import SCORINGS, ChoiceConfig
from .models import check_model
from .prune import PruneConfig
from .redundancy import RemovalConfig
from .store import RunStore

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


@dataclass(frozen=True)
class OrganismPlan(StageConfig):
    """Chapter 02: the organism and its control per task and chain length, sequential scaling (thinking budget,
    forced "Wait"s) and parallel scaling (many samples) on long chains."""

    PROFILE_DEFAULTS = {
        "smoke": {"chain_lengths": (2,), "long_chain": 8, "n_problems": 3, "recall_problems": 4, "budgets": (16,),
                  "wait_counts": (0, 1), "n_samples": 2, "removal_problems": 2, "removal_texts": 4,
                  "reference_tasks": ()},  # the reference's removal sweep: held-out loss only
        "default": {},
        "paper": {},  # the organism exists only on the embedded default
    }

    models: tuple[str, ...] = knob(("organism", "organism-direct"), doc="the thinking organism and its control")
    chain_lengths: tuple[int, ...] = knob((1, 2, 3, 8, 12), ge=1, doc="short (1-3) and long (8+) chains")
    long_chain: int = knob(12, ge=1, doc="the chain length the scaling curves use")
    n_problems: int = knob(100, ge=1, doc="chain problems per length")
    recall_problems: int = knob(96, ge=1, doc="facts asked (all of them by default)")
    thinking_budget: int = knob(512, ge=1, doc="thinking tokens when the budget is not the variable")
    budgets: tuple[int, ...] = knob((16, 24, 32, 48, 64), ge=1, doc="thinking budgets of the sequential curve")
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

    def removal_configs(self) -> list[RemovalConfig]:
        """Single-layer removal of the organism (on its own held-out chats) and of the reference (worked solutions)."""
        sizes = {"n_problems": self.removal_problems, "n_texts": self.removal_texts}
        organism = RemovalConfig(model=self.models[0], text_source="organism-thinking", **sizes,
                                 tasks=("organism_recall", "organism_chain@2"))
        reference = RemovalConfig(model=self.reference, text_source="gsm8k-train", tasks=self.reference_tasks,
                                  thinking_budget=None, max_answer_tokens=self.reference_answer_tokens,
                                  text_length=128, **sizes)
        return [organism, reference]

    def influence_configs(self) -> list[PruneConfig]:
        """Block Influence of every layer (the last one included) of the organism and of the reference."""
        return [PruneConfig(model=config.model, method="shortgpt", n_layers=1, score_last_layer=True,
                            calibration=config.text_source, n_calibration=self.removal_texts,
                            calibration_length=config.text_length)
                for config in self.removal_configs()]

    def _common(self, model: str) -> dict:
        return {"model": model, "max_answer_tokens": self.max_answer_tokens}

    def _thinks(self, model: str) -> bool:
        return not model.endswith("-direct")

    def accuracy_configs(self) -> list[EvalConfig]:
        """Greedy, per model: recall (both forms) and chains at every length (the control answers directly)."""
        configs = []
        for model in self.models:
            budget = self.thinking_budget if self._thinks(model) else None
            configs += [EvalConfig(**self._common(model), benchmark=name, n_problems=self.recall_problems)
                        for name in ("organism_recall", "organism_recall_open")]
            configs += [EvalConfig(**self._common(model), benchmark="organism_chain", chain_length=k,
                                   n_problems=self.n_problems, thinking_budget=budget) for k in self.chain_lengths]
        return configs

    def _long(self, model: str, **knobs) -> EvalConfig:
        return EvalConfig(**self._common(model), benchmark="organism_chain", chain_length=self.long_chain,
                          n_problems=self.n_problems, **knobs)

    def budget_configs(self) -> list[EvalConfig]:
        """Sequential scaling by budget: thinking cut at each budget (then s1's "Final Answer:" cue)."""
        return [self._long(m, thinking_budget=b) for m in self.models if self._thinks(m)
                for b in (*self.budgets, self.thinking_budget)]

    def wait_configs(self) -> list[EvalConfig]:
        """Sequential scaling by forced "Wait"s: each early end of thinking suppressed n times."""
        return [self._long(m, thinking_budget=self.thinking_budget, n_ignore=n) for m in self.models
                if self._thinks(m) for n in self.wait_counts]

    def sampling_configs(self) -> list[EvalConfig]:
        """Parallel scaling: ``n_samples`` samples per long-chain problem (pass@k, maj@k)."""
        return [self._long(m, thinking_budget=self.thinking_budget if self._thinks(m) else None,
                           n_samples=self.n_samples, temperature=self.temperature) for m in self.models]

    def target_table(self, store: RunStore) -> pd.DataFrame:
        """The organism's targets (issue: recall, short and long chains, sequential and parallel scaling, the
        control), each with the measured value, its 95% CI and whether the target is met. Differences between two
        settings are paired over the same problems."""
        thinking, control = self.models[0], self.models[-1]
        by = {(c.model, c.benchmark, c.chain_length): c for c in self.accuracy_configs()}
        rows = []

        def add(key: str, target: str, estimate: metrics.Estimate, met: bool) -> None:
            rows.append({"key": key, "target": target, "measured": estimate.value, "low": estimate.low,
                         "high": estimate.high, "met": "yes" if met else "no"})

        recall = metrics.bootstrap_ci(evaluation.per_problem(by[(thinking, "organism_recall", None)], store))
        add("recall", "recall (multiple choice) ≥ 0.95", recall, recall.value >= 0.95)
        short = [k for k in self.chain_lengths if k <= 3]
        for key, model, label, bar in (
                ("short", thinking, "short chains (1–3 steps, greedy) ≥ 0.95", 0.95),
                ("control_short", control, "control: short chains (1–3 steps) ≥ 0.80", 0.80)):
            scores = pd.concat([evaluation.per_problem(by[(model, "organism_chain", k)], store) for k in short])
            estimate = metrics.bootstrap_ci(scores)
            add(key, label, estimate, estimate.value >= bar)
        budgets = self.budget_configs()
        natural = evaluation.per_problem(budgets[-1], store)
        add("long_natural", f"long chains ({self.long_chain} steps), thinking ended by the model: well above chance "
            f"(0.011), below ceiling", metrics.bootstrap_ci(natural), 0.1 < natural.mean() < 0.95)
        gain = evaluation.paired_gain(evaluation.per_problem(budgets[0], store), natural)
        add("budget_gain", f"sequential: thinking budget {self.budgets[0]} → {self.thinking_budget} tokens, gain "
            f"≥ 0.15", gain, gain.value >= 0.15)
        waits = self.wait_configs()
        gain = evaluation.paired_gain(evaluation.per_problem(waits[0], store), evaluation.per_problem(waits[-1], store))
        add("wait_gain", f"sequential: 0 → {self.wait_counts[-1]} forced 'Wait', gain ≥ 0.15", gain,
            gain.value >= 0.15)
        sampled = self.sampling_configs()[0]
        gain = evaluation.paired_gain(evaluation.per_problem(sampled, store),
                                      evaluation.per_problem(sampled, store, "maj", self.n_samples))
        add("parallel_gain", f"parallel: maj@{self.n_samples} − pass@1 ≥ 0.10", gain, gain.value >= 0.10)
        return pd.DataFrame(rows)
