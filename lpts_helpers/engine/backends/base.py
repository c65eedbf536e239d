"""The generation interface every backend implements: requests in, completions out, built lazily."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol


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
