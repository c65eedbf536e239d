"""The model organism's world: its facts, its chains, the traces that solve them, and its tokenizer.

Facts "where does <name> live?" are asked as multiple choice (answer letter) or open (the place's name); a chain
is a two-digit start and a string of digits, "07 5293=?", whose answer is the start plus every digit modulo 100.
A thinking trace writes one line per digit, "07+5=12", and training traces slip now and then, followed by "Wait"
and the right line (``SLIP``). This module generates problems and traces and encodes them; the benchmarks of the
organism (``tasks.benchmarks``) read their problems from here and ``methods.organism`` trains on the traces.
Introduced in ``02-the-model-organism``.
"""

from __future__ import annotations

import random
import re
import string
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import pandas as pd

from ..core.config import ConfigError

SPECIAL_TOKENS = ("<pad>", "<unk>", "<|im_start|>", "<|im_end|>", "<think>", "</think>")
CHARACTERS = string.digits + string.ascii_letters + " \n+-=?.,:{}\\"
MAX_CHAIN = 40  # digits a chain's prompt can hold (the default organism trains on up to 32)
CHAT_TEMPLATE = ("{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
                 "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
THINK_START, THINK_END, END = "<think>\n", "</think>\n\n", "<|im_end|>"
KINDS = ("thinking", "direct")
TASKS = ("recall", "recall_open", "chain")
IGNORE = -100  # label of a token the loss skips


def build_tokenizer():
    """A character-level Hugging Face tokenizer with the chat markup as single tokens (loads with AutoTokenizer)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    backend = Tokenizer(models.WordLevel(dict(_vocabulary()), unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split("", behavior="isolated")
    backend.decoder = decoders.Fuse()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=backend, pad_token="<pad>", unk_token="<unk>",
                                        eos_token=END, bos_token="<|im_start|>",
                                        additional_special_tokens=list(SPECIAL_TOKENS[4:]))
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


# --- the organism's world: facts and chains ---------------------------------------------------------------------

@dataclass(frozen=True)
class World:
    """The facts the organism memorizes (fixed: every model and benchmark of the book shares them)."""

    n_facts: int = 200
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
    """A start value 0..99 and ``n_steps`` digits 0..9 to add to it, one at a time, modulo 100."""
    if not 1 <= n_steps <= MAX_CHAIN:
        raise ConfigError(f"chain_length={n_steps} is out of range; allowed: 1..{MAX_CHAIN}")
    return [rng.randrange(100)] + [rng.randrange(10) for _ in range(n_steps)]


def chain_answer(terms: list[int]) -> int:
    return sum(terms) % 100


def chain_question(terms: list[int]) -> str:
    """"07 5293=?": the two-digit start, then the digits to add in order."""
    return f"{terms[0]:02d} " + "".join(map(str, terms[1:])) + "=?"


def chain_problem(rng: random.Random, n_steps: int) -> dict[str, Any]:
    terms = chain_terms(rng, n_steps)
    return {"question": chain_question(terms), "answer": str(chain_answer(terms)), "terms": terms,
            "chain_length": n_steps}


def mixed_chain_problem(rng: random.Random, longest: int) -> dict[str, Any]:
    """A chain of a length drawn uniformly from 1..``longest``: a set that mixes easy and hard problems, as
    MATH500 mixes levels (the set on which a thinking budget is swept)."""
    return chain_problem(rng, rng.randint(1, longest))


# --- training traces ---------------------------------------------------------------------------------------------

SLIP = 0.08  # per step of a training trace: a wrong line (never trained on), then "Wait" and the right line


def _line(total: int, digit: int) -> tuple[str, int]:
    new = (total + digit) % 100
    return f"{total:02d}+{digit}={new:02d}\n", new


def _slip(terms: list[int], step: int, total: int, rng: random.Random) -> str:
    """A plausible wrong line for ``step``: a wrong sum, or a neighbouring digit of the prompt read instead."""
    digit = terms[step]
    if rng.random() < 0.5:
        neighbours = [terms[i] for i in (step - 1, step + 1) if 1 <= i < len(terms) and terms[i] != digit]
        misread = rng.choice(neighbours) if neighbours else (digit + rng.randint(1, 9)) % 10
        return _line(total, misread)[0]
    wrong = ((total + digit) % 100 + rng.choice([-10, -2, -1, 1, 2, 10])) % 100
    return f"{total:02d}+{digit}={wrong:02d}\n"


def chain_trace(problem: dict[str, Any], kind: str, rng: random.Random, slip: float = SLIP,
                answer_cue: float = 0.1) -> list[tuple[str, bool]]:
    """The assistant's turn for a chain problem as (text, trained) segments. Thinking writes one line per digit
    of the prompt, "07+5=12": the total written just before, the digit read by its position, the new total. A
    slipped line is followed by "Wait" and the right line; the slip itself is never trained on (its loss is
    masked), so the model learns to notice and fix a slip, not to make one. ``answer_cue``: the share of traces
    whose answer follows s1's "Final Answer:" cue (what a cut thinking budget appends)."""
    answer = f"\\boxed{{{problem['answer']}}}{END}"
    if kind == "direct":
        return [(answer, True)]
    terms = problem["terms"]
    segments: list[tuple[str, bool]] = [(THINK_START, True)]
    total = terms[0]
    for step in range(1, len(terms)):
        if rng.random() < slip:
            segments += [(_slip(terms, step, total, rng), False), ("Wait\n", True)]
        line, total = _line(total, terms[step])
        segments.append((line, True))
    segments.append((THINK_END, True))
    if rng.random() < answer_cue:
        segments.append(("Final Answer:", False))
    return segments + [(answer, True)]


def recall_trace(problem: dict[str, Any]) -> list[tuple[str, bool]]:
    return [(f"\\boxed{{{problem['answer']}}}{END}", True)]


def organism_problems(name: str, *, n_problems: int | None, seed: int, chain_length: int | None) -> pd.DataFrame:
    """A benchmark of the organism's world in the common schema: recall has one problem per fact (a seeded
    sample of ``n_problems`` of them); chains are ``n_problems`` (default 100) generated from ``seed``, of
    exactly ``chain_length`` steps (``organism_chain``) or of 1..``chain_length`` steps (``organism_chain_mix``)."""
    rng = random.Random(f"{name}:{seed}:{chain_length}")
    if name in ("organism_chain", "organism_chain_mix"):
        make = chain_problem if name == "organism_chain" else mixed_chain_problem
        rows = [make(rng, chain_length) for _ in range(n_problems or 100)]
        ids = [f"{'chain' if name == 'organism_chain' else 'mix'}-{chain_length}/{seed}/{i}" for i in range(len(rows))]
    else:
        facts = range(WORLD.n_facts)
        if n_problems is not None and n_problems < WORLD.n_facts:
            facts = sorted(random.Random(seed).sample(range(WORLD.n_facts), n_problems))
        rows = [recall_problem(rng, i) if name == "organism_recall" else recall_open_problem(i) for i in facts]
        ids = [f"fact/{row['fact']}" for row in rows]
    frame = pd.DataFrame(rows)
    frame.insert(0, "problem_id", ids)
    return frame.drop(columns=[c for c in ("terms",) if c in frame])


@lru_cache(maxsize=1)
def _vocabulary() -> dict[str, int]:
    return {token: i for i, token in enumerate(SPECIAL_TOKENS + tuple(CHARACTERS))}


_SPECIAL_SPLIT = re.compile("(" + "|".join(re.escape(t) for t in SPECIAL_TOKENS) + ")")


def encode(text: str) -> list[int]:
    """What the organism's tokenizer gives for ``text`` (specials whole, the rest by character), without its
    per-call overhead: training encodes millions of short segments; tests check that the two agree."""
    vocab = _vocabulary()
    ids: list[int] = []
    for piece in _SPECIAL_SPLIT.split(text):
        if piece in vocab and len(piece) > 1:
            ids.append(vocab[piece])
        else:
            ids += [vocab.get(ch, vocab["<unk>"]) for ch in piece]
    return ids


def encode_segments(segments: list[tuple[str, bool]]) -> tuple[list[int], list[int]]:
    """Token ids and labels (``IGNORE`` where a segment is not trained on)."""
    ids: list[int] = []
    labels: list[int] = []
    for text, trained in segments:
        piece = encode(text)
        ids += piece
        labels += piece if trained else [IGNORE] * len(piece)
    return ids, labels
