"""Layer pruning as the paper does it — ShortGPT, reverse-order, LaCo — plus explicit, random and single-layer
removal, on any transformers decoder-only model.

Methods (PAPER.md, "Pruning methods"; the paper's code is followed where PAPER.md states a detail):
- ``shortgpt``: Block Influence on calibration text. For layer i, BI_i = 1 − cos(x_i, x_{i+1}) per token, x_i the
  hidden state entering layer i and x_{i+1} the one leaving it; NaN similarities count as 0.5; padding positions
  are included; the mean is over a batch's tokens, then over batches. The n layers with the lowest BI go, in one
  shot. As in the paper's code the last layer is not scored (``score_last_layer=True`` scores it, as the original
  ShortGPT does); ``angular=True`` uses arccos(cos)/π instead.
- ``reverse``: the n deepest layers go.
- ``laco``: top-down greedy layer collapse. Base layer ℓ starts at L−1−M; the candidate merges the M−1 layers
  after ℓ into ℓ and deletes them; it is kept when the mean cosine similarity between the original model's and
  the candidate's last hidden states (each calibration sentence's states flattened) exceeds the threshold T,
  and ℓ then moves down by the interval I, else by 1. Two merge rules: ``rdsc`` (LaCo's paper:
  θ_ℓ ← θ_ℓ + Σ_k (θ_k − θ_ℓ) on the attention and MLP projection weights) and ``as-coded`` (the paper's and LaCo's
  code, where each difference is taken against the already updated copy, so ℓ ends with the last merged layer's
  projection weights and keeps its own norms and biases). ``threshold=None`` searches T for ``n_layers`` removed.
- ``selection``: remove the listed ``layers``; ``random``: n layers drawn with ``seed``.
A prune run stores its recipe (scores, removed layers, merges), not weights: ``pruned_model`` rebuilds the pruned
model from the base in seconds and ``save_checkpoint`` writes an ordinary HF checkpoint (fewer layers,
``num_hidden_layers`` and per-layer config lists updated, attention layer indices renumbered) that reloads with
``from_pretrained`` and loads in vLLM. Used by the pruning chapters.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..core.config import ConfigError, knob
from ..core.paths import BENCHMARKS_DIR
from ..core.store import Run, RunStore
from ..models import registry
from ..models.loading import load_model, pad_token_id, right_padded, save_checkpoint
from ..models.registry import ModelStageConfig, base_model, check_model, model_fingerprint, run_model_name
from ..tasks.benchmarks import load_benchmark
from .organism import heldout_examples

METHODS = ("shortgpt", "reverse", "laco", "selection", "random")
METHOD_TITLES = {"shortgpt": "ShortGPT", "reverse": "reverse-order", "laco": "LaCo", "selection": "chosen layers",
                 "random": "random layers"}
CALIBRATIONS = ("gsm8k-train", "math500", "organism-thinking", "organism-direct")
PROJECTIONS = ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj", "mlp.gate_proj",
               "mlp.up_proj", "mlp.down_proj")
METHOD_VERSION = 1


@dataclass(frozen=True)
class PruneConfig(ModelStageConfig):
    """Which layers of which model to remove, and how they are chosen (the run store's "prune" stage)."""

    STAGE = "prune"
    PROFILE_DEFAULTS = {"smoke": {"n_calibration": 8, "calibration_length": 32}, "default": {},
                        "paper": {"model": "qwen3-8b", "n_calibration": 1000}}

    model: str = knob("smollm2-135m", doc="a model preset or a local checkpoint directory")
    method: str = knob("shortgpt", choices=METHODS, doc="how the layers are chosen")
    n_layers: int = knob(1, ge=0, doc="layers to remove (laco: the target of the threshold search)")
    layers: tuple[int, ...] = knob((), ge=0, doc="selection: the layer indices to remove")
    seed: int = knob(0, ge=0, doc="random: seed of the draw")
    calibration: str = knob("gsm8k-train", choices=CALIBRATIONS, doc="local calibration text (paper: BookCorpus)")
    n_calibration: int = knob(64, ge=1, doc="calibration texts (paper: 1000 sentences)")
    calibration_length: int = knob(128, ge=2, doc="tokens per calibration text at most")
    calibration_batch_size: int = knob(8, ge=1, doc="calibration texts per forward pass (paper: 8)")
    score_last_layer: bool = knob(False, doc="shortgpt: score the last layer too (original ShortGPT)")
    angular: bool = knob(False, doc="shortgpt: angular distance arccos(cos)/pi instead of 1 - cos")
    merge_layers: int = knob(2, ge=2, doc="laco: M, layers per merge (README example 2; code default 7)")
    threshold: float | None = knob(None, ge=-1.0, le=1.0, doc="laco: T; None = search T for n_layers removed")
    interval: int = knob(1, ge=1, doc="laco: I, how far the base layer moves down after a merge")
    merge_rule: str = knob("as-coded", choices=("as-coded", "rdsc"), doc="laco: how parameters are merged")
    n_laco_sentences: int = knob(5, ge=1, doc="laco: calibration sentences for the similarity check")

    def validate(self) -> None:
        check_model(self.model)
        if self.method == "selection" and (not self.layers or len(set(self.layers)) != len(self.layers)):
            raise ConfigError(f"layers={list(self.layers)!r}: selection needs a non-empty list of distinct indices")
        if self.method != "selection" and self.layers:
            raise ConfigError(f"layers={list(self.layers)!r} applies to method='selection' only")
        if self.method in ("shortgpt", "reverse", "random") and self.n_layers < 1:
            raise ConfigError(f"n_layers={self.n_layers} is out of range for method={self.method!r}; allowed: >= 1")
        depth = registry.model_depth(self.model)
        if depth is not None:
            check_depth(self, depth)

    def versions(self) -> dict[str, int | str]:
        return {**super().versions(), "prune_method": METHOD_VERSION}

    def n_removed(self) -> int:
        return len(self.layers) if self.method == "selection" else self.n_layers


# --- the decoder stack of a transformers causal LM ---------------------------------------------------------------

def decoder_layers(model: Any) -> torch.nn.ModuleList:
    """The model's list of decoder layers (``model.model.layers`` for Llama/Qwen/Mistral-style models)."""
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    if not isinstance(layers, torch.nn.ModuleList):
        raise TypeError(f"{type(model).__name__} has no model.layers ModuleList: not a supported decoder-only model")
    return layers


def check_removal(n_total: int, removed: list[int]) -> None:
    bad = [i for i in removed if not 0 <= i < n_total]
    if bad:
        raise ConfigError(f"layers {bad} do not exist; allowed: indices 0..{n_total - 1}")
    if len(set(removed)) >= n_total:
        raise ConfigError(f"removing {len(set(removed))} of {n_total} layers leaves none; allowed: fewer than "
                          f"{n_total}")


def check_depth(config: PruneConfig, depth: int) -> None:
    """What ``config`` asks to remove must leave some of a model's ``depth`` layers (an error naming the depth)."""
    if config.method == "selection":
        check_removal(depth, list(config.layers))
    elif config.n_layers >= depth:
        raise ConfigError(f"n_layers={config.n_layers} would remove every layer of {config.model!r}, which has "
                          f"{depth}; allowed: 1..{depth - 1}")


def remove_layers(model: Any, removed: list[int]) -> Any:
    """Delete the listed decoder layers in place and make the model consistent again (returns the model).

    Kept layers are renumbered (``self_attn.layer_idx``, which indexes the KV cache), ``num_hidden_layers`` is
    updated and per-layer config lists (``layer_types``) are cut to the kept layers, so that generation with a KV
    cache works and ``save_pretrained`` writes a valid config.
    """
    layers = decoder_layers(model)
    check_removal(len(layers), removed)
    keep = [i for i in range(len(layers)) if i not in set(removed)]
    model.model.layers = torch.nn.ModuleList(layers[i] for i in keep)
    for new_index, layer in enumerate(model.model.layers):
        attention = getattr(layer, "self_attn", None)
        if attention is not None and hasattr(attention, "layer_idx"):
            attention.layer_idx = new_index
    config = model.config
    if isinstance(getattr(config, "layer_types", None), list):
        config.layer_types = [config.layer_types[i] for i in keep]
    config.num_hidden_layers = len(keep)
    return model


# --- ShortGPT: Block Influence --------------------------------------------------------------------------------------

def calibration_texts(source: str, n: int) -> list[str]:
    """Local calibration text (the paper used BookCorpus, which is not reachable here): worked solutions, or
    held-out conversations of the model organism's world."""
    if source.startswith("organism-"):
        return ["".join(text for text, _ in segments) for segments in heldout_examples(source[9:], n)]
    if source == "gsm8k-train":
        rows = (BENCHMARKS_DIR / "gsm8k" / "train.jsonl").read_text().splitlines()[:n]
        return [f"{(row := json.loads(line))['question']}\n{row['answer']}" for line in rows]
    frame = load_benchmark("math500")
    return [f"{q}\n{a}" for q, a in zip(frame["question"][:n], frame["answer"][:n])]


def token_distance(before: torch.Tensor, after: torch.Tensor, angular: bool = False) -> torch.Tensor:
    """Per-token 1 − cos (or arccos(cos)/π) between hidden states; a NaN similarity counts as 0.5."""
    cos = torch.nan_to_num(torch.nn.functional.cosine_similarity(before, after, dim=-1), nan=0.5)
    return torch.arccos(cos.clamp(-1, 1)) / math.pi if angular else 1 - cos


def block_influence(model: Any, tokenizer: Any, texts: list[str], *, max_length: int = 128, batch_size: int = 8,
                    score_last_layer: bool = False, angular: bool = False) -> np.ndarray:
    """BI per decoder layer (NaN for an unscored last layer), as PAPER.md describes ShortGPT in the paper's code."""
    layers = decoder_layers(model)
    inputs: dict[int, torch.Tensor] = {}
    outputs: dict[int, torch.Tensor] = {}
    hooks = []
    for index, layer in enumerate(layers):
        def pre(module, args, kwargs, index=index):
            inputs[index] = (args[0] if args else kwargs["hidden_states"]).detach().float()

        def post(module, args, output, index=index):
            outputs[index] = (output[0] if isinstance(output, tuple) else output).detach().float()

        hooks += [layer.register_forward_pre_hook(pre, with_kwargs=True), layer.register_forward_hook(post)]
    n_layers = len(layers)
    totals, batches = np.zeros(n_layers), 0
    try:
        for start in range(0, len(texts), batch_size):
            encoded = [tokenizer(t, add_special_tokens=False)["input_ids"][:max_length]
                       for t in texts[start:start + batch_size]]
            ids, mask = right_padded(encoded, pad_token_id(tokenizer), model.device)
            with torch.inference_mode():
                model(input_ids=ids, attention_mask=mask, use_cache=False)
            for i in range(n_layers):  # outputs[i] is the input of layer i + 1
                totals[i] += token_distance(inputs[i], outputs[i], angular).mean().item()  # padding included
            batches += 1
    finally:
        for hook in hooks:
            hook.remove()
    scores = totals / max(batches, 1)
    if not score_last_layer:
        scores[-1] = np.nan
    return scores


def lowest(scores: np.ndarray, n: int) -> list[int]:
    """The n layers with the lowest score (ties: the lower index first); unscored (NaN) layers never."""
    order = sorted((s, i) for i, s in enumerate(scores) if not np.isnan(s))
    if n > len(order):
        raise ConfigError(f"n_layers={n}: only {len(order)} layers are scored; allowed: <= {len(order)}")
    return sorted(i for _, i in order[:n])


# --- LaCo ---------------------------------------------------------------------------------------------------------

def _parameter(layer: torch.nn.Module, name: str) -> torch.Tensor | None:
    module = layer.get_submodule(name)
    return getattr(module, "weight", None)


def merge_into(base: torch.nn.Module, merged: list[torch.nn.Module], rule: str) -> None:
    """Merge ``merged`` layers into ``base`` in place (projection weights only; norms and biases untouched)."""
    with torch.no_grad():
        for name in PROJECTIONS:
            target = _parameter(base, name)
            if target is None:
                continue
            if rule == "rdsc":
                original = target.detach().clone()
                for layer in merged:
                    target += _parameter(layer, name) - original
            else:  # as-coded: each difference against the updated copy, so the last merged layer's weights remain
                for layer in merged:
                    target += _parameter(layer, name) - target


def _last_hidden(model: Any, tokenizer: Any, sentences: list[str]) -> list[torch.Tensor]:
    """Each sentence's last hidden states, flattened (one batched forward pass; padding positions dropped)."""
    encoded = [tokenizer(s, add_special_tokens=False)["input_ids"] for s in sentences]
    ids, mask = right_padded(encoded, pad_token_id(tokenizer), model.device)
    with torch.inference_mode():
        hidden = model(input_ids=ids, attention_mask=mask, output_hidden_states=True, use_cache=False).hidden_states
    return [hidden[-1][row, :len(e)].float().flatten() for row, e in enumerate(encoded)]


def _set_layers(model: Any, layers: list[torch.nn.Module], layer_types: list | None) -> None:
    """Point the model at ``layers`` (renumbered) with matching config; used to try LaCo candidates in place."""
    model.model.layers = torch.nn.ModuleList(layers)
    for index, layer in enumerate(layers):
        if hasattr(getattr(layer, "self_attn", None), "layer_idx"):
            layer.self_attn.layer_idx = index
    model.config.num_hidden_layers = len(layers)
    if layer_types is not None:
        model.config.layer_types = list(layer_types)


@contextlib.contextmanager
def without_layer(model: Any, index: int):
    """The model with decoder layer ``index`` left out, in place (no copy), restored on exit; ``-1``: whole."""
    layers = list(decoder_layers(model))
    types = getattr(model.config, "layer_types", None)
    types = list(types) if isinstance(types, list) else None
    if index >= 0:
        kept_types = None if types is None else types[:index] + types[index + 1:]
        _set_layers(model, layers[:index] + layers[index + 1:], kept_types)
    try:
        yield model
    finally:
        _set_layers(model, layers, types)


def laco(model: Any, tokenizer: Any, sentences: list[str], *, merge_layers: int, threshold: float, interval: int,
         rule: str) -> tuple[Any, list[tuple[int, list[int]]]]:
    """Run LaCo's greedy collapse on a copy of ``model``; return it and the accepted merges as
    ``(base index, merged indices)`` in the original model's numbering, in the order they were accepted.

    A candidate is tried in place: only its merged base layer is a new module, so no model copy is made per try.
    """
    reference = _last_hidden(model, tokenizer, sentences)
    current = copy.deepcopy(model)
    layers = list(decoder_layers(current))
    types = getattr(current.config, "layer_types", None)
    types = list(types) if isinstance(types, list) else None
    original_index = list(range(len(layers)))  # current position -> original layer index
    merges = []
    base = len(layers) - 1 - merge_layers
    while base >= 0:
        stop = min(base + merge_layers, len(layers))
        if stop - base < 2:
            base -= 1
            continue
        merged_base = copy.deepcopy(layers[base])
        merge_into(merged_base, layers[base + 1:stop], rule)
        trial = layers[:base] + [merged_base] + layers[stop:]
        trial_types = None if types is None else types[:base + 1] + types[stop:]
        _set_layers(current, trial, trial_types)
        states = _last_hidden(current, tokenizer, sentences)
        similarity = float(np.mean([torch.nn.functional.cosine_similarity(a, b, dim=0).item()
                                    for a, b in zip(reference, states)]))
        if similarity > threshold:
            merges.append((original_index[base], original_index[base + 1:stop]))
            del original_index[base + 1:stop]
            layers, types = trial, trial_types
            base -= interval
        else:
            _set_layers(current, layers, types)
            base -= 1
    _set_layers(current, layers, types)
    return current, merges


LACO_SENTENCES = (  # short encyclopedia-style prefixes, in the spirit of LaCo's five calibration sentences
    "The river rises in the northern hills and flows south through a broad valley before it reaches the sea.",
    "In mathematics, a prime number is a natural number greater than one that has no divisors other than",
    "The library was founded in the nineteenth century and today holds more than a million printed books.",
    "Photosynthesis is the process by which green plants use light to turn water and carbon dioxide into",
    "The treaty was signed after long negotiations, and both governments agreed to reduce their armies.",
)


def search_threshold(model: Any, tokenizer: Any, sentences: list[str], n_layers: int, *, merge_layers: int,
                     interval: int, rule: str, steps: int = 12) -> tuple[float, Any, list]:
    """Bisect T for ``n_layers`` removed (fewer layers go as T rises); return T, the model and its merges.

    When no T removes exactly ``n_layers``, the closest count wins, with ties going to fewer removed layers.
    """
    low, high = -1.0, 1.0  # at T = -1 every candidate is accepted; at T = 1 none is
    best = None
    for _ in range(steps):
        middle = (low + high) / 2
        pruned, merges = laco(model, tokenizer, sentences, merge_layers=merge_layers, threshold=middle,
                              interval=interval, rule=rule)
        removed = sum(len(m) for _, m in merges)
        key = (abs(removed - n_layers), -removed)
        if best is None or key < best[0]:
            best = (key, middle, pruned, merges)
        if removed == n_layers:
            break
        low, high = (middle, high) if removed > n_layers else (low, middle)
    _, threshold, pruned, merges = best
    return threshold, pruned, merges


# --- runs -----------------------------------------------------------------------------------------------------------

def choose_layers(config: PruneConfig, model: Any, tokenizer: Any) -> dict[str, Any]:
    """Apply the config's method to ``model`` (not modified): scores, removed layers and LaCo's merges."""
    n_total = len(decoder_layers(model))
    check_depth(config, n_total)  # a stored run's model: its depth is known only here
    scores = np.full(n_total, np.nan)
    merges: list = []
    threshold = config.threshold
    if config.method == "shortgpt":
        texts = calibration_texts(config.calibration, config.n_calibration)
        scores = block_influence(model, tokenizer, texts, max_length=config.calibration_length,
                                 batch_size=config.calibration_batch_size,
                                 score_last_layer=config.score_last_layer, angular=config.angular)
        removed = lowest(scores, config.n_layers)
    elif config.method == "reverse":
        removed = list(range(n_total - config.n_layers, n_total))
    elif config.method == "random":
        removed = sorted(np.random.default_rng(config.seed).choice(n_total, config.n_layers, replace=False).tolist())
    elif config.method == "selection":
        removed = sorted(config.layers)
    else:
        sentences = list(LACO_SENTENCES[:config.n_laco_sentences])
        if threshold is None:
            threshold, _, merges = search_threshold(model, tokenizer, sentences, config.n_layers,
                                                    merge_layers=config.merge_layers, interval=config.interval,
                                                    rule=config.merge_rule)
        else:
            _, merges = laco(model, tokenizer, sentences, merge_layers=config.merge_layers, threshold=threshold,
                             interval=config.interval, rule=config.merge_rule)
        removed = sorted(i for _, merged in merges for i in merged)
    check_removal(n_total, removed)
    return {"scores": scores, "removed": removed, "merges": merges, "threshold": threshold, "n_total": n_total}


def run_prune(config: PruneConfig, store: RunStore, *, model: Any = None, tokenizer: Any = None,
              fresh: bool = False) -> Run:
    """Choose the layers (read back when stored); one row per original layer: score, removed, merged into."""
    def compute(chunk: list[dict]) -> list[dict]:
        base, tok = (model, tokenizer) if model is not None else load_model(config.model)
        chosen = choose_layers(config, base, tok)
        merged_into = {i: b for b, merged in chosen["merges"] for i in merged}
        return [{"item_id": "layers", "layer": i, "score": float(chosen["scores"][i]),
                 "removed": i in chosen["removed"], "merged_into": merged_into.get(i, -1),
                 "threshold": chosen["threshold"], "method": config.method}
                for i in range(chosen["n_total"])]

    def metrics(samples: pd.DataFrame) -> dict[str, Any]:
        removed = samples.loc[samples["removed"], "layer"].tolist()
        merges = samples[samples["merged_into"] >= 0].groupby("merged_into")["layer"].apply(list)
        order = sorted(merges.items(), key=lambda item: -item[0])  # LaCo accepts merges top-down
        return {"removed": removed, "n_removed": len(removed), "n_total": len(samples),
                "merges": [[int(base), [int(i) for i in merged]] for base, merged in order],
                "threshold": samples["threshold"].iloc[0]}

    return store.run(config, [{"item_id": "layers"}], compute, fresh=fresh, metrics=metrics)


def pruned_model(config: PruneConfig, store: RunStore) -> tuple[Any, Any]:
    """The pruned model (a copy of the base with the stored recipe applied) and its tokenizer."""
    run = run_prune(config, store)
    base, tokenizer = load_model(config.model)
    return apply_recipe(base, run.metrics, config.merge_rule), tokenizer


def apply_recipe(base: Any, recipe: dict[str, Any], rule: str = "as-coded") -> Any:
    """A copy of ``base`` with a prune run's merges applied in the order LaCo accepted them (top-down, so a base
    layer that was itself merged into a lower one carries its own merge along) and its removed layers deleted."""
    model = copy.deepcopy(base)
    layers = decoder_layers(model)
    for base_index, merged in recipe["merges"]:
        merge_into(layers[base_index], [layers[i] for i in merged], rule)
    return remove_layers(model, list(recipe["removed"]))


# --- pruned models by name: the registry's resolver for "pruned:" ------------------------------------------------

PRUNED_PREFIX = "pruned:"


def pruned_run(name: str) -> Path | None:
    """For a pruned model's name (``pruned:<prune run folder>``, the folder relative to the repository root or
    absolute), the stored prune run that holds its recipe; None for any other name.

    A pruned model is named by its recipe, not by saved weights: the recipe is a few kilobytes in the run store,
    and the pruned model is rebuilt from its base in seconds (``apply_recipe``).
    """
    return registry.named_run(name, PRUNED_PREFIX)


def pruned_name(config: PruneConfig, store: RunStore) -> str:
    """The model name of ``config``'s pruned model (its prune run is made first when not stored): evaluation
    configs take it as ``model``, and every loader rebuilds the model from the base and the stored recipe."""
    return run_model_name(PRUNED_PREFIX, run_prune(config, store).path)


def pruned_checkpoint(name: str) -> Path:
    """The pruned model ``name`` written as an ordinary checkpoint beside its recipe (once; for engines such as
    vLLM that load weights from disk). Kept out of git: the recipe is what is stored."""
    path = pruned_run(name) / "checkpoint"
    if not (path / "config.json").is_file():
        model, tokenizer = load_model(name, dtype="bf16")
        save_checkpoint(model, tokenizer, path)
    return path


def _fingerprint(name: str, run: Path) -> str:
    """The recipe and what it was cut from."""
    base = model_fingerprint(base_model(name)) or base_model(name)
    return hashlib.sha256((run / "metrics.json").read_bytes() + base.encode()).hexdigest()[:16]


def _load(name: str, device: str, dtype: str) -> tuple[Any, Any]:
    base, tokenizer = load_model(base_model(name), device=device, dtype=dtype)
    run = pruned_run(name)
    recipe = json.loads((run / "metrics.json").read_text())
    rule = json.loads((run / "config.json").read_text())["config"]["merge_rule"]
    return apply_recipe(base, recipe, rule).eval(), tokenizer


registry.register(registry.Resolver(prefix=PRUNED_PREFIX, maker="methods.prune.pruned_name",
                                    fingerprint=_fingerprint, load=_load, checkpoint=pruned_checkpoint))
