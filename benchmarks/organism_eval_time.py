"""How long chapter 02 takes to evaluate one organism from nothing on this machine (the issue's goal: at most
5 minutes on the 2-core CPU).

    .venv/bin/python benchmarks/organism_eval_time.py                      # the thinking organism, seed 0
    .venv/bin/python benchmarks/organism_eval_time.py --model organism-direct --batch-size 256

Every evaluation chapter 02 makes of the model (recall both ways, chains at every length, the budget and "Wait"
curves, sixteen samples per long chain) runs in a temporary run store, so nothing is read back; the script prints
the seconds of each part, the generated tokens and the tokens per second. Not a test: the figures depend on the
machine and on what else runs on it (say so when you quote them).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from lpts_helpers.chapters import ch02_organism
from lpts_helpers.core.store import RunStore
from lpts_helpers.engine import evaluation, likelihood
from lpts_helpers.engine.generation import BackendOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="organism", help="an organism preset")
    parser.add_argument("--batch-size", type=int, default=128, help="prompts decoded together")
    args = parser.parse_args()
    plan = ch02_organism.OrganismPlan.for_profile("default")
    if args.model not in plan.models:
        raise SystemExit(f"error: --model {args.model!r} is not evaluated by chapter 02; allowed: {list(plan.models)}")
    store = RunStore(tempfile.mkdtemp() + "/runs")
    options = BackendOptions(progress=False, batch_size=args.batch_size)
    scaling = plan.scaling_configs()
    parts = {"accuracy": [c for c in plan.accuracy_configs() if c.model == args.model],
             **{name: [c for c in configs if c.model == args.model] for name, configs in scaling.items()}}
    print(f"{args.model}: {torch.get_num_threads()} threads, batch {args.batch_size}")
    total = 0.0
    started = time.perf_counter()
    likelihood.choice_table([c for c in plan.choice_configs() if c.model == args.model], store)
    seconds = time.perf_counter() - started
    print(f"  multiple choice by log-likelihood: {seconds:6.1f} s")
    total += seconds
    for name, configs in parts.items():
        if not configs:
            continue
        started = time.perf_counter()
        table = evaluation.sweep(configs, store, options=options)
        seconds = time.perf_counter() - started
        tokens = sum(int(evaluation.run_evaluation(c, store).samples["completion_tokens"].sum()) for c in configs)
        print(f"  {name:>9}: {len(table):3d} runs, {seconds:6.1f} s, {tokens:8d} tokens, "
              f"{tokens / seconds:7.0f} tokens/s")
        total += seconds
    print(f"total: {total / 60:.1f} minutes (goal: at most 5)")


if __name__ == "__main__":
    main()
