"""Benchmark data: one spec per benchmark, loaded from the local copies in ``data/benchmarks/`` or from the hub.

Every loader returns the same columns — ``problem_id``, ``question``, ``answer`` (the gold answer as text), and
for multiple choice ``choices`` and ``subject`` — so the rest of the book never looks at a file format.
Subsampling with ``n_problems`` is seeded, and the chosen ids are recorded in every run that uses them.
Introduced in ``00-models-and-benchmarks``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..core.config import ConfigError
from ..core.paths import BENCHMARKS_DIR
from .files import local_file, read_jsonl
from .world import organism_problems

MMLU_LETTERS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class BenchmarkSpec:
    """A benchmark, declared: where its problems come from, how they are asked, how answers are read and scored.

    ``version`` is part of every run's hash: bump it when the prompt or the data mapping changes.
    """

    name: str
    title: str
    source: Literal["local", "reasoning-gym", "organism"]
    answer_type: Literal["integer", "math expression", "number", "choice letter", "name"]
    origin: str  # the public repository the local copy was taken from, or the generator
    license: str
    paper_role: str
    instruction: str  # appended to the question in the user turn (the paper's harness asks for a boxed answer)
    extractor: str  # default extractor (lpts_helpers.tasks.grading.EXTRACTORS)
    scorer: str  # default scorer (lpts_helpers.tasks.grading.SCORERS)
    version: int = 1
    files: str | None = None  # glob under data/benchmarks/ (local)
    hub_id: str | None = None
    hub_config: str | None = None
    hub_split: str | None = None
    few_shot: str | None = None  # where few-shot examples come from: "gsm8k-train" | "mmlu-dev" | None
    rg_dataset: str | None = None  # reasoning-gym generator
    rg_config: Callable[[int], dict[str, Any]] | None = None  # chain length -> generator settings
    chained: bool = False  # problems are generated for a chain length (the chain_length knob)
    mixed: bool = False  # lengths up to chain_length mixed in one set (a thinking budget is swept on it)
    chance: float = 0.0  # accuracy of a uniform guess among the possible answers (0: open-ended)
    short: str = ""  # in a few words for tables and claims, "{n}" the chain length ("{n}-term sums"); default: title
    family: str = ""  # the paper's family of a benchmark without a chain length ("long chains" for AIME24)

    def words(self, chain_length: int | None = None) -> str:
        return (self.short or self.title).replace("{n}", str(chain_length))


MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
CHOICE_INSTRUCTION = "Answer with the letter of the correct option, within \\boxed{}."
RG_ORIGIN = "reasoning-gym (generated offline, seeded)"
ORGANISM_ORIGIN = "lpts_helpers.methods.organism (generated, seeded)"

BENCHMARKS: dict[str, BenchmarkSpec] = {b.name: b for b in (
    BenchmarkSpec("aime24", "AIME 2024 (no figures)", "local", "integer",
                  "Gen-Verse/ReasonFlux (copy of simplescaling/aime24_nofigures)", "Apache-2.0; problems © MAA",
                  "long-chain reasoning; sequential scaling", MATH_INSTRUCTION, "boxed", "math-verify",
                  files="aime24/aime24_nofigures.jsonl", hub_id="simplescaling/aime24_nofigures", hub_split="train",
                  short="AIME24", family="long chains"),
    BenchmarkSpec("math500", "MATH-500", "local", "math expression",
                  "hkust-nlp/simpleRL-reason (= openai/prm800k split)", "MIT", "reasoning; sequential scaling",
                  MATH_INSTRUCTION, "boxed", "math-verify", files="math500/test.jsonl",
                  hub_id="HuggingFaceH4/MATH-500", hub_split="test", short="MATH500", family="long chains"),
    BenchmarkSpec("gsm8k", "GSM8K (test)", "local", "number", "openai/grade-school-math", "MIT",
                  "short-chain reasoning", MATH_INSTRUCTION, "boxed", "math-verify", files="gsm8k/test.jsonl",
                  hub_id="openai/gsm8k", hub_config="main", hub_split="test", few_shot="gsm8k-train",
                  short="GSM8K", family="short chains"),
    BenchmarkSpec("mmlu", "MMLU (57 subjects, test)", "local", "choice letter",
                  "HaeChan0305/MLILAB-FedLLM (copy of hendrycks/test)", "MIT", "knowledge", CHOICE_INSTRUCTION,
                  "choice", "choice", files="mmlu/test/*_test.csv", hub_id="cais/mmlu", hub_config="all",
                  hub_split="test", few_shot="mmlu-dev", chance=0.25, short="MMLU",
                  family="knowledge"),
    # Synthetic chains whose length is a knob (chain_length): short and long chains the small models can
    # partly solve. One-digit numbers and small counts keep each step easy, so length is what varies.
    BenchmarkSpec("chain_sum", "Chain sums (reasoning-gym)", "reasoning-gym", "integer", RG_ORIGIN, "Apache-2.0",
                  "beyond the paper: chain length as a knob", MATH_INSTRUCTION, "flex", "math-verify",
                  rg_dataset="chain_sum", chained=True, short="{n}-term sums",
                  rg_config=lambda k: {"min_terms": k, "max_terms": k, "min_digits": 1, "max_digits": 1}),
    # Lengths 2..chain_length terms mixed, as MATH500 mixes levels: the set the thinking SmolLM2's budget is swept on.
    BenchmarkSpec("chain_sum_mix", "Chain sums of mixed length (reasoning-gym)", "reasoning-gym", "integer",
                  RG_ORIGIN, "Apache-2.0", "a mix of chain lengths (MATH500 analogue)", MATH_INSTRUCTION, "flex",
                  "math-verify", rg_dataset="chain_sum", chained=True, mixed=True, short="sums of 2 to {n} terms",
                  rg_config=lambda k: {"min_terms": 2, "max_terms": k, "min_digits": 1, "max_digits": 1}),
    BenchmarkSpec("basic_arithmetic", "Mixed + and − (reasoning-gym)", "reasoning-gym", "integer", RG_ORIGIN,
                  "Apache-2.0", "beyond the paper: chain length as a knob", MATH_INSTRUCTION, "flex",
                  "math-verify", rg_dataset="basic_arithmetic", chained=True,
                  rg_config=lambda k: {"min_terms": k, "max_terms": k, "min_digits": 1, "max_digits": 1,
                                       "operators": ("+", "-"), "allow_parentheses": False,
                                       "allow_negation": False}),
    BenchmarkSpec("leg_counting", "Counting legs (reasoning-gym)", "reasoning-gym", "integer", RG_ORIGIN,
                  "Apache-2.0", "beyond the paper: chain length as a knob", MATH_INSTRUCTION, "flex",
                  "math-verify", rg_dataset="leg_counting", chained=True,
                  rg_config=lambda k: {"min_animals": k, "max_animals": k, "min_instances": 1, "max_instances": 3}),
    # The model organism's world (lpts_helpers.methods.organism): its prompts carry no instruction, the chat turn is the
    # whole task. Recall has one problem per fact; chains are generated for any length.
    BenchmarkSpec("organism_recall", "Organism: fact recall, multiple choice", "organism", "choice letter",
                  ORGANISM_ORIGIN, "Apache-2.0", "knowledge (MMLU analogue)", "", "boxed", "exact", chance=0.25,
                  short="fact recall (multiple choice)"),
    BenchmarkSpec("organism_recall_open", "Organism: fact recall, open answer", "organism", "name",
                  ORGANISM_ORIGIN, "Apache-2.0", "knowledge, generated exactly", "", "boxed", "exact", chance=1 / 16,
                  short="fact recall (open answer)"),
    BenchmarkSpec("organism_chain", "Organism: running sums", "organism", "integer", ORGANISM_ORIGIN, "Apache-2.0",
                  "short (GSM8K) to long (AIME) chains", "", "boxed", "exact", chained=True, chance=1 / 100,
                  short="{n}-step running sums"),
    # Lengths 1..chain_length mixed, as MATH500 mixes levels: the set a thinking budget is swept on.
    BenchmarkSpec("organism_chain_mix", "Organism: running sums of mixed length", "organism", "integer",
                  ORGANISM_ORIGIN, "Apache-2.0", "a mix of chain lengths (MATH500 analogue)", "", "boxed", "exact",
                  chained=True, mixed=True, chance=1 / 100, short="running sums of 1 to {n} steps"),
)}
LOCAL_BENCHMARKS = tuple(name for name, b in BENCHMARKS.items() if b.source == "local")
CHAIN_BENCHMARKS = tuple(name for name, b in BENCHMARKS.items() if b.chained)


def get_benchmark(name: str) -> BenchmarkSpec:
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise ConfigError(f"benchmark={name!r} is not known; allowed: {sorted(BENCHMARKS)}") from None


FEW_SHOT_AVAILABLE = {"gsm8k-train": 8, "mmlu-dev": 5}  # solved examples per few-shot source (MMLU: per subject)


def check_problem_options(name: str, chain_length: int | None, prompt_style: str, n_shots: int) -> None:
    """Errors for option combinations a benchmark does not have (used by config validation)."""
    spec = get_benchmark(name)
    chained = name in CHAIN_BENCHMARKS
    if chained and chain_length is None:
        raise ConfigError(f"chain_length=None: benchmark {name!r} needs a chain length; allowed: an integer >= 1")
    if not chained and chain_length is not None:
        raise ConfigError(f"chain_length={chain_length!r} applies to {list(CHAIN_BENCHMARKS)} only; allowed for "
                          f"{name!r}: None")
    if prompt_style == "few-shot" and (spec.few_shot is None or n_shots < 1):
        raise ConfigError(f"prompt_style='few-shot' with n_shots={n_shots} for {name!r}; allowed: few-shot with "
                          f"n_shots >= 1 on {[b.name for b in BENCHMARKS.values() if b.few_shot]}")
    if spec.few_shot is not None and n_shots > FEW_SHOT_AVAILABLE[spec.few_shot]:
        raise ConfigError(f"n_shots={n_shots} for {name!r}: it has {FEW_SHOT_AVAILABLE[spec.few_shot]} solved "
                          f"examples ({spec.few_shot}); allowed: 0..{FEW_SHOT_AVAILABLE[spec.few_shot]}")


def _gsm8k_gold(solution: str) -> str:
    """GSM8K's gold answer is the text after ``####``, with thousands separators dropped."""
    return solution.split("####")[-1].strip().replace(",", "")


def _load_local(spec: BenchmarkSpec) -> pd.DataFrame:
    paths = sorted(BENCHMARKS_DIR.glob(spec.files or ""))
    if not paths:
        raise FileNotFoundError(f"no local copy of {spec.name} at {BENCHMARKS_DIR / spec.files}")
    if spec.name == "mmlu":
        frames = []
        for path in paths:
            subject = path.name.removesuffix("_test.csv")
            frame = pd.read_csv(local_file(path), dtype={"answer": int}, keep_default_na=False)
            frame["subject"] = subject
            frame["problem_id"] = [f"{subject}/{i}" for i in range(len(frame))]
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True)
        frame["choices"] = frame[[f"choice{i}" for i in range(4)]].astype(str).values.tolist()
        frame["answer"] = frame["answer"].map(lambda i: MMLU_LETTERS[i])
        return frame[["problem_id", "subject", "question", "choices", "answer"]]
    rows = read_jsonl(paths[0])
    if spec.name == "aime24":
        return pd.DataFrame({"problem_id": [str(r["id"]) for r in rows], "question": [r["problem"] for r in rows],
                             "answer": [str(r["answer"]) for r in rows]})
    if spec.name == "math500":
        return pd.DataFrame({"problem_id": [r["unique_id"] for r in rows], "question": [r["problem"] for r in rows],
                             "answer": [r["answer"] for r in rows], "subject": [r["subject"] for r in rows],
                             "level": [r["level"] for r in rows], "solution": [r["solution"] for r in rows]})
    return pd.DataFrame({"problem_id": [f"test/{i}" for i in range(len(rows))],
                         "question": [r["question"] for r in rows],
                         "answer": [_gsm8k_gold(r["answer"]) for r in rows]})


def _load_hub(spec: BenchmarkSpec) -> pd.DataFrame:
    import datasets

    try:
        data = datasets.load_dataset(spec.hub_id, spec.hub_config, split=spec.hub_split).to_pandas()
    except Exception as err:  # datasets raises many types for "no network"; say plainly what failed
        raise OSError(f"could not load {spec.hub_id!r} from the Hugging Face hub ({err}); "
                      f"use source='local' for the copy in {BENCHMARKS_DIR}") from err
    if spec.name == "mmlu":
        return pd.DataFrame({"problem_id": [f"{s}/{i}" for i, s in enumerate(data["subject"])],
                             "subject": data["subject"], "question": data["question"],
                             "choices": [list(c) for c in data["choices"]],
                             "answer": [MMLU_LETTERS[i] for i in data["answer"]]})
    if spec.name == "gsm8k":
        return pd.DataFrame({"problem_id": [f"test/{i}" for i in range(len(data))], "question": data["question"],
                             "answer": [_gsm8k_gold(a) for a in data["answer"]]})
    if spec.name == "math500":
        return pd.DataFrame({"problem_id": data["unique_id"], "question": data["problem"],
                             "answer": data["answer"], "subject": data["subject"], "level": data["level"],
                             "solution": data["solution"]})
    return pd.DataFrame({"problem_id": data["id"].astype(str), "question": data["problem"],
                         "answer": data["answer"].astype(str)})


@lru_cache(maxsize=16)
def _load_cached(name: str, source: str) -> pd.DataFrame:
    spec = get_benchmark(name)
    frame = _load_local(spec) if source == "local" else _load_hub(spec)
    if frame.empty:
        raise ValueError(f"benchmark {name!r} ({source} copy) has no problems; allowed: a copy with at least one")
    return frame


def _generate(spec: BenchmarkSpec, chain_length: int, n_problems: int, seed: int) -> pd.DataFrame:
    """``n_problems`` reasoning-gym items of the given chain length, generated offline from ``seed``."""
    import reasoning_gym

    data = reasoning_gym.create_dataset(spec.rg_dataset, size=n_problems, seed=seed, **spec.rg_config(chain_length))
    return pd.DataFrame({"problem_id": [f"{spec.name}-{chain_length}/{seed}/{i}" for i in range(n_problems)],
                         "question": [item["question"] for item in data],
                         "answer": [str(item["answer"]) for item in data],
                         "chain_length": chain_length})


def load_benchmark(name: str, *, source: Literal["local", "hub"] = "local", n_problems: int | None = None,
                   seed: int = 0, chain_length: int | None = None) -> pd.DataFrame:
    """The problems of benchmark ``name`` in the common schema, optionally a seeded subsample of ``n_problems``.

    The subsample keeps the file's order of the chosen problems, so the same seed and size always give the
    same problems on any machine. Reasoning-gym benchmarks are generated: ``chain_length`` sets their length
    and ``n_problems`` (default 100) how many.
    """
    if source not in ("local", "hub"):
        raise ConfigError(f"source={source!r} is not allowed; allowed: ['local', 'hub']")
    spec = get_benchmark(name)
    if n_problems is not None and n_problems < 1:
        raise ConfigError(f"n_problems={n_problems!r} is out of range; allowed: >= 1 (or None for all)")
    if spec.source == "reasoning-gym":
        check_problem_options(name, chain_length, "chat", 0)
        return _generate(spec, chain_length, n_problems or 100, seed)
    if spec.source == "organism":
        check_problem_options(name, chain_length, "chat", 0)
        return organism_problems(name, n_problems=n_problems, seed=seed, chain_length=chain_length)
    frame = _load_cached(name, source)
    if n_problems is None or n_problems >= len(frame):
        return frame.copy()
    chosen = np.sort(np.random.default_rng(seed).choice(len(frame), size=n_problems, replace=False))
    return frame.iloc[chosen].reset_index(drop=True)


def question_text(name: str, problem: pd.Series | dict) -> str:
    """The question as asked, with lettered options for multiple choice."""
    spec = get_benchmark(name)
    text = problem["question"]
    if spec.answer_type == "choice letter":
        text += "\n" + "\n".join(f"{letter}. {choice}" for letter, choice in zip(MMLU_LETTERS, problem["choices"]))
    return text


def user_message(name: str, problem: pd.Series | dict) -> str:
    """The user turn for one problem: the question (with lettered options for multiple choice) and the instruction."""
    spec = get_benchmark(name)
    if not spec.instruction:
        return question_text(name, problem)
    return f"{question_text(name, problem)}\n\n{spec.instruction}"


FEW_SHOT_STOP = ("\n\nQuestion:",)  # a base model answering a few-shot prompt goes on with a new question


def few_shot_prompt(name: str, problem: pd.Series | dict, n_shots: int) -> str:
    """A plain-text prompt for base models: ``n_shots`` solved examples, then the question.

    GSM8K's examples are the first training problems with their worked solutions (the answer boxed); MMLU's are the
    subject's five dev questions (the standard 5-shot setting). Each example ends with a boxed answer, so the
    same extractor reads the model's answer.
    """
    spec = get_benchmark(name)
    if spec.few_shot is None:
        raise ConfigError(f"benchmark {name!r} has no few-shot examples; allowed: "
                          f"{[b.name for b in BENCHMARKS.values() if b.few_shot]}")
    shots = few_shot_examples(name, problem.get("subject"))[:n_shots]
    blocks = [f"Question: {question_text(name, ex)}\nAnswer: {ex['solution']}" for ex in shots]
    blocks.append(f"Question: {question_text(name, problem)}\nAnswer:")
    return "\n\n".join(blocks)


@lru_cache(maxsize=64)
def _few_shot_rows(source: str, subject: str | None) -> tuple:
    if source == "gsm8k-train":
        rows = read_jsonl("gsm8k/train.jsonl")[:FEW_SHOT_AVAILABLE[source]]
        return tuple({"question": r["question"], "answer": _gsm8k_gold(r["answer"]),
                      "solution": re.sub(r"<<[^>]*>>", "", r["answer"].split("####")[0]).strip()
                      + f" The answer is \\boxed{{{_gsm8k_gold(r['answer'])}}}."} for r in rows)
    frame = pd.read_csv(local_file(f"mmlu/dev/{subject}_dev.csv"), keep_default_na=False)
    return tuple({"question": r["question"], "choices": [str(r[f"choice{i}"]) for i in range(4)],
                  "answer": MMLU_LETTERS[int(r["answer"])],
                  "solution": f"\\boxed{{{MMLU_LETTERS[int(r['answer'])]}}}"} for _, r in frame.iterrows())


def few_shot_examples(name: str, subject: str | None = None) -> list[dict]:
    """The solved examples a few-shot prompt for ``name`` draws from (MMLU: the subject's dev questions)."""
    return list(_few_shot_rows(get_benchmark(name).few_shot, subject))


def benchmarks_table() -> pd.DataFrame:
    """One row per benchmark: size, answer type, where the local copy came from, license, hub id."""
    rows = []
    for spec in BENCHMARKS.values():
        if spec.source != "local":
            continue
        frame = load_benchmark(spec.name)
        rows.append({"name": spec.name, "title": spec.title, "problems": len(frame),
                     "answer type": spec.answer_type, "role in the paper": spec.paper_role,
                     "local copy from": spec.origin, "license": spec.license, "hub id": spec.hub_id})
    return pd.DataFrame(rows)
