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
# **What it means.** The unpruned organism is right at every length from 1 to 24 steps (ε {glue:text}`thinking_eps`, a
# {glue:text}`thinking_a`), so every error the fits find is one that pruning made. With {glue:text}`deepest` layers cut in
# reverse order the start survives (a {glue:text}`reverse_a`) and each step goes wrong with probability
# {glue:text}`reverse_eps` — pure compounding, the reviewers' explanation. With {glue:text}`deepest` cut by ShortGPT the
# start breaks (a {glue:text}`shortgpt_a`) and the per-step error is {glue:text}`shortgpt_eps`: pruning damages both what
# the whole chain needs and each step. The pure form (1 − ε)^k is rejected for {glue:text}`pure_rejected` of the
# organism's variants, and fitted on chains of up to 8 steps, a·(1 − ε)^k predicts the 16- and 24-step accuracy
# within its interval for {glue:text}`predicted` — compounding explains part of the collapse, not all of it.
# The thinking SmolLM2 tells the reviewers' story most cleanly. Unpruned it slips on about one step in a hundred
# (ε {glue:text}`reference_eps`), and its 15-term sums fall further than that predicts: its longest chains carry
# a cost of their own. With {glue:text}`reference_first_cut` ShortGPT layer cut the start holds (a
# {glue:text}`reference_first_a`) and the per-step error rises to {glue:text}`reference_first_eps` — pure
# compounding, which predicts the 15-term accuracy from the shorter sums; deeper cuts break the start as well
# ({glue:text}`reference_deeper`). Fitted on sums of up to 10 terms, the curve predicts the 15-term accuracy for
# {glue:text}`reference_predicted` of its variants. The
# reviewers' non-reasoning baseline answers short chains at once but loses accuracy with every digit it must add
# without writing it out (ε {glue:text}`control_eps` unpruned, where the thinking organism's is {glue:text}`thinking_eps`).
# With {glue:text}`deepest` layers cut, the thinking organism lost more than the control in {glue:text}`gap_worse` method ×
# length comparisons and less in {glue:text}`gap_better`; at 16 and 24 steps the control is near 0 unpruned and has
# little to lose, so the count speaks mostly for the shorter chains, where both models start high. At paper
# scale, where Qwen3-8B solves most short chains, the same fit can tell whether ε itself rises.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %%
from myst_nb import glue

from lpts_helpers.book import plots
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
holdout = {model: plan.holdout(model, pruning) for model in pruning.models()}
fits = ch09_compounding.stored_fit_table(scores, holdout, store)
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
# ## Does the model that thinks lose more than the one that answers directly?
#
# Change from the unpruned accuracy at each chain length, the thinking organism beside its direct-answer
# control (the same problems), and the difference of the two changes: below 0, pruning cost the thinking model
# more.

# %%
gap = ch09_compounding.control_gap(scores, pruning.organism, pruning.control)
ch09_compounding.gap_view(gap)

# %% [markdown]
# ## Verdict

# %%
findings = ch09_compounding.findings(fits, gap, pruning.organism, pruning.control)
glue("verdict", " ".join(f"{text}." for text in findings.values()), display=False)
for key, value in ch09_compounding.key_numbers(fits, gap, pruning.organism, pruning.control,
                                               pruning.reference).items():
    glue(key, value, display=False)
verdicts.findings_view(findings)

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025), and its OpenReview reviews —
#   the question of why reasoning is fragile, and of non-reasoning baselines.
# - N. Dziri et al., *Faith and Fate: Limits of Transformers on Compositionality*, NeurIPS 2023 — errors that
#   compound over the steps of multi-step tasks.
# - Y. LeCun, *Do large language models need sensory grounding for meaning and understanding?* (talk, 2023) — the
#   (1 − e)^n argument for autoregressive generation.
