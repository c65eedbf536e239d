"""Budget forcing and parallel sampling (lpts_helpers.engine.scaling): exact checks on a scripted backend, invariants
on a real decode loop, and one slow run on the real SmolLM2-135M-Instruct."""

import pytest

from lpts_helpers.engine.backends import Completion
from lpts_helpers.engine.backends.hf import HFBackend
from lpts_helpers.engine.scaling import Budget, generate_traces, sample_seed
from lpts_helpers.models.presets import S1_THINKING, ThinkingFormat

FMT = ThinkingFormat(think_start="<think>", think_end="</think>", stop=("</think>",), answer_prefix="Final Answer:")


class Scripted:
    """A backend that answers each round from a script of (text, n_tokens, finish) per call, recording requests."""

    name, tokenizer, device = "scripted", None, "cpu"

    def __init__(self, rounds):
        self.rounds, self.requests = list(rounds), []

    def complete(self, requests):
        self.requests.append(requests)
        replies = self.rounds.pop(0)
        return [Completion(text, n, finish, None if finish == "length" else "</think>")
                for text, n, finish in replies]


def test_early_stops_are_forced_on_with_wait_until_n_ignore():
    backend = Scripted([
        [("step one.", 10, "stop")],  # the model ends its thinking early: forced on
        [("step two.", 10, "stop")],  # again: forced on (n_ignore=2)
        [("done.", 5, "stop")],  # a third end is accepted
        [("42", 2, "stop")],  # the answer
    ])
    (trace,) = generate_traces(backend, ["Q:"], [1], Budget(thinking_budget=100, n_ignore=2), FMT)
    assert trace.thinking == "step one.Waitstep two.Waitdone."
    assert (trace.n_forced, trace.thinking_tokens, trace.thinking_cut) == (2, 25, False)
    assert trace.completion == "<think>step one.Waitstep two.Waitdone.</think>42"  # no cue after a natural end
    assert [r[0].max_tokens for r in backend.requests] == [100, 90, 80, 256]  # the budget shrinks
    assert backend.requests[1][0].prompt == "Q:<think>step one.Wait"
    assert backend.requests[0][0].stop == ("</think>",) and backend.requests[3][0].stop == ()
    assert len({r[0].seed for r in backend.requests}) == 4  # a fresh seed each round


def test_budget_cut_appends_the_delimiter_and_final_answer_cue():
    backend = Scripted([[("a" * 30, 30, "length")], [("7", 1, "stop")]])
    (trace,) = generate_traces(backend, ["Q:"], [0], Budget(thinking_budget=30, n_ignore=3), FMT)
    assert trace.thinking_cut and trace.n_forced == 0 and trace.thinking_tokens == 30
    assert trace.completion == "<think>" + "a" * 30 + "</think>Final Answer:7"
    assert backend.requests[1][0].prompt.endswith("</think>Final Answer:")


def test_forcing_stops_when_the_budget_is_spent_even_with_ignores_left():
    backend = Scripted([[("x", 20, "stop")], [("y", 1, "stop")]])
    (trace,) = generate_traces(backend, ["Q:"], [0], Budget(thinking_budget=20, n_ignore=5), FMT)
    assert trace.n_forced == 0 and trace.thinking_tokens == 20 and not trace.thinking_cut


def test_live_sequences_are_batched_together_each_round():
    backend = Scripted([
        [("a", 4, "stop"), ("b", 8, "length")],  # round 1: both prompts
        [("c", 4, "stop")],  # round 2: only the first is still thinking
        [("A", 1, "stop"), ("B", 1, "stop")],  # answers for both
    ])
    traces = generate_traces(backend, ["P1", "P2"], [1, 2], Budget(thinking_budget=8, n_ignore=1), FMT)
    assert [len(r) for r in backend.requests] == [2, 1, 2]
    assert [t.n_forced for t in traces] == [1, 0] and [t.thinking_cut for t in traces] == [False, True]


def test_without_a_thinking_section_one_request_answers():
    backend = Scripted([[("hi", 2, "stop")]])
    (trace,) = generate_traces(backend, ["Q:"], [0], Budget(thinking_budget=None, max_answer_tokens=9), FMT)
    assert trace.completion == "hi" and trace.thinking == "" and backend.requests[0][0].max_tokens == 9


def test_seeds_are_distinct_and_reproducible():
    seeds = {sample_seed(42, s, r) for s in range(64) for r in range(4)}
    assert len(seeds) == 256 and sample_seed(42, 3, 1) == sample_seed(42, 3, 1)
    with pytest.raises(ValueError, match="2 prompts but 1 seeds"):
        generate_traces(Scripted([]), ["a", "b"], [1], Budget(None), FMT)


def test_invariants_on_a_real_decode_loop(tiny_model):
    """A random model that often writes one of many stop characters: the budget holds, Wait is counted."""
    model, tokenizer = tiny_model
    fmt = ThinkingFormat(think_start="[", think_end="]", stop=tuple("aeiou0123456789"), answer_prefix="=")
    budget = Budget(thinking_budget=24, n_ignore=2, max_answer_tokens=6, temperature=1.0)
    prompts, seeds = ["U:q\nA:"] * 12, [sample_seed(0, s) for s in range(12)]
    traces = generate_traces(HFBackend(model, tokenizer), prompts, seeds, budget, fmt)
    for trace in traces:
        assert trace.thinking_tokens <= 24 and trace.answer_tokens <= 6
        assert trace.thinking.count("Wait") >= trace.n_forced and trace.n_forced <= 2
        if not trace.thinking_cut and trace.thinking_tokens < 24:
            assert trace.n_forced == 2  # it stopped early: forced on exactly n_ignore times
        assert trace.completion.startswith("[" + trace.thinking + "]" + ("=" if trace.thinking_cut else ""))
    assert any(t.n_forced == 2 for t in traces)
    again = generate_traces(HFBackend(model, tokenizer), prompts, seeds, budget, fmt)
    assert again == traces  # reproducible for fixed seeds


@pytest.mark.slow
def test_budget_forcing_on_the_real_smollm2():
    from lpts_helpers.engine.backends import make_backend
    from lpts_helpers.engine.generation import chat_prompt

    backend = make_backend("hf", "smollm2-135m", progress=False)
    prompt = chat_prompt(backend.tokenizer, "What is 3 + 4? Put your final answer within \\boxed{}.")
    budget = Budget(thinking_budget=48, n_ignore=1, max_answer_tokens=24)
    (trace,) = generate_traces(backend, [prompt], [0], budget, S1_THINKING)
    assert trace.thinking_tokens <= 48 and trace.answer_tokens <= 24
    assert trace.completion.startswith("<|im_start|>think\n")
    assert "<|im_start|>answer\n" in trace.completion
    assert trace.n_forced == 1 or trace.thinking_cut  # a chat model ends early, so it is forced on once
