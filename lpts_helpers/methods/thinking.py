"""A real pretrained model taught to think, the s1 way: SmolLM2-135M-Instruct fine-tuned with LoRA on reasoning traces.

s1.1-7B, the paper's second subject, is Qwen2.5-7B-Instruct fine-tuned on about a thousand reasoning traces written
in s1's format. This module does the same in miniature with the embedded default's one real model: it writes
synthetic traces for reasoning-gym's chain sums (one-digit terms added and subtracted, 1 to 20 steps) in s1's own
format and trains low-rank adapters on them. A trace, after the chat prompt:

    <|im_start|>think
    8 + 0 = 8
    8 + 7 = 15
    15 - 3 = 13
    Wait, 15 - 3 = 12
    12 - 0 = 12
    <|im_start|>answer
    Final Answer: \\boxed{12}<|im_end|>

one line per step (the running total, the next term of the prompt, the new total); now and then a line slips and
"Wait" and the right line follow. The slipped line is never trained on (its loss is masked), so the model learns
to notice and fix slips, not to make them. The prompt is the book's own (``chat_prompt`` of the chain-sum
benchmark's user message), so evaluation, budget forcing (which cuts at ``<|im_start|>`` and appends
``<|im_start|>answer\\nFinal Answer:``) and grading run on it unchanged. As s1 trained on s1K (1,000 problems, five
epochs), the training set is 768 distinct problems, five epochs, each epoch in a new order with new slips; they
come from a reasoning-gym seed far from those the book evaluates, and any question the book's chain-sum evaluations
hold is dropped.

Training goes through the run store in blocks of steps (an interrupted training resumes from its last block) and
ends with the adapter in ``<run>/adapter`` (committed, a few MB). The preset ``smollm2-135m-think`` loads the base
model with the adapter merged: the merged checkpoint is written once beside the run (not committed).
Introduced in ``02-the-model-organism``.
"""

from __future__ import annotations

import hashlib
import random
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd

from ..core.config import ConfigError, knob
from ..core.store import Run, RunStore, training_parser, training_store
from ..engine.generation import chat_prompt
from ..models import registry
from ..models.loading import load_tokenizer, load_weights, save_checkpoint
from ..models.presets import S1_THINKING, ModelPreset
from ..models.registry import ModelStageConfig, check_model
from ..tasks.benchmarks import load_benchmark, user_message
from ..tasks.world import IGNORE
from .adapters import PROJECTIONS, check_lora_targets, lora_config, trainable_copy
from .organism import micro_batches, warmup_cosine

BENCHMARK = "chain_sum"  # reasoning-gym's chain sums; chain_length counts the terms (steps = terms - 1)
# reasoning-gym seeds item i of a set with seed + i, so neighbouring seeds share nearly all their items: the
# training set is one set drawn far from the seeds the book evaluates (0 and 1, a few hundred items each)
TRAIN_SEED = 10_000
HELDOUT_LENGTHS = range(2, 26)  # chain lengths (terms) whose evaluated problems training never sees
HELDOUT_PROBLEMS = 200  # problems per length the book may evaluate (problem seed 0)
MICRO_BATCHES = 2  # per optimizer step; only the padding changes, not the gradient (4 ran 2x slower on the CPU)


@dataclass(frozen=True)
class ThinkingConfig(ModelStageConfig):
    """LoRA fine-tuning of a pretrained model on s1-format chain-sum traces (the run store's "thinking-sft" stage)."""

    STAGE = "thinking-sft"
    PROFILE_DEFAULTS = {"smoke": {"n_problems": 8, "epochs": 2, "log_every": 2, "batch_size": 4, "max_terms": 4},
                        "default": {}, "paper": {}}

    model: str = knob("smollm2-135m", doc="the pretrained model that learns to think")
    min_terms: int = knob(2, ge=2, doc="shortest training chain, in terms (one step fewer)")
    max_terms: int = knob(21, ge=2, le=40, doc="longest training chain, in terms")
    slip_rate: float = knob(0.2, ge=0.0, le=1.0, doc="share of traces with one slipped line fixed after 'Wait'")
    n_problems: int = knob(768, ge=1, doc="distinct training problems (s1K has 1,000)")
    epochs: int = knob(5, ge=1, doc="passes over them, each in a new order with new slips (s1's 5)")
    log_every: int = knob(20, ge=1, doc="steps per stored block (an interruption loses at most one block)")
    batch_size: int = knob(16, ge=1, doc="traces per optimizer step")
    lr: float = knob(3e-4, ge=0.0, doc="peak learning rate (linear warmup, cosine to a tenth)")
    warmup: int = knob(20, ge=0, doc="warmup steps")
    lora_rank: int = knob(16, ge=1, doc="LoRA rank (the paper's 16)")
    lora_alpha: int = knob(32, ge=1, doc="LoRA alpha (the paper's 32)")
    lora_dropout: float = knob(0.0, ge=0.0, le=0.9, doc="LoRA dropout (the paper's 0.05 made a CPU step 1.7x slower)")
    lora_targets: tuple[str, ...] = knob(PROJECTIONS, doc="projections that get adapters (the paper's seven)")
    autocast: str = knob("bf16", choices=("bf16", "fp32"), doc="compute dtype of the forward pass (fp32 master "
                         "weights either way; bf16 runs on the CPU's matrix units)")
    seed: int = knob(0, ge=0, doc="seeds the adapters, the data stream and the slips")

    def validate(self) -> None:
        check_model(self.model)
        if self.min_terms > self.max_terms:
            raise ConfigError(f"min_terms={self.min_terms} > max_terms={self.max_terms}; allowed: min_terms <= "
                              f"max_terms")
        if (self.n_problems * self.epochs) % (self.batch_size * self.log_every):
            raise ConfigError(f"n_problems × epochs = {self.n_problems * self.epochs} is not a multiple of batch_size "
                              f"× log_every = {self.batch_size * self.log_every}; allowed: multiples, so that every "
                              f"stored block has the same length")
        check_lora_targets(self.lora_targets)

    @property
    def steps(self) -> int:
        return self.n_problems * self.epochs // self.batch_size


# --- traces ----------------------------------------------------------------------------------------------------------

def _terms(expression: str) -> tuple[int, list[tuple[str, int]]]:
    """reasoning-gym's chain-sum expression ("8 + 0 + 7 - 0") as (operator, digit) steps after the first term:
    8, [("+", 0), ("+", 7), ("-", 0)] (the operator kept as written: "- 0" is not "+ 0")."""
    tokens = expression.split()
    steps = list(zip(tokens[1::2], (int(value) for value in tokens[2::2])))
    bad = [op for op, _ in steps if op not in ("+", "-")]
    if bad:
        raise ValueError(f"expression {expression!r}: operator {bad[0]!r}; allowed: + and -")
    return int(tokens[0]), steps


def _slip(rng: random.Random, right: int) -> int:
    """A plausible wrong total: off by one or two, or by ten."""
    return right + rng.choice((-10, -2, -1, 1, 2, 10))


def s1_trace(expression: str, rng: random.Random, slip_rate: float) -> list[tuple[str, bool]]:
    """The completion of one chain sum in s1's format, as (text, trained) segments (module docstring)."""
    total, steps = _terms(expression)
    slip_at = rng.randrange(1, len(steps) + 1) if rng.random() < slip_rate else None
    segments = [(S1_THINKING.think_start, True)]
    for step, (op, value) in enumerate(steps, start=1):
        line = f"{total} {op} {value} = "
        total += value if op == "+" else -value
        if step == slip_at:
            segments.append((f"{line}{_slip(rng, total)}\n", False))
            segments.append((f"Wait, {line}{total}\n", True))
        else:
            segments.append((f"{line}{total}\n", True))
    segments.append((f"{S1_THINKING.think_end}{S1_THINKING.answer_prefix} \\boxed{{{total}}}", True))
    return segments


def encode(tokenizer: Any, prompt: str, segments: list[tuple[str, bool]]) -> tuple[list[int], list[int]]:
    """Prompt and completion segments as token ids and labels (``IGNORE`` on the prompt and untrained segments;
    the end of turn is trained)."""
    ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    labels = [IGNORE] * len(ids)
    for text, trained in [*segments, (tokenizer.eos_token, True)]:
        piece = tokenizer(text, add_special_tokens=False)["input_ids"]
        ids += piece
        labels += piece if trained else [IGNORE] * len(piece)
    return ids, labels


@lru_cache(maxsize=1)
def heldout_questions() -> frozenset[str]:
    """Every question the book may evaluate on chain sums (problem seed 0, the first ``HELDOUT_PROBLEMS`` of each
    length in ``HELDOUT_LENGTHS``): training never sees them."""
    return frozenset(question for k in HELDOUT_LENGTHS for question in
                     load_benchmark(BENCHMARK, n_problems=HELDOUT_PROBLEMS, seed=0, chain_length=k)["question"])


@lru_cache(maxsize=4)
def training_problems(config: ThinkingConfig) -> tuple[dict, ...]:
    """The ``n_problems`` distinct training problems: one reasoning-gym set drawn from ``TRAIN_SEED``, questions the
    book evaluates and repeats removed."""
    import reasoning_gym

    data = reasoning_gym.create_dataset(BENCHMARK, size=3 * config.n_problems,
                                        seed=TRAIN_SEED + 100_000 * config.seed,  # other seeds: disjoint sets
                                        min_terms=config.min_terms, max_terms=config.max_terms, min_digits=1,
                                        max_digits=1)
    held, seen, kept = heldout_questions(), set(), []
    for item in data:
        if item["question"] not in held and item["question"] not in seen:
            seen.add(item["question"])
            kept.append({"question": item["question"], "answer": str(item["answer"]),
                         "expression": item["metadata"]["expression"]})
    if len(kept) < config.n_problems:
        raise ValueError(f"only {len(kept)} distinct problems of {config.min_terms}-{config.max_terms} terms are not "
                         f"evaluated; allowed: n_problems <= {len(kept)}, or longer chains (max_terms)")
    return tuple(kept[:config.n_problems])


def block_problems(config: ThinkingConfig, block: int) -> list[tuple[int, dict]]:
    """(epoch, problem) for every trace of one block: epoch after epoch, the training problems in a new seeded
    order each time."""
    problems = training_problems(config)
    per_block = config.batch_size * config.log_every
    orders: dict[int, list[int]] = {}
    out = []
    for index in range(block * per_block, (block + 1) * per_block):
        epoch, position = divmod(index, len(problems))
        if epoch not in orders:
            orders[epoch] = list(range(len(problems)))
            random.Random(f"order:{config.seed}:{epoch}").shuffle(orders[epoch])
        out.append((epoch, problems[orders[epoch][position]]))
    return out


def training_examples(config: ThinkingConfig, tokenizer: Any, block: int) -> list[tuple[list[int], list[int]]]:
    """The block's traces, tokenized; a problem's slip (whether, where, how) is drawn anew in every epoch."""
    return [problem_example(tokenizer, problem, random.Random(f"slip:{config.seed}:{epoch}:{problem['question']}"),
                            config.slip_rate)
            for epoch, problem in block_problems(config, block)]


def problem_example(tokenizer: Any, problem: dict, rng: random.Random, slip_rate: float) -> tuple[list[int], list[int]]:
    """One s1-format trace of ``problem`` in the model's chat, tokenized: ``(ids, labels)``."""
    return encode(tokenizer, chat_prompt(tokenizer, user_message(BENCHMARK, problem)),
                  s1_trace(problem["expression"], rng, slip_rate))


# --- training --------------------------------------------------------------------------------------------------------

def adapter_path(run_path: Path) -> Path:
    return run_path / "adapter"


def checkpoint_path(run_path: Path) -> Path:
    """The merged checkpoint (base + adapter), written on first load; not committed."""
    return run_path / "checkpoint"


def _peft_model(config: ThinkingConfig) -> Any:
    import torch
    from peft import get_peft_model

    torch.manual_seed(config.seed)
    return get_peft_model(trainable_copy(load_weights(config.model, device="cpu", dtype="fp32")),
                          lora_config(config))


def train_thinking(config: ThinkingConfig, store: RunStore, *, fresh: bool = False, progress: bool = True) -> Run:
    """Train (or read back) the adapters: one stored row per step (loss, learning rate, tokens, seconds); the
    adapter lands in ``<run>/adapter``. An interrupted training resumes from the last finished block (adapters,
    optimizer and data stream restored exactly)."""
    import torch
    from peft import get_peft_model_state_dict, set_peft_model_state_dict
    from tqdm.auto import tqdm

    path = store.path(config)
    resume = path / "resume.pt"
    tokenizer = load_tokenizer(config.model)
    state: dict[str, Any] = {}
    blocks = config.steps // config.log_every
    bar = tqdm(total=config.steps, desc=f"teaching {config.model} to think", disable=not progress)

    def load_resume() -> dict | None:
        return torch.load(resume, weights_only=True) if resume.is_file() and not fresh else None

    def ensure() -> None:
        if state:
            return
        state["model"] = _peft_model(config).train()
        trainable = [p for p in state["model"].parameters() if p.requires_grad]
        state["optimizer"] = torch.optim.AdamW(trainable, lr=config.lr, betas=(0.9, 0.95), weight_decay=0.0)
        saved = load_resume()
        if saved:
            set_peft_model_state_dict(state["model"], saved["adapter"])
            state["optimizer"].load_state_dict(saved["optimizer"])
            bar.update((int(saved["block"]) + 1) * config.log_every)

    def compute(chunk: list[dict]) -> list[dict]:
        block = chunk[0]["block"]
        saved = load_resume()
        if saved is not None and int(saved["block"]) == block:
            return saved["rows"]  # finished before an interruption
        ensure()
        rows = _train_block(config, tokenizer, state["model"], state["optimizer"], block, bar)
        torch.save({"block": block, "adapter": get_peft_model_state_dict(state["model"]),
                    "optimizer": state["optimizer"].state_dict(), "rows": rows}, resume)
        if block == blocks - 1:
            save_adapter(state["model"], adapter_path(path))
        return rows

    items = [{"item_id": b, "block": b} for b in range(blocks)]
    run = store.run(config, items, compute, chunk_size=1, fresh=fresh, metrics=training_metrics)
    bar.close()
    resume.unlink(missing_ok=True)  # the adapter is what is kept
    if not (adapter_path(run.path) / "adapter_config.json").is_file():
        raise FileNotFoundError(f"the finished run {run.path} has no adapter/ folder; retrain it with fresh=True")
    return run


def _train_block(config: ThinkingConfig, tokenizer: Any, model: Any, optimizer: Any, block: int, bar: Any
                 ) -> list[dict]:
    import torch
    import torch.nn.functional as F

    examples = training_examples(config, tokenizer, block)
    trainable = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for step in range(block * config.log_every, (block + 1) * config.log_every):
        started = time.perf_counter()
        batch = examples[(step % config.log_every) * config.batch_size:][:config.batch_size]
        trained = sum(sum(label != IGNORE for label in labels) for _, labels in batch)
        lr = warmup_cosine(config.lr, config.warmup, config.steps, step)
        for group in optimizer.param_groups:
            group["lr"] = lr
        total, tokens = 0.0, 0
        for ids, labels, mask in micro_batches(batch, tokenizer.pad_token_id, MICRO_BATCHES):
            targets = labels[:, 1:]
            keep = targets != IGNORE  # the output projection runs only where a token is trained
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=config.autocast == "bf16"):
                hidden = model.get_decoder()(input_ids=ids, attention_mask=mask, use_cache=False).last_hidden_state
                logits = model.get_output_embeddings()(hidden[:, :-1][keep])
            loss = F.cross_entropy(logits.float(), targets[keep], reduction="sum") / trained
            loss.backward()
            total += float(loss.detach())
            tokens += int(mask.sum())
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        rows.append({"item_id": block, "step": step + 1, "loss": total, "lr": lr, "trained_tokens": trained,
                     "tokens": tokens, "seconds": time.perf_counter() - started})
        bar.update(1)
        bar.set_postfix(loss=f"{total:.3f}")
    return rows


def training_metrics(samples: pd.DataFrame) -> dict[str, Any]:
    tail = samples.tail(max(1, len(samples) // 20))
    return {"steps": int(samples["step"].max()), "first_loss": float(samples.head(5)["loss"].mean()),
            "final_loss": float(tail["loss"].mean()), "minutes": float(samples["seconds"].sum() / 60),
            "tokens_per_second": float(samples["tokens"].sum() / samples["seconds"].sum())}


def save_adapter(model: Any, path: Path) -> None:
    """The adapter alone, in bf16 (half the bytes of fp32; the merge casts it back)."""
    import torch

    for name, parameter in model.named_parameters():
        if "lora_" in name:
            parameter.data = parameter.data.to(torch.bfloat16)
    model.save_pretrained(path, save_embedding_layers=False)  # only the adapters were trained


# --- the thinking model by name: the preset's checkpoint -------------------------------------------------------------

def merged_checkpoint(config: ThinkingConfig, store: RunStore | None = None) -> Path:
    """The base model with the trained adapter merged, as an ordinary checkpoint beside the run (written on first
    use; loading never trains: a missing adapter is an error naming the command that trains it)."""
    from peft import PeftModel

    run = (store or RunStore()).path(config)
    target = checkpoint_path(run)
    if (target / "config.json").is_file():
        return target
    if not (adapter_path(run) / "adapter_config.json").is_file():
        raise FileNotFoundError(f"no trained adapter at {adapter_path(run)}: train it with "
                                f"`python -m lpts_helpers.methods.thinking`")
    base = trainable_copy(load_weights(config.model, device="cpu", dtype="fp32"))
    model = PeftModel.from_pretrained(base, adapter_path(run)).merge_and_unload().eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    tokenizer = load_tokenizer(config.model)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    return save_checkpoint(model, tokenizer, target)


def trained_run(base: str) -> Run:
    """The finished default training of ``base`` in the book's store (what the preset loads); loading never
    trains: a missing run is an error naming the command that trains it."""
    try:
        return RunStore().load(ThinkingConfig(model=base))
    except FileNotFoundError as err:
        raise FileNotFoundError(f"{err}: train it with `python -m lpts_helpers.methods.thinking`") from None


def _preset_checkpoint(preset: ModelPreset) -> Path:
    return merged_checkpoint(ThinkingConfig(model=preset.location))


def _preset_fingerprint(preset: ModelPreset) -> str:
    """What the preset is: its training run and the committed adapter's bytes (the merged checkpoint is written
    on each machine, by whatever transformers version is installed there, so its files cannot identify it)."""
    run = RunStore().path(ThinkingConfig(model=preset.location))
    files = sorted(adapter_path(run).glob("adapter_*"))
    if not files:
        raise FileNotFoundError(f"no trained adapter at {adapter_path(run)}: train it with "
                                f"`python -m lpts_helpers.methods.thinking`")
    return _digest(run.name, tuple((str(f), f.stat().st_size, f.stat().st_mtime_ns) for f in files))


@lru_cache(maxsize=8)
def _digest(run: str, files: tuple[tuple[str, int, int], ...]) -> str:
    """The digest of a run's name and files' bytes (cached while the files are unchanged: every config hash asks)."""
    digest = hashlib.sha256(f"thinking-sft/{run}".encode())
    for path, _, _ in files:
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()[:16]


registry.register_preset_checkpoints("lora", _preset_checkpoint, _preset_fingerprint)


def main(argv: list[str] | None = None) -> None:
    """``python -m lpts_helpers.methods.thinking``: train the thinking SmolLM2's adapter into the book's run store."""
    args = training_parser("python -m lpts_helpers.methods.thinking", main.__doc__,
                           ThinkingConfig.PROFILE_DEFAULTS).parse_args(argv)
    run = train_thinking(ThinkingConfig.for_profile(args.profile), training_store(args), fresh=args.fresh)
    print(f"{run.metrics} -> {adapter_path(run.path)}")


if __name__ == "__main__":
    main()
