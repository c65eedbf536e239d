"""Speed of scoring a static multiple-choice set by log-likelihood, three ways, on the embedded SmolLM2.

    .venv/bin/python benchmarks/static_scoring.py                       # HellaSwag, 64 questions, fp32 and bf16
    .venv/bin/python benchmarks/static_scoring.py --benchmark boolq --questions 32 --threads 1

For each weight dtype it prints questions/s of
  (a) one question at a time, its choices in one batch (how the first version scored);
  (b) every choice of every question as a whole sequence, in length-sorted batches (``batched_pair_logprobs``);
  (c) as (b), but a context shared by the choices runs once and its key/value cache serves them all
      (``items_logprobs``, what ``run_static`` uses);
the speed-up of (c) over (a), and the largest difference between the three ways' scores (they compute the same
sums). Not a test: the figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from lpts_helpers.engine import likelihood
from lpts_helpers.models.loading import load_model
from lpts_helpers.tasks.static import STATIC_BENCHMARKS, load_static


def timed(function) -> tuple[float, list[list[float]]]:
    start = time.perf_counter()
    scores = function()
    return time.perf_counter() - start, scores


def measure(items: list[dict], dtype: str) -> str:
    """One line of figures for one weight dtype."""
    model, tokenizer = load_model("smollm2-135m", device="cpu", dtype=dtype)
    pad = tokenizer.pad_token_id
    pairs = [likelihood.item_pairs(tokenizer, item) for item in items]
    likelihood.items_logprobs(model, tokenizer, items[:2])  # warm-up

    def flat() -> list[list[float]]:
        scores = likelihood.batched_pair_logprobs(model, [p for item in pairs for p in item], pad)
        out, at = [], 0
        for item in pairs:
            out, at = out + [scores[at:at + len(item)]], at + len(item)
        return out

    (t_a, a), (t_b, b), (t_c, c) = (timed(lambda: [likelihood.batched_pair_logprobs(model, p, pad) for p in pairs]),
                                    timed(flat), timed(lambda: likelihood.items_logprobs(model, tokenizer, items)))
    gap = max(float(np.abs(np.array(other) - np.array(first)).max()) for first, *others in zip(a, b, c)
              for other in others)
    rates = [len(items) / t for t in (t_a, t_b, t_c)]
    return (f"{dtype}: questions/s one at a time {rates[0]:.1f}, batched {rates[1]:.1f}, shared context "
            f"{rates[2]:.1f} ({rates[2] / rates[0]:.1f}x one at a time); largest score difference {gap:.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--benchmark", default="hellaswag", choices=sorted(STATIC_BENCHMARKS))
    parser.add_argument("--questions", type=int, default=64)
    parser.add_argument("--dtypes", nargs="+", default=["fp32", "bf16"], choices=["fp32", "bf16"])
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    items = load_static(args.benchmark, args.questions, seed=1)
    print(f"{args.benchmark}, {len(items)} questions, {torch.get_num_threads()} threads")
    for dtype in args.dtypes:
        print(measure(items, dtype))


if __name__ == "__main__":
    main()
