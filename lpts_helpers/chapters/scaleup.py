"""What the ``paper`` profile asks of GPUs: the generations each chapter makes at paper scale, counted from the
plans, and the GPU hours they take at a decode rate the user measures.

The count is an upper bound: every generation is charged its whole budget (thinking budget, each forced "Wait"
a full budget again, plus the answer tokens). Chapter 08 measures the traces of chapter 04's runs and chapter 07's
recoveries are training, so neither adds generations here, where a model that stops early costs less. Problems
are capped at the benchmark's size (AIME 30, MATH-500 500, GSM8K 1319, MMLU 14,042). Recovery training (SFT on
s1K, GRPO) is not generation and is listed in the README separately. The rate is the aggregate decode throughput
of one GPU (tokens per second, all sequences of a batch together): measure it on your hardware and model with
``benchmarks/throughput.py`` — it differs by an order of magnitude between an HF loop and vLLM with large batches.
Used by chapter ``10-what-pruning-buys`` and the README.
"""

from __future__ import annotations

import pandas as pd

from ..methods import study
from ..tasks.benchmarks import BENCHMARKS, load_benchmark
from .beyond import BeyondPlan
from .pruning import PruningPlan

PROFILE = "paper"


def _problems(benchmark: str, requested: int) -> int:
    if BENCHMARKS[benchmark].source != "local":
        return requested
    return min(requested, len(load_benchmark(benchmark)))


def _variants(levels: tuple[int, ...], methods: tuple[str, ...]) -> int:
    """Unpruned once, then each method at each pruned level."""
    return 1 + len(methods) * len([n for n in levels if n > 0])


def generations() -> pd.DataFrame:
    """One row per chapter and model: evaluation runs, generations (problems × samples) and the token budget."""
    pruning = PruningPlan.for_profile(PROFILE)
    rows = []

    def add(chapter: str, model: str, task: str, runs: int, n_problems: int, samples: int, tokens: int) -> None:
        benchmark = study.Task.parse(task).benchmark
        generations = runs * _problems(benchmark, n_problems) * samples
        rows.append({"chapter": chapter, "model": model, "task": task, "runs": runs, "generations": generations,
                     "tokens per generation (max)": tokens, "tokens (max)": generations * tokens})

    for model in pruning.models():
        reference = model == pruning.reference
        problems = pruning.reference_problems if reference else pruning.n_problems
        answer = pruning.reference_answer_tokens if reference else pruning.max_answer_tokens
        variants = _variants(pruning.levels(model), pruning.methods)
        for task in pruning.tasks(model):
            thinking = pruning.thinking_budget if pruning.thinks(model) and study.Task.parse(task).family != \
                "knowledge" else 0
            add("04 static", model, task, variants, problems, 1, thinking + answer)
        if pruning.thinks(model):
            scaled = _variants(pruning.scaling_levels_of(model), pruning.methods)
            for budget in pruning.budgets:
                add("05 budgets", model, pruning.budget_task_of(model), scaled, problems, 1, budget + answer)
            for waits in pruning.wait_counts:
                add("05 waits", model, pruning.long_task_of(model), scaled, problems, 1,
                    pruning.thinking_budget * (1 + waits) + answer)
        knobs = pruning.sampling_knobs(model)
        thinking = pruning.thinking_budget if pruning.thinks(model) else 0
        add("06 samples", model, pruning.parallel_task(model),
            _variants(pruning.scaling_levels_of(model), pruning.methods), knobs["n_problems"],
            knobs["n_samples"], thinking + answer)
    beyond = BeyondPlan.for_profile(PROFILE)
    for model in pruning.models():
        reference = model == pruning.reference
        task, lengths = ((beyond.reference_task, beyond.reference_lengths) if reference
                         else (beyond.organism_task, beyond.organism_lengths))
        methods = beyond.reference_methods if reference else pruning.methods
        thinking = pruning.thinking_budget if pruning.thinks(model) else 0
        answer = pruning.reference_answer_tokens if reference else pruning.max_answer_tokens
        for length in lengths:
            add("09 chains", model, f"{task}@{length}", _variants(pruning.levels(model), methods),
                beyond.chain_problems or (pruning.reference_problems if reference else pruning.n_problems), 1,
                thinking + answer)
    return pd.DataFrame(rows)


def paper_cost(tokens_per_second: float = 2_000.0) -> pd.DataFrame:
    """Per chapter and model: runs, generations, the token budget (millions) and GPU hours at
    ``tokens_per_second`` per GPU (an assumed rate: put in your own measurement)."""
    if tokens_per_second <= 0:
        raise ValueError(f"tokens_per_second={tokens_per_second!r} is not allowed; allowed: a positive rate")
    table = generations()
    grouped = table.groupby(["chapter", "model"], sort=False)[["runs", "generations", "tokens (max)"]].sum()
    grouped["tokens (max, M)"] = (grouped.pop("tokens (max)") / 1e6).round(1)
    grouped[f"GPU hours at {tokens_per_second:,.0f} tok/s"] = (grouped["tokens (max, M)"] * 1e6
                                                              / tokens_per_second / 3600).round(1)
    total = grouped.sum(numeric_only=True).to_frame().T
    total.index = pd.MultiIndex.from_tuples([("all", "")], names=grouped.index.names)
    return pd.concat([grouped, total]).reset_index()
