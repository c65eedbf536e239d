"""Static multiple-choice benchmarks, asked as lm-evaluation-harness asks them: zero-shot, one scored
continuation per choice.

The layer-pruning literature (ShortGPT, LaCo, ReplaceMe) reports what a pruned model keeps on these sets, and a
135M model is above chance on several of them where it is at chance on MMLU. Each loader turns the local copy
(``data/benchmarks/``, see its PROVENANCE.md) into *items*: per choice a context and a continuation, and the gold
index. The prompts are lm-eval's (its task YAMLs and ``utils.py`` as of 2025):

- ARC-Easy, ARC-Challenge: ``"Question: {question}\\nAnswer:"``, each choice's text after a space;
- PIQA: ``"Question: {goal}\\nAnswer:"``, ``sol1`` / ``sol2``;
- HellaSwag: ``"{activity_label}: {context}"`` cleaned of WikiHow's bracket artefacts, each ending cleaned the
  same way. lm-eval capitalises ``ctx_b``; the text copy has ``ctx_a`` and ``ctx_b`` joined, so the first letter of
  the context's last sentence is upper-cased instead (the rest of it is left as written);
- WinoGrande: partial evaluation — the sentence up to the blank with each option filled in is the context, and
  the same rest of the sentence is the continuation scored under both;
- BoolQ: ``"{passage}\\nQuestion: {question}?\\nAnswer:"``, `` no`` / `` yes``;
- OpenBookQA: the question stem alone, each choice's text;
- CommonsenseQA: the question and its five lettered options, ``"Answer:"``, the letters `` A`` … `` E``.

``acc`` picks the choice with the highest summed log-likelihood; ``acc_norm`` divides it by the choice's length in
characters first (lm-eval's normalisation). ``metrics`` lists what lm-eval reports for each set. Used by chapter
01 (the anchor check against published numbers) and the pruning chapters (SmolLM2's knowledge tasks).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..core.config import ConfigError
from ..core.paths import BENCHMARKS_DIR
from .files import local_file, read_jsonl, read_lines, read_text


@dataclass(frozen=True)
class StaticSpec:
    """A static multiple-choice benchmark: its local files, where they come from, chance and lm-eval's metrics.

    ``version`` is part of every run's hash: bump it when a prompt or the parsing changes.
    """

    name: str
    title: str
    split: str
    files: tuple[str, ...]
    origin: str
    license: str
    metrics: tuple[str, ...]  # what lm-eval reports: ("acc",) or ("acc", "acc_norm")
    chance: float  # accuracy of a uniform guess (the mean of 1 / number of choices over the split)
    version: int = 1


STATIC_BENCHMARKS: dict[str, StaticSpec] = {s.name: s for s in (
    StaticSpec("arc_easy", "ARC-Easy", "test", ("arc_easy/test.json", "arc_easy/question-answers.jsonl"),
               "AGI-Edgerunners/LLM-Adapters; answer keys allenai/aristo-leaderboard", "CC BY-SA 4.0",
               ("acc", "acc_norm"), 0.2502),
    StaticSpec("arc_challenge", "ARC-Challenge", "test",
               ("arc_challenge/test.json", "arc_challenge/question-answers.jsonl"),
               "AGI-Edgerunners/LLM-Adapters; answer keys allenai/aristo-leaderboard", "CC BY-SA 4.0",
               ("acc", "acc_norm"), 0.2502),
    StaticSpec("piqa", "PIQA", "validation", ("piqa/valid.jsonl", "piqa/valid-labels.lst"),
               "ybisk/ybisk.github.io (the authors' site)", "AFL-3.0", ("acc", "acc_norm"), 0.5),
    StaticSpec("hellaswag", "HellaSwag", "validation", ("hellaswag/hellaswag_val_full.txt",),
               "klosax/hellaswag_text_data (llama.cpp's text form of rowanz/hellaswag)", "MIT",
               ("acc", "acc_norm"), 0.25),
    StaticSpec("winogrande", "WinoGrande (XL dev)", "validation", ("winogrande/dev.jsonl",),
               "zhang-edward/WinoGrande (copy of winogrande_1.1)", "CC BY 2.0", ("acc",), 0.5),
    StaticSpec("boolq", "BoolQ", "validation", ("boolq/val.jsonl",), "imagination-research/EEP (SuperGLUE BoolQ)",
               "CC BY-SA 3.0", ("acc",), 0.5),
    StaticSpec("openbookqa", "OpenBookQA", "test", ("openbookqa/test.tsv", "openbookqa/openbook_qa.jsonl"),
               "imagination-research/EEP; clean stems mosaicml/llm-foundry", "Apache-2.0", ("acc", "acc_norm"),
               0.25),
    StaticSpec("commonsense_qa", "CommonsenseQA", "validation", ("commonsense_qa/dev_rand_split.jsonl",),
               "kojima-takeshi188/zero_shot_cot", "none stated", ("acc",), 0.2),
)}
LETTERS = "ABCDE"


def get_static(name: str) -> StaticSpec:
    try:
        return STATIC_BENCHMARKS[name]
    except KeyError:
        raise ConfigError(f"benchmark={name!r} is not a static benchmark; allowed: {list(STATIC_BENCHMARKS)}") \
            from None


def _item(item_id: str, context: str | list[str], choices: list[str], gold: int, *,
          continuations: list[str] | None = None) -> dict[str, Any]:
    """One question: a context per choice (the same one unless partial evaluation), the continuation scored
    under each (the choice after lm-eval's one-space delimiter) and the choice texts acc_norm divides by."""
    contexts = context if isinstance(context, list) else [context] * len(choices)
    if continuations is None:
        continuations = [f" {choice}" for choice in choices]
    if not 0 <= gold < len(choices):
        raise ValueError(f"item {item_id}: gold index {gold} outside its {len(choices)} choices")
    return {"item_id": item_id, "contexts": contexts, "continuations": continuations, "choices": choices,
            "gold": gold}


_ARC = re.compile(r"Please choose the correct answer to the question: (?P<stem>.*?)\n\n(?P<options>Answer1: .*?)"
                  r"\n\nAnswer format: .*", re.DOTALL)


def _arc(spec: StaticSpec) -> list[dict]:
    rows = json.loads(read_text(spec.files[0]))
    keys = read_jsonl(spec.files[1])
    if len(rows) != len(keys):
        raise ValueError(f"{spec.files[0]} has {len(rows)} questions but {spec.files[1]} {len(keys)} answer keys")
    items = []
    for row, key in zip(rows, keys):
        match = _ARC.fullmatch(row["instruction"])
        if match is None:
            raise ValueError(f"{spec.files[0]}: question {key['id']} does not parse")
        choices = re.split(r" ?Answer\d+: ", match["options"])[1:]
        gold = int(row["answer"].removeprefix("answer")) - 1
        label = key["answerKey"]
        if gold != ("ABCDE".index(label) if label in "ABCDE" else int(label) - 1):
            raise ValueError(f"{spec.files[0]}: question {key['id']}: answer {row['answer']} disagrees with AI2's "
                             f"key {label}")
        items.append(_item(key["id"], f"Question: {match['stem']}\nAnswer:", choices, gold))
    return items


def _piqa(spec: StaticSpec) -> list[dict]:
    rows, labels = read_jsonl(spec.files[0]), read_lines(spec.files[1])
    return [_item(f"valid/{i}", f"Question: {row['goal']}\nAnswer:", [row["sol1"], row["sol2"]], int(label))
            for i, (row, label) in enumerate(zip(rows, labels, strict=True))]


def hellaswag_clean(text: str) -> str:
    """lm-eval's HellaSwag preprocessing: WikiHow's ``[title]`` becomes a sentence break, other brackets go."""
    text = text.strip().replace(" [title]", ". ")
    return re.sub(r"\[.*?\]", "", text).replace("  ", " ")


def _capitalise_last_sentence(context: str) -> str:
    head, sep, last = context.rpartition(". ")
    return head + sep + last[:1].upper() + last[1:]


def _hellaswag(spec: StaticSpec) -> list[dict]:
    lines = read_text(spec.files[0]).split("\n")
    lines = lines[:-1] if lines and lines[-1] == "" else lines
    if len(lines) % 6:
        raise ValueError(f"{spec.files[0]}: {len(lines)} lines is not a multiple of 6 (context, gold, 4 endings)")
    items = []
    for i in range(0, len(lines), 6):
        context, gold, *endings = lines[i:i + 6]
        items.append(_item(f"val/{i // 6}", hellaswag_clean(_capitalise_last_sentence(context)),
                           [hellaswag_clean(e) for e in endings], int(gold)))
    return items


def _winogrande(spec: StaticSpec) -> list[dict]:
    items = []
    for row in read_jsonl(spec.files[0]):
        blank = row["sentence"].index("_")
        options = [row["option1"], row["option2"]]
        rest = " " + row["sentence"][blank + 1:].strip()
        items.append(_item(row["qID"], [row["sentence"][:blank] + option for option in options], options,
                           int(row["answer"]) - 1, continuations=[rest, rest]))
    return items


def _boolq(spec: StaticSpec) -> list[dict]:
    answers = {"false": 0, "true": 1}
    return [_item(f"val/{row['idx']}", f"{row['passage']}\nQuestion: {row['question']}?\nAnswer:", ["no", "yes"],
                  answers[str(row["label"]).lower()]) for row in read_jsonl(spec.files[0])]


def _openbookqa(spec: StaticSpec) -> list[dict]:
    keys = pd.read_csv(local_file(spec.files[0]), sep="\t", dtype=str, keep_default_na=False)
    rows = read_jsonl(spec.files[1])
    items = []
    for key, row in zip(keys.itertuples(index=False), rows, strict=True):
        if "ABCD".index(key[4].strip()) != row["gold"]:
            raise ValueError(f"{spec.files[1]}: question {key[0]}: gold {row['gold']} disagrees with key {key[4]}")
        items.append(_item(key[0], row["query"], row["choices"], row["gold"]))
    return items


def _commonsense_qa(spec: StaticSpec) -> list[dict]:
    items = []
    for row in read_jsonl(spec.files[0]):
        choices = [c["text"] for c in row["question"]["choices"]]
        options = "".join(f"\n{LETTERS[i]}. {text}" for i, text in enumerate(choices))
        letters = list(LETTERS[:len(choices)])
        items.append(_item(row["id"], f"Question: {row['question']['stem'].strip()}{options}\nAnswer:", letters,
                           LETTERS.index(row["answerKey"])))
    return items


_LOADERS = {"arc_easy": _arc, "arc_challenge": _arc, "piqa": _piqa, "hellaswag": _hellaswag,
            "winogrande": _winogrande, "boolq": _boolq, "openbookqa": _openbookqa, "commonsense_qa": _commonsense_qa}


@lru_cache(maxsize=8)
def _all_items(name: str) -> tuple[dict, ...]:
    spec = get_static(name)
    missing = [f for f in spec.files if not (BENCHMARKS_DIR / f).is_file()]
    if missing:
        raise FileNotFoundError(f"no local copy of {name}: {missing} missing under {BENCHMARKS_DIR}")
    items = tuple(_LOADERS[name](spec))
    if not items:
        raise ValueError(f"{name}: its local copy holds no questions")
    return items


def load_static(name: str, n_items: int | None = None, seed: int = 0) -> list[dict]:
    """The benchmark's items (all, or ``n_items`` drawn without replacement with ``seed``, in file order)."""
    items = _all_items(name)
    if n_items is None or n_items >= len(items):
        return list(items)
    chosen = np.sort(np.random.default_rng(seed).choice(len(items), size=n_items, replace=False))
    return [items[i] for i in chosen]


def static_table() -> pd.DataFrame:
    """One row per static benchmark: split, size, choices, chance, the metrics lm-eval reports, origin, license."""
    rows = []
    for spec in STATIC_BENCHMARKS.values():
        items = _all_items(spec.name)
        counts = sorted({len(item["choices"]) for item in items})
        rows.append({"benchmark": spec.title, "split": spec.split, "questions": len(items),
                     "choices": "–".join(map(str, (counts[0], counts[-1]))) if len(counts) > 1 else counts[0],
                     "chance": spec.chance, "metrics": ", ".join(spec.metrics), "origin": spec.origin,
                     "license": spec.license})
    return pd.DataFrame(rows)
