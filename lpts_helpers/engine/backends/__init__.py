"""Generation backends: one small interface over transformers (CPU/GPU) and vLLM (GPU, paper scale).

A backend continues raw text prompts (the chat template is already applied) and reports, per request, the text it
generated, how many tokens that took and why it stopped. Budget forcing and parallel sampling
(``lpts_helpers.engine.scaling``) are written once on top of this interface, so both backends scale the same way.
Introduced in ``00-models-and-benchmarks``; the scaling chapters run everything through it.
"""

from __future__ import annotations

from ...core.config import ConfigError
from .base import Backend, Completion, LazyBackend, Request
from .hf import HFBackend
from .vllm import VLLMBackend

__all__ = ["BACKENDS", "Backend", "Completion", "LazyBackend", "Request", "make_backend"]

BACKENDS = ("hf", "vllm")


def make_backend(name: str, model: str, **options) -> Backend:
    """Build backend ``name`` ("hf" or "vllm") for a preset or checkpoint directory; ``options`` go to it."""
    if name == "hf":
        return HFBackend.load(model, **options)
    if name == "vllm":  # the vllm package itself is imported only here, on first use
        return VLLMBackend.load(model, **options)
    raise ConfigError(f"backend={name!r} is not known; allowed: {list(BACKENDS)}")
