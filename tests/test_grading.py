"""Grading: every extraction case seen or feared becomes a table row; gold self-checks; adversarial inputs."""

import random
import string
import time

import pytest

from lpts_helpers.tasks import benchmarks
from lpts_helpers.tasks.grading import grade, last_boxed, strip_thinking

MATH_CASES = [  # (gold, completion, expected) graded with the boxed extractor and math-verify
    ("\\frac{1}{2}", "\\boxed{0.5}", True),
    ("\\frac{1}{2}", "\\boxed{1/2}", True),
    ("\\frac{1}{2}", "so \\boxed{\\dfrac{1}{2}}.", True),
    ("0.3", "\\boxed{\\frac{3}{10}}", True),
    ("3", "\\boxed{x = 3}", True),
    ("1000", "\\boxed{1,000}", True),
    ("18", "\\boxed{\\$18}", True),
    ("10", "\\boxed{10\\text{ cm}}", True),
    ("10", "\\boxed{10^\\circ}", True),
    ("5", "\\boxed{5.0}", True),
    ("-4", "\\boxed{-4}", True),
    ("\\sqrt{2}", "\\boxed{\\sqrt 2}", True),
    ("x^2+1", "\\boxed{x^{2}+1}", True),
    ("\\left( 3, \\frac{\\pi}{2} \\right)", "\\boxed{(3, \\pi/2)}", True),
    ("\\text{Evelyn}", "The winner is \\boxed{\\text{Evelyn}}", True),
    ("2", "\\boxed{3}", False),
    ("\\frac{1}{2}", "\\boxed{\\frac{1}{3}}", False),
    ("12", "\\boxed{12} then \\boxed{13}", False),  # the last box is the answer
    ("13", "\\boxed{12} then \\boxed{13}", True),
    ("2", "", False),
    ("2", "2", False),  # no box: the boxed extractor finds nothing
    ("7", "\\boxed{\\boxed{7}}", True),
    ("7", "\\fbox{7}", True),
    # thinking sections: a box inside the thinking is not the answer
    ("5", "<think>maybe \\boxed{4}</think> so \\boxed{5}", True),
    ("4", "<think>maybe \\boxed{4}</think> so \\boxed{5}", False),
    ("4", "<think>\\boxed{4} and the budget ran out", False),
    ("7", "<|im_start|>think\nmaybe 6<|im_start|>answer\nFinal Answer: \\boxed{7}", True),
    ("6", "<|im_start|>think\n\\boxed{6}<|im_start|>answer\nFinal Answer: \\boxed{7}", False),
]


@pytest.mark.parametrize("gold, completion, expected", MATH_CASES)
def test_math_answers(gold, completion, expected):
    assert grade(completion, gold, extractor="boxed", scorer="math-verify").correct is expected


FLEX_CASES = [  # (gold, completion, extracted, expected)
    ("72", "so she sold 72 clips.", "72", True),
    ("72", "The final answer is 72.", "72", True),
    ("72", "Final Answer: $72$\nand more text", "72", True),
    ("72", "the answer is: 72", "72", True),
    ("72", "she sold 70 and then 2 more", "2", False),
    ("72", "\\boxed{72} but 5 later", "72", True),
    ("72", "no numbers here", None, False),
]


@pytest.mark.parametrize("gold, completion, extracted, expected", FLEX_CASES)
def test_flexible_extractor_is_reported_separately(gold, completion, extracted, expected):
    graded = grade(completion, gold, extractor="flex", scorer="math-verify")
    assert (graded.extracted, graded.correct) == (extracted, expected)


CHOICE_CASES = [
    ("B", "\\boxed{B}", True), ("B", "\\boxed{(B)}", True), ("B", "\\boxed{B. 4}", True),
    ("B", "\\boxed{\\text{B}}", True), ("B", "The answer is (B).", True), ("B", "Answer: C", False),
    ("C", "I think it is C", True), ("A", "", False), ("D", "\\boxed{d}", True),
]


@pytest.mark.parametrize("gold, completion, expected", CHOICE_CASES)
def test_choice_letters(gold, completion, expected):
    assert grade(completion, gold, extractor="choice", scorer="choice").correct is expected


def test_strip_thinking_and_nested_boxes():
    assert strip_thinking("a<think>b</think>c") == "c"
    assert strip_thinking("<think>never closed") == ""
    assert strip_thinking("no thinking at all") == "no thinking at all"
    assert last_boxed("\\boxed{\\frac{a}{b^{2}}}") == "\\frac{a}{b^{2}}"
    assert last_boxed("\\boxed{1} \\boxed{unclosed") == "1"
    assert last_boxed("\\boxed 5") is None


@pytest.mark.parametrize("name", ["aime24", "math500", "gsm8k"])
def test_gold_self_check_boxed(name):
    """Every gold answer, written as \\boxed{gold}, grades correct (rate must be >= 99.5%)."""
    frame = benchmarks.load_benchmark(name)
    misses = [r.problem_id for r in frame.itertuples()
              if not grade(f"The answer is \\boxed{{{r.answer}}}.", r.answer, extractor="boxed",
                           scorer="math-verify").correct]
    assert len(misses) / len(frame) <= 0.005, misses
    assert misses == []  # none today; a new miss goes to tests/QUARANTINES.md with its reason


@pytest.mark.slow
@pytest.mark.parametrize("name", ["aime24", "math500", "gsm8k"])
def test_gold_parses_and_verifies_in_math_verify(name):
    """math-verify itself (not the string shortcut) accepts each gold answer as equal to itself."""
    from lpts_helpers.tasks.grading import math_verify_equal

    frame = benchmarks.load_benchmark(name)
    misses = [r.problem_id for r in frame.itertuples() if not math_verify_equal(r.answer, r.answer)]
    assert misses == []


@pytest.mark.slow
def test_math500_gold_solutions_grade_correct():
    frame = benchmarks.load_benchmark("math500")
    misses = [r.problem_id for r in frame.itertuples()
              if not grade(r.solution, r.answer, extractor="boxed", scorer="math-verify").correct]
    assert misses == []


def adversarial_completions(n: int = 200, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    makers = [
        lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(1, 3000))).decode("latin-1"),
        lambda: "".join(rng.choice(string.printable) for _ in range(100_000)),
        lambda: "\\boxed{" * rng.randrange(1, 5000),
        lambda: "}" * 1000 + "\\boxed{1" + "{" * 500,
        lambda: "\\boxed{" + "(" * rng.randrange(1, 500) + "}",
        lambda: "\\boxed{" + "9" * rng.randrange(1, 900) + "}",
        lambda: "\\boxed{\\frac{" + "\\sqrt{" * 50 + "2" + "}" * 51 + "}{}}",
        lambda: "\\boxed{" + "".join(rng.choice("\\^_{}()[]$&%#~") for _ in range(rng.randrange(1, 300))) + "}",
        lambda: "<think>" * 100 + "</think>" * 100 + "\\boxed{x}" * 1000,
        lambda: "The answer is " + "".join(rng.choice(string.digits + ",.-/") for _ in range(500)),
        lambda: "",
    ]
    return [makers[i % len(makers)]() for i in range(n)]


@pytest.mark.slow
def test_adversarial_completions_grade_without_error_in_bounded_time():
    slowest = 0.0
    for completion in adversarial_completions():
        for extractor, scorer in (("boxed", "math-verify"), ("flex", "math-verify"), ("choice", "choice")):
            start = time.perf_counter()
            graded = grade(completion, "42", extractor=extractor, scorer=scorer)
            slowest = max(slowest, time.perf_counter() - start)
            assert isinstance(graded.correct, bool)
    assert slowest < 12  # math-verify's own timeouts (5 s parsing, 5 s comparing) bound each item


def test_huge_numbers_time_out_as_wrong():
    start = time.perf_counter()
    assert not grade("\\boxed{10^{10^{10}}}", "1", extractor="boxed", scorer="math-verify").correct
    assert time.perf_counter() - start < 12
