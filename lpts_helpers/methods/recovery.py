"""Recovery after pruning: supervised fine-tuning (LoRA or full) and reinforcement learning on a pruned model.

The paper (PAPER.md, "Recovery") fine-tunes pruned models on s1K with LoRA or all parameters and finds that test-time
scaling does not come back. This module runs those recipes and two more — SFT on the pruned model's own correct
answers (arXiv 2602.01997) and GRPO with answer correctness as the reward — on any model the book can load.
Training goes through TRL's trainers (loss on the completion only, a held-out split, resumable checkpoints); the
recovered model is an ordinary checkpoint beside its run, named ``recovered:<run folder>`` wherever a model name
is taken (``recovered_run``; the resolver registered here loads it).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from ..core.config import ConfigError, knob
from ..core.store import Run, RunStore
from ..engine.evaluation import EvalConfig, run_evaluation
from ..engine.generation import BackendOptions, chat_prompt
from ..models import registry
from ..models.loading import load_model, load_tokenizer, load_weights, save_checkpoint
from ..models.registry import ModelStageConfig, base_model, check_model, run_model_name, thinking_format
from ..tasks.benchmarks import get_benchmark, load_benchmark, user_message
from ..tasks.grading import grade
from . import organism, thinking
from .adapters import PROJECTIONS, check_lora_targets, lora_config, trainable_copy
from .study import Task

METHODS = ("sft", "grpo")
ADAPTERS = ("lora", "full")
DATA = ("organism", "thinking", "distill", "self", "s1k")
TRAIN_SEED = 1  # problem seed of the training split; the book evaluates on problem seed 0
S1K = "simplescaling/s1K-1.1"  # the paper's SFT data (questions with DeepSeek-R1 thinking and answers)


@dataclass(frozen=True)
class RecoveryConfig(ModelStageConfig):
    """One recovery of one (pruned) model: what it is trained on, how, for how long (the "recovery" stage).

    ``method="sft"`` trains on ``data`` with LoRA or all parameters (``adapter``); ``method="grpo"`` samples
    ``num_generations`` answers per training problem and reinforces the correct ones (TRL's GRPOTrainer).
    """

    STAGE = "recovery"
    # the committed recoveries were stored before the knob existed
    LATE_FIELDS: ClassVar[dict[str, Any]] = {"autocast": "fp32"}
    PROFILE_DEFAULTS = {
        "smoke": {"tasks": ("organism_recall_open",), "n_examples": 64, "n_train_problems": 16, "n_train_samples": 4,
                  "max_steps": 8, "batch_size": 4, "grad_accum": 1, "num_generations": 4, "thinking_budget": 32,
                  "logging_steps": 2, "lr": 3e-4},
        "default": {},
        # PAPER.md: s1K, lr 1e-5 cosine to 0, warmup 5%, 5 epochs, weight decay 1e-4, AdamW (0.9, 0.95), bf16,
        # block size 32768, effective batch 16; LoRA r 16, alpha 32, dropout 0.05 on all projections.
        "paper": {"data": "s1k", "lr": 1e-5, "epochs": 5.0, "max_length": 32768, "batch_size": 1,
                  "grad_accum": 16, "gradient_checkpointing": True, "thinking_budget": 8192,
                  "max_answer_tokens": 1024, "logging_steps": 5},
    }

    model: str = knob("organism", doc="the model to recover: usually a pruned model (prune.pruned_name)")
    method: str = knob("sft", choices=METHODS, doc="sft: supervised fine-tuning; grpo: RL with a correctness reward")
    adapter: str = knob("lora", choices=ADAPTERS, doc="lora: train low-rank adapters (merged after); full: all weights")
    data: str = knob("organism", choices=DATA, doc="organism: its own training distribution (the s1K analogue); "
                     "thinking: the thinking SmolLM2's own s1-format training traces; "
                     "distill: correct traces of the teacher; self: the model's own correct samples "
                     "(arXiv 2602.01997); s1k: the paper's s1K-1.1 (hub)")
    tasks: tuple[str, ...] = knob(("organism_chain@2",), doc="problems for distill / self / grpo, as 'benchmark@k'")
    teacher: str | None = knob(None, doc="distill: whose correct traces (None: the unpruned model it was cut from)")
    n_examples: int = knob(2048, ge=1, doc="organism / thinking data: conversations drawn from its training "
                           "distribution (thinking: its training problems in turn, a slip drawn anew each time)")
    n_train_problems: int = knob(200, ge=1, doc="distill / self / grpo: training problems per task (problem seed 1)")
    n_train_samples: int = knob(4, ge=1, doc="distill / self: samples per problem; the correct ones are kept")
    sample_temperature: float = knob(1.0, ge=0.0, doc="distill / self / grpo: sampling temperature")
    thinks: bool = knob(True, doc="whether the model writes a thinking section before a chain's answer")
    thinking_budget: int = knob(256, ge=1, doc="thinking tokens when it thinks")
    eval_problems: int = knob(100, ge=0, doc="problems per task the book evaluates (problem seed 0): their "
                              "questions are kept out of training")
    max_answer_tokens: int = knob(16, ge=1, doc="answer tokens after the thinking")
    heldout: float = knob(0.1, ge=0.0, le=0.5, doc="sft: share of examples held out for the loss curve")
    epochs: float = knob(1.0, ge=0.01, doc="sft: passes over the data (unless max_steps is set)")
    max_steps: int | None = knob(None, ge=1, doc="optimizer steps (None: epochs); grpo needs it")
    lr: float = knob(2e-4, ge=0.0, doc="peak learning rate (cosine to 0 after warmup, as the paper)")
    warmup_ratio: float = knob(0.05, ge=0.0, le=0.5, doc="share of steps warming up (the paper's 5%)")
    weight_decay: float = knob(1e-4, ge=0.0, doc="AdamW weight decay (the paper's 1e-4); betas are (0.9, 0.95)")
    batch_size: int = knob(16, ge=1, doc="examples per device step")
    grad_accum: int = knob(1, ge=1, doc="device steps per optimizer step (effective batch = batch × accum)")
    max_length: int = knob(512, ge=8, doc="sft: tokens per example at most (the paper's block size is 32768)")
    gradient_checkpointing: bool = knob(False, doc="recompute activations (paper scale)")
    lora_rank: int = knob(16, ge=1, doc="LoRA rank (the paper's 16)")
    lora_alpha: int = knob(32, ge=1, doc="LoRA alpha (the paper's 32)")
    lora_dropout: float = knob(0.05, ge=0.0, le=0.9, doc="LoRA dropout (the paper's 0.05)")
    lora_targets: tuple[str, ...] = knob(PROJECTIONS, doc="projections that get adapters (the paper's seven)")
    num_generations: int = knob(8, ge=2, doc="grpo: samples per problem, whose rewards are compared")
    beta: float = knob(0.0, ge=0.0, doc="grpo: KL penalty to the starting model (0: none, as DAPO / Dr. GRPO)")
    logging_steps: int = knob(5, ge=1, doc="steps per logged loss (and held-out loss)")
    seed: int = knob(0, ge=0, doc="seeds data order, adapters and sampling")
    autocast: str = knob("fp32", choices=("fp32", "bf16"), doc="compute dtype on the CPU (fp32 master weights; a "
                         "GPU always computes in bf16, as the paper trained)")

    def validate(self) -> None:
        check_model(self.model)
        if self.teacher is not None:
            check_model(self.teacher)
        for task in self.tasks:
            source = get_benchmark(Task.parse(task).benchmark).source
            if source == "local" and (self.data in ("distill", "self") or self.method == "grpo"):
                raise ConfigError(f"tasks entry {task!r} is a fixed evaluation set; allowed for training: "
                                  f"generated benchmarks (reasoning-gym or the organism's), whose training "
                                  f"problems (seed {TRAIN_SEED}) differ from the evaluated ones")
        if self.method == "grpo" and self.max_steps is None:
            raise ConfigError("max_steps=None with method='grpo'; allowed: a number of steps (GRPO has no epochs)")
        if self.method == "grpo" and (self.batch_size * self.grad_accum) % self.num_generations:
            raise ConfigError(f"batch_size × grad_accum = {self.batch_size * self.grad_accum} with num_generations="
                              f"{self.num_generations}; allowed: a multiple of num_generations")
        if self.method == "sft" and self.data in ("distill", "self") and not self.tasks:
            raise ConfigError(f"tasks=() with data={self.data!r}; allowed: at least one 'benchmark@k'")
        check_lora_targets(self.lora_targets)

    def label(self) -> str:
        """How the book names the recipe."""
        if self.method == "grpo":
            return f"GRPO ({self.adapter})"
        data = {"organism": "", "thinking": "", "distill": ", distilled", "self": ", self-generated",
                "s1k": ", s1K"}[self.data]
        return f"{'LoRA' if self.adapter == 'lora' else 'full'} SFT{data}"


# --- training data ---------------------------------------------------------------------------------------------------

def _task_list(config: RecoveryConfig) -> list[Any]:
    return [Task.parse(t) for t in config.tasks]


def sample_config(config: RecoveryConfig, task: Any, model: str) -> EvalConfig:
    """The evaluation run that draws the training traces of ``task`` from ``model`` (distill / self / grpo)."""
    thinks = config.thinks and get_benchmark(task.benchmark).chained
    return EvalConfig(model=model, benchmark=task.benchmark, chain_length=task.chain_length,
                      n_problems=config.n_train_problems, problem_seed=TRAIN_SEED, n_samples=config.n_train_samples,
                      temperature=config.sample_temperature, seed=config.seed,
                      thinking_budget=config.thinking_budget if thinks else None,
                      max_answer_tokens=config.max_answer_tokens)


def heldout_questions(task: Any, n: int) -> set[str]:
    """The questions of the first ``n`` problems of ``task`` with problem seed 0 — what the book evaluates (a
    generator's first problems do not depend on how many are drawn): training never sees them. The organism's
    recall is the exception: its facts are its training data (as a real model's knowledge is its pretraining
    data), so recovering them is what recovery is for."""
    spec = get_benchmark(task.benchmark)
    if n == 0 or (spec.source == "organism" and not spec.chained):
        return set()
    return set(load_benchmark(task.benchmark, n_problems=n, seed=0, chain_length=task.chain_length)["question"])


def _generated_pairs(config: RecoveryConfig, store: RunStore, options: BackendOptions | None) -> tuple[list, dict]:
    """(prompt, completion) of every correct sample of the teacher (distill) or the model itself (self), with the
    evaluation questions removed; and how many samples were drawn and kept."""
    teacher = config.model if config.data == "self" else (config.teacher or base_model(config.model))
    pairs, drawn, tokens = [], 0, 0
    for task in _task_list(config):
        samples = run_evaluation(sample_config(config, task, teacher), store, options=options).samples
        drawn += len(samples)
        tokens += int(samples["completion_tokens"].sum())
        kept = samples[samples["correct"] & ~samples["question"].isin(heldout_questions(task, config.eval_problems))]
        pairs += list(zip(kept["prompt"], kept["completion"]))
    return pairs, {"teacher": teacher, "samples_drawn": drawn, "samples_kept": len(pairs),
                   "generated_tokens": tokens}


def _organism_examples(config: RecoveryConfig) -> list[tuple[list[int], list[int]]]:
    kind = "direct" if base_model(config.model) == "organism-direct" else "thinking"
    rng = random.Random(f"recovery:{config.seed}")
    longest = organism.OrganismConfig().max_chain  # the organism's own mix, all chain lengths it was trained on
    examples = []
    for _ in range(config.n_examples):
        segments = organism.training_example(rng, kind, organism.DataMix(), organism.WORLD, longest)
        ids, labels = organism.encode_segments(segments)
        examples.append((ids, [int(label != organism.IGNORE) for label in labels]))
    return examples


def _thinking_examples(config: RecoveryConfig, tokenizer: Any) -> list[tuple[list[int], list[int]]]:
    """The thinking SmolLM2's own training traces (its s1K): its training problems in turn, new slips each pass."""
    source = thinking.ThinkingConfig()
    problems = thinking.training_problems(source)
    examples = []
    for i in range(config.n_examples):
        problem = problems[i % len(problems)]
        ids, labels = thinking.problem_example(tokenizer, problem, random.Random(f"recovery:{config.seed}:{i}"),
                                               source.slip_rate)
        examples.append((ids, [int(label != organism.IGNORE) for label in labels]))
    return examples


def _s1k_pairs(config: RecoveryConfig, tokenizer: Any) -> list[tuple[str, str]]:
    """s1K-1.1 as the model's own chat: the question as the user turn, DeepSeek-R1's thinking inside the model's
    thinking delimiters, then its answer (s1's training format)."""
    from datasets import load_dataset

    fmt = thinking_format(config.model)
    try:
        rows = load_dataset(S1K, split="train")
    except Exception as err:  # offline, or the hub moved it
        raise OSError(f"data='s1k' needs the Hugging Face dataset {S1K!r} ({err}); offline, use data='distill', "
                      f"'self' or 'organism'") from err
    return [(chat_prompt(tokenizer, row["question"]),
             fmt.think_start + row["deepseek_thinking_trajectory"] + fmt.think_end + row["deepseek_attempt"])
            for row in rows]


def tokenized(pairs: list[tuple[str, str]], tokenizer: Any, max_length: int) -> list[tuple[list[int], list[int]]]:
    """Prompt + completion + end of turn as token ids, with a mask of 1 on the completion (the trained part)."""
    examples = []
    for prompt, completion in pairs:
        head = tokenizer(prompt, add_special_tokens=False)["input_ids"]
        tail = tokenizer(completion + tokenizer.eos_token, add_special_tokens=False)["input_ids"]
        ids = (head + tail)[:max_length]
        examples.append((ids, ([0] * len(head) + [1] * len(tail))[:max_length]))
    return examples


def training_examples(config: RecoveryConfig, store: RunStore, tokenizer: Any,
                      options: BackendOptions | None = None) -> tuple[list, dict]:
    """The SFT examples (token ids, completion mask) and what making them cost."""
    if config.data == "organism":
        return _organism_examples(config), {"generated_tokens": 0}
    if config.data == "thinking":
        return _thinking_examples(config, tokenizer), {"generated_tokens": 0}
    if config.data == "s1k":
        return tokenized(_s1k_pairs(config, tokenizer), tokenizer, config.max_length), {"generated_tokens": 0}
    pairs, info = _generated_pairs(config, store, options)
    if not pairs:
        raise ValueError(f"no correct {config.data} samples to train on ({info['samples_drawn']} drawn from "
                         f"{info['teacher']}): raise n_train_samples or n_train_problems")
    return tokenized(pairs, tokenizer, config.max_length), info


def split(examples: list, share: float, seed: int) -> tuple[list, list]:
    """A seeded shuffle into (train, held-out); at least one held-out example when ``share`` > 0."""
    order = list(range(len(examples)))
    random.Random(seed).shuffle(order)
    n_held = min(len(examples) - 1, max(1, round(share * len(examples)))) if share > 0 else 0
    return [examples[i] for i in order[n_held:]], [examples[i] for i in order[:n_held]]


def rl_prompts(config: RecoveryConfig, tokenizer: Any) -> pd.DataFrame:
    """GRPO's training problems: the chat prompt as the model continues it (thinking opened when it thinks), the
    gold answer and how it is graded; evaluation questions removed."""
    fmt = thinking_format(config.model)
    frames = []
    for task in _task_list(config):
        spec = get_benchmark(task.benchmark)
        problems = load_benchmark(task.benchmark, n_problems=config.n_train_problems, seed=TRAIN_SEED,
                                  chain_length=task.chain_length)
        problems = problems[~problems["question"].isin(heldout_questions(task, config.eval_problems))]
        opening = fmt.think_start if config.thinks and spec.chained else ""
        frames.append(pd.DataFrame({
            "prompt": [chat_prompt(tokenizer, user_message(task.benchmark, p)) + opening
                       for p in problems.to_dict("records")],
            "gold": problems["answer"].astype(str), "opening": opening, "extractor": spec.extractor,
            "scorer": spec.scorer}))
    return pd.concat(frames, ignore_index=True).sample(frac=1.0, random_state=config.seed).reset_index(drop=True)


def correctness_reward(prompts: list[str], completions: list[str], gold: list[str], opening: list[str],
                       extractor: list[str], scorer: list[str], **_: Any) -> list[float]:
    """GRPO's reward: 1 for a completion the book's grader marks correct, else 0."""
    return [float(grade(o + c, g, extractor=e, scorer=s).correct)
            for c, g, o, e, s in zip(completions, gold, opening, extractor, scorer)]


# --- training --------------------------------------------------------------------------------------------------------

def _logging_steps(config: RecoveryConfig) -> int:
    """Optimizer steps per logged row (never more than the steps trained, so a short run still logs)."""
    return min(config.logging_steps, config.max_steps or config.logging_steps)


def _trainer_args(config: RecoveryConfig, output_dir: Path, cls: Any, **extra: Any):
    import torch

    cuda = torch.cuda.is_available()
    return cls(output_dir=str(output_dir), learning_rate=config.lr, lr_scheduler_type="cosine",
               warmup_steps=config.warmup_ratio, weight_decay=config.weight_decay, adam_beta1=0.9, adam_beta2=0.95,
               per_device_train_batch_size=config.batch_size, gradient_accumulation_steps=config.grad_accum,
               num_train_epochs=config.epochs, max_steps=config.max_steps or -1,
               logging_steps=_logging_steps(config),
               save_strategy="steps", save_steps=max(config.logging_steps, 25), save_total_limit=1,
               report_to="none", seed=config.seed, data_seed=config.seed, use_cpu=not cuda,
               bf16=cuda or config.autocast == "bf16",
               gradient_checkpointing=config.gradient_checkpointing, **extra)


def _sft_trainer(config: RecoveryConfig, model: Any, tokenizer: Any, examples: list, output_dir: Path):
    from datasets import Dataset
    from trl import SFTConfig, SFTTrainer

    train, held = split(examples, config.heldout, config.seed)

    def as_dataset(rows: list) -> Any:
        return Dataset.from_dict({"input_ids": [ids for ids, _ in rows], "assistant_masks": [m for _, m in rows]})

    extra = {"eval_strategy": "steps", "eval_steps": config.logging_steps, "eval_on_start": True,
             "per_device_eval_batch_size": config.batch_size} if held else {}
    args = _trainer_args(config, output_dir, SFTConfig, max_length=config.max_length,
                         assistant_only_loss=False, packing=False, dataset_kwargs={"skip_prepare_dataset": False},
                         **extra)
    return SFTTrainer(model=model, args=args, train_dataset=as_dataset(train),
                      eval_dataset=as_dataset(held) if held else None, processing_class=tokenizer,
                      peft_config=lora_config(config) if config.adapter == "lora" else None)


def _grpo_trainer(config: RecoveryConfig, model: Any, tokenizer: Any, prompts: pd.DataFrame, output_dir: Path):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    completion = (config.thinking_budget if config.thinks else 0) + config.max_answer_tokens
    args = _trainer_args(config, output_dir, GRPOConfig, num_generations=config.num_generations,
                         max_completion_length=completion, temperature=config.sample_temperature, beta=config.beta)
    return GRPOTrainer(model=model, reward_funcs=correctness_reward, args=args,
                       train_dataset=Dataset.from_pandas(prompts), processing_class=tokenizer,
                       peft_config=lora_config(config) if config.adapter == "lora" else None)


def _log_rows(history: list[dict]) -> list[dict]:
    """TRL's log history as rows: one per logged step and kind (train loss, held-out loss, reward)."""
    rows = []
    for entry in history:
        step = int(entry.get("step", 0))
        if "loss" in entry:
            rows.append({"item_id": "training", "step": step, "kind": "train", "loss": float(entry["loss"]),
                         "reward": float(entry.get("reward", np.nan)), "lr": float(entry.get("learning_rate", np.nan))})
        if "eval_loss" in entry:
            rows.append({"item_id": "training", "step": step, "kind": "heldout", "loss": float(entry["eval_loss"]),
                         "reward": np.nan, "lr": np.nan})
    return rows


def merged(model: Any) -> Any:
    """The model with its LoRA adapters folded into the weights (W + B·A·alpha/r): an ordinary model that any
    engine loads; a model without adapters as it is."""
    from peft import PeftModel

    return model.merge_and_unload() if isinstance(model, PeftModel) else model


def checkpoint_path(run_path: Path) -> Path:
    return run_path / "checkpoint"


def n_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters())


def train_recovery(config: RecoveryConfig, store: RunStore, *, options: BackendOptions | None = None,
                   fresh: bool = False, progress: bool = True) -> Run:
    """Train (or read back) one recovery. Rows: the logged training loss, held-out loss and reward per step;
    metrics: losses, the compute spent and the data used. The recovered model (LoRA merged) lands in
    ``<run>/checkpoint``; an interrupted training resumes from TRL's last saved step."""
    path = store.path(config)
    info: dict[str, Any] = {}

    def compute(chunk: list[dict]) -> list[dict]:
        import torch
        from transformers import PrinterCallback, ProgressCallback, set_seed

        set_seed(config.seed)
        # fp32 master weights; the trainer computes in bf16 (mixed precision) on a GPU, as the paper trained, and
        # on the CPU when the config asks (autocast)
        model, tokenizer = load_model(config.model, device="cuda" if torch.cuda.is_available() else "cpu", dtype="fp32")
        model = trainable_copy(model)
        output_dir = path / "trainer"
        started = time.perf_counter()
        with _quiet(progress):
            if config.method == "sft":
                examples, made = training_examples(config, store, tokenizer, options)
                trainer = _sft_trainer(config, model, tokenizer, examples, output_dir)
                info.update(made, examples=len(examples),
                            trained_tokens=int(sum(sum(mask) for _, mask in examples) * _passes(config, trainer)))
            else:
                prompts = rl_prompts(config, tokenizer)
                trainer = _grpo_trainer(config, model, tokenizer, prompts, output_dir)
                info.update(examples=len(prompts), generated_tokens=0, trained_tokens=0)
            if not progress:  # neither bars nor the printed logs that replace them
                trainer.remove_callback(PrinterCallback)
                trainer.remove_callback(ProgressCallback)
            info["trainable_parameters"] = _trainable(trainer.model)
            resume = any(output_dir.glob("checkpoint-*"))
            trainer.train(resume_from_checkpoint=True if resume else None)
        history = trainer.state.log_history
        if config.method == "grpo":
            generated = sum(e.get("completions/mean_length", 0.0) for e in history if "loss" in e)
            info["generated_tokens"] = int(generated * config.batch_size * config.grad_accum * _logging_steps(config))
            info["trained_tokens"] = info["generated_tokens"]
        trained = merged(trainer.model).eval()
        trained.generation_config.eos_token_id = tokenizer.eos_token_id
        trained.generation_config.pad_token_id = tokenizer.pad_token_id
        info.update(seconds=time.perf_counter() - started, parameters=n_parameters(trained))
        save_checkpoint(trained, tokenizer, checkpoint_path(path))
        shutil.rmtree(output_dir, ignore_errors=True)  # the checkpoint is what is kept
        (path / "training.json").write_text(json.dumps(info, indent=1, default=float))
        return _log_rows(history)

    return store.run(config, [{"item_id": "training"}], compute, chunk_size=1, fresh=fresh,
                     metrics=lambda samples: recovery_metrics(samples, path))


def _passes(config: RecoveryConfig, trainer: Any) -> float:
    steps = trainer.args.max_steps
    if steps and steps > 0:
        per_step = config.batch_size * config.grad_accum
        return steps * per_step / max(1, len(trainer.train_dataset))
    return config.epochs


def _trainable(model: Any) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


@contextlib.contextmanager
def _quiet(progress: bool):
    """No warnings, and without ``progress`` no bars or printed logs: TRL's per-step notices on CPU and tiny
    models, and datasets' preprocessing bars, would fill the book's pages."""
    import warnings

    import datasets

    was = datasets.is_progress_bar_enabled()
    if not progress:
        datasets.disable_progress_bars()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        if was:
            datasets.enable_progress_bars()


def recovery_metrics(samples: pd.DataFrame, path: Path) -> dict[str, Any]:
    """Losses (first and last logged; held-out before and after), reward, and the compute spent: wall time,
    trained and generated tokens, and FLOPs (6·N per trained token, 2·N per generated one)."""
    info = json.loads((path / "training.json").read_text()) if (path / "training.json").is_file() else {}
    train = samples[samples["kind"] == "train"].sort_values("step")
    held = samples[samples["kind"] == "heldout"].sort_values("step")
    n = info.get("parameters", 0)
    flops = 6 * n * info.get("trained_tokens", 0) + 2 * n * info.get("generated_tokens", 0)
    return {**info, "steps": int(samples["step"].max()) if len(samples) else 0,
            "first_loss": float(train["loss"].iloc[0]) if len(train) else None,
            "final_loss": float(train["loss"].iloc[-1]) if len(train) else None,
            "heldout_before": float(held["loss"].iloc[0]) if len(held) else None,
            "heldout_after": float(held["loss"].iloc[-1]) if len(held) else None,
            "final_reward": float(train["reward"].tail(3).mean()) if train["reward"].notna().any() else None,
            "minutes": info.get("seconds", 0.0) / 60, "flops": float(flops)}


# --- recovered models by name: the registry's resolver for "recovered:" -------------------------------------------

RECOVERED_PREFIX = "recovered:"


def recovered_run(name: str) -> Path | None:
    """For a recovered model's name (``recovered:<recovery run folder>``), its stored recovery run; else None."""
    return registry.named_run(name, RECOVERED_PREFIX)


def recovered_name(config: RecoveryConfig, store: RunStore, *, options: BackendOptions | None = None,
                   progress: bool = True) -> str:
    """The model name of ``config``'s recovered model (trained first when not stored)."""
    return run_model_name(RECOVERED_PREFIX, train_recovery(config, store, options=options, progress=progress).path)


def recovered_checkpoint(name: str, *, rebuild: bool = False) -> Path:
    """The checkpoint of recovered model ``name``. Checkpoints stay out of git (the run's config is the recipe),
    and loading never trains: a missing one is an error naming the command that retrains it, unless ``rebuild``."""
    run = recovered_run(name)
    path = checkpoint_path(run)
    if not (path / "config.json").is_file():
        if not rebuild:
            raise FileNotFoundError(f"the checkpoint of {name!r} is not on disk (checkpoints stay out of git); "
                                    f"retrain it from its stored recipe with `python -m lpts_helpers.methods.recovery "
                                    f"--rebuild {run}` (or recovered_checkpoint(name, rebuild=True))")
        config = RecoveryConfig.from_dict(json.loads((run / "config.json").read_text())["config"])
        train_recovery(config, RunStore(run.parent.parent), fresh=True, progress=False)
    return path


def _load(name: str, device: str, dtype: str) -> tuple[Any, Any]:
    """An ordinary checkpoint; its tokenizer is the base model's."""
    return load_weights(str(recovered_checkpoint(name)), device=device, dtype=dtype), load_tokenizer(name)


def _fingerprint(name: str, run: Path) -> str:
    """The run's hash covers its recipe and the fingerprint of the model it started from."""
    return hashlib.sha256(f"recovered:{run.name}".encode()).hexdigest()[:16]


registry.register(registry.Resolver(prefix=RECOVERED_PREFIX, maker="methods.recovery.recovered_name",
                                    fingerprint=_fingerprint, load=_load, checkpoint=recovered_checkpoint))


def main(argv: list[str] | None = None) -> None:
    """``python -m lpts_helpers.methods.recovery --rebuild <run folder>``: retrain a stored recovery run whose
    checkpoint is missing (from its stored config)."""
    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--rebuild", required=True, type=Path, metavar="RUN", help="a recovery run folder")
    run = parser.parse_args(argv).rebuild
    if not (run / "config.json").is_file():
        parser.error(f"--rebuild {run}: not a stored run folder (no config.json)")
    print(recovered_checkpoint(run_model_name(RECOVERED_PREFIX, run.resolve()), rebuild=True))


if __name__ == "__main__":
    main()
