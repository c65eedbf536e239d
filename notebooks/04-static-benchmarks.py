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
# # Static benchmarks: pruning erases the thinking organism's recall but not its direct-answer control's; long chains are at the floor before pruning, so their collapse cannot be tested on the embedded default
#
# The paper's first finding: cutting layers leaves knowledge (MMLU) nearly intact while long-chain reasoning
# (AIME24, MATH500) collapses after one or two layers. Here every model is pruned by each method, 0 to about 25%
# of its depth, and answers the same problems as unpruned: the organism and its direct-answer control on recall
# (the MMLU analogue), short chains (2 steps, the GSM8K analogue) and long chains (8 steps, the AIME analogue);
# SmolLM2-135M on reasoning-gym sums of 2 one-digit terms (at 4 terms and more it is at the floor before any
# pruning: 0.00 of 30 in a first run of this chapter, LOG.md). Each point is the share of the unpruned accuracy
# kept (retention) with a paired 95% bootstrap interval over the same problems; a task the unpruned model does not
# solve above chance cannot show retention and is marked uninformative.
#
# **Verdict.** {glue:text}`verdict`
#
# **What it means.** The paper's asymmetry (knowledge survives, long chains collapse) is not what the embedded
# default shows. The thinking organism loses its memorized facts first, within two or three of twelve layers,
# while its direct-answer control, trained on the same facts, keeps them under ShortGPT and LaCo pruning: thinking
# traces seem to crowd the organism's recall into fewer places. Long chains cannot show a collapse on either
# model because the unpruned models hardly solve them (the organism misses its training targets, chapter 02), and
# SmolLM2's two-term sums fall with the first layer cut and are gone at 8 of 30. The paper's MMLU (knowledge)
# retention is set beside ours below; SmolLM2's MMLU is at chance (chapter 01) and not used.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
n_problems = None  # problems per organism task, at least 1; None: set by the profile (60)
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
# ## Accuracy as layers are cut
#
# Greedy decoding. The organism thinks before it answers a chain (up to 256 tokens; it ends well before); the
# control answers at once; SmolLM2 answers in up to 48 tokens, read leniently (chapter 01).

# %%
table = study.compare(plan.static_cells(store, profile), store, options=options)
plots.retention_chart(table, title="Retention of unpruned accuracy as layers are cut (click a method)")

# %%
study.retention_view(table[table["pruned_layers"] > 0])

# %% [markdown]
# ## Knowledge against long chains, beside the paper
#
# ShortGPT's paper reported about 85% retention on knowledge benchmarks at 25% of the layers pruned; the paper
# under study contradicts it on MMLU (Qwen3-8B: 0.73 unpruned, 0.46 with 7 of 36 layers cut) and shows AIME24
# falling to 0 after 3 layers. The table sets the paper's retention (its accuracy over its unpruned accuracy,
# read from its figures) beside ours, per family and number of ShortGPT-pruned layers.

# %%
beside = study.static_beside_paper(table, paper.static_table())
beside

# %%
findings = study.static_findings(table)
glue("verdict", " ".join(f"{text}." for text in findings.values()), display=False)
study.findings_view(findings)

# %% [markdown]
# ## Paper vs ours
#
# The rows this chapter adds to the book's summary: what each family keeps at the deepest level of ShortGPT
# pruning, against the paper's retention, and whether ours agrees.

# %%
study.static_claims(table, paper.static_table())

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025).
# - X. Men et al., *ShortGPT*, arXiv 2403.03853 (2024) — the 25% / 85% claim.
# - Y. Yang et al., *LaCo*, arXiv 2402.11187 (2024).
