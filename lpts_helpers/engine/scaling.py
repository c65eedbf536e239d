"""Test-time scaling on any backend: budget forcing (sequential) and independent samples (parallel).

Budget forcing follows s1 (Muennighoff et al., 2025) as the paper's harness runs it (PAPER.md, "Test-time
scaling"): generation starts inside the model's thinking section with a budget of thinking tokens.
- The model ends its thinking early (its end-of-thinking delimiter, or end of turn) and forced continuations
  remain: the delimiter is suppressed and the continuation string ("Wait") appended; thinking goes on with what
  is left of the budget. Up to ``n_ignore`` times.
- The budget runs out: the thinking is cut, and the end-of-thinking delimiter plus "Final Answer:" is appended.
- Either way the answer is then generated, up to ``max_answer_tokens``.
Parallel scaling draws ``n_samples`` independent samples per prompt, each with its own seed. All live sequences
of a round go to the backend together, so both regimes batch across prompts and samples.
Used by the scaling chapters; introduced in ``00-models-and-benchmarks`` (plain generation).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..models.presets import ThinkingFormat
from .backends import Backend, Request


@dataclass(frozen=True)
class Budget:
    """How one sample may think and answer (the test-time-scaling knobs, named as in the configs)."""

    thinking_budget: int | None  # thinking tokens; None: no thinking section, answer directly
    n_ignore: int = 0  # times an early end of thinking is suppressed with the continuation string
    continuation: str = "Wait"
    max_answer_tokens: int = 256
    temperature: float = 0.0
    top_p: float = 1.0
    answer_stop: tuple[str, ...] = ()  # e.g. few-shot prompts stop where the model starts a new question


@dataclass(frozen=True)
class Trace:
    """One sample's generation, split into its sections, with the counts the run store records."""

    thinking: str  # the thinking as generated, forced continuations included ("" without a thinking section)
    answer: str
    completion: str  # everything after the prompt, delimiters and appended strings included
    thinking_tokens: int  # generated thinking tokens (appended continuation strings not counted, as in s1)
    answer_tokens: int
    n_forced: int  # continuation strings appended
    thinking_cut: bool  # True when the budget ran out and the thinking was cut
    finish_reason: str  # of the answer: "stop" (end of turn) or "length" (max_answer_tokens reached)


def sample_seed(seed: int, sample: int, round_: int = 0) -> int:
    """A distinct, reproducible seed for each sample and each generation round of it."""
    return (seed * 1_000_003 + sample * 7_919 + round_) % (2**63)


@dataclass
class _State:
    prompt: str  # the chat prompt, ending where the assistant's turn starts
    seed: int
    thinking: str = ""
    thinking_tokens: int = 0
    n_forced: int = 0
    rounds: int = 0
    cut: bool = False
    thinking_done: bool = False


def generate_traces(backend: Backend, prompts: list[str], seeds: list[int], budget: Budget,
                    fmt: ThinkingFormat) -> list[Trace]:
    """One trace per prompt (repeat a prompt with different seeds for parallel samples)."""
    if len(prompts) != len(seeds):
        raise ValueError(f"got {len(prompts)} prompts but {len(seeds)} seeds")
    states = [_State(p, s) for p, s in zip(prompts, seeds)]
    if budget.thinking_budget is not None:
        _think(backend, states, budget, fmt)
    answer_prompts = [_answer_prefix(state, budget, fmt) for state in states]
    answers = backend.complete([
        Request(prompt=state.prompt + prefix, max_tokens=budget.max_answer_tokens, temperature=budget.temperature,
                top_p=budget.top_p, seed=sample_seed(state.seed, 0, state.rounds), stop=budget.answer_stop)
        for state, prefix in zip(states, answer_prompts)])
    return [Trace(thinking=state.thinking, answer=answer.text, completion=prefix + answer.text,
                  thinking_tokens=state.thinking_tokens, answer_tokens=answer.n_tokens, n_forced=state.n_forced,
                  thinking_cut=state.cut, finish_reason=answer.finish_reason)
            for state, prefix, answer in zip(states, answer_prompts, answers)]


def _think(backend: Backend, states: list[_State], budget: Budget, fmt: ThinkingFormat) -> None:
    """Rounds of thinking for every live sequence until each is cut by the budget or ends for good."""
    while live := [s for s in states if not s.thinking_done]:
        requests = [Request(prompt=s.prompt + fmt.think_start + s.thinking,
                            max_tokens=budget.thinking_budget - s.thinking_tokens, temperature=budget.temperature,
                            top_p=budget.top_p, seed=sample_seed(s.seed, 0, s.rounds), stop=fmt.stop)
                    for s in live]
        for state, out in zip(live, backend.complete(requests)):
            state.rounds += 1
            state.thinking += out.text
            state.thinking_tokens += out.n_tokens
            if out.finish_reason == "length" or state.thinking_tokens >= budget.thinking_budget:
                state.cut = out.finish_reason == "length"
                state.thinking_done = True
            elif state.n_forced < budget.n_ignore:
                state.thinking += budget.continuation
                state.n_forced += 1
            else:
                state.thinking_done = True


def _answer_prefix(state: _State, budget: Budget, fmt: ThinkingFormat) -> str:
    """What stands between the prompt and the answer: the thinking section, closed, or nothing."""
    if budget.thinking_budget is None:
        return ""
    cue = fmt.answer_prefix if state.cut else ""
    return fmt.think_start + state.thinking + fmt.think_end + cue
