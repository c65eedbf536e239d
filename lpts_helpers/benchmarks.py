"""Benchmark data: one spec per benchmark, loaded from the local copies in ``data/benchmarks/`` or from the hub.

Every loader returns the same columns — ``problem_id``, ``question``, ``answer`` (the gold answer as text), and
for multiple choice ``choices`` and ``subject`` — so the rest of the book never looks at a file format.
Subsampling with ``n_problems`` is seeded, and the chosen ids are recorded in every run that uses them.
Introduced in ``00-models-and-benchmarks``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from .config import ConfigError
from .paths import BENCHMARKS_DIR

MMLU_LETTERS = ("A", "B", "C", "D")


@dataclass(frozen=True)
class BenchmarkSpec:
    """Where a benchmark's data comes from and what its answers are."""

    name: str
    title: str
    files: str  # glob under data/benchmarks/
    answer_type: Literal["integer", "math expression", "number", "choice letter"]
    origin: str  # the public repository the local copy was taken from
    license: str
    hub_id: str
    hub_config: str | None
    hub_split: str
    paper_role: str
    instruction: str  # appended to the question in the user turn (the paper's harness asks for a boxed answer)


MATH_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
CHOICE_INSTRUCTION = "Answer with the letter of the correct option, within \\boxed{}."

BENCHMARKS: dict[str, BenchmarkSpec] = {b.name: b for b in (
    BenchmarkSpec("aime24", "AIME 2024 (no figures)", "aime24/aime24_nofigures.jsonl", "integer",
                  "Gen-Verse/ReasonFlux (copy of simplescaling/aime24_nofigures)", "Apache-2.0; problems © MAA",
                  "simplescaling/aime24_nofigures", None, "train", "long-chain reasoning; sequential scaling",
                  MATH_INSTRUCTION),
    BenchmarkSpec("math500", "MATH-500", "math500/test.jsonl", "math expression",
                  "hkust-nlp/simpleRL-reason (= openai/prm800k split)", "MIT", "HuggingFaceH4/MATH-500", None,
                  "test", "reasoning; sequential scaling", MATH_INSTRUCTION),
    BenchmarkSpec("gsm8k", "GSM8K (test)", "gsm8k/test.jsonl", "number", "openai/grade-school-math", "MIT",
                  "openai/gsm8k", "main", "test", "short-chain reasoning", MATH_INSTRUCTION),
    BenchmarkSpec("mmlu", "MMLU (57 subjects, test)", "mmlu/test/*_test.csv", "choice letter",
                  "HaeChan0305/MLILAB-FedLLM (copy of hendrycks/test)", "MIT", "cais/mmlu", "all", "test",
                  "knowledge", CHOICE_INSTRUCTION),
)}


def get_benchmark(name: str) -> BenchmarkSpec:
    try:
        return BENCHMARKS[name]
    except KeyError:
        raise ConfigError(f"benchmark={name!r} is not known; allowed: {sorted(BENCHMARKS)}") from None


def _gsm8k_gold(solution: str) -> str:
    """GSM8K's gold answer is the text after ``####``, with thousands separators dropped."""
    return solution.split("####")[-1].strip().replace(",", "")


def _read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _load_local(spec: BenchmarkSpec) -> pd.DataFrame:
    paths = sorted(BENCHMARKS_DIR.glob(spec.files))
    if not paths:
        raise FileNotFoundError(f"no local copy of {spec.name} at {BENCHMARKS_DIR / spec.files}")
    if spec.name == "mmlu":
        frames = []
        for path in paths:
            subject = path.name.removesuffix("_test.csv")
            frame = pd.read_csv(path, dtype={"answer": int}, keep_default_na=False)
            frame["subject"] = subject
            frame["problem_id"] = [f"{subject}/{i}" for i in range(len(frame))]
            frames.append(frame)
        frame = pd.concat(frames, ignore_index=True)
        frame["choices"] = frame[[f"choice{i}" for i in range(4)]].astype(str).values.tolist()
        frame["answer"] = frame["answer"].map(lambda i: MMLU_LETTERS[i])
        return frame[["problem_id", "subject", "question", "choices", "answer"]]
    rows = _read_jsonl(paths[0])
    if spec.name == "aime24":
        return pd.DataFrame({"problem_id": [str(r["id"]) for r in rows], "question": [r["problem"] for r in rows],
                             "answer": [str(r["answer"]) for r in rows]})
    if spec.name == "math500":
        return pd.DataFrame({"problem_id": [r["unique_id"] for r in rows], "question": [r["problem"] for r in rows],
                             "answer": [r["answer"] for r in rows], "subject": [r["subject"] for r in rows],
                             "level": [r["level"] for r in rows]})
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
                             "answer": data["answer"], "subject": data["subject"], "level": data["level"]})
    return pd.DataFrame({"problem_id": data["id"].astype(str), "question": data["problem"],
                         "answer": data["answer"].astype(str)})


@lru_cache(maxsize=16)
def _load_cached(name: str, source: str) -> pd.DataFrame:
    spec = get_benchmark(name)
    return _load_local(spec) if source == "local" else _load_hub(spec)


def load_benchmark(name: str, *, source: Literal["local", "hub"] = "local", n_problems: int | None = None,
                   seed: int = 0) -> pd.DataFrame:
    """The problems of benchmark ``name`` in the common schema, optionally a seeded subsample of ``n_problems``.

    The subsample keeps the file's order of the chosen problems, so the same seed and size always give the
    same problems on any machine.
    """
    if source not in ("local", "hub"):
        raise ConfigError(f"source={source!r} is not allowed; allowed: ['local', 'hub']")
    frame = _load_cached(name, source)
    if n_problems is None or n_problems >= len(frame):
        return frame.copy()
    if n_problems < 1:
        raise ConfigError(f"n_problems={n_problems!r} is out of range; allowed: >= 1 (or None for all)")
    chosen = np.sort(np.random.default_rng(seed).choice(len(frame), size=n_problems, replace=False))
    return frame.iloc[chosen].reset_index(drop=True)


def user_message(name: str, problem: pd.Series | dict) -> str:
    """The user turn for one problem: the question (with lettered options for multiple choice) and the instruction."""
    spec = get_benchmark(name)
    text = problem["question"]
    if spec.answer_type == "choice letter":
        text += "\n" + "\n".join(f"{letter}. {choice}" for letter, choice in zip(MMLU_LETTERS, problem["choices"]))
    return f"{text}\n\n{spec.instruction}"


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def verify_checksums() -> dict[str, bool]:
    """Each local benchmark file against ``data/benchmarks/SHA256SUMS``: ``{relative path: matches}``."""
    result = {}
    for line in (BENCHMARKS_DIR / "SHA256SUMS").read_text().splitlines():
        digest, rel = line.split(maxsplit=1)
        path = BENCHMARKS_DIR / rel
        result[rel] = path.is_file() and file_sha256(path) == digest
    return result


def benchmarks_table() -> pd.DataFrame:
    """One row per benchmark: size, answer type, where the local copy came from, license, hub id."""
    rows = []
    for spec in BENCHMARKS.values():
        frame = load_benchmark(spec.name)
        rows.append({"name": spec.name, "title": spec.title, "problems": len(frame),
                     "answer type": spec.answer_type, "role in the paper": spec.paper_role,
                     "local copy from": spec.origin, "license": spec.license, "hub id": spec.hub_id})
    return pd.DataFrame(rows)
