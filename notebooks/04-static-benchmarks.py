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
# # Long chains break first: one cut layer costs most long sums and little knowledge
#
# The paper's first finding: cutting layers leaves knowledge (MMLU) nearly intact while long-chain reasoning
# (AIME24, MATH500) collapses after one or two layers. Here every model is pruned by each method, 0 to about 25%
# of its depth, and answers the same problems as unpruned: the organism and its direct-answer control on recall
# (the MMLU analogue), short chains (2 steps, the GSM8K analogue) and long chains (24 steps, the AIME analogue);
# the thinking SmolLM2-135M of chapter 02 on reasoning-gym sums of 15 one-digit terms (14 steps: its long chains)
# and of 3 (its short chains), and — its knowledge — on the four static benchmarks it is above chance on
# (ARC-Easy, PIQA, HellaSwag, OpenBookQA; the same 500 seeded questions for every variant, scored by
# log-likelihood as lm-eval scores them, chapter 01). Each point is the share of the unpruned accuracy
# kept (retention) with a paired 95% bootstrap interval over the same problems; a task the unpruned model does not
# solve above chance cannot show retention and is marked uninformative.
#
# **Verdict.** {glue:text}`verdict`
#
# **What it means.** On the real model taught to think, the paper's asymmetry appears whole. One layer cut leaves the
# thinking SmolLM2 {glue:text}`reference_long_acc_shortgpt_1` of its long sums under ShortGPT,
# {glue:text}`reference_long_acc_laco_1` under LaCo and {glue:text}`reference_long_acc_reverse_1` under reverse order
# (unpruned {glue:text}`reference_long_acc_0`), while its four knowledge benchmarks keep
# {glue:text}`reference_knowledge_shortgpt_1` of their scores (the paper's MMLU keeps {glue:text}`paper_mmlu_1` with one
# layer cut). With {glue:text}`reference_deep` layers cut by ShortGPT it keeps
# {glue:text}`reference_knowledge_shortgpt_deep` of that knowledge and {glue:text}`reference_long_shortgpt_deep` of its
# long sums. It departs from the paper on short chains: its short sums keep {glue:text}`reference_short_shortgpt_1` with
# one ShortGPT layer cut and {glue:text}`reference_short_shortgpt_2` with two, where the paper's GSM8K keeps
# {glue:text}`paper_gsm8k_2` with two; on this small model short and long chains fall within a layer of each other, and
# only knowledge holds.
#
# The organism's long chains collapse too. Its first seed, the one the rest of the book prunes, keeps
# {glue:text}`organism_long_shortgpt_1`, {glue:text}`organism_long_shortgpt_2` and {glue:text}`organism_long_shortgpt_3`
# of them with one, two and three ShortGPT layers cut, beside the paper's AIME24 at {glue:text}`paper_aime24_1`,
# {glue:text}`paper_aime24_2` and {glue:text}`paper_aime24_3`; its other two seeds lose them with the first cut by any
# method ({glue:text}`other_seeds_long_1`). Its knowledge holds in order but not in size: open recall keeps
# {glue:text}`organism_knowledge_shortgpt_3` with three layers cut, where the paper's MMLU keeps
# {glue:text}`paper_mmlu_3`; its short chains fall with the long ones ({glue:text}`organism_short_shortgpt_2` with two
# cut: the pruned model no longer stops after the prompt's digits). The direct-answer control keeps most of its
# knowledge under ShortGPT and LaCo ({glue:text}`control_knowledge_shortgpt_1` and {glue:text}`control_knowledge_laco_1`
# with one layer cut) and loses it under reverse order ({glue:text}`control_knowledge_reverse_1`); it solves no long
# chain unpruned, so those are uninformative. Multiple-choice recall by letter is at chance for the thinking organism
# and says nothing.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
n_problems = None  # problems per organism task, at least 1; None: set by the profile (60)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %% tags=["remove-cell"]
from lpts_helpers.book.build import check_injected_parameters

check_injected_parameters(globals())  # papermill -p with a name this chapter does not declare: an error

# %%
from myst_nb import glue

from lpts_helpers.book import display, plots
from lpts_helpers.chapters import ch04_static, pruning
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
# ## Accuracy as layers are cut
#
# Greedy decoding. The organism and the thinking SmolLM2 think before they answer a chain (up to 384 tokens; a
# 24-step chain takes the organism about 200, a 14-step sum SmolLM2 about 150); the control answers at once.

# %%
table = study.compare(plan.static_cells(store), store, options=options)
plots.retention_chart(table, title="Retention of unpruned accuracy as layers are cut (click a method)")

# %%
study.retention_view(table[table["pruned_layers"] > 0])

# %% [markdown]
# ## The spread over the organism's seeds
#
# The thinking organism was trained three times from different initialisations and data orders (chapter 02).
# Each seed is pruned by each method on its own Block Influence and answers the same problems; the table gives
# every seed's accuracy and the range over seeds. {glue:text}`seed_verdict`

# %%
spread = ch04_static.seed_spread(table, plan.seed_cells(store), plan.seed_models(), store, options=options)
glue("seed_verdict", ch04_static.seed_findings(spread, plan.seed_models()) + ".", display=False)
spread

# %% [markdown]
# ## Knowledge against long chains, beside the paper
#
# ShortGPT's paper reported about 85% retention on knowledge benchmarks at 25% of the layers pruned; the paper
# under study contradicts it on MMLU (Qwen3-8B: 0.73 unpruned, 0.46 with 7 of 36 layers cut) and shows AIME24
# falling to 0 after 3 layers. The table sets the paper's retention (its accuracy over its unpruned accuracy,
# read from its figures) beside ours, per family and number of ShortGPT-pruned layers.

# %%
beside = ch04_static.static_beside_paper(table, paper.static_table())
beside

# %% [markdown]
# LaCo's own literature measured knowledge benchmarks after merging away a quarter of Llama-2-7B's layers; the
# table puts that retention beside ours where we score the same benchmark, at the level nearest a quarter of each
# model's depth.

# %%
ch04_static.laco_beside_literature(table, plan.depths(store))

# %% [markdown]
# ## Every model at its first and deepest cut
#
# The share of unpruned accuracy each task keeps, per model and method, with 95% CIs.

# %%
verdicts.findings_view(ch04_static.static_findings(table))

# %% [markdown]
# ## Paper vs ours
#
# The rows this chapter adds to the book's summary: what each family keeps at the deepest level of ShortGPT
# pruning, against the paper's retention, and whether ours agrees.

# %%
claims = ch04_static.static_claims(table, paper.static_table())
display.glue_numbers(ch04_static.key_numbers(table, plan.roles(), paper.static_table(), spread)
                     | {"verdict": ch04_static.verdict(table, plan.roles(), claims)})
verdicts.claims_view(claims)

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025).
# - X. Men et al., *ShortGPT*, arXiv 2403.03853 (2024) — the 25% / 85% claim.
# - Y. Yang et al., *LaCo*, arXiv 2402.11187 (2024).
