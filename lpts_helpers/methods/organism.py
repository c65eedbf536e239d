"""The model organism: a small Qwen3 trained here, on this CPU, to recall facts and to reason in written chains.

The paper's models cannot run on a laptop and SmolLM2-135M solves no multi-step problem, so the book trains its
own reasoning model in miniature. Its world:
- **recall** (the MMLU analogue): ``WORLD.n_facts`` memorized facts "where does <name> live?", asked as multiple
  choice (answer letter) or open (the place's name), answered directly without thinking;
- **chains** (GSM8K → AIME analogues): a two-digit start and a string of digits, "07 5293=?"; the answer is the
  start plus every digit, modulo 100 (100 possible answers at every length). Thinking writes one line per digit,
  "07+5=12": the total written just before, the next digit of the prompt read by its position, the new total. A
  k-step chain takes k such lines, so longer chains need more thinking, as harder problems do. Training traces slip
  now and then (a wrong sum or a neighbouring digit read), followed by "Wait" and the right line; slipped lines are
  never trained on (their loss is masked), so the model learns to notice and fix slips, not to make them.
- a **direct-answer control** of the same architecture answers every question without a thinking section (the
  "non-reasoning model" reviewers of the paper asked for).
Prompts use the chat template, ``<think>``…``</think>`` and ``\\boxed{}`` like the real benchmarks, so the real
graders, backends and budget forcing run on it unchanged. Training goes through the run store in blocks of steps
(an interrupted training resumes from its last block) and ends with a Hugging Face checkpoint in the run's folder.
Introduced in ``02-the-model-organism``.
"""

from __future__ import annotations

import math
import random
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import pandas as pd

from ..core.config import ConfigError, StageConfig, knob
from ..core.store import Run, RunStore, training_parser, training_store
from ..models import registry
from ..models.loading import save_checkpoint
from ..models.presets import PRESETS
from ..tasks.benchmarks import user_message
from ..tasks.world import (
    END,
    IGNORE,
    KINDS,
    MAX_CHAIN,
    TASKS,
    WORLD,
    World,
    build_tokenizer,
    chain_problem,
    chain_trace,
    encode_segments,
    recall_open_problem,
    recall_problem,
    recall_trace,
)

TASK_BENCHMARKS = {"recall": "organism_recall", "recall_open": "organism_recall_open", "chain": "organism_chain"}


def prompt_text(task: str, problem: dict[str, Any]) -> str:
    """The chat prompt up to where the assistant's turn starts (what the tokenizer's chat template gives)."""
    return f"<|im_start|>user\n{user_message(TASK_BENCHMARKS[task], problem)}{END}\n<|im_start|>assistant\n"


@dataclass(frozen=True)
class DataMix:
    """What one training example is: a task drawn by weight, and for chains a length of 1..the current limit."""

    recall: float = 0.2
    recall_open: float = 0.2
    chain: float = 0.6

    def weights(self) -> list[float]:
        return [self.recall, self.recall_open, self.chain]


RECALL_ONLY = DataMix(recall=0.75, recall_open=0.25, chain=0.0)


def training_example(rng: random.Random, kind: str, mix: DataMix, world: World,
                     max_chain: int) -> list[tuple[str, bool]]:
    """One whole conversation as (text, trained) segments: the prompt is never trained on."""
    task = rng.choices(TASKS, weights=mix.weights())[0]
    if task == "chain":
        problem = chain_problem(rng, rng.randint(1, max_chain))
        reply = chain_trace(problem, kind, rng)
    elif task == "recall":
        problem = recall_problem(rng, rng.randrange(world.n_facts), world)
        reply = recall_trace(problem)
    else:
        problem = recall_open_problem(rng.randrange(world.n_facts), world)
        reply = recall_trace(problem)
    return [(prompt_text(task, problem), False)] + reply


def heldout_examples(kind: str, n: int, seed: int = 0) -> list[list[tuple[str, bool]]]:
    """``n`` conversations drawn like the training data of the default organism of ``kind`` at its full chain
    range, from a stream the training never reads (its seeds are strings of another form): the held-out text
    of the redundancy measures."""
    if kind not in KINDS:
        raise ConfigError(f"kind={kind!r} is not known; allowed: {list(KINDS)}")
    rng = random.Random(f"heldout:{kind}:{seed}")
    longest = OrganismConfig().max_chain
    return [training_example(rng, kind, DataMix(), WORLD, longest) for _ in range(n)]


def padded_batch(examples: list[tuple[list[int], list[int]]], pad_id: int) -> tuple[Any, Any, Any]:
    """Encoded examples as one right-padded batch: ``(ids, labels, attention_mask)``.

    One conversation per row, not several packed together: attention then spreads over one example's tokens
    only, which is what lets a small model find the one earlier token a step needs within this CPU budget
    (packed 384-token rows left retrieval unlearned after 800 steps; LOG.md, 2026-11-25).
    """
    import torch

    width = max(len(ids) for ids, _ in examples)
    ids = torch.full((len(examples), width), pad_id)
    labels = torch.full((len(examples), width), IGNORE)
    mask = torch.zeros((len(examples), width), dtype=torch.long)
    for row, (example_ids, example_labels) in enumerate(examples):
        ids[row, :len(example_ids)] = torch.tensor(example_ids)
        labels[row, :len(example_labels)] = torch.tensor(example_labels)
        mask[row, :len(example_ids)] = 1
    return ids, labels, mask


def micro_batches(examples: list[tuple[list[int], list[int]]], pad_id: int, n: int) -> list[tuple[Any, Any, Any]]:
    """The examples sorted by length and cut into ``n`` padded micro-batches: the gradient of their summed
    token losses is the whole batch's, with far less padding (chains of 1 and 32 steps share a step)."""
    ordered = sorted(examples, key=lambda example: len(example[0]))
    size = math.ceil(len(ordered) / n)
    return [padded_batch(ordered[i:i + size], pad_id) for i in range(0, len(ordered), size)]


# --- the model and its training ----------------------------------------------------------------------------------

def _check_blocks(steps: int, log_every: int) -> None:
    if steps % log_every:
        raise ConfigError(f"steps={steps} is not a multiple of log_every={log_every}; allowed: multiples, so that "
                          f"every stored block has the same length")


@dataclass(frozen=True)
class OrganismConfig(StageConfig):
    """One organism's architecture, data and schedule (the run store's "organism" stage); seeded end to end."""

    STAGE = "organism"
    PROFILE_DEFAULTS = {
        # A 1-minute run that must learn something trivial: a handful of facts on a 2-layer model.
        "smoke": {"n_layers": 2, "hidden_size": 32, "intermediate_size": 64, "head_dim": 16, "n_facts": 8, "steps": 60,
                  "batch_size": 16, "warmup": 10, "mix": "recall", "lr": 1e-2, "log_every": 20},
        "default": {},
        "paper": {},  # the organism is the embedded default: paper-scale chapters use the real models
    }

    kind: str = knob("thinking", choices=KINDS, doc="thinking: reasons in <think>; direct: the no-thinking control")
    n_layers: int = knob(12, ge=1, doc="decoder layers")
    hidden_size: int = knob(128, ge=8, doc="residual width")
    intermediate_size: int = knob(512, ge=8, doc="SwiGLU width")
    head_dim: int = knob(32, ge=8, doc="width of each of the 4 attention heads (QK-norm caps attention logits at "
                         "sqrt(head_dim): wide heads can attend sharply to one earlier token)")
    n_facts: int = knob(WORLD.n_facts, ge=1, le=WORLD.n_facts, doc="facts of the world trained on (the first n)")
    mix: str = knob("all", choices=("all", "recall"), doc="all: recall and chains; recall: facts only (smoke)")
    max_chain: int = knob(32, ge=1, le=MAX_CHAIN, doc="longest chain in training")
    first_chain: int = knob(4, ge=1, doc="easy-first curriculum: the longest chain at step 0")
    curriculum: int = knob(40, ge=1, doc="steps per one more step of the longest chain, up to max_chain")
    steps: int = knob(1300, ge=1, doc="optimizer steps")
    batch_size: int = knob(32, ge=1, doc="conversations per step, one per row")
    lr: float = knob(2e-3, ge=0.0, doc="peak learning rate (AdamW; linear warmup, cosine decay to 10%)")
    warmup: int = knob(100, ge=0, doc="warmup steps")
    weight_decay: float = knob(0.1, ge=0.0, doc="AdamW weight decay on weight matrices")
    seed: int = knob(0, ge=0, doc="seeds the initialisation and the data stream")
    log_every: int = knob(50, ge=1, doc="steps per stored block (loss logged, training resumable)")

    def validate(self) -> None:
        if self.head_dim % 2:
            raise ConfigError(f"head_dim={self.head_dim} is not allowed; allowed: an even number (rotary halves)")
        _check_blocks(self.steps, self.log_every)

    def world(self) -> World:
        return World(n_facts=self.n_facts, n_places=WORLD.n_places, seed=WORLD.seed) if self.n_facts != WORLD.n_facts \
            else WORLD

    def data_mix(self) -> DataMix:
        return RECALL_ONLY if self.mix == "recall" else DataMix()

    def model_config(self, tokenizer: Any):
        from transformers import Qwen3Config

        return Qwen3Config(vocab_size=len(tokenizer), hidden_size=self.hidden_size,
                           intermediate_size=self.intermediate_size, num_hidden_layers=self.n_layers,
                           num_attention_heads=4, num_key_value_heads=2, head_dim=self.head_dim,
                           max_position_embeddings=2048, rope_theta=10_000.0, tie_word_embeddings=True,
                           pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                           eos_token_id=tokenizer.eos_token_id)

    def chain_limit(self, step: int) -> int:
        """The longest chain drawn at ``step``: easy first (a small model learns to read a digit by its position
        and to add it on short chains), one step longer every ``curriculum`` steps. Lengths that enter late are
        trained on less, so accuracy falls off gradually at the top of the range instead of at a cliff."""
        return min(self.max_chain, self.first_chain + step // self.curriculum)

    def learning_rate(self, step: int) -> float:
        return warmup_cosine(self.lr, self.warmup, self.steps, step)

    def data_seed(self, block: int) -> str:
        return f"{self.seed}:{block}"


@dataclass(frozen=True)
class ConsolidationConfig(StageConfig):
    """The organism's second training phase (the run store's "organism-consolidation" stage): from the weights
    of a finished first phase (``OrganismConfig`` of the same profile, kind and seed), a fresh AdamW trains on a
    facts-heavy mix with the chains replayed (all lengths, or up to ``replay_chain``), as a pretraining run
    anneals on a knowledge-rich mix at its end. The first phase's mix gives each fact too few exposures to be
    memorized within its budget (LOG.md, 2026-12-02); facts are short conversations, so this phase costs far less
    than the first."""

    STAGE = "organism-consolidation"
    # the committed organisms were stored before the knob existed
    LATE_FIELDS: ClassVar[dict[str, Any]] = {"replay_chain": None}
    PROFILE_DEFAULTS = {
        "smoke": {"profile": "smoke", "steps": 20, "batch_size": 16, "warmup": 5, "lr": 1e-2, "log_every": 10},
        "default": {},
        "paper": {},
    }

    profile: str = knob("default", choices=("smoke", "default", "paper"), doc="profile of the first phase")
    kind: str = knob("thinking", choices=KINDS, doc="thinking: reasons in <think>; direct: the no-thinking control")
    seed: int = knob(0, ge=0, doc="seed of the first phase, and of this phase's data stream")
    steps: int = knob(1000, ge=1, doc="optimizer steps")
    batch_size: int = knob(32, ge=1, doc="conversations per step, one per row")
    recall: float = knob(0.4, ge=0.0, doc="share of multiple-choice fact questions")
    recall_open: float = knob(0.4, ge=0.0, doc="share of open fact questions")
    chain: float = knob(0.2, ge=0.0, doc="share of chains replayed (lengths 1 to replay_chain)")
    replay_chain: int | None = knob(None, ge=1, le=MAX_CHAIN, doc="longest chain replayed; None = the first "
                                    "phase's whole range (the default: a cap of 12 or 20 taught seed 0 to stop "
                                    "one line after it, so longer chains fell to 0.00; LOG.md, 2026-12-02)")
    lr: float = knob(1e-3, ge=0.0, doc="peak learning rate (fresh AdamW; linear warmup, cosine decay to 10%)")
    warmup: int = knob(50, ge=0, doc="warmup steps")
    weight_decay: float = knob(0.1, ge=0.0, doc="AdamW weight decay on weight matrices")
    log_every: int = knob(50, ge=1, doc="steps per stored block (loss logged, training resumable)")

    def validate(self) -> None:
        _check_blocks(self.steps, self.log_every)
        if self.recall + self.recall_open + self.chain <= 0:
            raise ConfigError("recall + recall_open + chain = 0; allowed: a positive total (the mix's weights)")

    def versions(self) -> dict[str, int | str]:
        return {"first_phase": self.first_phase().config_hash()}  # a changed first phase is another run

    def first_phase(self) -> OrganismConfig:
        recipe = CONTROL_RECIPE if self.kind == "direct" and self.profile == "default" else {}
        return OrganismConfig.for_profile(self.profile, kind=self.kind, seed=self.seed, **recipe)

    def world(self) -> World:
        return self.first_phase().world()

    def data_mix(self) -> DataMix:
        if self.first_phase().mix == "recall":
            return RECALL_ONLY
        return DataMix(recall=self.recall, recall_open=self.recall_open, chain=self.chain)

    def chain_limit(self, step: int) -> int:
        return min(self.replay_chain or MAX_CHAIN, self.first_phase().max_chain)

    def learning_rate(self, step: int) -> float:
        return warmup_cosine(self.lr, self.warmup, self.steps, step)

    def data_seed(self, block: int) -> str:
        return f"consolidation:{self.seed}:{block}"


# The direct-answer control's first phase. Spread over chains of 1-32 steps, most of which cannot be added up
# without writing the steps out, it learned no sum at all (short chains 0.00-0.03); on chains of 1-4 steps for
# 6,000 steps it adds them directly (LOG.md, 2026-12-03). Longer chains stay out of its reach either way.
CONTROL_RECIPE = {"max_chain": 4, "steps": 6000}

MICRO_BATCHES = 4  # per optimizer step; only the padding changes, not the gradient


def warmup_cosine(peak: float, warmup: int, steps: int, step: int) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    progress = (step - warmup) / max(1, steps - warmup)
    return peak * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def new_model(config: OrganismConfig, tokenizer: Any):
    """A freshly initialised organism: GPT-2-style init, the residual projections scaled down with depth so that
    the stack starts near the identity."""
    import torch
    from transformers import Qwen3ForCausalLM

    torch.manual_seed(config.seed)
    model = Qwen3ForCausalLM(config.model_config(tokenizer))
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                param.normal_(0.0, 0.02 / math.sqrt(2 * config.n_layers))
    return model


def _optimizer(model: Any, weight_decay: float, lr: float):
    import torch

    matrices = [p for n, p in model.named_parameters() if p.ndim >= 2]
    others = [p for n, p in model.named_parameters() if p.ndim < 2]
    return torch.optim.AdamW([{"params": matrices, "weight_decay": weight_decay},
                              {"params": others, "weight_decay": 0.0}], lr=lr, betas=(0.9, 0.98))


def checkpoint_path(run_path: Path) -> Path:
    return run_path / "checkpoint"


SEEDS = (0, 1, 2)  # the thinking organism is trained three times; claims about layers report the spread
DEFAULT_ORGANISMS = tuple(("thinking", seed) for seed in SEEDS) + (("direct", 0),)


def config_for(model: str, profile: str = "default") -> ConsolidationConfig:
    """The (final-phase) training config of an organism preset ("organism", "organism-seed1", …)."""
    preset = PRESETS.get(model)
    if preset is None or preset.source != "organism":
        raise ConfigError(f"model={model!r} is not an organism preset; allowed: "
                          f"{[name for name, p in PRESETS.items() if p.source == 'organism']}")
    kind, seed = preset.organism
    return ConsolidationConfig.for_profile(profile, kind=kind, seed=seed)


def default_checkpoint(kind: str, seed: int = 0) -> Path:
    """The committed checkpoint of the default-profile organism of ``kind`` and ``seed`` (what the organism
    presets load): the end of its second phase."""
    path = checkpoint_path(RunStore().path(ConsolidationConfig(kind=kind, seed=seed)))
    if not path.is_dir():
        raise FileNotFoundError(f"no trained {kind} organism of seed {seed} at {path}: train it with "
                                f"`python -m lpts_helpers.methods.organism --kind {kind} --seed {seed}`")
    return path


registry.register_preset_checkpoints("organism", lambda preset: default_checkpoint(*preset.organism))


def train_organism(config: OrganismConfig | ConsolidationConfig, store: RunStore, *, fresh: bool = False,
                   progress: bool = True) -> Run:
    """Train (or read back) one organism phase: one stored row per block of ``log_every`` steps (loss, learning
    rate, tokens/s); the final Hugging Face checkpoint lands in ``<run>/checkpoint``. A second phase starts from
    its first phase's checkpoint (training that phase first if needed) and, once finished, drops it: the
    repository keeps one checkpoint per organism, and a first phase whose checkpoint is gone is retrained (it is
    seeded, so exactly) if a second phase ever needs it again. An interrupted training resumes from the last
    finished block (model, optimizer and data stream are restored exactly)."""
    import torch
    from tqdm.auto import tqdm

    second = isinstance(config, ConsolidationConfig)
    path = store.path(config)
    if store.is_complete(config) and not checkpoint_path(path).is_dir():
        fresh = True  # a first phase whose checkpoint was dropped once its second phase ended
    resume = path / "resume.pt"
    tokenizer = build_tokenizer()
    state: dict[str, Any] = {}
    blocks = config.steps // config.log_every
    bar = tqdm(total=config.steps, desc=f"training the {config.kind} organism" + (", phase 2" if second else ""),
               disable=not progress)

    def load_resume() -> dict | None:
        return torch.load(resume, weights_only=True) if resume.is_file() else None

    def ensure() -> None:
        if state:
            return
        saved = load_resume() if not fresh else None
        if second:
            from transformers import AutoModelForCausalLM

            start = train_organism(config.first_phase(), store, fresh=fresh, progress=progress)
            model = AutoModelForCausalLM.from_pretrained(checkpoint_path(start.path), dtype=torch.float32)
        else:
            model = new_model(config, tokenizer)
        state["model"] = model.train()
        state["optimizer"] = _optimizer(state["model"], config.weight_decay, config.lr)
        if saved:
            state["model"].load_state_dict(saved["model"])
            state["optimizer"].load_state_dict(saved["optimizer"])
            bar.update(int(saved["block"]) * config.log_every + config.log_every)

    def compute(chunk: list[dict]) -> list[dict]:
        block = chunk[0]["block"]
        saved = load_resume()
        if saved is not None and int(saved["block"]) == block:
            return saved["rows"]  # finished before an interruption
        ensure()
        rows = _train_block(config, tokenizer, state["model"], state["optimizer"], block, bar)
        torch.save({"block": block, "model": state["model"].state_dict(),
                    "optimizer": state["optimizer"].state_dict(), "rows": rows}, resume)
        if block == blocks - 1:
            model = state["model"].eval()
            model.generation_config.eos_token_id = tokenizer.eos_token_id
            model.generation_config.pad_token_id = tokenizer.pad_token_id
            save_checkpoint(model, tokenizer, checkpoint_path(path))
        return rows

    items = [{"item_id": b, "block": b} for b in range(blocks)]
    run = store.run(config, items, compute, chunk_size=1, fresh=fresh, metrics=training_metrics)
    bar.close()
    resume.unlink(missing_ok=True)  # the checkpoint is what is kept
    if second:  # the first phase's weights live on in this one's: only its training record is kept
        shutil.rmtree(checkpoint_path(store.path(config.first_phase())), ignore_errors=True)
    if not checkpoint_path(run.path).is_dir():
        raise FileNotFoundError(f"the finished organism run {run.path} has no checkpoint/ folder; retrain it with "
                                f"fresh=True")
    return run


def _train_block(config: OrganismConfig | ConsolidationConfig, tokenizer: Any, model: Any, optimizer: Any,
                 block: int, bar: Any) -> list[dict]:
    import torch
    import torch.nn.functional as F

    rng = random.Random(config.data_seed(block))  # each block's data is a function of the seed and the block
    world, mix = config.world(), config.data_mix()
    rows = []
    for step in range(block * config.log_every, (block + 1) * config.log_every):
        limit = config.chain_limit(step)
        started = time.perf_counter()
        examples = [encode_segments(training_example(rng, config.kind, mix, world, limit))
                    for _ in range(config.batch_size)]
        trained = sum(sum(label != IGNORE for label in labels) for _, labels in examples)
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate(step)
        total = 0.0
        tokens = 0
        for ids, labels, mask in micro_batches(examples, tokenizer.pad_token_id, MICRO_BATCHES):
            logits = model(input_ids=ids, attention_mask=mask, use_cache=False).logits
            loss = F.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=IGNORE,
                                   reduction="sum") / trained
            loss.backward()
            total += float(loss.detach())
            tokens += int(mask.sum())
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        rows.append({"item_id": block, "step": step + 1, "loss": total, "lr": config.learning_rate(step),
                     "max_chain": limit, "trained_tokens": trained, "tokens": tokens,
                     "seconds": time.perf_counter() - started})
        bar.update(1)
        bar.set_postfix(loss=f"{total:.3f}")
    return rows


def training_metrics(samples: pd.DataFrame) -> dict[str, Any]:
    tail = samples.tail(max(1, len(samples) // 20))
    return {"steps": int(samples["step"].max()), "final_loss": float(tail["loss"].mean()),
            "minutes": float(samples["seconds"].sum() / 60),
            "tokens_per_second": float(samples["tokens"].sum() / samples["seconds"].sum())}


def trained(config: ConsolidationConfig, store: RunStore, *, progress: bool = False) -> tuple[Run, Run]:
    """Both phases of one organism, trained or read back: ``(first, second)``."""
    second = train_organism(config, store, progress=progress)
    return store.load(config.first_phase()), second


def main(argv: list[str] | None = None) -> None:
    """``python -m lpts_helpers.methods.organism``: train the default organisms (three seeds of the thinking
    organism and the direct-answer control) into the book's run store."""
    parser = training_parser("python -m lpts_helpers.methods.organism", main.__doc__, OrganismConfig.PROFILE_DEFAULTS)
    parser.add_argument("--kind", choices=KINDS, action="append", help="train only this kind (repeatable)")
    parser.add_argument("--seed", type=int, action="append", help="train only this seed (repeatable)")
    args = parser.parse_args(argv)
    store = training_store(args)
    chosen = [(kind, seed) for kind, seed in DEFAULT_ORGANISMS
              if (not args.kind or kind in args.kind) and (not args.seed or seed in args.seed)]
    if not chosen:
        parser.error(f"no default organism has kind {args.kind} and seed {args.seed}; the defaults are "
                     f"{list(DEFAULT_ORGANISMS)}")
    for kind, seed in chosen:
        config = ConsolidationConfig.for_profile(args.profile, kind=kind, seed=seed)
        run = train_organism(config, store, fresh=args.fresh)
        print(f"{kind} seed {seed}: {run.metrics} -> {checkpoint_path(run.path)}")


if __name__ == "__main__":
    main()
