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
# # One cut layer multiplies the per-step error; deeper cuts break the chain's start
#
# The paper shows long chains collapsing after pruning but does not say why, and its reviewers found that thin.
# The simplest explanation is arithmetic: if each step of a chain goes right with probability 1 − ε, a chain of k
# steps survives with probability (1 − ε)^k, so an error rate too small to notice on a two-step problem empties
# an eight-step one — and pruning need only raise ε a little. This chapter measures accuracy at several chain
# lengths for every pruned variant, fits a·(1 − ε)^k by maximum likelihood (a: everything outside the steps
# going right; the pure form fixes a = 1), and asks two things:
#
# - **Does the curve hold?** The deviance against a free accuracy per length (χ² p-value: small means the
#   accuracies do not follow the curve), and an out-of-sample test: fitted on the shorter chains only, does it
#   predict the accuracy of the longer ones within their intervals?
# - **Does thinking make a model more fragile?** The reviewers asked for non-reasoning baselines. The organism's
#   direct-answer control is the same architecture trained on the same facts and on short chains (1–4 steps) to
#   answer without writing its steps; pruned the same way, does it lose less?
#
# ε's intervals resample problems within each length; accuracy changes are paired over the same problems.
#
# **Verdict.** {glue:text}`verdict`
#
# **What it means.** On the real model, compounding explains the first cut. The unpruned thinking SmolLM2
# slips on few steps (ε {glue:text}`reference_eps_0`), though its longest sums fall below its curve
# ({glue:text}`reference_longest_0`). One ShortGPT layer cut leaves its start whole (a
# {glue:text}`reference_a_shortgpt_1`) and raises ε to {glue:text}`reference_eps_shortgpt_1`; the curve fits (p
# {glue:text}`reference_p_shortgpt_1`) and, fitted on the shorter sums, predicts the longest
# ({glue:text}`reference_longest_shortgpt_1`). Two and three layers cut break the start as well (a
# {glue:text}`reference_a_shortgpt_2` and {glue:text}`reference_a_shortgpt_3`); with {glue:text}`reference_deep` layers
# cut it solves no sum.
#
# The organism makes no error unpruned (ε {glue:text}`organism_eps_0`), so every error its fits find is
# pruning's, yet its pruned chains do not break as compounding says: the curve is rejected for
# {glue:text}`organism_two_rejected` of its pruned variants that make errors and predicts their longer chains for
# {glue:text}`organism_predicted_erring`, even where three layers cut in reverse order leave the start whole (a
# {glue:text}`organism_a_reverse_3`, ε {glue:text}`organism_eps_reverse_3`, p {glue:text}`organism_p_reverse_3`).
# The direct-answer control, the reviewers' non-reasoning baseline, solves {glue:text}`control_short_acc` of the
# chains of {glue:text}`gap_short_steps` steps unpruned and {glue:text}`control_long_acc` of the longer ones: a
# cliff past the lengths it was trained on, which no compounding curve follows (p {glue:text}`control_p_0`). On
# those short chains, whether thinking makes a model more fragile depends on the cut: the thinking organism lost
# more than the control in {glue:text}`gap_short_worse_1` method × length comparisons with one layer cut and less
# in {glue:text}`gap_short_better_1`; with {glue:text}`gap_deep` layers cut, more in
# {glue:text}`gap_short_worse_deep` and less in {glue:text}`gap_short_better_deep`. At paper scale, where Qwen3-8B
# solves most short chains, the fit can tell whether ε itself rises.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %% tags=["remove-cell"]
from lpts_helpers.book.build import check_injected_parameters

check_injected_parameters(globals())  # papermill -p with a name this chapter does not declare: an error

# %%
from lpts_helpers.book import display, plots
from lpts_helpers.chapters import ch09_compounding
from lpts_helpers.chapters.beyond import BeyondPlan
from lpts_helpers.core import verdicts
from lpts_helpers.core.store import RunStore
from lpts_helpers.engine.generation import BackendOptions

# %% tags=["hide-output"]
plots.enable_offline_charts()
store = RunStore(store_dir)
options = BackendOptions(tensor_parallel_size=tensor_parallel_size, progress=False, batch_size=64)
plan = BeyondPlan.for_profile(profile)
plan.to_dict()

# %% [markdown]
# ## Accuracy against chain length, and the fitted compounding curve

# %%
pruning = plan.pruning
cells = plan.chain_cells(store)
scores = ch09_compounding.chain_scores(cells, store, options=options)
fits = ch09_compounding.stored_fit_table(scores, ch09_compounding.holdouts(plan), store)
plots.compounding_chart(ch09_compounding.curves(scores, fits), title="Accuracy vs chain length: measured (95% CI) "
                        "and the fit a·(1 − ε)^k (dashed)")

# %% [markdown]
# ## The per-step error rate at each level of pruning
#
# Both forms of the fit, with the deviance's p-value and the out-of-sample prediction of the longer chains from
# the shorter ones ("misses": the measured accuracy falls outside the predicted interval).

# %%
ch09_compounding.fits_view(fits)

# %% [markdown]
# Where the deviance rejects the organism's curve, the chart shows why: two layers cut by ShortGPT and one by LaCo
# cost it its shortest chains while it still solves most of the longer ones, an accuracy that rises with chain
# length at first. No a·(1 − ε)^k can follow that; the closest puts all the loss in the start (ε
# {glue:text}`organism_eps_shortgpt_2` and {glue:text}`organism_eps_laco_1`, a {glue:text}`organism_a_shortgpt_2`
# and {glue:text}`organism_a_laco_1`). Three layers cut in reverse order keep the start but lose the chains in a
# cliff over the first few steps, not at a steady rate per step.

# %% [markdown]
# ## Does the model that thinks lose more than the one that answers directly?
#
# Change from the unpruned accuracy at each chain length, the thinking organism beside its direct-answer
# control (the same problems), and the difference of the two changes: below 0, pruning cost the thinking model
# more. Only the short chains, where the unpruned control solves at least half ({glue:text}`gap_short_steps`
# steps), test the question: on the longer ones it solves {glue:text}`control_long_acc` unpruned, has nothing
# to lose, and the difference is the thinking model's loss alone.

# %%
gap = ch09_compounding.control_gap(scores, pruning.organism, pruning.control)
ch09_compounding.gap_view(gap)

# %% [markdown]
# ## Every model's fit at the deepest level that still solves a chain

# %%
verdicts.findings_view(ch09_compounding.findings(fits, gap, pruning.organism, pruning.control))

# %% [markdown]
# ## The reviewers' questions as claim rows
#
# The paper tested neither question. R1: the per-step error of each variant at the deepest level that still
# solves a chain, beside the unpruned one. R2: the difference of the two changes on the longest chains, where the
# control solves none unpruned, so it is the thinking model's loss (the short chains are in the table above).

# %%
claims = ch09_compounding.claim_rows(fits, gap, cells, pruning.roles())
display.glue_numbers(ch09_compounding.key_numbers(fits, gap, pruning.roles())
                     | {"verdict": ch09_compounding.verdict(fits, gap, pruning.roles(), claims)})
verdicts.claims_view(claims)

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025), and its OpenReview reviews —
#   the question of why reasoning is fragile, and of non-reasoning baselines.
# - N. Dziri et al., *Faith and Fate: Limits of Transformers on Compositionality*, NeurIPS 2023 — errors that
#   compound over the steps of multi-step tasks.
# - Y. LeCun, *Do large language models need sensory grounding for meaning and understanding?* (talk, 2023) — the
#   (1 − e)^n argument for autoregressive generation.
