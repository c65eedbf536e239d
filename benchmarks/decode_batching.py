"""Generation throughput of a stored run's configuration, by chunk size and key/value cache.

    .venv/bin/python benchmarks/decode_batching.py                       # 64 problems, 2 threads
    .venv/bin/python benchmarks/decode_batching.py --problems 32 --threads 1

The run regenerated is chapter 04's 14-step chain sums of the thinking SmolLM2 cut by one ShortGPT layer (bf16,
thinking budget 384), into a throw-away store. It is generated four ways: problems stored in chunks of 8 (the old
default, so 8 sequences were decoded together) or in one chunk (the new default fills a batch), each with
transformers' concatenating cache or the backend's preallocated one. For each way it prints tokens/s and how
many completions equal the stored run's (greedy decoding; bf16 sums can round differently with another batch
shape or thread count, so a few may differ). Not a test: the figures depend on the machine and its load.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time

import torch
from transformers.cache_utils import DynamicLayer

from lpts_helpers.chapters.pruning import PruningPlan
from lpts_helpers.core.store import RunStore
from lpts_helpers.engine.backends import hf
from lpts_helpers.engine.generation import BackendOptions, GenerationConfig, run_generation


def stored_config(store: RunStore) -> GenerationConfig:
    plan = PruningPlan.for_profile("default")
    cell = next(c for c in plan.static_cells(store) if c.model == plan.reference and c.method == "shortgpt"
                and c.n_layers == 1 and c.task.label == plan.reference_long_task)
    return cell.config.generation()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    store = RunStore()
    config = stored_config(store)
    stored = run_generation(config, store).samples.set_index("item_id")["completion"]
    small = dataclasses.replace(config, n_problems=args.problems)
    growing = hf._GrowingLayer
    run_generation(dataclasses.replace(config, n_problems=1), RunStore(tempfile.mkdtemp()),
                   options=BackendOptions(progress=False))  # loads the model once
    print(f"{small.model}, {args.problems} problems of {small.benchmark}@{small.chain_length}, {args.threads} threads")
    for chunk in (8, args.problems):
        for name, layer in (("concatenating", DynamicLayer), ("preallocated", growing)):
            hf._GrowingLayer = layer
            started = time.perf_counter()
            fresh = run_generation(small, RunStore(tempfile.mkdtemp()), problems_per_chunk=chunk,
                                   options=BackendOptions(progress=False, batch_size=args.problems)).samples
            seconds = time.perf_counter() - started
            tokens = int(fresh["completion_tokens"].sum())
            same = int((fresh.set_index("item_id")["completion"] == stored.loc[fresh["item_id"]]).sum())
            print(f"chunks of {chunk:>3} problems, {name:>13} cache: {tokens / seconds:6.0f} tokens/s "
                  f"({tokens} tokens in {seconds:.0f} s); {same} of {len(fresh)} completions as stored", flush=True)
    hf._GrowingLayer = growing


if __name__ == "__main__":
    main()
