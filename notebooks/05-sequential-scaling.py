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
# # Sequential scaling: not testable on the embedded default — the unpruned organism gains nothing from longer thinking or forced "Wait", so pruning has no scaling to break
#
# A reasoning model gets better when it thinks longer: s1's budget forcing cuts the thinking at a budget of tokens
# (then asks for the answer with "Final Answer:"), or suppresses the end of thinking and appends "Wait" so that the
# model goes on. The paper finds that after pruning, more thinking stops helping: on MATH500 the unpruned Qwen3-8B
# gains 8 points from 512 to 8192 thinking tokens, and with 2 ShortGPT-pruned layers only 4. Here both knobs are
# turned for the organism on long chains at each level of pruning, and each curve's slope is reported with its 95%
# bootstrap interval: accuracy gained per doubling of the budget, and per forced "Wait".
#
# **Verdict.** {glue:text}`verdict`
#
# **What it means.** The paper's claim is that pruning takes away the benefit of thinking longer. That needs a
# model that benefits to begin with; the organism does not (chapter 02 missed that target), so every slope here,
# pruned or not, is indistinguishable from zero or barely above it, and the claim can be neither confirmed nor
# refuted on the embedded default. The chapter runs unchanged with `profile="paper"` on Qwen3-8B.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
n_problems = None  # long-chain problems per setting, at least 1; None: set by the profile (60)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %%
from myst_nb import glue

from lpts_helpers import paper, plans, plots, study
from lpts_helpers.generation import BackendOptions
from lpts_helpers.store import RunStore

plots.enable_offline_charts()
store = RunStore(store_dir)
options = BackendOptions(tensor_parallel_size=tensor_parallel_size, progress=False, batch_size=64)
plan = plans.PruningPlan.for_profile(profile, n_problems=n_problems)
plan.to_dict()

# %% [markdown]
# ## Longer thinking budgets
#
# The thinking is cut after the budget; a model that ends its thinking earlier keeps its own end.

# %%
budget_cells = plan.budget_cells(store, profile)
budgets = study.compare(budget_cells, store, options=options)
plots.scaling_chart(budgets, x="budget", x_title="thinking budget (tokens)", log_x=True,
                    title="Accuracy against the thinking budget, per level of pruning (click a level)")

# %% [markdown]
# ## Forced "Wait"

# %%
wait_cells = plan.wait_cells(store, profile)
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
slopes = study.scaling_slopes(budget_cells, wait_cells, store, paper.sequential_table())
slopes

# %%
findings = study.sequential_findings(slopes, budgets, waits)
glue("verdict", " ".join(f"{text}." for text in findings.values()), display=False)
study.findings_view(findings)

# %% [markdown]
# ## Paper vs ours

# %%
study.sequential_claim(slopes)

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025).
# - N. Muennighoff et al., *s1: Simple test-time scaling*, arXiv 2501.19393 (2025) — budget forcing.
