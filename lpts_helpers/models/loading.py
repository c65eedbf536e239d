"""Loading a model by name as a transformers causal LM (and its tokenizer), and writing one back out.

A name resolves through ``models.registry``: a preset, a checkpoint folder, or a prefixed name whose registered
resolver loads it (a pruned model is rebuilt from its base and recipe). Loading never trains: a model whose
weights are not on disk is an error that names the command that rebuilds them. Introduced in
``00-models-and-benchmarks``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import io
from pathlib import Path
from typing import Any

from .presets import OFFLINE_PRESETS, PRESETS
from .registry import base_model, resolver, source


@contextlib.contextmanager
def _explain_hub_errors(name: str):
    """Turn a failed hub download of a preset into an error that says so plainly and names the offline presets."""
    try:
        yield
    except OSError as err:
        preset = PRESETS.get(name)
        if preset is None or preset.source != "hub":
            raise
        raise OSError(f"could not load {preset.location!r} from the Hugging Face hub (model {name!r}): {err}. "
                      f"Paper-scale presets need hub access or a local copy (pass its directory as the model); "
                      f"presets that run offline: {list(OFFLINE_PRESETS)}") from err


@functools.lru_cache(maxsize=4)
def load_tokenizer(name: str):
    """The tokenizer of a preset or checkpoint directory (cached: a GGUF tokenizer takes seconds to parse); a
    made model's is its base model's."""
    from transformers import AutoTokenizer

    if resolver(name) is not None:
        return load_tokenizer(base_model(name))
    path, kwargs = source(name)
    quiet = _no_progress_bars() if "gguf_file" in kwargs else contextlib.nullcontext()  # GGUF parsing draws a bar
    with _explain_hub_errors(name), quiet:
        return AutoTokenizer.from_pretrained(path, **kwargs)


def default_device() -> str:
    """CUDA when a GPU is present, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@functools.lru_cache(maxsize=2)
def load_model(name: str, *, device: str = "cpu", dtype: str = "auto"):
    """Load a model by name as a transformers causal LM in eval mode, with its tokenizer.

    ``dtype="auto"`` means bf16 on CUDA (as the paper evaluates) and fp32 on the CPU. Cached, so the runs of one
    chapter share a model: callers that change weights (pruning) work on a copy.
    """
    made = resolver(name)
    if made is not None:
        return made.load(name, device, dtype)
    return load_weights(name, device=device, dtype=dtype), load_tokenizer(name)


def load_weights(name: str, *, device: str = "cpu", dtype: str = "auto"):
    """The weights of a preset or checkpoint folder as a causal LM in eval mode (uncached; ``load_model`` caches)."""
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    path, kwargs = source(name)
    transformers.utils.logging.disable_progress_bar()  # loading bars would land in the book's pages
    torch_dtype = {"auto": torch.bfloat16 if device.startswith("cuda") else torch.float32,
                   "bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dtype]
    # transformers' GGUF conversion draws its own tqdm bar (on stderr, or as a widget inside Jupyter), which
    # would land in the book's pages.
    quiet = _no_progress_bars() if "gguf_file" in kwargs else contextlib.nullcontext()
    with _explain_hub_errors(name), quiet:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype, **kwargs)
    return model.to(device).eval()


def save_checkpoint(model: Any, tokenizer: Any, path: str | Path) -> Path:
    """Write an ordinary HF checkpoint (weights, config with the new depth, tokenizer) that reloads anywhere."""
    path = Path(path)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


@contextlib.contextmanager
def _no_progress_bars():
    """Silence transformers' GGUF conversion bar for a while. tqdm reads ``TQDM_DISABLE`` only when it is first
    imported, and inside a notebook ``tqdm.auto`` draws a widget rather than writing to stderr, so the module's
    ``tqdm`` is swapped for a disabled one (and stderr redirected for any other writer)."""
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    original = getattr(gguf_utils, "tqdm", None)
    if original is not None:
        gguf_utils.tqdm = functools.partial(original, disable=True)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        if original is not None:
            gguf_utils.tqdm = original


def pad_token_id(tokenizer: Any) -> int:
    """The id batches are padded with: the tokenizer's pad token, else its end of sequence."""
    return tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id


def right_padded(sequences: list[list[int]], pad_id: int, device: Any = "cpu") -> tuple[Any, Any]:
    """Token id lists as one right-padded batch: ``(input_ids, attention_mask)`` tensors on ``device``.

    Right padding leaves every sequence's positions unchanged, so the logits of its real tokens do not depend on
    the batch (scoring, calibration). Generation pads on the left instead (``backends.hf``).
    """
    import torch

    width = max(map(len, sequences))
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(sequences), width), dtype=torch.long)
    for row, sequence in enumerate(sequences):
        ids[row, :len(sequence)], mask[row, :len(sequence)] = torch.tensor(sequence), 1
    return ids.to(device), mask.to(device)


def cache_keyword(model: Any) -> str:
    """The name ``model.forward`` takes (and its output carries) the key/value cache under: transformers renamed
    ``past_key_values`` to ``cache`` in 5.2x; both spellings are accepted."""
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"
