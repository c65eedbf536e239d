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
# cut: with two its long chains are already nearly gone, chapter 04) with its budget on sums of 2–15 terms mixed and
# "Wait" on 15-term sums. Each curve's slope is reported with its 95% bootstrap interval: accuracy gained per
# doubling of the budget, and per forced "Wait".
#
# **Verdict.** {glue:text}`verdict`
#
# **What it means.** On the thinking SmolLM2 the claim holds for every method. Unpruned, a doubled budget buys it
# {glue:text}`reference_budget_slope_0` of accuracy on its {glue:text}`reference_budget_words`, from
# {glue:text}`reference_budget_first_0` at the smallest budget to {glue:text}`reference_budget_last_0` at the largest.
# With one layer cut by ShortGPT a doubling buys {glue:text}`reference_budget_slope_shortgpt_1` and the curve stops at
# {glue:text}`reference_budget_last_shortgpt_1`, though the pruned model thinks as long as before. One LaCo merge leaves
# {glue:text}`reference_budget_slope_laco_1` (ceiling {glue:text}`reference_budget_last_laco_1`); cut in reverse order,
# every trace runs to the budget and more budget makes it worse ({glue:text}`reference_budget_slope_reverse_1`). The
# paper's Qwen3-8B gains far less per doubling on MATH500 ({glue:text}`paper_math500_slope_0` unpruned,
# {glue:text}`paper_math500_slope_shortgpt_2` with two ShortGPT layers cut): a budget shorter than one of our chains
# cuts the chain, so our slopes are steeper.
#
# On the organism it holds only in part. One layer cut by any method leaves its curve in place (it ends at
# {glue:text}`organism_budget_last_any_1`), and two cut in reverse order do not visibly flatten it
# ({glue:text}`organism_budget_slope_reverse_2` against {glue:text}`organism_budget_slope_0` unpruned: an interval
# that cannot tell, so that row counts neither way). Two cut by
# ShortGPT keep the slope positive ({glue:text}`organism_budget_slope_shortgpt_2`) but lower the ceiling to
# {glue:text}`organism_budget_last_shortgpt_2`; two LaCo merges leave a model that ends its thinking after about
# {glue:text}`organism_thinking_last_laco_2` tokens whatever the budget, so more budget buys nothing. Pruning takes away
# what extra thinking can reach, and "stops paying off" appears only where the pruned model stops thinking. Forced
# "Wait" cannot test the claim: {glue:text}`most_waits` already lower the unpruned organism's accuracy on its
# {glue:text}`organism_long_words` from {glue:text}`organism_wait_none_0` to {glue:text}`organism_wait_most_0`, and the
# SmolLM2's on its {glue:text}`reference_long_words` from {glue:text}`reference_wait_none_0` to
# {glue:text}`reference_wait_most_0`.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
n_problems = None  # long-chain problems per setting, at least 1; None: set by the profile (60)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %% tags=["remove-cell"]
from lpts_helpers.book.build import check_injected_parameters

check_injected_parameters(globals())  # papermill -p with a name this chapter does not declare: an error

# %%
from lpts_helpers.book import display, plots
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
# The thinking is cut after the budget; a model that ends its thinking earlier keeps its own end. Budgets run from
# {glue:text}`budget_first` to {glue:text}`budget_last` thinking tokens. The unpruned organism solves every chain before
# the largest budget, so its curve has no headroom at the top. The SmolLM2 with one ShortGPT layer cut thinks as long as
# the unpruned one ({glue:text}`reference_thinking_last_shortgpt_1` thinking tokens on average at the largest budget,
# unpruned {glue:text}`reference_thinking_last_0`) and gets more sums wrong; cut in reverse order, every trace runs to
# the budget ({glue:text}`reference_thinking_last_reverse_1` tokens at the largest) and accuracy falls from
# {glue:text}`reference_budget_first_reverse_1` at the smallest budget to {glue:text}`reference_budget_last_reverse_1`
# at the largest. The organism with two LaCo merges ends its thinking after about
# {glue:text}`organism_thinking_last_laco_2` tokens whatever the budget and solves
# {glue:text}`organism_budget_last_laco_2` of its chains.

# %%
budget_cells = plan.budget_cells(store)
budgets = study.compare(budget_cells, store, options=options)
plots.scaling_chart(budgets, x="budget", x_title="thinking budget (tokens)", log_x=True,
                    title="Accuracy against the thinking budget, per level of pruning (click a level)")

# %% [markdown]
# ## Forced "Wait"
#
# Forced "Wait" costs even the unpruned organism: after a forced Wait it writes its last line again and goes astray, as
# chapter 02 also found, and with {glue:text}`most_waits` it solves {glue:text}`organism_wait_most_0` of its
# {glue:text}`organism_long_words`. Pruned by reverse order (two layers) it loses less
# ({glue:text}`organism_wait_most_reverse_2`).

# %%
wait_cells = plan.wait_cells(store)
waits = study.compare(wait_cells, store, options=options)
plots.scaling_chart(waits, x="waits", x_title="forced 'Wait' (ends of thinking suppressed)",
                    title="Accuracy against forced 'Wait's, per level of pruning (click a level)")

# %% [markdown]
# ## Slopes: does more thinking still help?
#
# Least-squares slope of accuracy against log2 of the budget (points per doubling) and against the number of forced
# "Wait"s, with a bootstrap interval that resamples whole problems. The paper's MATH500 and AIME24 curves (Qwen3-8B,
# ShortGPT, reverse-order, LaCo) give its slopes over 512–8192 tokens, computed the same way from its reported points
# (no interval: per-problem results are not published). Ours are far steeper: unpruned, a doubling buys the organism
# {glue:text}`organism_budget_slope_0` and the SmolLM2 {glue:text}`reference_budget_slope_0`, the paper's Qwen3-8B
# {glue:text}`paper_math500_slope_0` on MATH500, because a budget shorter than a chain cuts the chain.

# %%
slopes = ch05_sequential.scaling_slopes(budget_cells, wait_cells, store, paper.sequential_table())
slopes

# %% [markdown]
# ## Slopes and end points, per model and method
#
# The slope of each knob unpruned and at the deepest level run, per method, and every variant's accuracy at the
# largest budget and at the most forced "Wait"s, with 95% CIs.

# %%
verdicts.findings_view(ch05_sequential.sequential_findings(slopes, budgets, waits))

# %% [markdown]
# ## Paper vs ours

# %%
claims = ch05_sequential.sequential_claim(slopes)
display.glue_numbers(ch05_sequential.key_numbers(slopes, budgets, waits, plan.roles())
                     | {"verdict": ch05_sequential.verdict(slopes, budgets, waits, plan.roles(), claims)})
verdicts.claims_view(claims)

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025).
# - N. Muennighoff et al., *s1: Simple test-time scaling*, arXiv 2501.19393 (2025) — budget forcing.
