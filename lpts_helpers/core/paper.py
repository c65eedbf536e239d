"""Published numbers, in one place, to be set beside ours: the paper's, the embedded SmolLM2's and the
layer-pruning literature's.

The paper's are read from the figures in its repository README (±0.02; PAPER.md "Reported numbers"); the model
is not labelled there, and the paper's summary names Qwen3-8B as its main model. Budgets are thinking tokens; k
is the number of samples of pass@k. SmolLM2-135M-Instruct's zero-shot static-benchmark numbers (its model card
and an lm-evaluation-harness table) anchor our scoring in chapter 01; LaCo's retention on Llama-2-7B is what the
pruning literature reports for the same benchmarks (chapters 03-04).
"""

from __future__ import annotations

import pandas as pd

SOURCE = "Wang et al. 2025 (arXiv 2510.22228), figures in the paper's repository README, read to ±0.02"
MODEL = "qwen3-8b"  # the preset of the paper's main model, whose figures these are

# ShortGPT: accuracy against the number of pruned layers (0 … 7)
STATIC = {
    "mmlu": (0.73, 0.71, 0.66, 0.64, 0.55, 0.54, 0.48, 0.46),
    "gsm8k": (0.88, 0.88, 0.86, 0.71, 0.48, 0.23, 0.00, 0.00),
    "math500": (0.95, 0.91, 0.78, 0.43, 0.20, 0.19, 0.10, 0.09),
    "aime24": (0.70, 0.47, 0.07, 0.00, 0.00, 0.00, 0.00, 0.00),
}

BUDGETS = (512, 1024, 2048, 4096, 8192)
# (method, benchmark) -> accuracy at each budget for 0, 1, 2, 3 pruned layers
SEQUENTIAL = {
    ("shortgpt", "math500"): ((.88, .91, .93, .93, .96), (.81, .84, .87, .89, .92), (.75, .76, .75, .78, .79),
                              (.35, .39, .42, .44, .44)),
    ("shortgpt", "aime24"): ((.55, .42, .49, .47, .67), (.37, .24, .33, .38, .47), (.10, .13, .07, .10, .15),
                             (.07, .07, .00, .00, .07)),
    ("reverse", "math500"): ((.88, .91, .93, .93, .96), (.73, .79, .93, .95, .94), (.77, .79, .78, .79, .78),
                             (.13, .16, .12, .19, .18)),
    ("reverse", "aime24"): ((.55, .42, .49, .47, .67), (.40, .37, .16, .22, .28), (.07, .10, .17, .21, .21),
                            (.00, .00, .00, .00, .00)),
    ("laco", "math500"): ((.88, .91, .93, .93, .96), (.79, .82, .86, .88, .88), (.70, .77, .78, .83, .83),
                          (.56, .60, .65, .64, .62)),
    ("laco", "aime24"): ((.55, .42, .49, .47, .67), (.41, .37, .36, .47, .52), (.18, .27, .24, .26, .23),
                         (.06, .01, .02, .18, .21)),
}

KS = (1, 2, 4, 8, 16, 32)
# method -> pass@k on AIME for 0, 1, 2, 3 pruned layers
PARALLEL = {
    "shortgpt": ((.67, .79, .82, .85, .87, .89), (.47, .54, .63, .70, .76, .82), (.16, .17, .21, .26, .30, .35),
                 (.07, .06, .10, .15, .21, .27)),
    "reverse": ((.67, .79, .82, .85, .87, .89), (.47, .58, .69, .76, .81, .84), (.17, .20, .24, .28, .31, .35),
                (.03, .00, .00, .01, .02, .03)),
    "laco": ((.67, .79, .82, .85, .87, .89), (.52, .73, .80, .84, .86, .88), (.23, .30, .38, .46, .52, .57),
             (.20, .27, .35, .43, .49, .53)),
}


def static_table() -> pd.DataFrame:
    """Long table: benchmark, pruned layers, the paper's accuracy (ShortGPT) and its retention (accuracy over the
    unpruned accuracy)."""
    return pd.DataFrame([{"benchmark": b, "pruned_layers": n, "paper_accuracy": acc, "paper_retention": acc / values[0]}
                         for b, values in STATIC.items() for n, acc in enumerate(values)])


def sequential_table() -> pd.DataFrame:
    return pd.DataFrame([{"method": m, "benchmark": b, "pruned_layers": n, "budget": budget, "paper_accuracy": acc}
                         for (m, b), curves in SEQUENTIAL.items() for n, curve in enumerate(curves)
                         for budget, acc in zip(BUDGETS, curve)])


def parallel_table() -> pd.DataFrame:
    return pd.DataFrame([{"method": m, "pruned_layers": n, "k": k, "paper_pass_at_k": value}
                         for m, curves in PARALLEL.items() for n, curve in enumerate(curves)
                         for k, value in zip(KS, curve)])


def beside_static(ours: pd.DataFrame, *, our_model: str) -> pd.DataFrame:
    """The paper's static accuracies next to ours, per benchmark and number of pruned layers.

    ``ours`` has columns benchmark, pruned_layers, accuracy, low, high; benchmarks the paper did not report keep
    an empty paper column, and the paper's benchmarks we did not run keep empty ours.
    """
    merged = static_table().merge(ours, on=["benchmark", "pruned_layers"], how="outer")
    merged["ours (95% CI)"] = [f"{a:.2f} [{lo:.2f}, {hi:.2f}]" if pd.notna(a) else "—"
                               for a, lo, hi in zip(merged["accuracy"], merged["low"], merged["high"])]
    merged["paper (Qwen3-8B)"] = merged["paper_accuracy"].map(lambda v: "—" if pd.isna(v) else f"{v:.2f}")
    merged["our model"] = our_model
    return merged[["benchmark", "pruned_layers", "paper (Qwen3-8B)", "our model", "ours (95% CI)"]]



# --- published numbers of the embedded real model and of the layer-pruning literature ---------------------------

SMOLLM2_SOURCES = {
    "model card": "HuggingFaceTB/SmolLM2-135M-Instruct model card (lighteval, zero-shot, normalised accuracy)",
    "lm-eval": "a third-party model card's lm-evaluation-harness zero-shot table for SmolLM2-135M-Instruct",
}
# (source, benchmark, metric) -> accuracy; "arc" is the mean of ARC-Easy and ARC-Challenge, as the card reports it
SMOLLM2_PUBLISHED = {
    ("model card", "hellaswag", "acc_norm"): 0.409,
    ("model card", "arc", "acc_norm"): 0.373,
    ("model card", "piqa", "acc_norm"): 0.663,
    ("lm-eval", "arc_challenge", "acc_norm"): 0.2773,
    ("lm-eval", "arc_easy", "acc"): 0.5412,
    ("lm-eval", "hellaswag", "acc_norm"): 0.4299,
    ("lm-eval", "piqa", "acc_norm"): 0.6692,
}

LACO_SOURCE = ("LaCo removing 25% of Llama-2-7B's layers, as the ReplaceMe authors tabulate it (unpruned → pruned "
               "accuracy)")
LACO_RETENTION = {"boolq": (0.708, 0.641), "hellaswag": (0.713, 0.557), "piqa": (0.781, 0.698),
                  "mmlu": (0.492, 0.265)}


def smollm2_published_table() -> pd.DataFrame:
    """One row per published SmolLM2-135M-Instruct number: source, benchmark, metric, value."""
    return pd.DataFrame([{"source": source, "benchmark": benchmark, "metric": metric, "published": value}
                         for (source, benchmark, metric), value in SMOLLM2_PUBLISHED.items()])
