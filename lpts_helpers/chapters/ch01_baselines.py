"""Chapter 01, grading and baselines: the unpruned model on every task family, graded two ways, and MMLU scored
by log-likelihood (the plan of runs).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.config import ConfigError, knob
from ..engine.evaluation import EvalConfig
from ..engine.likelihood import SCORINGS, ChoiceConfig
from ..models.registry import check_model
from ..tasks.benchmarks import LOCAL_BENCHMARKS
from ..tasks.grading import EXTRACTORS
from .base import RG_FAMILIES, ChapterPlan


@dataclass(frozen=True)
class BaselinePlan(ChapterPlan):
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
