"""Prompt → completion runs through the run store, with the transformers backend (CPU, or bf16 on CUDA).

``run_completions`` answers a seeded sample of a benchmark's problems with one model and stores one row per
problem: the prompt, the raw completion, token counts and why generation stopped. Introduced in
``00-models-and-benchmarks`` (one real SmolLM2-135M-Instruct completion, made here on the CPU).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .benchmarks import BENCHMARKS, load_benchmark, user_message
from .config import ConfigError, StageConfig, knob
from .models import check_model, load_model, load_tokenizer
from .store import Run, RunStore


@dataclass(frozen=True)
class GenerationConfig(StageConfig):
    """One model answering a seeded sample of one benchmark's problems."""

    STAGE = "generation"
    PROFILE_DEFAULTS = {
        "smoke": {"n_problems": 2, "max_new_tokens": 16},
        "default": {},
        "paper": {"model": "qwen3-8b", "benchmark": "aime24", "n_problems": 30, "max_new_tokens": 8192,
                  "temperature": 1.0},
    }

    model: str = knob("smollm2-135m", doc="a model preset or a local checkpoint directory")
    benchmark: str = knob("gsm8k", choices=tuple(BENCHMARKS), doc="which benchmark's problems")
    n_problems: int = knob(3, ge=1, doc="problems drawn (seeded) from the benchmark")
    problem_seed: int = knob(0, ge=0, doc="seed of the problem sample")
    max_new_tokens: int = knob(256, ge=1, doc="generated tokens per completion at most")
    temperature: float = knob(0.0, ge=0.0, doc="0 = greedy; the paper samples at 1.0")
    top_p: float = knob(1.0, ge=0.0, le=1.0, doc="nucleus sampling mass")
    seed: int = knob(0, ge=0, doc="sampling seed")

    def validate(self) -> None:
        try:
            check_model(self.model)
        except ConfigError as err:
            raise ConfigError(f"model: {err}") from None


def _device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def chat_prompt(tokenizer: Any, user_text: str) -> str:
    """The model's own chat template around one user turn, ending where the assistant's answer starts."""
    return tokenizer.apply_chat_template([{"role": "user", "content": user_text}], tokenize=False,
                                         add_generation_prompt=True)


def generate(model: Any, tokenizer: Any, prompts: list[str], config: GenerationConfig) -> list[dict[str, Any]]:
    """Complete ``prompts`` in one left-padded batch; return text, token counts and finish reason for each."""
    import torch

    tokenizer.padding_side = "left"
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    batch = tokenizer(prompts, return_tensors="pt", padding=True, add_special_tokens=False).to(model.device)
    sampling = {"do_sample": True, "temperature": config.temperature, "top_p": config.top_p} \
        if config.temperature > 0 else {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    torch.manual_seed(config.seed)
    with torch.inference_mode():
        out = model.generate(**batch, max_new_tokens=config.max_new_tokens, pad_token_id=tokenizer.pad_token_id,
                             **sampling)
    new = out[:, batch["input_ids"].shape[1]:]
    eos = tokenizer.eos_token_id
    results = []
    for row, prompt_len in zip(new, batch["attention_mask"].sum(dim=1).tolist()):
        ids = row.tolist()
        n = ids.index(eos) + 1 if eos in ids else len(ids)
        results.append({"completion": tokenizer.decode(ids[:n], skip_special_tokens=False),
                        "prompt_tokens": int(prompt_len), "completion_tokens": n,
                        "finish_reason": "stop" if eos in ids[:n] else "length"})
    return results


def run_completions(config: GenerationConfig, store: RunStore, *, batch_size: int = 4,
                    fresh: bool = False) -> Run:
    """Answer the config's problems (read back from the store when already done); one row per problem."""
    problems = load_benchmark(config.benchmark, n_problems=config.n_problems, seed=config.problem_seed)
    items = [{"item_id": p["problem_id"], "problem": p} for p in problems.to_dict("records")]
    loaded: dict[str, Any] = {}

    def compute(chunk: list[dict]) -> list[dict]:
        if not loaded:
            loaded["device"] = _device()
            loaded["model"], loaded["tokenizer"] = load_model(config.model, device=loaded["device"])
        tokenizer = loaded["tokenizer"]
        prompts = [chat_prompt(tokenizer, user_message(config.benchmark, item["problem"]))
                   for item in chunk]
        outputs = generate(loaded["model"], tokenizer, prompts, config)
        return [{"item_id": item["item_id"], "benchmark": config.benchmark, "model": config.model,
                 "question": item["problem"]["question"], "gold": item["problem"]["answer"], "prompt": prompt,
                 **output, "device": loaded["device"]}
                for item, prompt, output in zip(chunk, prompts, outputs)]

    return store.run(config, items, compute, chunk_size=batch_size, fresh=fresh, metrics=_completion_metrics)


def gold_mentioned(gold: str, completion: str) -> bool:
    """Whether the gold answer appears in the completion as a whole token (``12`` is not in ``120`` or ``1.12``).

    Not a grader — the evaluation chapter extracts the final answer — but an upper bound on any grader's verdict.
    """
    return re.search(rf"(?<![\w.]){re.escape(gold.strip())}(?![\w]|\.\d)", completion) is not None


def _completion_metrics(samples: pd.DataFrame) -> dict[str, Any]:
    mentioned = [gold_mentioned(g, c) for g, c in zip(samples["gold"], samples["completion"])]
    return {"n": len(samples), "mean_completion_tokens": float(samples["completion_tokens"].mean()),
            "share_hit_max_tokens": float((samples["finish_reason"] == "length").mean()),
            "n_gold_mentioned": int(sum(mentioned))}


@dataclass(frozen=True)
class PromptLengthConfig(StageConfig):
    """Prompt lengths in one model's tokens (chat template applied) for every problem of the chosen benchmarks."""

    STAGE = "prompt-lengths"
    PROFILE_DEFAULTS = {"smoke": {"n_problems": 20}, "default": {}, "paper": {"model": "qwen3-8b"}}

    model: str = knob("smollm2-135m", doc="whose tokenizer counts the tokens")
    benchmarks: tuple[str, ...] = knob(tuple(BENCHMARKS), doc="benchmarks to measure")
    n_problems: int | None = knob(None, ge=1, doc="problems per benchmark (seeded sample); None = all")

    def validate(self) -> None:
        unknown = sorted(set(self.benchmarks) - set(BENCHMARKS))
        if unknown or not self.benchmarks:
            raise ConfigError(f"benchmarks={list(self.benchmarks)!r} has unknown or no entries {unknown}; "
                              f"allowed: a non-empty list from {sorted(BENCHMARKS)}")
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
