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
# **What it means.** A pruned layer saves one layer pass per token, a few percent of the compute, and pruned
# models often write longer (the organism cut by reverse order or ShortGPT writes more "Wait" lines), so their
# cost per sample falls less than their depth. What they lose in accuracy is more than the compute they save buys
# back: for the thinking organism no pruned setting beats the best unpruned setting it can afford, and 8 of 22
# lose to it beyond the 95% interval. Pruned variants appear on the frontier only at its cheap end — one sample
# of a model with fewer layers, or LaCo's cut, which stops thinking after about 26 tokens and is cheap because it
# is wrong — where nothing else is that cheap. The thinking SmolLM2 (30 problems) is the sharpest case: each of
# its 10 pruned settings with an affordable unpruned match loses to that match beyond the interval, and cut in
# reverse order its traces run to the budget, so a sample costs it 2.7 times the unpruned model's. For the
# direct-answer control no comparison is resolved either way. Majority voting is what a deployment without a verifier gets; chapter 06
# shows pass@k (an oracle verifier) gaining far more from samples, and `frontier_score="pass"` puts that on the
# same axis. The paper profile's cost table below is what it would take to ask the same question of Qwen3-8B.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
frontier_score = None  # "maj" (majority vote, no verifier) | "pass" (pass@k, an oracle); None: the profile's (maj)
decode_tokens_per_s = 2000.0  # one GPU's aggregate decode rate for the GPU-hour estimate (an assumption: measure yours)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %%
from myst_nb import glue

from lpts_helpers.book import plots
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

# %%
matches = frontier.matched(table, per_problem)
ch10_frontier.matched_view(matches)

# %% [markdown]
# ## Verdict

# %%
findings = ch10_frontier.findings(table, matches)
glue("verdict", " ".join(f"{text}." for text in findings.values()), display=False)
verdicts.findings_view(findings)

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
