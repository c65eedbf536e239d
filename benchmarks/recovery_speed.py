"""What each recovery recipe costs per optimizer step on this machine (CPU, or CUDA when present).

    .venv/bin/python benchmarks/recovery_speed.py                 # every recipe, the organism cut by 2 layers
    .venv/bin/python benchmarks/recovery_speed.py --recipes full grpo --steps 20

Each recipe trains the organism with its two deepest layers cut (reverse order) for a fixed number of steps in a
temporary run store, with the chapter's batch sizes, and prints seconds per step, trained or generated tokens
per second, and the held-out loss before and after. On CUDA it then evaluates the recovered model's open recall
with the transformers backend on the GPU (the CUDA path of generation and of loading a recovered model). Not a
test: the figures depend on the machine and on what else runs on it.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch

from lpts_helpers.chapters import ch07_recovery
from lpts_helpers.core.store import RunStore
from lpts_helpers.engine.evaluation import run_evaluation
from lpts_helpers.engine.generation import BackendOptions
from lpts_helpers.methods import recovery, study
from lpts_helpers.models import loading


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    recipes = list(ch07_recovery.RECIPES)
    parser.add_argument("--recipes", nargs="+", default=recipes, choices=recipes)
    parser.add_argument("--steps", type=int, default=40, help="optimizer steps per recipe")
    args = parser.parse_args()
    device = loading.default_device()
    print(f"device: {torch.cuda.get_device_name() if device == 'cuda' else 'cpu'}, torch {torch.__version__}, "
          f"{torch.get_num_threads()} CPU threads")
    store = RunStore(tempfile.mkdtemp() + "/runs")
    plan = ch07_recovery.RecoveryPlan.for_profile("default")
    options = BackendOptions(progress=False, batch_size=64)
    pruning = plan.pruning
    for recipe in args.recipes:
        config = plan.recovery_config("organism", recipe, store)
        config = recovery.RecoveryConfig.from_dict({**config.to_dict(), "max_steps": args.steps})
        started = time.perf_counter()
        run = recovery.train_recovery(config, store, options=options, progress=False)
        total = time.perf_counter() - started
        m = run.metrics
        tokens = m["trained_tokens"]  # for GRPO these are the sampled answers it trains on
        print(f"{config.label():28s} {m['seconds'] / args.steps:6.3f} s/step (training only; {total:6.1f} s with "
              f"data), {tokens / m['seconds']:8.0f} tokens/s, held-out loss {m['heldout_before']} → "
              f"{m['heldout_after']}, reward {m['final_reward']}")
        if device == "cuda":
            name = recovery.recovered_name(config, store)
            task = study.Task.parse("organism_recall_open")
            evaluated = run_evaluation(pruning.evaluation_of("organism", name, task), store,
                                       options=BackendOptions(progress=False, batch_size=64, device="cuda"))
            print(f"{'':28s} open recall on CUDA: {evaluated.metrics['accuracy']['value']:.2f} "
                  f"(device {evaluated.samples['device'].iloc[0]})")


if __name__ == "__main__":
    main()
