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
# # One cut layer takes most of what a longer thinking budget buys
#
# A reasoning model gets better when it thinks longer: s1's budget forcing cuts the thinking at a budget of tokens
# (then asks for the answer with "Final Answer:"), or suppresses the end of thinking and appends "Wait" so that the
# model goes on. The paper finds that after pruning, more thinking stops helping: on MATH500 the unpruned Qwen3-8B
# gains 8 points from 512 to 8192 thinking tokens, and with 2 ShortGPT-pruned layers only 4. Here both knobs are
# turned for the two models that think: the organism (0, 1 and 2 layers cut) with its budget on chains of 1–24
# steps mixed (as MATH500 mixes levels) and "Wait" on 24-step chains, and the thinking SmolLM2 (0 and 1 layer
# cut: with two its long chains are already at 0.02, chapter 04) with its budget on sums of 2–15 terms mixed and
# "Wait" on 15-term sums. Each curve's slope is reported with its 95% bootstrap interval: accuracy gained per
# doubling of the budget, and per forced "Wait".
#
# **Verdict.** {glue:text}`verdict`
#
# **What it means.** On the thinking SmolLM2 the claim holds for every method. Unpruned, a doubled budget buys
# it 0.19 of accuracy on the mixed sums (0.24 at 24 tokens, 0.92 from 192 on). With one layer cut by ShortGPT a
# doubling buys half as much and the curve stops at 0.50: the pruned model thinks as long as the unpruned one
# (65 tokens on average at the top budgets) and gets more chains wrong. With one LaCo merge the slope is 0.03
# and the ceiling 0.23. Cut in reverse order, every trace runs to the budget and more budget makes it worse (0.12
# at 24 tokens, 0.00 at 384). Its slopes are steeper than the paper's (MATH500: 0.018 per doubling unpruned) for
# the organism's reason below: a budget shorter than a chain cuts the chain. Forced "Wait" costs even the
# unpruned model (14-step sums 0.77 → 0.30 at two Waits), so it cannot test the claim here.
#
# On the organism the claim partly holds. Unpruned, accuracy on the mixed set climbs from 0.20 at 24 tokens to 1.00 at 192 (0.23 per doubling): each
# doubling lets longer chains finish. One layer cut by any method leaves that curve in place (0.95–1.00 at the
# top). Two layers cut by ShortGPT keep the slope positive but halve the ceiling (0.55 at 384 tokens, where the
# unpruned model is at 1.00), and two cut by LaCo leave a model that closes its thinking after about 26 tokens
# whatever the budget, so more budget buys nothing (0.00 everywhere). Reverse-order pruning of two layers does not
# flatten the curve at all (0.225, its interval overlapping the unpruned 0.233). So pruning here takes away what
# extra thinking can reach rather than making thinking longer useless; the paper's "stops paying off" is seen
# only where the pruned model stops thinking (LaCo). Two differences from the paper should be kept in mind: our
# slope is far steeper (the paper's unpruned Qwen3-8B gains about 2 points per doubling on MATH500, ours 23),
# because a budget below a chain's length cuts the chain, and the unpruned organism has no headroom above 192
# tokens. Forced "Wait" cannot test the claim: it already costs the unpruned organism 0.37 of its 24-step chains at
# two Waits (1.00 → 0.63; after a forced Wait it writes its last line again and goes astray), a measured
# negative result that chapter 02 also found; pruned by reverse order it loses less (0.85).

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
n_problems = None  # long-chain problems per setting, at least 1; None: set by the profile (60)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %%
from myst_nb import glue

from lpts_helpers.book import plots
from lpts_helpers.chapters import ch05_sequential, pruning
from lpts_helpers.core import paper, verdicts
from lpts_helpers.core.store import RunStore
from lpts_helpers.engine.generation import BackendOptions
from lpts_helpers.methods import study

# %% tags=["hide-output"]
plots.enable_offline_charts()
store = RunStore(store_dir)
options = BackendOptions(tensor_parallel_size=tensor_parallel_size, progress=False, batch_size=64)
plan = pruning.PruningPlan.for_profile(profile, n_problems=n_problems)
plan.to_dict()

# %% [markdown]
# ## Longer thinking budgets
#
# The thinking is cut after the budget; a model that ends its thinking earlier keeps its own end.

# %%
budget_cells = plan.budget_cells(store)
budgets = study.compare(budget_cells, store, options=options)
plots.scaling_chart(budgets, x="budget", x_title="thinking budget (tokens)", log_x=True,
                    title="Accuracy against the thinking budget, per level of pruning (click a level)")

# %% [markdown]
# ## Forced "Wait"

# %%
wait_cells = plan.wait_cells(store)
waits = study.compare(wait_cells, store, options=options)
plots.scaling_chart(waits, x="waits", x_title="forced 'Wait' (ends of thinking suppressed)",
                    title="Accuracy against forced 'Wait's, per level of pruning (click a level)")

# %% [markdown]
# ## Slopes: does more thinking still help?
#
# Least-squares slope of accuracy against log2 of the budget (points per doubling) and against the number of
# forced "Wait"s, with a bootstrap interval that resamples whole problems. The paper's MATH500 and AIME24 curves
# (Qwen3-8B, ShortGPT, reverse-order, LaCo) give its slopes over 512–8192 tokens, computed the same way from its
# reported points (no interval: per-problem results are not published).

# %%
slopes = ch05_sequential.scaling_slopes(budget_cells, wait_cells, store, paper.sequential_table())
slopes

# %%
findings = ch05_sequential.sequential_findings(slopes, budgets, waits)
glue("verdict", " ".join(f"{text}." for text in findings.values()), display=False)
verdicts.findings_view(findings)

# %% [markdown]
# ## Paper vs ours

# %%
verdicts.claims_view(ch05_sequential.sequential_claim(slopes))

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025).
# - N. Muennighoff et al., *s1: Simple test-time scaling*, arXiv 2501.19393 (2025) — budget forcing.
