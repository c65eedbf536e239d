"""The transformers backend: batched decoding with a KV cache on the CPU or a CUDA GPU.

Our own decode loop rather than ``model.generate``, for three properties the scaling runs need:
- each request has its own token budget, sampling settings and seeded random stream, so a sample does not change
  with what else is in its batch (a resumed run regenerates exactly what it lost);
- a sequence that finished (end-of-sequence, a stop string, its budget) leaves the batch and is not decoded
  further, so short answers do not pay for long ones;
- stop strings are checked on the decoded tail of each sequence, never across the prompt.
Prompts are left-padded; position ids follow the padding, so batched greedy output equals one-by-one output.
The key/value cache writes into preallocated buffers (``_GrowingLayer``): transformers' dynamic cache
concatenates, copying the whole cache at every token, which was 80% of a CPU decode step at 300 cached tokens.
"""

from __future__ import annotations

import inspect
import time
from dataclasses import dataclass
from typing import Any

import torch
from transformers.cache_utils import Cache, DynamicLayer

from ...models.loading import cache_keyword, default_device, load_model
from .base import Completion, Request


class _GrowingLayer(DynamicLayer):
    """One layer's keys and values in a buffer that doubles when full; ``keys`` / ``values`` are views of its
    filled part, so a decoded token writes one position instead of copying the cache (the same numbers as
    ``DynamicLayer``: only where they are stored changes). Supports what the decode loop uses: update and
    ``batch_select_indices``."""

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        self._keys = self._values = None
        self._length = 0

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any,
               **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        start, end = self._length, self._length + key_states.shape[-2]
        if self._keys is None or end > self._keys.shape[-2]:
            self._keys, self._values = (self._grown(old, new, 2 * end) for old, new in
                                        ((self._keys, key_states), (self._values, value_states)))
        self._keys[:, :, start:end] = key_states
        self._values[:, :, start:end] = value_states
        self._length = end
        self.keys, self.values = self._keys[:, :, :end], self._values[:, :, :end]
        return self.keys, self.values

    def _grown(self, old: torch.Tensor | None, new: torch.Tensor, capacity: int) -> torch.Tensor:
        buffer = new.new_empty((*new.shape[:2], capacity, new.shape[-1]))
        if old is not None:
            buffer[:, :, :self._length] = old[:, :, :self._length]
        return buffer

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self._length:
            self._keys, self._values = self._keys[indices], self._values[indices]
            self.keys, self.values = self._keys[:, :, :self._length], self._values[:, :, :self._length]

    def crop(self, tokens_to_remove: int) -> None:
        raise NotImplementedError("the decode loop's cache does not crop")

    def batch_repeat_interleave(self, repeats: int) -> None:
        raise NotImplementedError("the decode loop's cache does not repeat rows")

    def reorder_cache(self, beam_idx: torch.LongTensor) -> None:
        raise NotImplementedError("the decode loop's cache does not reorder rows")


@dataclass
class _Row:
    index: int  # position in the caller's request list
    request: Request
    generator: torch.Generator
    ids: list[int]


class HFBackend:
    """A transformers causal LM behind the backend interface (``lpts_helpers.engine.backends``)."""

    name = "hf"

    def __init__(self, model: Any, tokenizer: Any, *, batch_size: int = 32, progress: bool = False):
        self.model, self.tokenizer = model, tokenizer
        self.batch_size, self.progress = batch_size, progress
        eos = model.generation_config.eos_token_id
        eos = eos if isinstance(eos, list) else [eos]
        self.eos_ids = {int(i) for i in eos + [tokenizer.eos_token_id] if i is not None}
        self.pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else min(self.eos_ids)
        parameters = inspect.signature(model.forward).parameters
        self._cache_arg = cache_keyword(model)
        # Only the last position's logits are needed: skip the vocabulary projection of the whole prompt.
        self._last_logits = {"logits_to_keep": 1} if "logits_to_keep" in parameters else {}

    @classmethod
    def load(cls, model: str, *, device: str = "auto", dtype: str = "auto", batch_size: int = 32,
             progress: bool = False) -> HFBackend:
        """Load a preset or checkpoint directory (``device="auto"``: CUDA when present, bf16 there)."""
        lm, tokenizer = load_model(model, device=default_device() if device == "auto" else device, dtype=dtype)
        return cls(lm, tokenizer, batch_size=batch_size, progress=progress)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    def complete(self, requests: list[Request]) -> list[Completion]:
        """Generate every request; batches are formed from prompts of similar length to waste little padding."""
        bad = [r.max_tokens for r in requests if r.max_tokens < 1]
        if bad:
            raise ValueError(f"max_tokens={bad[0]} is out of range; allowed: >= 1")
        results: list[Completion | None] = [None] * len(requests)
        encoded = [self.tokenizer(r.prompt, add_special_tokens=False)["input_ids"] for r in requests]
        order = sorted(range(len(requests)), key=lambda i: len(encoded[i]))
        bar = _progress(len(requests), self.progress)
        for start in range(0, len(order), self.batch_size):
            batch = order[start:start + self.batch_size]
            for index, completion in self._decode(batch, [encoded[i] for i in batch], requests, bar):
                results[index] = completion
        if bar is not None:
            bar.close()
        return results  # type: ignore[return-value]

    def _decode(self, indices: list[int], prompts: list[list[int]], requests: list[Request], bar: Any):
        device = self.device
        width = max(len(p) for p in prompts)
        input_ids = torch.full((len(prompts), width), self.pad_id, dtype=torch.long, device=device)
        attention = torch.zeros_like(input_ids)
        for row, ids in enumerate(prompts):
            input_ids[row, width - len(ids):] = torch.tensor(ids, device=device)
            attention[row, width - len(ids):] = 1
        positions = (attention.cumsum(-1) - 1).clamp(min=0)
        rows = [_Row(i, requests[i], torch.Generator(device=device).manual_seed(requests[i].seed), [])
                for i in indices]
        started, generated = time.perf_counter(), 0
        with torch.inference_mode():
            out = self.model(input_ids=input_ids, attention_mask=attention, position_ids=positions, use_cache=True,
                             **{self._cache_arg: Cache(layer_class_to_replicate=_GrowingLayer)}, **self._last_logits)
            cache, logits = getattr(out, self._cache_arg), out.logits[:, -1, :]
            next_position = positions[:, -1] + 1
            while rows:
                tokens = self._pick(logits, rows)
                generated += len(rows)
                keep = []
                for r, (row, token) in enumerate(zip(rows, tokens.tolist())):
                    row.ids.append(token)
                    done = self._finished(row)
                    if done is None:
                        keep.append(r)
                    else:
                        yield row.index, done
                        if bar is not None:
                            bar.update(1)
                            bar.set_postfix(tok_per_s=f"{generated / (time.perf_counter() - started):.0f}")
                if not keep:
                    return
                if len(keep) < len(rows):  # finished sequences leave the batch
                    select = torch.tensor(keep, device=device)
                    cache.batch_select_indices(select)
                    attention, next_position, tokens = attention[select], next_position[select], tokens[select]
                    rows = [rows[r] for r in keep]
                attention = torch.cat([attention, attention.new_ones((len(rows), 1))], dim=1)
                out = self.model(input_ids=tokens[:, None], attention_mask=attention,
                                 position_ids=next_position[:, None], use_cache=True, **{self._cache_arg: cache},
                                 **self._last_logits)
                cache, logits = getattr(out, self._cache_arg), out.logits[:, -1, :]
                next_position = next_position + 1

    @staticmethod
    def _pick(logits: torch.Tensor, rows: list[_Row]) -> torch.Tensor:
        """Greedy rows take the argmax; sampling rows draw from temperature/top-p with their own generator."""
        logits = logits.float()
        picked = logits.argmax(dim=-1)
        sampling = [r for r, row in enumerate(rows) if row.request.temperature > 0]
        if not sampling:
            return picked
        device = logits.device
        temperature = torch.tensor([rows[r].request.temperature for r in sampling], device=device)
        probs = torch.softmax(logits[sampling] / temperature[:, None], dim=-1)
        draws = torch.stack([torch.rand((), generator=rows[r].generator, device=device) for r in sampling])
        top_p = torch.tensor([rows[r].request.top_p for r in sampling], device=device)
        picked[sampling] = _inverse_cdf(probs, draws, top_p)
        return picked

    def _finished(self, row: _Row) -> Completion | None:
        """The row's completion if its last token ended it (end-of-sequence, a stop string, its budget)."""
        request, ids = row.request, row.ids
        if ids[-1] in self.eos_ids:
            return Completion(self._text(ids[:-1]), len(ids), "stop", "eos")
        if request.stop:
            # Only the tail can hold a newly completed stop string; decode it, and the whole text on a hit.
            tail = self._text(ids[-(max(len(s) for s in request.stop) + 4):])
            if any(s in tail for s in request.stop):
                text = self._text(ids)
                cut, matched = min((text.find(s), s) for s in request.stop if s in text)
                return Completion(text[:cut], len(ids), "stop", matched)
        if len(ids) >= request.max_tokens:
            return Completion(self._text(ids), len(ids), "length", None)
        return None

    def _text(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=False)


def _inverse_cdf(probs: torch.Tensor, draws: torch.Tensor, top_p: torch.Tensor) -> torch.Tensor:
    """Token ids drawn by inverse-CDF sampling: row i takes the token where its CDF crosses ``draws[i]``.

    Rows with ``top_p < 1`` keep only the smallest set of most probable tokens whose mass reaches ``top_p``
    (the top token always stays); sorting the vocabulary is paid only by those rows.
    """
    chosen = torch.empty(len(probs), dtype=torch.long, device=probs.device)
    nucleus = top_p < 1
    for mask, sort in ((~nucleus, False), (nucleus, True)):
        if not mask.any():
            continue
        p, ids = probs[mask], None
        if sort:
            p, ids = p.sort(dim=-1, descending=True)
            before = p.cumsum(dim=-1) - p  # mass of the tokens ranked above each token
            p = p.masked_fill(before >= top_p[mask][:, None], 0.0)
        cdf = p.cumsum(dim=-1)
        # right=True: the first token whose CDF exceeds the draw, so a zero-probability token is never chosen
        index = torch.searchsorted(cdf, (draws[mask] * cdf[:, -1])[:, None], right=True)
        index = index.clamp(max=cdf.shape[-1] - 1)
        chosen[mask] = (ids.gather(1, index) if sort else index).squeeze(1)
    return chosen


def _progress(total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="seq", desc="generating")
