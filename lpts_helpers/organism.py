"""The model organism: a small Qwen3 trained here, on this CPU, to recall facts and to reason in written chains.

The paper's models cannot run on a laptop and SmolLM2-135M solves no multi-step problem, so the book trains its
own reasoning model in miniature. Its world:
- **recall** (the MMLU analogue): ``WORLD.n_facts`` memorized facts "where does <name> live?", asked as multiple
  choice (answer letter) or open (the place's name), answered directly without thinking;
- **chains** (GSM8K → AIME analogues): running sums of one-digit terms, each named by a letter, from a two-digit
  start, staying within 10..99 (90 possible answers). Each written line folds terms into the total ("A+5B-3=39"): a
  step finds its terms by key and reads the last total at a fixed distance. The thinking has two modes, like a
  reasoning model that is sloppy first and careful when it reconsiders: a *quick pass* folds two terms per line, and
  after "Wait" a *careful pass* folds one. Training traces slip now and then: an inline slip is followed by "Wait, "
  and the fixed line; a quick pass with a hidden slip is followed by "Wait" and a careful pass whose result is the
  answer. Slipped tokens are never trained on (their loss is masked), so the model learns to notice and fix slips,
  not to make them; forcing "Wait" at inference (s1's budget forcing) starts a careful pass.
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
import re
import string
import time
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .config import ConfigError, StageConfig, knob
from .prune import save_checkpoint
from .store import Run, RunStore

SPECIAL_TOKENS = ("<pad>", "<unk>", "<|im_start|>", "<|im_end|>", "<think>", "</think>")
CHARACTERS = string.digits + string.ascii_letters + " \n+-=?.,:{}\\"
KEYS = "ABCDEFGHIJKLMNOP"  # one letter names each term of a chain
MAX_CHAIN = len(KEYS)
# A named term ("C-7") is one token, as a number or a word often is in a real tokenizer: a step then finds its
# term with one attention hop (match the key) instead of a two-hop induction circuit, which this CPU budget
# cannot train (LOG.md, 2026-11-25).
TERM_TOKENS = tuple(f"{key}{sign}{digit}" for key in KEYS for sign in "+-" for digit in "123456789")
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
THINK_START, THINK_END, END = "<think>\n", "</think>\n\n", "<|im_end|>"
KINDS = ("thinking", "direct")
TASKS = ("recall", "recall_open", "chain")
IGNORE = -100  # label of a token the loss skips


def build_tokenizer():
    """A character-level Hugging Face tokenizer with the chat markup and the named terms as single tokens
    (loads with AutoTokenizer)."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel(dict(_vocabulary()), unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    backend.decoder = decoders.Fuse()
    backend.add_tokens([AddedToken(t, normalized=False) for t in TERM_TOKENS])
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>",
                                        eos_token=END, bos_token="<|im_start|>",
                                        additional_special_tokens=list(SPECIAL_TOKENS[4:]))
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


# --- the organism's world: facts and chains ---------------------------------------------------------------------

@dataclass(frozen=True)
class World:
    """The facts the organism memorizes (fixed: every model and benchmark of the book shares them)."""

    n_facts: int = 96
    n_places: int = 16
    seed: int = 2510

    @property
    def facts(self) -> tuple[tuple[str, str], ...]:
        return _facts(self)


def _word(rng: random.Random, syllables: int) -> str:
    return "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(syllables)).capitalize()


@lru_cache(maxsize=4)
def _facts(world: World) -> tuple[tuple[str, str], ...]:
    rng = random.Random(world.seed)
    places: list[str] = []
    while len(places) < world.n_places:
        word = _word(rng, 2)
        places += [word] if word not in places else []
    names: list[str] = []
    while len(names) < world.n_facts:
        word = _word(rng, 3)
        names += [word] if word not in names and word not in places else []
    return tuple((name, rng.choice(places)) for name in names)


WORLD = World()
CHOICE_LETTERS = ("A", "B", "C", "D")


def recall_problem(rng: random.Random, index: int, world: World = WORLD) -> dict[str, Any]:
    """Fact ``index`` as a four-way multiple-choice question (distractors and their order drawn from ``rng``)."""
    name, place = world.facts[index]
    places = sorted({p for _, p in world.facts} - {place})
    choices = rng.sample(places, 3) + [place]
    rng.shuffle(choices)
    return {"question": f"Where does {name} live?", "choices": choices,
            "answer": CHOICE_LETTERS[choices.index(place)], "fact": index}


def recall_open_problem(index: int, world: World = WORLD) -> dict[str, Any]:
    name, place = world.facts[index]
    return {"question": f"Where does {name} live?", "answer": place, "fact": index}


def chain_terms(rng: random.Random, n_steps: int) -> list[int]:
    """A two-digit start value and ``n_steps`` signed one-digit terms whose running sum stays within 10..99
    (always two digits, so every written line has the same width)."""
    if not 1 <= n_steps <= MAX_CHAIN:
        raise ConfigError(f"chain_length={n_steps} is out of range; allowed: 1..{MAX_CHAIN}")
    terms = [rng.randint(10, 99)]
    total = terms[0]
    while len(terms) <= n_steps:
        b = rng.randint(1, 9)
        signs = [s for s in (1, -1) if 10 <= total + s * b <= 99]
        terms.append(rng.choice(signs) * b)
        total += terms[-1]
    return terms


def _signed(term: int) -> str:
    return f"{'+' if term > 0 else '-'}{abs(term)}"


def chain_question(terms: list[int]) -> str:
    """"37 A+5 B-3 C+8=?": the start value, then each term behind its key."""
    return " ".join([str(terms[0])] + [KEYS[i] + _signed(t) for i, t in enumerate(terms[1:])]) + "=?"


def chain_problem(rng: random.Random, n_steps: int) -> dict[str, Any]:
    terms = chain_terms(rng, n_steps)
    return {"question": chain_question(terms), "answer": str(sum(terms)), "terms": terms, "chain_length": n_steps}


# --- training traces ---------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TraceStyle:
    """How often training traces slip and reconsider (the data mix of the thinking organism)."""

    inline_slip: float = 0.04  # per line: a wrong line, then "Wait, " and the fixed line
    recheck: float = 0.35  # per chain: the quick pass is followed by "Wait" and a careful pass
    hidden_error: float = 0.5  # per rechecked chain: its quick pass went wrong somewhere (the careful pass fixes it)
    second_recheck: float = 0.15  # per rechecked chain: another "Wait" and careful pass
    answer_cue: float = 0.1  # per chain: the answer follows s1's "Final Answer:" cue


def _wrong(value: int, rng: random.Random) -> int:
    """A plausible slip, off by one or two or in the tens digit, kept to two digits."""
    return 10 + (value - 10 + rng.choice([-10, -2, -1, 1, 2, 10])) % 90


def _pass(terms: list[int], per_line: int, rng: random.Random, style: TraceStyle,
          hidden_error: bool) -> list[tuple[str, bool]]:
    """One pass as (text, trained) segments: the start value ("=37"), then lines that fold ``per_line`` named
    terms into the total ("A+5B-3=39"). Every line has the same width, so a step reads the last
    total at a fixed distance and finds its terms by key. ``hidden_error`` puts one uncorrected slip in the
    pass; later lines go on correctly from the wrong value, as a real slip propagates."""
    segments: list[tuple[str, bool]] = [(f"={terms[0]}\n", True)]
    groups = [list(range(i, min(i + per_line, len(terms) - 1))) for i in range(0, len(terms) - 1, per_line)]
    bad_line = rng.randrange(len(groups)) if hidden_error else -1
    total = terms[0]
    for line, group in enumerate(groups):
        right = total + sum(terms[1 + i] for i in group)
        if line == bad_line:
            total = _wrong(right, rng)
            segments.append((_line(terms, group, total), False))
            continue
        if rng.random() < style.inline_slip:
            segments += [(_line(terms, group, _wrong(right, rng)), False), ("Wait, ", True)]
        segments.append((_line(terms, group, right), True))
        total = right
    return segments


def _line(terms: list[int], group: list[int], total: int) -> str:
    return "".join(KEYS[i] + _signed(terms[1 + i]) for i in group) + f"={total}\n"


def chain_trace(problem: dict[str, Any], kind: str, rng: random.Random,
                style: TraceStyle = TraceStyle()) -> list[tuple[str, bool]]:
    """The assistant's turn for a chain problem as (text, trained) segments."""
    answer = f"\\boxed{{{problem['answer']}}}{END}"
    if kind == "direct":
        return [(answer, True)]
    terms = problem["terms"]
    recheck = rng.random() < style.recheck
    segments = [(THINK_START, True)] + _pass(terms, 2, rng, style, recheck and rng.random() < style.hidden_error)
    if recheck:
        for _ in range(2 if rng.random() < style.second_recheck else 1):
            segments += [("Wait\n", True)] + _pass(terms, 1, rng, style, False)
    segments.append((THINK_END, True))
    if rng.random() < style.answer_cue:
        segments.append(("Final Answer:", False))
    return segments + [(answer, True)]


def recall_trace(problem: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(f"\\boxed{{{problem['answer']}}}{END}", True)]


TASK_BENCHMARKS = {"recall": "organism_recall", "recall_open": "organism_recall_open", "chain": "organism_chain"}


def prompt_text(task: str, problem: dict[str, Any]) -> str:
    """The chat prompt up to where the assistant's turn starts (what the tokenizer's chat template gives)."""
    from .benchmarks import user_message

    return f"<|im_start|>user\n{user_message(TASK_BENCHMARKS[task], problem)}{END}\n<|im_start|>assistant\n"


def organism_problems(name: str, *, n_problems: int | None, seed: int, chain_length: int | None) -> pd.DataFrame:
    """A benchmark of the organism's world in the common schema: recall has one problem per fact (a seeded
    sample of ``n_problems`` of them); chains are ``n_problems`` (default 100) generated from ``seed``."""
    rng = random.Random(f"{name}:{seed}:{chain_length}")
    if name == "organism_chain":
        rows = [chain_problem(rng, chain_length) for _ in range(n_problems or 100)]
        ids = [f"chain-{chain_length}/{seed}/{i}" for i in range(len(rows))]
    else:
        facts = range(WORLD.n_facts)
        if n_problems is not None and n_problems < WORLD.n_facts:
            facts = sorted(random.Random(seed).sample(range(WORLD.n_facts), n_problems))
        rows = [recall_problem(rng, i) if name == "organism_recall" else recall_open_problem(i) for i in facts]
        ids = [f"fact/{row['fact']}" for row in rows]
    frame = pd.DataFrame(rows)
    frame.insert(0, "problem_id", ids)
    return frame.drop(columns=[c for c in ("terms",) if c in frame])


@dataclass(frozen=True)
class DataMix:
    """What one training example is: a task drawn by weight, and for chains a length up to ``max_chain``."""

    recall: float = 0.3
    recall_open: float = 0.1
    chain: float = 0.6
    min_chain: int = 1
    max_chain: int = 12

    def weights(self) -> list[float]:
        return [self.recall, self.recall_open, self.chain]


def training_example(rng: random.Random, kind: str, mix: DataMix, world: World, max_chain: int,
                     style: TraceStyle) -> list[tuple[str, bool]]:
    """One whole conversation as (text, trained) segments: the prompt is never trained on."""
    task = rng.choices(TASKS, weights=mix.weights())[0]
    if task == "chain":
        problem = chain_problem(rng, rng.randint(mix.min_chain, max_chain))
        reply = chain_trace(problem, kind, rng, style)
    elif task == "recall":
        problem = recall_problem(rng, rng.randrange(world.n_facts), world)
        reply = recall_trace(problem)
    else:
        problem = recall_open_problem(rng.randrange(world.n_facts), world)
        reply = recall_trace(problem)
    return [(prompt_text(task, problem), False)] + reply


@lru_cache(maxsize=1)
def _vocabulary() -> dict[str, int]:
    return {token: i for i, token in enumerate(SPECIAL_TOKENS + tuple(CHARACTERS) + TERM_TOKENS)}


_SPECIAL_SPLIT = re.compile("(" + "|".join(re.escape(t) for t in SPECIAL_TOKENS) + f"|[{KEYS}][+-][1-9])")


def encode(text: str) -> list[int]:
    """What the organism's tokenizer gives for ``text`` (specials and named terms whole, the rest by
    character), without its per-call overhead: training encodes millions of short segments; tests check that
    the two agree."""
    vocab = _vocabulary()
    ids: list[int] = []
    for piece in _SPECIAL_SPLIT.split(text):
        if piece in vocab and len(piece) > 1:
            ids.append(vocab[piece])
        else:
            ids += [vocab.get(ch, vocab["<unk>"]) for ch in piece]
    return ids


def heldout_examples(kind: str, n: int, seed: int = 0) -> list[list[tuple[str, bool]]]:
    """``n`` conversations drawn like the training data of the default organism of ``kind``, from a stream the
    training never reads (its seeds are strings of another form): the held-out text of the redundancy measures."""
    if kind not in KINDS:
        raise ConfigError(f"kind={kind!r} is not known; allowed: {list(KINDS)}")
    rng = random.Random(f"heldout:{kind}:{seed}")
    return [training_example(rng, kind, DataMix(), WORLD, DataMix().max_chain, TraceStyle()) for _ in range(n)]


def encode_segments(segments: list[tuple[str, bool]]) -> tuple[list[int], list[int]]:
    """Token ids and labels (``IGNORE`` where a segment is not trained on)."""
    ids: list[int] = []
    labels: list[int] = []
    for text, trained in segments:
        piece = encode(text)
        ids += piece
        labels += piece if trained else [IGNORE] * len(piece)
    return ids, labels


def example_batch(rng: random.Random, pad_id: int, batch_size: int, make: Any) -> tuple[Any, Any, Any]:
    """``batch_size`` examples from ``make(rng)``, one per row, right-padded: ``(ids, labels, attention_mask)``.

    One conversation per row, not several packed together: attention then spreads over one example's tokens
    only, which is what lets a small model find the one earlier token a step needs within this CPU budget
    (packed 384-token rows left retrieval unlearned after 800 steps; LOG.md, 2026-11-25).
    """
    import torch

    examples = [encode_segments(make(rng)) for _ in range(batch_size)]
    width = max(len(ids) for ids, _ in examples)
    ids = torch.full((batch_size, width), pad_id)
    labels = torch.full((batch_size, width), IGNORE)
    mask = torch.zeros((batch_size, width), dtype=torch.long)
    for row, (example_ids, example_labels) in enumerate(examples):
        ids[row, :len(example_ids)] = torch.tensor(example_ids)
        labels[row, :len(example_labels)] = torch.tensor(example_labels)
        mask[row, :len(example_ids)] = 1
    return ids, labels, mask


# --- the model and its training ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class OrganismConfig(StageConfig):
    """One organism's architecture, data and schedule (the run store's "organism" stage); seeded end to end."""

    STAGE = "organism"
    PROFILE_DEFAULTS = {
        # A 1-minute run that must learn something trivial: a handful of facts on a 2-layer model.
        "smoke": {"n_layers": 2, "hidden_size": 32, "intermediate_size": 64, "head_dim": 16, "n_facts": 8, "steps": 60,
                  "batch_size": 16, "warmup": 10, "mix": "recall", "lr": 1e-2, "log_every": 20, "grow_from": 1,
                  "hold": 1 / 3},
        "default": {},
        "paper": {},  # the organism is the embedded default: paper-scale chapters use the real models
    }

    kind: str = knob("thinking", choices=KINDS, doc="thinking: reasons in <think>; direct: the no-thinking control")
    n_layers: int = knob(12, ge=1, doc="decoder layers")
    hidden_size: int = knob(128, ge=8, doc="residual width")
    intermediate_size: int = knob(384, ge=8, doc="SwiGLU width")
    head_dim: int = knob(32, ge=8, doc="width of each of the 4 attention heads (QK-norm caps attention logits at "
                         "sqrt(head_dim): wide heads can attend sharply to one earlier token)")
    n_facts: int = knob(WORLD.n_facts, ge=1, le=WORLD.n_facts, doc="facts of the world trained on (the first n)")
    mix: str = knob("all", choices=("all", "recall"), doc="all: recall and chains; recall: facts only (smoke)")
    max_chain: int = knob(12, ge=1, doc="longest chain in training")
    steps: int = knob(3000, ge=1, doc="optimizer steps")
    batch_size: int = knob(24, ge=1, doc="conversations per step, one per row")
    lr: float = knob(3e-3, ge=0.0, doc="peak learning rate (AdamW; linear warmup, cosine decay to 10%)")
    warmup: int = knob(100, ge=0, doc="warmup steps")
    grow_from: int = knob(6, ge=0, doc="progressive stacking: train this many layers first, then copy each into "
                          "n_layers / grow_from adjacent layers; 0 = train all layers from the start")
    hold: float = knob(0.45, ge=0.0, le=1.0, doc="share of steps at short chains (up to 3 steps) first; the model "
                       "grows at its end")
    curriculum: float = knob(0.25, ge=0.0, le=1.0, doc="share of steps, after the hold, over which the longest "
                             "chain grows to max_chain")
    weight_decay: float = knob(0.1, ge=0.0, doc="AdamW weight decay on weight matrices")
    layer_dropout: float = knob(0.0, ge=0.0, le=0.9, doc="extra variant: skip each layer with this probability "
                                "while training (robustness to pruning trained in); 0 = the default organism")
    seed: int = knob(0, ge=0, doc="seeds the initialisation and the data stream")
    log_every: int = knob(50, ge=1, doc="steps per stored block (loss logged, training resumable)")

    def validate(self) -> None:
        if self.head_dim % 2:
            raise ConfigError(f"head_dim={self.head_dim} is not allowed; allowed: an even number (rotary halves)")
        if self.grow_from and (self.n_layers % self.grow_from or self.grow_from >= self.n_layers):
            raise ConfigError(f"grow_from={self.grow_from} with n_layers={self.n_layers}; allowed: 0, or a proper "
                              f"divisor of n_layers")
        if self.steps % self.log_every:
            raise ConfigError(f"steps={self.steps} is not a multiple of log_every={self.log_every}; allowed: "
                              f"multiples, so that every stored block has the same length")

    def world(self) -> World:
        return World(n_facts=self.n_facts, n_places=WORLD.n_places, seed=WORLD.seed) if self.n_facts != WORLD.n_facts \
            else WORLD

    def data_mix(self) -> DataMix:
        return DataMix(recall=0.75, recall_open=0.25, chain=0.0) if self.mix == "recall" else DataMix(
            max_chain=self.max_chain)

    def model_config(self, tokenizer: Any):
        from transformers import Qwen3Config

        return Qwen3Config(vocab_size=len(tokenizer), hidden_size=self.hidden_size,
                           intermediate_size=self.intermediate_size, num_hidden_layers=self.n_layers,
                           num_attention_heads=4, num_key_value_heads=2, head_dim=self.head_dim,
                           max_position_embeddings=2048, rope_theta=10_000.0, tie_word_embeddings=True,
                           pad_token_id=tokenizer.pad_token_id, bos_token_id=tokenizer.bos_token_id,
                           eos_token_id=tokenizer.eos_token_id)

    def chain_limit(self, step: int) -> int:
        """The longest chain drawn at ``step``: short chains while the model learns to find a term and read the
        last total (the retrieval forms only on short conversations within this budget; LOG.md), then growing
        to ``max_chain``."""
        short = min(3, self.max_chain)
        hold, ramp = self.hold * self.steps, self.curriculum * self.steps
        if step < hold:
            return short
        if ramp == 0 or step >= hold + ramp:
            return self.max_chain
        return min(self.max_chain, short + int((self.max_chain - short) * (step - hold) / ramp))

    def grow_block(self) -> int | None:
        """The stored block at whose start the model grows (at the end of the hold), or None."""
        return round(self.hold * self.steps / self.log_every) if self.grow_from else None

    def layers_at(self, block: int) -> int:
        grow = self.grow_block()
        return self.grow_from if grow is not None and block < grow else self.n_layers

    def learning_rate(self, step: int) -> float:
        if step < self.warmup:
            return self.lr * (step + 1) / self.warmup
        grown = self.grow_block()
        if grown is not None and 0 <= step - grown * self.log_every < self.warmup:  # fresh optimizer state
            return self.lr * (step - grown * self.log_every + 1) / self.warmup
        progress = (step - self.warmup) / max(1, self.steps - self.warmup)
        return self.lr * (0.1 + 0.45 * (1 + math.cos(math.pi * progress)))


def new_model(config: OrganismConfig, tokenizer: Any, n_layers: int | None = None):
    """A freshly initialised organism of ``n_layers`` (default: the config's): GPT-2-style init, the residual
    projections scaled down with depth so that the stack starts near the identity."""
    import torch
    from transformers import Qwen3ForCausalLM

    n_layers = n_layers or config.n_layers
    torch.manual_seed(config.seed)
    model_config = config.model_config(tokenizer)
    model_config.num_hidden_layers = n_layers
    model_config.layer_types = model_config.layer_types[:n_layers]
    model = Qwen3ForCausalLM(model_config)
    with torch.no_grad():
        for name, param in model.named_parameters():
            if name.endswith(("o_proj.weight", "down_proj.weight")):
                param.normal_(0.0, 0.02 / math.sqrt(2 * n_layers))
    return model


def grown(small: Any, config: OrganismConfig, tokenizer: Any):
    """Progressive stacking (Gong et al., 2019): the full-depth model whose layers are copies of the small
    model's, each copied into ``n_layers / grow_from`` adjacent layers whose residual outputs are scaled by the
    inverse, so the grown model starts close to the small one's function and keeps the circuits it learned."""
    import torch

    factor = config.n_layers // len(small.model.layers)
    model = new_model(config, tokenizer)
    state = {k: v for k, v in small.state_dict().items() if ".layers." not in k}
    model.load_state_dict(state, strict=False)
    with torch.no_grad():
        for index, layer in enumerate(model.model.layers):
            layer.load_state_dict(small.model.layers[index // factor].state_dict())
            layer.self_attn.o_proj.weight.div_(factor)
            layer.mlp.down_proj.weight.div_(factor)
    return model.train()


def _optimizer(model: Any, config: OrganismConfig):
    import torch

    matrices = [p for n, p in model.named_parameters() if p.ndim >= 2]
    others = [p for n, p in model.named_parameters() if p.ndim < 2]
    return torch.optim.AdamW([{"params": matrices, "weight_decay": config.weight_decay},
                              {"params": others, "weight_decay": 0.0}], lr=config.lr, betas=(0.9, 0.95))


def checkpoint_path(run_path: Path) -> Path:
    return run_path / "checkpoint"


def default_checkpoint(kind: str) -> Path:
    """The committed checkpoint of the default-profile organism of ``kind`` (what the ``organism`` presets load)."""
    path = checkpoint_path(RunStore().path(OrganismConfig.for_profile("default", kind=kind)))
    if not path.is_dir():
        raise FileNotFoundError(f"no trained {kind} organism at {path}: train it with "
                                f"`python -m lpts_helpers.organism` (or build the book's organism chapter)")
    return path


def train_organism(config: OrganismConfig, store: RunStore, *, fresh: bool = False, progress: bool = True) -> Run:
    """Train (or read back) one organism: one stored row per block of ``log_every`` steps (loss, learning rate,
    tokens/s); the final Hugging Face checkpoint lands in ``<run>/checkpoint``. An interrupted training resumes
    from the last finished block (model, optimizer and data stream are restored exactly)."""
    import torch
    from tqdm.auto import tqdm

    path = store.path(config)
    resume = path / "resume.pt"
    tokenizer = build_tokenizer()
    state: dict[str, Any] = {}
    blocks = config.steps // config.log_every
    bar = tqdm(total=config.steps, desc=f"training the {config.kind} organism", disable=not progress)

    def ensure(block: int) -> None:
        if state:
            return
        saved = torch.load(resume, weights_only=False) if resume.is_file() and not fresh else None
        state["model"] = new_model(config, tokenizer, config.layers_at(saved["block"] if saved else 0)).train()
        state["optimizer"] = _optimizer(state["model"], config)
        if saved:
            state["model"].load_state_dict(saved["model"])
            state["optimizer"].load_state_dict(saved["optimizer"])
            bar.update(saved["block"] * config.log_every + config.log_every)

    def compute(chunk: list[dict]) -> list[dict]:
        block = chunk[0]["block"]
        saved = torch.load(resume, weights_only=False) if resume.is_file() else None
        if saved is not None and saved["block"] == block:
            return saved["rows"]  # finished before an interruption
        ensure(block)
        if len(state["model"].model.layers) < config.layers_at(block):
            state["model"] = grown(state["model"], config, tokenizer)
            state["optimizer"] = _optimizer(state["model"], config)
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
    if not checkpoint_path(run.path).is_dir():
        raise FileNotFoundError(f"the finished organism run {run.path} has no checkpoint/ folder; retrain it with "
                                f"fresh=True")
    return run


def _train_block(config: OrganismConfig, tokenizer: Any, model: Any, optimizer: Any, block: int,
                 bar: Any) -> list[dict]:
    import torch

    rng = random.Random(f"{config.seed}:{block}")  # each block's data is a function of the seed and the block
    generator = torch.Generator().manual_seed(config.seed * 100_003 + block)
    world, mix, style = config.world(), config.data_mix(), TraceStyle()
    layers = model.model.layers
    rows = []
    for step in range(block * config.log_every, (block + 1) * config.log_every):
        limit = config.chain_limit(step)
        started = time.perf_counter()
        ids, labels, mask = example_batch(rng, tokenizer.pad_token_id, config.batch_size,
                                          lambda r, limit=limit: training_example(r, config.kind, mix, world, limit,
                                                                                  style))
        for group in optimizer.param_groups:
            group["lr"] = config.learning_rate(step)
        if config.layer_dropout:
            keep = torch.rand(len(layers), generator=generator) >= config.layer_dropout
            model.model.layers = torch.nn.ModuleList([layer for layer, k in zip(layers, keep) if k])
        try:
            loss = model(input_ids=ids, attention_mask=mask, labels=labels, use_cache=False).loss
            loss.backward()
        finally:
            model.model.layers = layers
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        trained = int((labels != IGNORE).sum())
        rows.append({"item_id": block, "step": step + 1, "loss": float(loss.detach()), "lr": config.learning_rate(step),
                     "max_chain": limit, "layers": len(layers), "trained_tokens": trained, "tokens": int(mask.sum()),
                     "seconds": time.perf_counter() - started})
        bar.update(1)
        bar.set_postfix(loss=f"{float(loss.detach()):.3f}")
    return rows


def training_metrics(samples: pd.DataFrame) -> dict[str, Any]:
    tail = samples.tail(max(1, len(samples) // 20))
    return {"steps": int(samples["step"].max()), "final_loss": float(tail["loss"].mean()),
            "minutes": float(samples["seconds"].sum() / 60),
            "tokens_per_second": float(samples["tokens"].sum() / samples["seconds"].sum())}


def training_curves(runs: dict[str, Run]) -> pd.DataFrame:
    """The stored loss of each training, one row per step, labelled by kind (for the loss chart)."""
    return pd.concat([run.samples.assign(model=kind) for kind, run in runs.items()], ignore_index=True)


def training_summary(runs: dict[str, Run]) -> pd.DataFrame:
    """One row per trained organism: size, steps, minutes, throughput, final loss, where its checkpoint is."""
    rows = []
    for kind, run in runs.items():
        config = run.config["config"]
        n_params = sum(int(np.prod(shape)) for shape in _parameter_shapes(checkpoint_path(run.path)))
        rows.append({"model": kind, "layers": config["n_layers"], "width": config["hidden_size"],
                     "parameters (M)": round(n_params / 1e6, 3), "steps": run.metrics["steps"],
                     "minutes": round(run.metrics["minutes"], 1),
                     "tokens/s": round(run.metrics["tokens_per_second"]),
                     "final loss": round(run.metrics["final_loss"], 4),
                     "checkpoint": str(checkpoint_path(run.path).relative_to(run.path.parents[2]))})
    return pd.DataFrame(rows)


def _parameter_shapes(path: Path) -> list[tuple[int, ...]]:
    from safetensors import safe_open

    with safe_open(str(path / "model.safetensors"), framework="pt") as handle:
        names = list(handle.keys())  # a safetensors handle is not a dict
        return [tuple(handle.get_slice(name).get_shape()) for name in names]


def example_table(seed: int = 7) -> pd.DataFrame:
    """Training conversations of each kind of task, with the untrained (masked) text marked, for the chapter."""
    rng = random.Random(seed)
    problems = {"recall": recall_problem(rng, 0), "recall_open": recall_open_problem(1)}
    rows = [{"task": task, "chain_length": "—", "prompt": prompt_text(task, problem),
             "reply": _marked(recall_trace(problem))} for task, problem in problems.items()]
    for n_steps, style in ((3, TraceStyle(recheck=0.0, inline_slip=0.0)),
                           (8, TraceStyle(recheck=1.0, hidden_error=1.0, second_recheck=0.0, inline_slip=0.2))):
        problem = chain_problem(rng, n_steps)
        rows.append({"task": "chain", "chain_length": n_steps, "prompt": prompt_text("chain", problem),
                     "reply": _marked(chain_trace(problem, "thinking", rng, style))})
    return pd.DataFrame(rows)


def _marked(segments: list[tuple[str, bool]]) -> str:
    return "".join(text if trained else f"[masked: {text.rstrip()}]" + ("\n" if text.endswith("\n") else "")
                   for text, trained in segments)


def main(argv: list[str] | None = None) -> None:
    """``python -m lpts_helpers.organism``: train the default organisms (both kinds) into the book's run store."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m lpts_helpers.organism", description=main.__doc__)
    parser.add_argument("--profile", default="default", choices=sorted(OrganismConfig.PROFILE_DEFAULTS))
    parser.add_argument("--kind", choices=KINDS, action="append", help="train only this kind (repeatable)")
    parser.add_argument("--store", default=None, help="run store folder (default: the book's data/runs)")
    parser.add_argument("--fresh", action="store_true", help="retrain even when a finished run is stored")
    args = parser.parse_args(argv)
    store = RunStore(args.store) if args.store else RunStore()
    for kind in args.kind or KINDS:
        run = train_organism(OrganismConfig.for_profile(args.profile, kind=kind), store, fresh=args.fresh)
        print(f"{kind}: {run.metrics} -> {checkpoint_path(run.path)}")


if __name__ == "__main__":
    main()
