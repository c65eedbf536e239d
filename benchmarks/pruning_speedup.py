"""How much faster a pruned model is, against the ideal L / (L − n): the efficiency that motivates pruning.

    .venv/bin/python benchmarks/pruning_speedup.py               # SmolLM2-135M and an organism-sized Qwen3
    .venv/bin/python benchmarks/pruning_speedup.py --models smollm2-135m --removed 1 2 3 8

For each model and number n of removed layers (the deepest n: which layers go does not change the cost) it prints
the prefill time of a 256-token prompt and the decode throughput of our transformers backend at batch 1 and 16
(64 new tokens, end-of-sequence ignored so every variant decodes the same number of tokens), the speed-up over
the unpruned model, and that speed-up as a fraction of the ideal L / (L − n). Goal (issue 6): >= 0.9 of ideal.
The embedding and the vocabulary projection are not pruned, so the ideal is an upper bound. Not a test: the
figures depend on the machine and on what else runs on it (medians of several repeats).
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time

import torch
from throughput import organism_sized

from lpts_helpers.engine.backends import Request
from lpts_helpers.engine.backends.hf import HFBackend
from lpts_helpers.methods.prune import decoder_layers, remove_layers


def median_time(fn, repeats: int = 3) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def measure(model, tokenizer, new_tokens: int) -> dict[str, float]:
    prompt_ids = torch.randint(10, 1000, (1, 256))
    backend = HFBackend(model, tokenizer, batch_size=16)
    backend.eos_ids = set()  # decode exactly new_tokens in every variant
    prompt = tokenizer.decode(prompt_ids[0][:64])
    figures = {}
    for batch in (1, 16):
        ids = prompt_ids.repeat(batch, 1)
        with torch.inference_mode():
            figures[f"prefill b{batch} s"] = median_time(lambda: model(input_ids=ids, use_cache=False, logits_to_keep=1))
        requests = [Request(prompt, max_tokens=new_tokens)] * batch
        seconds = median_time(lambda: backend.complete(requests), repeats=2)
        figures[f"decode b{batch} tok/s"] = batch * new_tokens / seconds
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="+", default=["smollm2-135m", "organism-sized"],
                        choices=["smollm2-135m", "organism-sized"])
    parser.add_argument("--removed", nargs="+", type=int, default=[1, 2, 3, 8])
    parser.add_argument("--new-tokens", type=int, default=64)
    args = parser.parse_args()
    for name in args.models:
        if name == "smollm2-135m":
            from lpts_helpers.models.loading import load_model

            base, tokenizer = load_model(name)
        else:
            base, tokenizer = organism_sized()
        total = len(decoder_layers(base))
        reference = measure(base, tokenizer, args.new_tokens)
        print(f"\n{name}: {total} layers; unpruned " + ", ".join(f"{k} {v:.3f}" for k, v in reference.items()))
        print(f"  {'removed':>7} {'ideal':>6} " + " ".join(f"{k:>22}" for k in reference))
        for n in args.removed:
            pruned = remove_layers(copy.deepcopy(base), list(range(total - n, total)))
            figures = measure(pruned, tokenizer, args.new_tokens)
            ideal = total / (total - n)
            cells = []
            for key, value in figures.items():
                speedup = reference[key] / value if key.startswith("prefill") else value / reference[key]
                cells.append(f"{speedup:5.2f}x ({speedup / ideal:4.2f} of ideal)")
            print(f"  {n:>7} {ideal:6.3f} " + " ".join(f"{c:>22}" for c in cells), flush=True)


if __name__ == "__main__":
    main()
