"""Generation runs through the run store: a model answers a benchmark's problems, n samples each, thinking or not.

``GenerationConfig`` holds everything that decides the samples (model, backend, problems, sampling, the
test-time-scaling knobs); ``BackendOptions`` holds what only decides how fast they come (device, batch size,
GPUs), and is not part of the run's hash. ``run_generation`` stores one row per problem × sample: the prompt,
the thinking and answer sections, token counts, forced continuations and why generation stopped.
Introduced in ``00-models-and-benchmarks``; the scaling chapters sweep its budgets and sample counts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..core.config import ConfigError, StageConfig, knob
from ..core.store import Run, RunStore
from ..models.loading import load_tokenizer
from ..models.presets import THINKING_FORMATS
from ..models.registry import ModelStageConfig, check_model, thinking_format
from ..tasks.benchmarks import (
    BENCHMARKS,
    FEW_SHOT_STOP,
    LOCAL_BENCHMARKS,
    check_problem_options,
    few_shot_prompt,
    get_benchmark,
    load_benchmark,
    user_message,
)
from .backends import BACKENDS, Backend, LazyBackend, make_backend
from .scaling import Budget, generate_traces, sample_seed


@dataclass(frozen=True)
class GenerationConfig(ModelStageConfig):
    """One model answering a seeded sample of one benchmark's problems (the run store's "generation" stage)."""

    STAGE = "generation"
    VERSION = 2  # 2: backends with per-request seeds; thinking sections and budget forcing
    PROFILE_DEFAULTS = {
        "smoke": {"n_problems": 2, "max_answer_tokens": 16},
        "default": {},
        "paper": {"model": "qwen3-8b", "backend": "vllm", "benchmark": "aime24", "n_problems": 30,
                  "temperature": 1.0, "thinking_budget": 8192, "max_answer_tokens": 1024},
    }

    model: str = knob("smollm2-135m", doc="a model preset or a local checkpoint directory")
    backend: str = knob("hf", choices=BACKENDS, doc="hf: transformers (CPU or GPU); vllm: GPU engine")
    dtype: str = knob("auto", choices=("auto", "bf16", "fp16", "fp32"), doc="auto: bf16 on GPU, fp32 on CPU")
    benchmark: str = knob("gsm8k", choices=tuple(BENCHMARKS), doc="which benchmark's problems")
    n_problems: int = knob(3, ge=1, doc="problems drawn (seeded) from the benchmark")
    problem_seed: int = knob(0, ge=0, doc="seed of the problem sample (or of the generator)")
    chain_length: int | None = knob(None, ge=1, doc="steps per problem, reasoning-gym benchmarks only")
    prompt_style: str = knob("chat", choices=("chat", "few-shot"), doc="chat: zero-shot in the chat template; "
                             "few-shot: solved examples in plain text, for base models")
    n_shots: int = knob(0, ge=0, doc="solved examples before the question (few-shot only)")
    n_samples: int = knob(1, ge=1, doc="independent samples per problem (parallel scaling)")
    temperature: float = knob(0.0, ge=0.0, doc="0 = greedy; the paper samples at 1.0")
    top_p: float = knob(1.0, ge=0.0, le=1.0, doc="nucleus sampling mass, > 0")
    seed: int = knob(0, ge=0, doc="sampling seed; each sample derives its own from it")
    thinking_budget: int | None = knob(None, ge=1, doc="thinking tokens; None = no thinking section")
    n_ignore: int = knob(0, ge=0, doc="early ends of thinking suppressed with the continuation string")
    continuation: str = knob("Wait", doc="appended when an early end of thinking is suppressed")
    thinking_format: str | None = knob(None, doc="s1 | qwen3; None = the preset's, or by a directory's tokenizer")
    max_answer_tokens: int = knob(256, ge=1, doc="answer tokens at most (the whole completion without thinking)")

    def validate(self) -> None:
        check_model(self.model)
        check_problem_options(self.benchmark, self.chain_length, self.prompt_style, self.n_shots)
        if self.prompt_style == "few-shot" and self.thinking_budget is not None:
            raise ConfigError(f"thinking_budget={self.thinking_budget} with prompt_style='few-shot'; allowed: "
                              f"None (a few-shot prompt has no thinking section)")
        if self.top_p <= 0:
            raise ConfigError(f"top_p={self.top_p!r} is out of range; allowed: 0 < top_p <= 1")
        if self.thinking_format is not None and self.thinking_format not in THINKING_FORMATS:
            raise ConfigError(f"thinking_format={self.thinking_format!r} is not allowed; "
                              f"allowed: {sorted(THINKING_FORMATS)} or None")
        if self.n_ignore and self.thinking_budget is None:
            raise ConfigError(f"n_ignore={self.n_ignore} needs a thinking section; allowed: 0 when "
                              f"thinking_budget is None")
        if self.n_samples > 1 and self.temperature == 0:
            raise ConfigError(f"n_samples={self.n_samples} with temperature=0 draws one greedy answer "
                              f"{self.n_samples} times; allowed: temperature > 0 for several samples")

    def versions(self) -> dict[str, int | str]:
        return {**super().versions(), "benchmark": get_benchmark(self.benchmark).version}

    def budget(self) -> Budget:
        return Budget(thinking_budget=self.thinking_budget, n_ignore=self.n_ignore, continuation=self.continuation,
                      max_answer_tokens=self.max_answer_tokens, temperature=self.temperature, top_p=self.top_p,
                      answer_stop=FEW_SHOT_STOP if self.prompt_style == "few-shot" else ())

    def problems(self) -> pd.DataFrame:
        """The problems this config answers (a seeded sample, or generated for reasoning-gym benchmarks)."""
        return load_benchmark(self.benchmark, n_problems=self.n_problems, seed=self.problem_seed,
                              chain_length=self.chain_length)

    def prompt(self, tokenizer: Any, problem: dict) -> str:
        """The exact text the model continues for one problem."""
        if self.prompt_style == "few-shot":
            return few_shot_prompt(self.benchmark, problem, self.n_shots)
        return chat_prompt(tokenizer, user_message(self.benchmark, problem))


@dataclass(frozen=True)
class BackendOptions(StageConfig):
    """How generation runs, not what it produces: never part of a run's hash."""

    device: str = knob("auto", choices=("auto", "cpu", "cuda"), doc="hf backend; auto = CUDA when present")
    batch_size: int = knob(32, ge=1, doc="hf backend: sequences decoded together")
    tensor_parallel_size: int = knob(1, ge=1, doc="vllm: GPUs per model replica (tensor parallel)")
    pipeline_parallel_size: int = knob(1, ge=1, doc="vllm: pipeline stages (across GPUs or nodes)")
    gpu_memory_utilization: float = knob(0.9, ge=0.05, le=1.0, doc="vllm: share of GPU memory to use")
    max_model_len: int | None = knob(None, ge=1, doc="vllm: context length; None = the model's")
    progress: bool = knob(True, doc="show progress bars")

    def backend_kwargs(self, config: GenerationConfig) -> dict[str, Any]:
        if config.backend == "hf":
            return {"device": self.device, "dtype": config.dtype, "batch_size": self.batch_size,
                    "progress": self.progress}
        return {"dtype": config.dtype, "tensor_parallel_size": self.tensor_parallel_size,
                "pipeline_parallel_size": self.pipeline_parallel_size, "seed": config.seed,
                "gpu_memory_utilization": self.gpu_memory_utilization, "max_model_len": self.max_model_len,
                "progress": self.progress}


def chat_prompt(tokenizer: Any, user_text: str) -> str:
    """The model's own chat template around one user turn, ending where the assistant's answer starts."""
    return tokenizer.apply_chat_template([{"role": "user", "content": user_text}], tokenize=False,
                                         add_generation_prompt=True)


def prompt_hash(prompt: str) -> str:
    return hashlib.sha256(prompt.encode()).hexdigest()[:12]


def run_generation(config: GenerationConfig, store: RunStore, *, options: BackendOptions | None = None,
                   backend: Backend | None = None, problems_per_chunk: int | None = None,
                   fresh: bool = False) -> Run:
    """Generate (or read back) the config's samples: one row per problem × sample.

    The backend is built on first need from ``options`` (or passed in, e.g. to share one engine between runs);
    a finished run never loads a model. Samples are stored every ``problems_per_chunk`` problems (default: as
    many as fill one batch of ``options.batch_size`` sequences), so an interrupted run resumes where it stopped.
    """
    options = options or BackendOptions()
    # A chunk is one decode batch: chunks of 8 greedy problems left a CPU decoding 8 sequences at a time, at
    # two thirds of the throughput of 32 (benchmarks/throughput.py).
    problems_per_chunk = problems_per_chunk or max(1, options.batch_size // config.n_samples)
    problems = config.problems()
    items = [{"item_id": p["problem_id"], "problem": p} for p in problems.to_dict("records")]
    fmt = thinking_format(config.model, config.thinking_format)
    engine = backend or LazyBackend(lambda: make_backend(config.backend, config.model,
                                                         **options.backend_kwargs(config)))

    def compute(chunk: list[dict]) -> list[dict]:
        prompts = {item["item_id"]: config.prompt(engine.tokenizer, item["problem"]) for item in chunk}
        jobs = [(item, sample) for item in chunk for sample in range(config.n_samples)]
        seeds = [sample_seed(config.seed, sample) for _, sample in jobs]
        traces = generate_traces(engine, [prompts[item["item_id"]] for item, _ in jobs], seeds, config.budget(),
                                 fmt)
        return [{"item_id": item["item_id"], "benchmark": config.benchmark, "variant": config.model,
                 "backend": config.backend, "sample": sample, "seed": seed,
                 "thinking_budget": config.thinking_budget, "n_ignore": config.n_ignore,
                 "question": item["problem"]["question"], "gold": item["problem"]["answer"],
                 "prompt": prompts[item["item_id"]], "prompt_hash": prompt_hash(prompts[item["item_id"]]),
                 "thinking": trace.thinking, "answer": trace.answer, "completion": trace.completion,
                 "thinking_tokens": trace.thinking_tokens, "answer_tokens": trace.answer_tokens,
                 "completion_tokens": trace.thinking_tokens + trace.answer_tokens, "n_forced": trace.n_forced,
                 "thinking_cut": trace.thinking_cut, "finish_reason": trace.finish_reason,
                 "device": str(engine.device)}
                for (item, sample), seed, trace in zip(jobs, seeds, traces)]

    return store.run(config, items, compute, chunk_size=problems_per_chunk, fresh=fresh,
                     metrics=generation_metrics)


def generation_metrics(samples: pd.DataFrame) -> dict[str, Any]:
    """Token and stopping statistics of a generation run (accuracy comes from grading, not from here)."""
    return {"n": len(samples), "n_problems": int(samples["item_id"].nunique()),
            "mean_completion_tokens": float(samples["completion_tokens"].mean()),
            "mean_thinking_tokens": float(samples["thinking_tokens"].mean()),
            "mean_forced": float(samples["n_forced"].mean()),
            "share_thinking_cut": float(samples["thinking_cut"].mean()),
            "share_hit_max_tokens": float((samples["finish_reason"] == "length").mean())}


@dataclass(frozen=True)
class PromptLengthConfig(ModelStageConfig):
    """Prompt lengths in one model's tokens (chat template applied) for every problem of the chosen benchmarks."""

    STAGE = "prompt-lengths"
    PROFILE_DEFAULTS = {"smoke": {"n_problems": 20}, "default": {}, "paper": {"model": "qwen3-8b"}}

    model: str = knob("smollm2-135m", doc="whose tokenizer counts the tokens")
    benchmarks: tuple[str, ...] = knob(LOCAL_BENCHMARKS, doc="benchmarks to measure (local copies)")
    n_problems: int | None = knob(None, ge=1, doc="problems per benchmark (seeded sample); None = all")

    def validate(self) -> None:
        unknown = sorted(set(self.benchmarks) - set(LOCAL_BENCHMARKS))
        if unknown or not self.benchmarks:
            raise ConfigError(f"benchmarks={list(self.benchmarks)!r} has unknown or no entries {unknown}; "
                              f"allowed: a non-empty list from {sorted(LOCAL_BENCHMARKS)}")
        check_model(self.model)


def run_prompt_lengths(config: PromptLengthConfig, store: RunStore, *, fresh: bool = False) -> Run:
    """Count prompt tokens per problem (read back from the store when already done); one row per problem."""
    items = []
    for name in config.benchmarks:
        problems = load_benchmark(name, n_problems=config.n_problems, seed=0)
        items += [{"item_id": f"{name}:{p['problem_id']}", "benchmark": name, "problem": p}
                  for p in problems.to_dict("records")]
    loaded: dict[str, Any] = {}

    def compute(chunk: list[dict]) -> list[dict]:
        if not loaded:
            loaded["tokenizer"] = load_tokenizer(config.model)
        tokenizer = loaded["tokenizer"]
        prompts = [chat_prompt(tokenizer, user_message(item["benchmark"], item["problem"])) for item in chunk]
        counts = [len(ids) for ids in tokenizer(prompts, add_special_tokens=False)["input_ids"]]
        return [{"item_id": item["item_id"], "benchmark": item["benchmark"], "prompt_tokens": n}
                for item, n in zip(chunk, counts)]

    def metrics(samples: pd.DataFrame) -> dict[str, Any]:
        stats = samples.groupby("benchmark")["prompt_tokens"].describe(percentiles=[0.5])
        return {name: {"n": int(row["count"]), "median": float(row["50%"]), "max": float(row["max"])}
                for name, row in stats.iterrows()}

    return store.run(config, items, compute, chunk_size=2048, fresh=fresh, metrics=metrics)
