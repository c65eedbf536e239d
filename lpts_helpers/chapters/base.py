"""What every chapter plan shares: the profile as a field, the paper's pruning methods, and the reference model's
single-layer removal run (chapters 02 and 03 share it).

A plan is plain data, not a run: it names the stage configs (each hashed and stored on its own) that a chapter
evaluates, so a chapter's ``parameters`` cell maps onto one validated object, and the smoke, default and paper
profiles of a chapter live in one place. Plans build configs and cells; the chapter modules (``chNN_*``) run and
read them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.config import PROFILES, StageConfig, knob
from ..methods.redundancy import RemovalConfig
from ..tasks.benchmarks import BENCHMARKS

PAPER_METHODS = ("shortgpt", "reverse", "laco")
RG_FAMILIES = tuple(name for name, spec in BENCHMARKS.items() if spec.source == "reasoning-gym" and not spec.mixed)


def reference_removal(model: str, tasks: tuple[str, ...], max_answer_tokens: int, *, n_problems: int,
                      n_texts: int, thinking_budget: int | None = None, dtype: str = "auto") -> RemovalConfig:
    """Single-layer removal of a real LLM: the loss on worked GSM8K solutions (128 tokens), its tasks answered
    directly or, for a model that thinks, within ``thinking_budget`` (chapters 02 and 03 share the run)."""
    return RemovalConfig(model=model, text_source="gsm8k-train", tasks=tasks, thinking_budget=thinking_budget,
                         max_answer_tokens=max_answer_tokens, text_length=128, n_problems=n_problems, n_texts=n_texts,
                         dtype=dtype)


@dataclass(frozen=True)
class ChapterPlan(StageConfig):
    """Base of the chapter plans: ``profile`` is a field, so every config a plan builds uses the plan's own
    profile and no method takes it as an argument."""

    profile: str = knob("default", choices=PROFILES, doc="smoke (tests), default (the embedded book) or paper")

    @classmethod
    def for_profile(cls, profile: str, /, **overrides: Any):
        return super().for_profile(profile, **{**overrides, "profile": profile})
