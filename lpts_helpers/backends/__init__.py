"""Generation backends: one small interface over transformers (CPU/GPU) and vLLM (GPU, paper scale).

A backend continues raw text prompts (the chat template is already applied) and reports, per request, the text it
generated, how many tokens that took and why it stopped. Budget forcing and parallel sampling
(``lpts_helpers.scaling``) are written once on top of this interface, so both backends scale the same way.
Introduced in ``00-models-and-benchmarks``; the scaling chapters run everything through it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from ..config import ConfigError

BACKENDS = ("hf", "vllm")


@dataclass(frozen=True)
class Request:
    """One continuation to generate."""

    prompt: str
    max_tokens: int
    temperature: float = 0.0  # 0 = greedy
    top_p: float = 1.0
    seed: int = 0  # per request: a sample's draw does not depend on what else is in the batch
    stop: tuple[str, ...] = field(default=())  # stop strings; the matched one is not included in the text


@dataclass(frozen=True)
class Completion:
    """What a backend generated for one request."""

    text: str  # generated text, cut before a matched stop string
    n_tokens: int  # generated tokens, the one that completed a stop string or the end-of-sequence token included
    finish_reason: Literal["stop", "length"]  # stop: end-of-sequence or a stop string; length: max_tokens reached
    stop_reason: str | None  # the stop string that matched, "eos", or None when cut by max_tokens


class Backend(Protocol):
    """Anything that turns requests into completions, in order."""

    name: str
    tokenizer: Any  # a transformers tokenizer: chat templates and token counts
    device: Any

    def complete(self, requests: list[Request]) -> list[Completion]: ...


class LazyBackend:
    """A backend that is built on first use, so that runs read back from the store never load a model."""

    def __init__(self, factory: Callable[[], Backend]):
        self._factory, self._backend = factory, None

    @property
    def loaded(self) -> bool:
        return self._backend is not None

    def __getattr__(self, name: str) -> Any:  # complete, tokenizer, device, name: all from the real backend
        if self._backend is None:
            self._backend = self._factory()
        return getattr(self._backend, name)


def make_backend(name: str, model: str, **options) -> Backend:
    """Build backend ``name`` ("hf" or "vllm") for a preset or checkpoint directory; ``options`` go to it."""
    if name == "hf":
        from .hf import HFBackend

        return HFBackend.load(model, **options)
    if name == "vllm":
        from .vllm import VLLMBackend

        return VLLMBackend.load(model, **options)
    raise ConfigError(f"backend={name!r} is not known; allowed: {list(BACKENDS)}")
