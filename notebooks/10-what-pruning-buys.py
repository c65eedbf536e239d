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
# # At equal compute, no pruned setting beats the unpruned model it can afford
#
# Pruning is meant to save compute; test-time scaling spends it. A reader deciding whether to prune wants one
# axis for both: the decoder-layer passes a problem costs, layers × generated tokens × samples (the same per-layer
# cost in every variant of a model, so FLOPs up to a constant). Each variant gives one point per number of samples
# k = 1, 2, 4, …, scored by majority vote — what a deployment without a verifier gets — with its 95% interval.
# Is a pruned model that samples more ever better than the unpruned model sampling less, at the same compute?
# The Pareto frontier (ringed points) answers at a glance; the table below asks it point by point, against the
# best unpruned setting that spends no more, paired over the same problems.
#
# **Verdict.** {glue:text}`verdict`
#
# **What it means.** Cutting a layer saves one layer pass per generated token, a small share of the compute, and
# a pruned model may write longer: cut in reverse order, the thinking SmolLM2's traces run to the budget
# ({glue:text}`reference_tokens_reverse_1` tokens against {glue:text}`reference_tokens_0`), so a sample costs it
# {glue:text}`reference_cost_reverse_1` times an unpruned one. No pruned setting turns its saving into accuracy.
# The thinking SmolLM2 is the sharpest case: {glue:text}`reference_losses` of its {glue:text}`reference_matched`
# pruned settings with an affordable unpruned match lose to that match beyond the 95% CI and
# {glue:text}`reference_wins` win; of the thinking organism's {glue:text}`organism_matched`,
# {glue:text}`organism_wins` win and {glue:text}`organism_losses` lose. Pruned settings reach the frontier only at
# its cheap end, below the cost of one unpruned sample, where nothing unpruned can be matched against them: one
# sample of the organism with one ShortGPT layer cut costs {glue:text}`organism_cost_shortgpt_1` of an unpruned
# one and solves {glue:text}`organism_acc_shortgpt_1` (unpruned {glue:text}`organism_acc_0`), and LaCo's deepest
# cut is cheaper still because it stops thinking after {glue:text}`organism_tokens_laco_deep` tokens and is wrong
# ({glue:text}`organism_acc_laco_deep`). The direct-answer control solves none of its {glue:text}`control_task`,
# pruned or not, so its comparisons are ties that say nothing.
#
# Majority voting is what a deployment without a verifier gets; chapter 06 shows pass@k (an oracle verifier)
# gaining far more from samples, and `frontier_score="pass"` puts that on the same axis. The paper profile's cost
# table below is what it would take to ask the same question of Qwen3-8B.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
frontier_score = None  # "maj" (majority vote, no verifier) | "pass" (pass@k, an oracle); None: the profile's (maj)
decode_tokens_per_s = 2000.0  # one GPU's aggregate decode rate for the GPU-hour estimate (an assumption: measure yours)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %% tags=["remove-cell"]
from lpts_helpers.book.build import check_injected_parameters

check_injected_parameters(globals())  # papermill -p with a name this chapter does not declare: an error

# %%
from lpts_helpers.book import display, plots
from lpts_helpers.chapters import ch10_frontier, scaleup
from lpts_helpers.chapters.beyond import BeyondPlan
from lpts_helpers.core import verdicts
from lpts_helpers.core.store import RunStore
from lpts_helpers.engine.generation import BackendOptions
from lpts_helpers.methods import frontier

# %% tags=["hide-output"]
plots.enable_offline_charts()
store = RunStore(store_dir)
options = BackendOptions(tensor_parallel_size=tensor_parallel_size, progress=False, batch_size=64)
plan = BeyondPlan.for_profile(profile, frontier_score=frontier_score)
plan.to_dict()

# %% [markdown]
# ## Accuracy against compute, and the frontier

# %%
cells = plan.frontier_cells(store)
table, per_problem = frontier.points(cells, store, score=plan.frontier_score, options=options)
table = frontier.pareto(table)
plots.frontier_chart(table, title="Accuracy vs layer passes per problem (k = 1, 2, 4, … samples; ringed: Pareto)")

# %% [markdown]
# ## Each pruned setting against the best unpruned one it can afford
#
# "None cheaper": the pruned setting costs less than one unpruned sample, so no unpruned setting can be set
# against it; these are the pruned points that can reach the frontier.

# %%
matches = frontier.matched(table, per_problem)
ch10_frontier.matched_view(matches)

# %% [markdown]
# ## Model by model
#
# The settings that make up each model's frontier, and how many pruned settings beat (or lose to) their match.

# %%
verdicts.findings_view(ch10_frontier.findings(table, matches))

# %% [markdown]
# ## Paper vs ours
#
# The paper compares pruned models at equal layers removed, not at equal compute, so the row this chapter adds to
# the book's summary goes beyond it: per model, the pruned setting that does best against its unpruned match.

# %%
claims = ch10_frontier.claim_rows(matches, cells, plan.frontier_score)
display.glue_numbers(ch10_frontier.key_numbers(table, matches, cells, plan.pruning.roles())
                     | {"verdict": ch10_frontier.verdict(table, matches, cells, plan.pruning.roles(), claims)})
verdicts.claims_view(claims)

# %% [markdown]
# ## At paper scale
#
# The same chapters run on Qwen3-8B and s1.1-7B with `profile="paper"`, and on a model above 10B with vLLM's
# tensor parallelism (see the README). What the paper profile asks of the GPUs, counted from its plans (an upper
# bound: every sample runs to its full budget), and the GPU hours at a decode rate you measure with
# `benchmarks/throughput.py`:

# %%
scaleup.paper_cost(decode_tokens_per_s)

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025).
# - C. Snell et al., *Scaling LLM Test-Time Compute Optimally can be More Effective than Scaling Model
#   Parameters*, arXiv 2408.03314 (2024) — compute-matched comparisons of test-time strategies.
# - X. Men et al., *ShortGPT*, arXiv 2403.03853 (2024) — pruning for cheaper inference.
