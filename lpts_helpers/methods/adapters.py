"""LoRA adapters and trainable copies, shared by the trainings that adapt a pretrained or pruned model (recovery,
the thinking SmolLM2)."""

from __future__ import annotations

import contextlib
from typing import Any

from ..core.config import ConfigError

PROJECTIONS = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")  # the paper's seven


def check_lora_targets(targets: tuple[str, ...]) -> None:
    unknown = sorted(set(targets) - set(PROJECTIONS))
    if unknown:
        raise ConfigError(f"lora_targets has unknown entries {unknown}; allowed: {list(PROJECTIONS)}")


def lora_config(config: Any) -> Any:
    """peft's LoRA settings from a training config's lora_rank, lora_alpha, lora_dropout and lora_targets."""
    from peft import LoraConfig

    return LoraConfig(r=config.lora_rank, lora_alpha=config.lora_alpha, lora_dropout=config.lora_dropout,
                      target_modules=list(config.lora_targets), task_type="CAUSAL_LM")


def trainable_copy(model: Any) -> Any:
    """A trainable copy: ``load_model`` caches the model it returns, which other runs go on using."""
    import copy

    trainable = copy.deepcopy(model).train()
    if getattr(trainable, "hf_quantizer", None) is not None and trainable.hf_quantizer.__class__.__name__.startswith(
            "Gguf"):  # GGUF weights are dequantized on load: plain float tensors that train (and save) as such
        trainable.hf_quantizer, trainable.is_quantized = None, False
        with contextlib.suppress(AttributeError):
            del trainable.config.quantization_config
    for parameter in trainable.parameters():
        parameter.requires_grad_(True)
    return trainable
