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
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core import metrics
from ..core.config import ConfigError, StageConfig, knob
from ..core.metrics import interval
from ..core.store import Run, RunStore
from ..tasks.benchmarks import LOCAL_BENCHMARKS, get_benchmark, load_benchmark
from ..tasks.grading import EXTRACTORS, SCORERS, grade, math_verify_equal, normalize
from ..tasks.judge import JUDGE_PROMPT_VERSION, Judge, check_endpoint
from .backends import Backend, LazyBackend, make_backend
from .generation import BackendOptions, GenerationConfig, run_generation


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
        if self.judge_base_url is not None:
            check_endpoint(self.judge_base_url)

    @property
    def extractor_name(self) -> str:
        return self.extractor or get_benchmark(self.benchmark).extractor

    @property
    def scorer_name(self) -> str:
        return self.scorer or get_benchmark(self.benchmark).scorer

    def versions(self) -> dict[str, int | str]:
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
    """Grade the config's samples (generating them first if the store lacks them); one row per sample. A finished
    evaluation is read on its own, without its generation run."""
    if not fresh and (finished := store.finished(config, summarize)) is not None:
        store.touch(config.generation())  # unread, but still this evaluation's input
        return finished
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
    answers = vote_keys(answers)
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


def vote_keys(answers: np.ndarray) -> np.ndarray:
    """The vote key of every extracted answer of a (problems × samples) matrix; None where none was found."""
    return np.vectorize(lambda a: None if pd.isna(a) else _vote_key(a), otypes=[object])(answers)


def sweep(configs: list[EvalConfig], store: RunStore, *, options: BackendOptions | None = None) -> pd.DataFrame:
    """Evaluate each config (read back when stored) and return one row per config: its fields, accuracy with
    its 95% CI, pass@n and the share of samples with an extractable answer.

    Configs with the same model share one backend, loaded only if some run is not stored yet.
    """
    options = options or BackendOptions()
    backends: dict[tuple, LazyBackend] = {}
    rows = []
    for config in configs:
        key = (config.model, config.backend, config.dtype)
        if key not in backends:
            backends[key] = LazyBackend(lambda c=config: make_backend(c.backend, c.model, **options.backend_kwargs(c)))
        run = run_evaluation(config, store, options=options, backend=backends[key])
        accuracy, n = run.metrics["accuracy"], run.metrics["n_samples"]
        rows.append({**config.to_dict(), "extractor": config.extractor_name, "scorer": config.scorer_name,
                     "accuracy": accuracy["value"], "low": accuracy["low"], "high": accuracy["high"],
                     "pass@n": run.metrics["pass@k"][str(n)]["value"], "share_answered": run.metrics["share_answered"],
                     "mean_thinking_tokens": float(run.samples["thinking_tokens"].mean()),
                     "n_problems": run.metrics["n_problems"], "run": run.path.name})
    return pd.DataFrame(rows)


def per_problem(config: EvalConfig, store: RunStore, metric: str = "accuracy", k: int = 1) -> pd.Series:
    """Per-problem scores of a stored (or computed) evaluation: accuracy (mean over samples), maj@k or pass@k."""
    run = run_evaluation(config, store)
    problems, correct, answers = correctness_matrix(run.samples)
    if metric == "accuracy":
        values = metrics.accuracy_per_problem(correct)
    elif metric == "maj":
        values = metrics.maj_at_k(vote_keys(answers), correct, k)
    elif metric == "pass":
        values = metrics.pass_at_k(correct, k)
    else:
        raise ValueError(f"metric={metric!r} is not known; allowed: 'accuracy', 'maj', 'pass'")
    return pd.Series(values, index=problems)


def paired_gain(before: pd.Series, after: pd.Series) -> metrics.Estimate:
    """after − before over the problems both scored, with a paired bootstrap 95% CI."""
    common = before.index.intersection(after.index)
    if common.empty:
        raise ValueError("the two runs share no problems: a paired difference needs the same problems")
    return metrics.paired_difference_ci(before[common].to_numpy(), after[common].to_numpy())


def k_curves(configs: list[EvalConfig], store: RunStore, *, options: BackendOptions | None = None) -> pd.DataFrame:
    """pass@k and maj@k for k = 1, 2, 4, … ≤ n_samples with 95% CIs, one row per (config, metric, k): the
    parallel-scaling curves (runs are computed by ``sweep`` first, so models are shared and loaded once)."""
    sweep(configs, store, options=options)
    return pd.DataFrame([{"model": config.model, "chain_length": config.chain_length, **row}
                         for config in configs for row in k_rows(run_evaluation(config, store).metrics)])


def k_rows(summary: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per metric (pass, maj) and k of an evaluation's ``summarize`` metrics, with its 95% CI."""
    return [{"metric": metric.replace("@k", ""), "k": int(k), "accuracy": estimate["value"], "low": estimate["low"],
             "high": estimate["high"], "n_problems": summary["n_problems"]}
            for metric in ("pass@k", "maj@k") for k, estimate in summary[metric].items()]


@dataclass(frozen=True)
class GoldCheckConfig(StageConfig):
    """Grade every gold answer against itself: the floor any trustworthy grader must clear (stage "gold-check")."""

    STAGE = "gold-check"
    PROFILE_DEFAULTS = {"smoke": {"n_problems": 10}}

    benchmarks: tuple[str, ...] = knob(("aime24", "math500", "gsm8k"), doc="benchmarks whose gold answers to check")
    n_problems: int | None = knob(None, ge=1, doc="problems per benchmark (seeded sample); None = all")

    def validate(self) -> None:
        for name in self.benchmarks:
            if get_benchmark(name).scorer != "math-verify":
                raise ConfigError(f"benchmarks: {name!r} is not graded by math-verify; allowed: "
                                  f"{[b for b in LOCAL_BENCHMARKS if get_benchmark(b).scorer == 'math-verify']}")

    def versions(self) -> dict[str, int]:
        return {**{f"benchmark:{b}": get_benchmark(b).version for b in self.benchmarks},
                "extractor:boxed": EXTRACTORS["boxed"].version, "scorer:math-verify": SCORERS["math-verify"]}


GOLD_CHECKS = {
    "boxed gold": "the gold answer written as \\boxed{gold}, graded with the boxed extractor and math-verify",
    "math-verify only": "math-verify's parser and verifier alone, gold against itself (no string shortcut)",
    "gold solution": "MATH-500's worked solution text, graded like a model's completion",
}


def run_gold_check(config: GoldCheckConfig, store: RunStore, *, fresh: bool = False) -> Run:
    """One row per benchmark × problem × check (GOLD_CHECKS), with whether it graded correct and how long it took."""
    items = []
    for name in config.benchmarks:
        for problem in load_benchmark(name, n_problems=config.n_problems).to_dict("records"):
            checks = [c for c in GOLD_CHECKS if c != "gold solution" or name == "math500"]
            items += [{"item_id": f"{name}:{problem['problem_id']}:{check}", "benchmark": name, "check": check,
                       "problem": problem} for check in checks]

    def compute(chunk: list[dict]) -> list[dict]:
        rows = []
        for item in chunk:
            gold, started = item["problem"]["answer"], time.perf_counter()
            if item["check"] == "boxed gold":
                correct = grade(f"The answer is \\boxed{{{gold}}}.", gold, extractor="boxed",
                                scorer="math-verify").correct
            elif item["check"] == "math-verify only":
                correct = math_verify_equal(gold, gold)
            else:
                correct = grade(item["problem"]["solution"], gold, extractor="boxed", scorer="math-verify").correct
            rows.append({"item_id": item["item_id"], "benchmark": item["benchmark"], "check": item["check"],
                         "problem_id": item["problem"]["problem_id"], "gold": gold, "correct": correct,
                         "seconds": time.perf_counter() - started})
        return rows

    def metrics(samples: pd.DataFrame) -> dict[str, Any]:
        grouped = samples.groupby(["benchmark", "check"])
        return {f"{b} / {c}": {"n": len(g), "rate": float(g["correct"].mean()),
                               "per_second": float(len(g) / max(g["seconds"].sum(), 1e-9)),
                               "misses": g.loc[~g["correct"], "problem_id"].tolist()}
                for (b, c), g in grouped}

    return store.run(config, items, compute, chunk_size=500, fresh=fresh, metrics=metrics)


def gold_check_table(gold_metrics: dict[str, Any]) -> pd.DataFrame:
    """The gold check's metrics as a table: benchmark, check, problems, rate, grading speed, misses."""
    rows = []
    for key, value in gold_metrics.items():
        benchmark, check = key.split(" / ")
        rows.append({"benchmark": benchmark, "check": check, "what": GOLD_CHECKS[check], "problems": value["n"],
                     "rate": value["rate"], "graded per second": round(value["per_second"], 1),
                     "misses": ", ".join(value["misses"]) or "none"})
    return pd.DataFrame(rows)


def sweep_view(table: pd.DataFrame) -> pd.DataFrame:
    """A sweep table as the book shows it: task, reading, accuracy with its CI, share of answers found."""
    view = pd.DataFrame({
        "benchmark": table["benchmark"],
        "chain length": table["chain_length"].map(lambda k: "—" if pd.isna(k) else int(k)),
        "extractor": table["extractor"],
        "accuracy (95% CI)": [interval(a, lo, hi) for a, lo, hi in zip(table["accuracy"], table["low"], table["high"])],
        "answers found": table["share_answered"].map(lambda v: f"{v:.0%}"),
        "problems": table["n_problems"],
    })
    return view.reset_index(drop=True)


def describe_extremes(table: pd.DataFrame, extractor: str = "flex") -> str:
    """One clause per synthetic family: accuracy at its shortest and longest chain, with CIs (for the verdict)."""
    rows = table[(table["extractor"] == extractor) & table["chain_length"].notna()]
    clauses = []
    for family, group in rows.groupby("benchmark", sort=False):
        group = group.sort_values("chain_length")
        first, last = group.iloc[0], group.iloc[-1]
        clauses.append(f"{family} {interval(first['accuracy'], first['low'], first['high'])} at "
                       f"{int(first['chain_length'])} steps and "
                       f"{interval(last['accuracy'], last['low'], last['high'])} "
                       f"at {int(last['chain_length'])}")
    return "; ".join(clauses) if clauses else "no synthetic families in this profile"


def baseline_rows(table: pd.DataFrame, choice: pd.DataFrame, extractor: str = "flex") -> pd.DataFrame:
    """Unpruned accuracies in the shape ``paper.beside_static`` takes (pruned_layers = 0)."""
    rows = []
    chosen = table[table["extractor"] == extractor]
    for row in chosen.itertuples():
        name = row.benchmark if pd.isna(row.chain_length) else f"{row.benchmark} ({int(row.chain_length)} steps)"
        rows.append({"benchmark": name, "pruned_layers": 0, "accuracy": row.accuracy, "low": row.low,
                     "high": row.high})
    for row in choice.itertuples():
        name = "mmlu" if row.scoring == "letter" else f"mmlu ({row.scoring})"
        rows.append({"benchmark": name, "pruned_layers": 0, "accuracy": row.accuracy, "low": row.low,
                     "high": row.high})
    return pd.DataFrame(rows)
