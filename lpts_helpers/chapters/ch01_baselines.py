"""Chapter 01, grading and baselines: the unpruned model on every task family, graded two ways, MMLU scored by
log-likelihood, and the static multiple-choice sets scored as lm-evaluation-harness scores them, beside the
embedded model's published numbers (the anchor check).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from ..core import paper
from ..core.config import ConfigError, knob
from ..core.metrics import interval
from ..core.store import RunStore
from ..engine.evaluation import EvalConfig
from ..engine.likelihood import SCORINGS, ChoiceConfig, StaticConfig, run_static
from ..models.registry import check_model
from ..tasks.benchmarks import LOCAL_BENCHMARKS
from ..tasks.grading import EXTRACTORS
from ..tasks.static import STATIC_BENCHMARKS, get_static
from .base import RG_FAMILIES, ChapterPlan


@dataclass(frozen=True)
class BaselinePlan(ChapterPlan):
    """Chapter 01: the unpruned model on every task family, graded two ways, plus MMLU by log-likelihood."""

    PROFILE_DEFAULTS = {
        "smoke": {"families": ("chain_sum",), "chain_lengths": (2,), "benchmarks": ("gsm8k",), "n_problems": 2,
                  "max_answer_tokens": 8, "mmlu_questions": 4, "mmlu_scorings": ("letter",),
                  "static_benchmarks": ("arc_easy", "piqa"), "static_questions": 6},
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
    static_benchmarks: tuple[str, ...] = knob(tuple(STATIC_BENCHMARKS), doc="static multiple-choice sets scored "
                                              "zero-shot by log-likelihood (the anchor check)")
    static_questions: int | None = knob(None, ge=1, doc="questions per static set (seeded); None = the full split")
    static_dtype: str = knob("bf16", choices=("auto", "bf16", "fp16", "fp32"),
                             doc="static scoring's weights (bf16: 2.3x faster on this CPU)")

    def validate(self) -> None:
        check_model(self.model)
        for field, values, allowed in (("families", self.families, RG_FAMILIES),
                                       ("benchmarks", self.benchmarks, LOCAL_BENCHMARKS),
                                       ("extractors", self.extractors, tuple(EXTRACTORS)),
                                       ("mmlu_scorings", self.mmlu_scorings, SCORINGS),
                                       ("static_benchmarks", self.static_benchmarks, tuple(STATIC_BENCHMARKS))):
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

    def static_configs(self) -> list[StaticConfig]:
        return [StaticConfig(model=self.model, benchmark=name, n_problems=self.static_questions,
                             dtype=self.static_dtype) for name in self.static_benchmarks]


def static_table(plan: BaselinePlan, store: RunStore) -> pd.DataFrame:
    """Score (or read back) each static set: acc and acc_norm with their 95% CIs, chance, and whether the set is
    informative (the lower bound of acc or acc_norm, whichever lm-eval reports, above chance)."""
    rows = []
    for config in plan.static_configs():
        metrics = run_static(config, store).metrics
        spec = get_static(config.benchmark)
        low = max(metrics[m]["low"] for m in spec.metrics)
        rows.append({"benchmark": config.benchmark, "title": spec.title, "questions": metrics["n_problems"],
                     "chance": metrics["chance"], "informative": low > metrics["chance"],
                     **{f"{m}{part}": metrics[m][key] for m in ("acc", "acc_norm")
                        for part, key in (("", "value"), ("_low", "low"), ("_high", "high"))}})
    return pd.DataFrame(rows)


def static_view(table: pd.DataFrame) -> pd.DataFrame:
    """The static table as the chapter prints it."""
    return pd.DataFrame({"benchmark": table["title"], "questions": table["questions"],
                         "acc (95% CI)": [interval(r.acc, r.acc_low, r.acc_high) for r in table.itertuples()],
                         "acc_norm (95% CI)": [interval(r.acc_norm, r.acc_norm_low, r.acc_norm_high)
                                               for r in table.itertuples()],
                         "chance": table["chance"].round(3), "above chance": table["informative"]})


ANCHOR_TOLERANCE = 0.03  # how far (accuracy) ours may sit from a published number and still match it


def anchor_table(table: pd.DataFrame, *, tolerance: float = ANCHOR_TOLERANCE) -> pd.DataFrame:
    """Each published SmolLM2-135M-Instruct number beside ours on the same metric (the model card's ARC is the
    mean of Easy and Challenge: ours is the mean of ours, its interval the mean of the two intervals, which is
    wider than the mean's own); the difference in points and whether it is within ``tolerance``."""
    ours = table.set_index("benchmark")[[f"{m}{part}" for m in ("acc", "acc_norm") for part in ("", "_low", "_high")]]
    if {"arc_easy", "arc_challenge"} <= set(ours.index):
        ours.loc["arc"] = ours.loc[["arc_easy", "arc_challenge"]].mean()
    rows = []
    for row in paper.smollm2_published_table().itertuples():
        if row.benchmark not in ours.index:
            continue
        mine = ours.loc[row.benchmark]
        value, low, high = (float(mine[f"{row.metric}{part}"]) for part in ("", "_low", "_high"))
        rows.append({"source": row.source, "benchmark": row.benchmark, "metric": row.metric,
                     "published": row.published, "ours": value, "ours (95% CI)": interval(value, low, high),
                     "difference (points)": round(100 * (value - row.published), 1),
                     "within tolerance": abs(value - row.published) <= tolerance})
    return pd.DataFrame(rows)


def anchor_verdict(anchor: pd.DataFrame, table: pd.DataFrame) -> dict[str, str]:
    """The sentences chapter 01 glues: how many published numbers ours meets within ``ANCHOR_TOLERANCE``, the
    largest gap, and which static sets are informative."""
    tolerance = f"±{100 * ANCHOR_TOLERANCE:g}"
    if anchor.empty:
        return {"anchor_within": "no published number to compare at this profile", "anchor_gap": "—",
                "anchor_tolerance": tolerance,
                "static_informative": ", ".join(table.loc[table["informative"], "title"]) or "none"}
    worst = anchor.loc[anchor["difference (points)"].abs().idxmax()]
    return {"anchor_within": f"{int(anchor['within tolerance'].sum())} of {len(anchor)}",
            "anchor_tolerance": tolerance,
            "anchor_gap": f"{worst['difference (points)']:+.1f} points ({worst['source']}, {worst['benchmark']} "
                          f"{worst['metric']})",
            "static_informative": ", ".join(table.loc[table["informative"], "title"]) or "none"}


def static_points(table: pd.DataFrame, anchor: pd.DataFrame) -> pd.DataFrame:
    """Long rows for ``plots.static_chart``: per benchmark and metric our accuracy and CI, chance, and the
    lm-eval-table number published for it (if any)."""
    published = {(r.benchmark, r.metric): r.published for r in anchor.itertuples() if r.source == "lm-eval"}
    return pd.DataFrame([{"benchmark": r.title, "metric": metric, "accuracy": getattr(r, metric),
                          "low": getattr(r, f"{metric}_low"), "high": getattr(r, f"{metric}_high"),
                          "chance": r.chance, "published": published.get((r.benchmark, metric))}
                         for r in table.itertuples() for metric in ("acc", "acc_norm")])
