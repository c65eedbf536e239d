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
# **What it means.** On the thinking SmolLM2 ({glue:text}`reference_problems` of its {glue:text}`reference_long_words`,
# {glue:text}`reference_samples` each) pruning takes the vote more than the right answer. Unpruned, one sample is right
# {glue:text}`reference_long_pass1_0` of the time, {glue:text}`reference_samples` contain a right one
# {glue:text}`reference_long_passk_0` and their majority is right {glue:text}`reference_long_majk_0`. With one layer
# cut, voting gains {glue:text}`reference_long_maj_gain_shortgpt_1` over one sample under ShortGPT and
# {glue:text}`reference_long_maj_gain_laco_1` under LaCo, while any right sample still adds
# {glue:text}`reference_long_pass_gain_shortgpt_1` and {glue:text}`reference_long_pass_gain_laco_1`, a change from the
# unpruned gain that these problems cannot resolve ({glue:text}`reference_long_gain_change_shortgpt_1`,
# {glue:text}`reference_long_gain_change_laco_1`). Without a verifier that gain is lost, as the paper says; an oracle
# verifier would keep part of it. Cut in reverse order, the gain shrinks beyond doubt
# ({glue:text}`reference_long_gain_change_reverse_1`). The ShortGPT-cut model's {glue:text}`reference_pass_at_k`
# ({glue:text}`reference_long_passk_shortgpt_1`) is no better than one unpruned sample: the paper's AIME picture in
# miniature ({glue:text}`paper_pass_at_top` {glue:text}`paper_pass_top_shortgpt_2` with two layers cut, one unpruned
# sample {glue:text}`paper_pass_1_0`).
#
# On the organism pruning lowers the whole curve, not the gain. With two layers cut by ShortGPT,
# {glue:text}`organism_pass_at_k` on its {glue:text}`organism_long_words` is
# {glue:text}`organism_long_passk_shortgpt_2`, below the {glue:text}`organism_long_pass1_0` of one unpruned sample; with
# two LaCo merges it is {glue:text}`organism_long_passk_laco_2`. Yet the gain of sampling grows: the unpruned organism
# has almost nothing left to gain ({glue:text}`organism_long_pass_gain_0`), the pruned ones gain
# {glue:text}`organism_long_pass_gain_shortgpt_2` (ShortGPT) and {glue:text}`organism_long_pass_gain_reverse_2` (reverse
# order). The paper's own AIME gain barely moves ({glue:text}`paper_gain_change_shortgpt_2` with two ShortGPT layers
# cut): there too the flattening is mostly a lower curve. The direct-answer control solves no long chain unpruned; on
# its {glue:text}`control_short_words` sampling adds {glue:text}`control_short_pass_gain_0` unpruned,
# {glue:text}`control_short_pass_gain_shortgpt_2` after two ShortGPT layers and
# {glue:text}`control_short_pass_gain_laco_2` after two LaCo merges.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
n_samples = None  # samples per organism problem, at least 1; None: set by the profile (16)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %% tags=["remove-cell"]
from lpts_helpers.book.build import check_injected_parameters

check_injected_parameters(globals())  # papermill -p with a name this chapter does not declare: an error

# %%
from lpts_helpers.book import display, plots
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
#
# A pruned model's errors are scattered over its samples, so sampling often finds a right chain that a vote does not:
# with two layers cut by ShortGPT, the organism's {glue:text}`organism_maj_at_k` on its {glue:text}`organism_long_words`
# is {glue:text}`organism_long_majk_shortgpt_2` against {glue:text}`organism_pass_at_k`
# {glue:text}`organism_long_passk_shortgpt_2`. The same cut leaves its {glue:text}`organism_short_words` at
# {glue:text}`organism_short_passk_shortgpt_2` even with {glue:text}`organism_samples`, and two LaCo merges leave them
# at {glue:text}`organism_short_passk_laco_2`. Unpruned, one sample of the organism is right on
# {glue:text}`organism_long_pass1_0` of its long chains (chapter 02 missed its headroom target), so it has little left
# to gain.

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
# Gain of k samples over one (pass@k − pass@1 and maj@k − pass@1, paired over problems) at the largest k, and whether
# the pruned model with k samples reaches the unpruned model's pass@1. The paper's pass@k on AIME (Qwen3-8B) is beside
# ours. A gain "shrinks" only when the paired 95% interval of its change lies below zero; pass@k assumes a perfect
# verifier, which maj@k does not. For the thinking SmolLM2 with one ShortGPT layer cut, {glue:text}`reference_pass_at_k`
# minus one unpruned sample's accuracy is {glue:text}`reference_long_vs_unpruned_shortgpt_1`, an interval that does not
# settle which is higher. The direct-answer control answers its {glue:text}`control_short_words` at once (one sample at
# temperature 1.0 right {glue:text}`control_short_pass1_0` of the time); cut in reverse order it is left almost nothing
# to find ({glue:text}`control_short_pass1_reverse_2` with two layers cut).

# %%
gains = ch06_parallel.sampling_gains(cells, store)
ch06_parallel.gains_view(gains)

# %%
ch06_parallel.parallel_beside_paper(curves, paper.parallel_table())

# %% [markdown]
# ## Each model and task, unpruned and at its deepest cut
#
# What k samples add, per model and task, unpruned and per method at the deepest level run, with 95% CIs.

# %%
verdicts.findings_view(ch06_parallel.parallel_findings(gains))

# %% [markdown]
# ## Paper vs ours

# %%
claims = ch06_parallel.parallel_claim(gains, paper.parallel_table())
display.glue_numbers(ch06_parallel.key_numbers(gains, curves, plan.roles(), paper.parallel_table())
                     | {"verdict": ch06_parallel.verdict(gains, curves, plan.roles(), paper.parallel_table(), claims)})
verdicts.claims_view(claims)

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025).
# - M. Chen et al., *Evaluating Large Language Models Trained on Code*, arXiv 2107.03374 (2021) — unbiased pass@k.
# - X. Wang et al., *Self-Consistency Improves Chain of Thought Reasoning*, arXiv 2203.11171 (2022) — majority vote.
