"""Evaluation as a declared pipeline: benchmark spec → prompt → generation → named extractor → scorer → metrics.

``EvalConfig`` is a ``GenerationConfig`` plus how answers are graded (extractor, scorer, an optional LLM judge);
its hash covers the benchmark's, extractor's and scorer's versions. ``run_evaluation`` grades the stored samples of
the generation run (generating them first if needed) and stores the per-sample table every aggregate is derived
from: the generation columns plus ``extracted``, ``extractor``, ``scorer``, ``correct`` (and ``judge_correct``).
``summarize`` turns such a table into accuracy, pass@k, maj@k and coverage, each with a 95% CI over problems.
Introduced with the evaluation of chapter 00; every chapter's accuracies come from here.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from . import metrics
from .backends import Backend
from .benchmarks import get_benchmark
from .config import ConfigError, knob
from .generation import BackendOptions, GenerationConfig, run_generation
from .grading import EXTRACTORS, SCORERS, grade, normalize
from .judge import JUDGE_PROMPT_VERSION, Judge
from .store import Run, RunStore


@dataclass(frozen=True)
class EvalConfig(GenerationConfig):
    """A generation run and how its answers are graded (the run store's "evaluation" stage)."""

    STAGE = "evaluation"

    extractor: str | None = knob(None, doc="boxed | flex | choice; None = the benchmark's own")
    scorer: str | None = knob(None, doc="math-verify | exact | choice; None = the benchmark's own")
    judge_model: str | None = knob(None, doc="an LLM judge's model name at judge_base_url; None = no judge")
    judge_base_url: str | None = knob(None, doc="an OpenAI-compatible endpoint, e.g. http://localhost:8000/v1")
    judge_api_key_env: str = knob("OPENAI_API_KEY", doc="environment variable holding the judge's API key")

    def validate(self) -> None:
        super().validate()
        if self.extractor is not None and self.extractor not in EXTRACTORS:
            raise ConfigError(f"extractor={self.extractor!r} is not allowed; allowed: {sorted(EXTRACTORS)} or None")
        if self.scorer is not None and self.scorer not in SCORERS:
            raise ConfigError(f"scorer={self.scorer!r} is not allowed; allowed: {sorted(SCORERS)} or None")
        if (self.judge_model is None) != (self.judge_base_url is None):
            raise ConfigError(f"judge_model={self.judge_model!r} and judge_base_url={self.judge_base_url!r}: "
                              f"allowed: both set (to use a judge) or both None")

    @property
    def extractor_name(self) -> str:
        return self.extractor or get_benchmark(self.benchmark).extractor

    @property
    def scorer_name(self) -> str:
        return self.scorer or get_benchmark(self.benchmark).scorer

    def versions(self) -> dict[str, int]:
        used = {**super().versions(), f"extractor:{self.extractor_name}": EXTRACTORS[self.extractor_name].version,
                f"scorer:{self.scorer_name}": SCORERS[self.scorer_name]}
        if self.judge_model:
            used["judge_prompt"] = JUDGE_PROMPT_VERSION
        return used

    def generation(self) -> GenerationConfig:
        """The generation run whose samples this evaluation grades."""
        names = {f.name for f in dataclasses.fields(GenerationConfig)}
        return GenerationConfig(**{k: v for k, v in dataclasses.asdict(self).items() if k in names})

    def judge(self) -> Judge | None:
        if self.judge_model is None:
            return None
        return Judge(base_url=self.judge_base_url, model=self.judge_model, api_key_env=self.judge_api_key_env)


def run_evaluation(config: EvalConfig, store: RunStore, *, options: BackendOptions | None = None,
                   backend: Backend | None = None, fresh: bool = False) -> Run:
    """Grade the config's samples (generating them first if the store lacks them); one row per sample."""
    generated = run_generation(config.generation(), store, options=options, backend=backend)
    samples = generated.samples
    items = [{"item_id": f"{row['item_id']}#{row['sample']}", "row": row} for row in samples.to_dict("records")]
    judge = config.judge()

    def compute(chunk: list[dict]) -> list[dict]:
        rows = []
        for item in chunk:
            row = item["row"]
            graded = grade(row["completion"], row["gold"], extractor=config.extractor_name,
                           scorer=config.scorer_name)
            out = {**row, "item_id": item["item_id"], "problem_id": row["item_id"], "extracted": graded.extracted,
                   "extractor": config.extractor_name, "scorer": config.scorer_name, "correct": graded.correct}
            if judge is not None:
                out["judge_correct"] = judge.match(row["question"], row["completion"], [row["gold"]]) == 0
            rows.append(out)
        return rows

    return store.run(config, items, compute, chunk_size=256, fresh=fresh, metrics=summarize)


def correctness_matrix(samples: pd.DataFrame, column: str = "correct") -> tuple[list[str], np.ndarray, np.ndarray]:
    """Problem ids, correctness (problems × samples) and extracted answers of an evaluation table."""
    table = samples.sort_values(["problem_id", "sample"], kind="stable")
    problems = list(dict.fromkeys(table["problem_id"]))
    counts = table.groupby("problem_id")["sample"].nunique()
    if counts.nunique() != 1:
        raise ValueError("every problem needs the same number of samples to form a matrix")
    n = int(counts.iloc[0])
    correct = table[column].to_numpy(dtype=bool).reshape(len(problems), n)
    answers = table["extracted"].to_numpy(dtype=object).reshape(len(problems), n)
    return problems, correct, answers


def summarize(samples: pd.DataFrame) -> dict[str, Any]:
    """Accuracy (mean over samples, then problems), pass@k and maj@k for k = 1, 2, 4, … ≤ n, and coverage,
    each with a 95% bootstrap CI over problems; judge agreement when a judge ran."""
    _, correct, answers = correctness_matrix(samples)
    n = correct.shape[1]
    ks = [k for k in (1, 2, 4, 8, 16, 32, 64, 128) if k <= n]
    answers = np.vectorize(lambda a: None if pd.isna(a) else _vote_key(a), otypes=[object])(answers)
    summary: dict[str, Any] = {
        "n_problems": correct.shape[0], "n_samples": n,
        "accuracy": metrics.bootstrap_ci(metrics.accuracy_per_problem(correct)).as_dict(),
        "pass@k": {k: metrics.bootstrap_ci(metrics.pass_at_k(correct, k)).as_dict() for k in ks},
        "maj@k": {k: metrics.bootstrap_ci(metrics.maj_at_k(answers, correct, k)).as_dict() for k in ks},
        "coverage": metrics.bootstrap_ci(metrics.coverage(correct)).as_dict(),
        "share_answered": float(samples["extracted"].notna().mean()),
    }
    if "judge_correct" in samples:
        summary["judge_agreement"] = float((samples["judge_correct"] == samples["correct"]).mean())
        _, judged, _ = correctness_matrix(samples, "judge_correct")
        summary["judge_accuracy"] = metrics.bootstrap_ci(metrics.accuracy_per_problem(judged)).as_dict()
    return summary


def _vote_key(answer: str) -> str:
    """Answers that differ only in spacing, ``$`` or ``\\text{}`` vote together."""
    return normalize(answer)
