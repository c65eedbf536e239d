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
# **What it means.** On the real model taught to think, the paper's asymmetry appears whole. Unpruned, the
# thinking SmolLM2 solves 0.77 of its 14-step sums; one layer cut by ShortGPT leaves 0.21, by LaCo 0.07, by
# reverse order nothing (every trace runs to the budget), while the same cut keeps 0.93–0.99 of its ARC-Easy,
# PIQA, HellaSwag and OpenBookQA scores (the paper's MMLU keeps 0.97 with one of 36 layers cut). With 8 of its 30
# layers cut (27%) it keeps 0.64–0.92 of that knowledge under ShortGPT and none of its chains; LaCo's own paper
# kept 0.78–0.89 of Llama-2-7B's HellaSwag and PIQA at 25% (table below), ours 0.68 and 0.82. Where it differs
# from the paper is the short chains: its 3-term sums keep 0.81 after one ShortGPT layer and 0.07 after two,
# where the paper's GSM8K keeps 0.98 with two — on this small model short and long chains fall within one layer
# of each other, and only knowledge holds.
#
# The organism's long chains behave as the paper says too, and on two of its three seeds more sharply than on
# Qwen3-8B. Every seed solves all 60 of its 24-step chains unpruned. Seeds 1 and 2 lose them with the
# first layer cut, by any method (0.00–0.08), while keeping 0.25–0.93 of their facts in open recall and 0.17–0.87
# of their 2-step chains; the table of seeds below has every cell. Seed 0, the one the rest of the book prunes,
# is the robust one: with one layer cut it keeps its 24-step chains whole under every method, with two cut by
# ShortGPT it keeps 0.32 and by LaCo nothing, and with three every method leaves 0.00 — beside the paper's AIME24
# under ShortGPT, 0.67 / 0.10 / 0.00 with one / two / three of 36 layers cut. Its pruned traces show how chains
# fail: some run to the end, others fall into a loop of repeated characters midway and never close it.
# Reverse-order pruning of two layers leaves seed 0's chains untouched (1.00 at 2 and 24 steps) but not the other
# seeds' (0.00–0.03). The knowledge half of the paper's asymmetry holds only in order, not in size: open recall
# falls more slowly than long chains but far faster than MMLU (seed 0 keeps 0.93 / 0.52 / 0.68 of its facts with
# one layer cut by ShortGPT / reverse order / LaCo, 0.43 or less with three, where the paper's MMLU keeps 0.88 at
# three). Short chains fall with the long ones on seed 0 (ShortGPT with two cut: 2-step chains 0.00 — the pruned
# model no longer stops after the prompt's two digits and adds digits of its own). The direct-answer control,
# trained on the same facts and on chains of 1–4 steps, keeps most of its facts under ShortGPT and LaCo (open
# recall 0.85 and 0.98 of unpruned with one layer cut, 0.63 and 0.47 with three) and loses them under reverse
# order (0.10 with one cut), as seed 0 does; its 2-step sums, answered at once, fall with its facts (0.85 / 0.23
# / 0.74 of unpruned with one layer cut, 0.47 / 0.04 / 0.08 with three). It solves no 24-step chain unpruned
# (none can be added up without writing the steps out), so those are uninformative. Multiple-choice recall by
# letter is at chance for the thinking organism and says nothing (the control's, 0.62 unpruned, keeps 0.96 with
# three ShortGPT layers cut); SmolLM2's MMLU is at chance (chapter 01) and is not used. The organism's rows in the
# verdict and the summary are seed 0's; the seeds' spread is the table at the end of the next section.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
n_problems = None  # problems per organism task, at least 1; None: set by the profile (60)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %%
from myst_nb import glue

from lpts_helpers.book import plots
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

# %%
findings = ch04_static.static_findings(table)
glue("verdict", " ".join(f"{text}." for text in findings.values()), display=False)
verdicts.findings_view(findings)

# %% [markdown]
# ## Paper vs ours
#
# The rows this chapter adds to the book's summary: what each family keeps at the deepest level of ShortGPT
# pruning, against the paper's retention, and whether ours agrees.

# %%
verdicts.claims_view(ch04_static.static_claims(table, paper.static_table()))

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025).
# - X. Men et al., *ShortGPT*, arXiv 2403.03853 (2024) — the 25% / 85% claim.
# - Y. Yang et al., *LaCo*, arXiv 2402.11187 (2024).
