"""Decode throughput of the transformers backend against raw ``model.generate`` and the memory-bandwidth limit.

    .venv/bin/python benchmarks/throughput.py                 # SmolLM2-135M and an organism-sized Qwen3
    .venv/bin/python benchmarks/throughput.py --max-tokens 128 --models smollm2-135m

For each model it prints useful tokens/s (tokens up to and including end-of-sequence; padding after a finished
sequence does not count) of
  (a) batch-1 greedy decoding, ours and raw ``model.generate``;
  (b) 16 samples of one prompt, decoded together (ours, and ``generate`` with ``num_return_sequences=16``) and
      one after another (ours);
and the batch-1 figure as a fraction of the memory-bandwidth limit: each decoded token reads every weight once,
so tokens/s cannot exceed (copy bandwidth) / (weight bytes). The copy bandwidth is measured here, on a buffer far
larger than the caches. Goals (issue 4): ours >= 0.9x generate at the same batch; 16 together >= 5x the useful
tokens/s of 16 one after another; batch-1 >= 0.5 of the bandwidth limit. Not a test: the figures depend on the
machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from lpts_helpers.engine.backends import Request
from lpts_helpers.engine.backends.hf import HFBackend


def copy_bandwidth(gib: float = 1.0, repeats: int = 5) -> float:
    """Bytes per second moved by a large tensor copy (read + write), the median of ``repeats``."""
    n = int(gib * 2**30 / 4)
    src, dst = torch.rand(n), torch.empty(n)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        dst.copy_(src)
        times.append(time.perf_counter() - start)
    return 2 * src.numel() * 4 / statistics.median(times)


def organism_sized():
    """A randomly initialised Qwen3 of the size the model organism is planned at, with SmolLM2's tokenizer."""
    from transformers import Qwen3Config, Qwen3ForCausalLM

    from lpts_helpers.models.loading import load_tokenizer

    tokenizer = load_tokenizer("smollm2-135m")
    config = Qwen3Config(vocab_size=len(tokenizer), hidden_size=256, intermediate_size=768, num_hidden_layers=12,
                         num_attention_heads=4, num_key_value_heads=2, head_dim=64, max_position_embeddings=2048,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.eos_token_id,
                         tie_word_embeddings=True)
    torch.manual_seed(0)
    return Qwen3ForCausalLM(config).eval(), tokenizer


def useful_tokens(rows: torch.Tensor, eos: int) -> int:
    """Generated tokens up to and including the first end-of-sequence token of each row."""
    total = 0
    for row in rows.tolist():
        total += row.index(eos) + 1 if eos in row else len(row)
    return total


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def measure(name: str, model, tokenizer, max_tokens: int, bandwidth: float) -> dict[str, float]:
    prompt = tokenizer.apply_chat_template([{"role": "user", "content": "Write a short story about a cat."}],
                                           tokenize=False, add_generation_prompt=True)
    backend = HFBackend(model, tokenizer, batch_size=16)
    eos = tokenizer.eos_token_id
    ids = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    width = ids["input_ids"].shape[1]
    backend.complete([Request(prompt, max_tokens=4)])  # warm-up

    def raw(n: int, sample: bool):
        torch.manual_seed(0)
        with torch.inference_mode():
            out = model.generate(**ids, max_new_tokens=max_tokens, do_sample=sample, num_return_sequences=n,
                                 pad_token_id=eos, temperature=1.0 if sample else None, top_p=None, top_k=None)
        return useful_tokens(out[:, width:], eos)

    greedy = [Request(prompt, max_tokens=max_tokens)]
    samples = [Request(prompt, max_tokens=max_tokens, temperature=1.0, seed=s) for s in range(16)]
    ours_1, t_ours_1 = timed(lambda: sum(c.n_tokens for c in backend.complete(greedy)))
    raw_1, t_raw_1 = timed(lambda: raw(1, False))
    ours_16, t_ours_16 = timed(lambda: sum(c.n_tokens for c in backend.complete(samples)))
    raw_16, t_raw_16 = timed(lambda: raw(16, True))
    seq_16, t_seq_16 = timed(lambda: sum(backend.complete([r])[0].n_tokens for r in samples))
    weight_bytes = sum(p.numel() * p.element_size() for p in model.parameters())
    figures = {
        "ours batch-1 tok/s": ours_1 / t_ours_1, "generate batch-1 tok/s": raw_1 / t_raw_1,
        "ours 16 together tok/s": ours_16 / t_ours_16, "generate 16 together tok/s": raw_16 / t_raw_16,
        "ours 16 one by one tok/s": seq_16 / t_seq_16,
        "bandwidth limit tok/s": bandwidth / weight_bytes,
    }
    figures["ours / generate, batch 1"] = figures["ours batch-1 tok/s"] / figures["generate batch-1 tok/s"]
    figures["ours / generate, batch 16"] = figures["ours 16 together tok/s"] / figures["generate 16 together tok/s"]
    figures["16 together / one by one"] = figures["ours 16 together tok/s"] / figures["ours 16 one by one tok/s"]
    figures["batch-1 / bandwidth limit"] = figures["ours batch-1 tok/s"] / figures["bandwidth limit tok/s"]
    print(f"\n{name} ({next(model.parameters()).dtype}): {weight_bytes / 2**20:.0f} MiB of weights, {max_tokens} new tokens, "
          f"{torch.get_num_threads()} threads")
    for key, value in figures.items():
        print(f"  {key:<30} {value:10.2f}")
    goals = {"ours / generate, batch 1": 0.9, "ours / generate, batch 16": 0.9, "16 together / one by one": 5.0,
             "batch-1 / bandwidth limit": 0.5}
    for key, goal in goals.items():
        print(f"  goal {key} >= {goal}: {'met' if figures[key] >= goal else 'MISSED'}")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--dtype", default="fp32", choices=["fp32", "bf16"], help="weights and activations")
    parser.add_argument("--models", nargs="+", default=["smollm2-135m", "organism-sized"],
                        choices=["smollm2-135m", "organism-sized"])
    args = parser.parse_args()
    bandwidth = copy_bandwidth()
    print(f"copy bandwidth: {bandwidth / 1e9:.1f} GB/s (read + write, 1 GiB buffer)")
    for name in args.models:
        if name == "smollm2-135m":
            from lpts_helpers.models.loading import load_model

            model, tokenizer = load_model(name, dtype=args.dtype)
        else:
            model, tokenizer = organism_sized()
            model = model.to(torch.bfloat16 if args.dtype == "bf16" else torch.float32)
        measure(name, model, tokenizer, args.max_tokens, bandwidth)


if __name__ == "__main__":
    main()
