"""Grading: strip the thinking, extract the final answer with a named extractor, and score it against the gold.

Extractors (each has a version, part of an evaluation run's hash):
- ``boxed``: the content of the last ``\\boxed{…}`` (or ``\\fbox{…}``), nested braces included — what the paper's
  harness asks the model to write;
- ``flex``: ``boxed`` if there is one, else the text after the last "final answer" / "answer is" / "Answer:",
  else the last number — reported separately, so the book can show how much a lenient reading changes;
- ``choice``: a multiple-choice letter A–D: boxed, after "answer is"/"Answer:", or the last standalone letter.
Scorers: ``math-verify`` (Hugging Face's parser and verifier, with its timeouts; answers that do not parse are
compared as normalised strings), ``exact`` (normalised strings) and ``choice`` (letters). Nothing here raises on a
completion: empty, truncated, many boxes, huge numbers or malformed LaTeX all grade as a plain True/False.
Used by ``lpts_helpers.engine.evaluation``; the evaluation chapter reports the gold self-check.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from ..core.config import ConfigError

END_OF_THINKING = ("<|im_start|>answer", "</think>")  # s1 and Qwen3 delimiters, the last one found wins
START_OF_THINKING = ("<|im_start|>think", "<think>")
MAX_ANSWER_CHARS = 1000  # a longer "answer" is not an answer; never hand it to sympy
_NUMBER = r"-?\d[\d,]*(?:\.\d+)?(?:/\d+)?"


def strip_thinking(text: str) -> str:
    """The answer section: the text after the last end-of-thinking delimiter.

    Without a delimiter, the whole text is the answer — unless a thinking section was opened and never closed,
    in which case the model gave no answer (``""``).
    """
    cut = max((text.rfind(d) + len(d) for d in END_OF_THINKING if d in text), default=-1)
    if cut >= 0:
        return text[cut:]
    return "" if any(d in text for d in START_OF_THINKING) else text


def last_boxed(text: str, *, tries: int = 20) -> str | None:
    """The content of the last ``\\boxed{…}`` or ``\\fbox{…}``, matching nested braces; None if none closes.

    A box that does not close within ``2 * MAX_ANSWER_CHARS`` characters is passed over for the one before it,
    at most ``tries`` times: the work stays bounded on any input.
    """
    start = max(text.rfind("\\boxed"), text.rfind("\\fbox"))
    while start >= 0 and tries > 0:
        tries -= 1
        brace = text.find("{", start, start + 16)
        if brace >= 0 and re.fullmatch(r"\\(?:boxed|fbox)\s*", text[start:brace]):
            depth = 0
            for i in range(brace, min(len(text), brace + 2 * MAX_ANSWER_CHARS)):
                depth += {"{": 1, "}": -1}.get(text[i], 0)
                if depth == 0:
                    return text[brace + 1:i].strip()
        start = max(text.rfind("\\boxed", 0, start), text.rfind("\\fbox", 0, start))
    return None


_ANSWER_CUE = re.compile(r"(?:final answer|the answer is|answer:)\s*(?:is\s*)?[:=]?\s*", re.IGNORECASE)


def extract_flex(text: str) -> str | None:
    """Boxed, else what follows the last answer cue (up to the line's end), else the last number."""
    boxed = last_boxed(text)
    if boxed is not None:
        return boxed
    cues = list(_ANSWER_CUE.finditer(text[-20000:]))
    if cues:
        tail = text[-20000:][cues[-1].end():].strip().split("\n")[0].strip().rstrip(".").strip("$ ")
        if tail:
            return tail
    numbers = re.findall(_NUMBER, text[-20000:])
    return numbers[-1] if numbers else None


def extract_choice(text: str) -> str | None:
    """A letter A–D: boxed (``\\boxed{B}``, ``\\boxed{(B)}``, ``\\boxed{B. text}``), after a cue, or the last one."""
    boxed = last_boxed(text)
    if boxed is not None:
        found = re.match(r"^\(?\s*(?:\\text\{)?\s*([A-Da-d])\b", boxed)
        if found:
            return found.group(1).upper()
    cues = re.findall(r"(?:answer is|answer:)\s*\(?([A-D])\b", text[-20000:], re.IGNORECASE)
    if cues:
        return cues[-1].upper()
    letters = re.findall(r"(?<![A-Za-z])\(?([A-D])\)?(?![A-Za-z])", text[-2000:])
    return letters[-1] if letters else None


@dataclass(frozen=True)
class Extractor:
    name: str
    version: int
    fn: Callable[[str], str | None]


EXTRACTORS = {e.name: e for e in (Extractor("boxed", 1, last_boxed), Extractor("flex", 1, extract_flex),
                                  Extractor("choice", 1, extract_choice))}
SCORERS = {"math-verify": 1, "exact": 1, "choice": 1}  # name -> version


def normalize(answer: str) -> str:
    """A comparable string: no spaces, ``$``, ``\\text{}``, ``\\left/\\right``, trailing period, thousands commas."""
    answer = re.sub(r"\\text\{([^{}]*)\}", r"\1", answer)
    answer = re.sub(r"\\(left|right|displaystyle|!|,|;)", "", answer)
    answer = answer.replace("$", "").replace(" ", "").replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac")
    answer = answer.rstrip(".")
    if re.fullmatch(r"-?\d{1,3}(,\d{3})+(\.\d+)?", answer):
        answer = answer.replace(",", "")
    return answer.lower()


def math_verify_equal(gold: str, extracted: str) -> bool:
    """math-verify's parser and verifier on two answers (strings compared when either does not parse)."""
    from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify

    configs = [LatexExtractionConfig(), ExprExtractionConfig()]
    gold_parsed = parse(f"${gold}$", extraction_config=configs, parsing_timeout=5)
    pred_parsed = parse(f"${extracted}$", extraction_config=configs, parsing_timeout=5)
    if gold_parsed and pred_parsed:
        return bool(verify(gold_parsed, pred_parsed, timeout_seconds=5))
    return normalize(gold) == normalize(extracted)


def score(gold: str, extracted: str | None, scorer: str) -> bool:
    """Whether ``extracted`` matches ``gold`` under ``scorer``; False for a missing or oversized answer."""
    if scorer not in SCORERS:
        raise ConfigError(f"scorer={scorer!r} is not known; allowed: {sorted(SCORERS)}")
    if extracted is None or not extracted.strip() or len(extracted) > MAX_ANSWER_CHARS:
        return False
    if scorer == "choice":
        return extracted.strip().upper() == gold.strip().upper()
    if normalize(gold) == normalize(extracted):
        return True
    if scorer == "exact":
        return False
    try:
        return math_verify_equal(gold, extracted)
    except Exception:  # math-verify and sympy raise many types on malformed input; malformed is wrong
        return False


@dataclass(frozen=True)
class Graded:
    extracted: str | None
    correct: bool


def grade(completion: str, gold: str, *, extractor: str, scorer: str) -> Graded:
    """Strip the thinking, extract with ``extractor``, score with ``scorer`` (never raises on the completion)."""
    if extractor not in EXTRACTORS:
        raise ConfigError(f"extractor={extractor!r} is not known; allowed: {sorted(EXTRACTORS)}")
    try:
        extracted = EXTRACTORS[extractor].fn(strip_thinking(completion))
    except Exception:  # an extractor bug must not stop an evaluation; the sample counts as unanswered
        extracted = None
    if extracted is not None and len(extracted) > MAX_ANSWER_CHARS:
        extracted = extracted[:MAX_ANSWER_CHARS]
        return Graded(extracted, False)
    return Graded(extracted, score(gold, extracted, scorer))
