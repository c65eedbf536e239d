# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Pruned samples still find right answers, but majority voting stops paying
#
# The other way to spend compute at test time is to sample many answers: pass@k counts a problem solved when any
# of k samples is right (the ceiling of a perfect verifier), maj@k when the most frequent answer is. The paper
# finds pruning flattens both: on AIME, the unpruned Qwen3-8B goes from 0.67 at pass@1 to 0.89 at pass@32, with two
# ShortGPT-pruned layers from 0.16 to only 0.35. Here each model samples at temperature 1.0 at each level of
# pruning; the gain of sampling (pass@k and maj@k minus pass@1) is a paired difference over the same problems,
# with its 95% bootstrap interval.
#
# **Verdict.** {glue:text}`verdict`
#
# **What it means.** On the thinking SmolLM2 (30 long sums, 8 samples each) voting is what pruning takes. Unpruned,
# one sample at temperature 1.0 is right 0.58 of the time, eight samples contain a right one 0.93 of the time
# (pass@8, +0.35) and their majority is right 0.77 of the time (maj@8, +0.19). With one layer cut by ShortGPT the
# majority gains nothing measurable (+0.05, interval through 0) and by LaCo nothing at all (−0.01), while pass@8
# still gains +0.28 and +0.23 — a change against the unpruned gain that 30 problems cannot resolve (−0.07 and
# −0.13, intervals through 0). Right answers still turn up among the samples, but no longer often enough to win
# a vote: a deployment without a verifier loses the gain, as the paper says, and an oracle verifier would keep
# part of it. Cut in reverse order, the model loops and its gain shrinks beyond doubt (−0.30). Eight samples of
# the ShortGPT-cut model are right about as often as one of the unpruned model (pass@8 0.47 against 0.58; the
# difference's interval, −0.28 to 0.06, does not settle which is higher), the paper's AIME picture in
# miniature (0.35 at pass@32 against 0.67 at pass@1).
#
# On the organism the paper's claim has two parts, and it shows one of them. Pruning does lower the
# whole pass@k curve: with two layers cut by ShortGPT, sixteen samples of a 24-step chain are right 0.73 of the
# time, below the 0.92 of one sample of the unpruned model (the paper: 0.35 at pass@32 against 0.67 at pass@1 on
# AIME); with two cut by LaCo, pass@16 is 0.03 on chains of either length, and ShortGPT's cut leaves 2-step chains
# at 0.07 however many samples are drawn. But measured as the paper measures it — the gain of sampling, pass@k
# minus pass@1 — pruning does not flatten the organism's curve, it steepens it: the unpruned organism has almost
# nothing left to gain (pass@1 0.92, so at most +0.08; chapter 02 missed its headroom target), while the pruned
# ones gain +0.51 (reverse order, back to 1.00) and +0.58 (ShortGPT). Their errors are scattered over samples, so
# sampling finds the right chain often; majority voting finds it less often (ShortGPT with two cut: maj@16 0.53
# against pass@16 0.73). The direct-answer control never answers a 24-step chain right, sampled or not; on
# 2-step chains, which it answers at once (one sample right 0.73 of the time at temperature 1.0), sampling pays it
# +0.27 unpruned and more after ShortGPT's or LaCo's cut (+0.34, +0.49), while reverse-order pruning leaves it
# almost nothing to find (pass@1 0.01). A gain "shrinks" only when the paired 95% interval of its
# change lies below 0; pass@k assumes a perfect verifier, which maj@k does not.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
n_samples = None  # samples per organism problem, at least 1; None: set by the profile (16)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %%
from myst_nb import glue

from lpts_helpers.book import plots
from lpts_helpers.chapters import ch06_parallel, pruning
from lpts_helpers.core import paper, verdicts
from lpts_helpers.core.store import RunStore
from lpts_helpers.engine.generation import BackendOptions

# %% tags=["hide-output"]
plots.enable_offline_charts()
store = RunStore(store_dir)
options = BackendOptions(tensor_parallel_size=tensor_parallel_size, progress=False, batch_size=64)
plan = pruning.PruningPlan.for_profile(profile, n_samples=n_samples)
plan.to_dict()

# %% [markdown]
# ## pass@k and maj@k at each level of pruning

# %%
cells = plan.sampling_cells(store)
curves = ch06_parallel.k_table(cells, store, options=options)
plots.scaling_chart(curves[curves["metric"] == "pass"], x="k", x_title="samples k", log_x=True,
                    title="pass@k per level of pruning (click a level)")

# %%
plots.scaling_chart(curves[curves["metric"] == "maj"], x="k", x_title="samples k", log_x=True,
                    title="maj@k per level of pruning (click a level)")

# %% [markdown]
# ## What sampling buys, and whether it recovers what pruning took
#
# Gain of k samples over one (pass@k − pass@1 and maj@k − pass@1, paired over problems) at the largest k, and
# whether the pruned model with k samples reaches the unpruned model's pass@1. The paper's pass@k on AIME
# (Qwen3-8B) is beside ours.

# %%
gains = ch06_parallel.sampling_gains(cells, store)
ch06_parallel.gains_view(gains)

# %%
ch06_parallel.parallel_beside_paper(curves, paper.parallel_table())

# %%
findings = ch06_parallel.parallel_findings(gains)
glue("verdict", " ".join(f"{text}." for text in findings.values()), display=False)
verdicts.findings_view(findings)

# %% [markdown]
# ## Paper vs ours

# %%
verdicts.claims_view(ch06_parallel.parallel_claim(gains, paper.parallel_table()))

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025).
# - M. Chen et al., *Evaluating Large Language Models Trained on Code*, arXiv 2107.03374 (2021) — unbiased pass@k.
# - X. Wang et al., *Self-Consistency Improves Chain of Thought Reasoning*, arXiv 2203.11171 (2022) — majority vote.
