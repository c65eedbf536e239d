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
# # Unlike the paper, SFT restores pruned chains and scaling; self-taught recipes do not
#
# The paper fine-tunes its pruned models on s1K — with LoRA and with all parameters — and finds that test-time
# scaling does not come back. Reviewers asked whether the reinforcement-learning recipes that train reasoning
# models would do better, and a later study (arXiv 2602.01997) reported its best recovery from fine-tuning a pruned
# model on its own correct answers. Here one pruned variant of each embedded model is recovered — the organism cut
# by two ShortGPT layers by four recipes, the thinking SmolLM2 cut by one (the cut that halves its budget slope
# and takes away its voting gain, chapters 05–06) by the paper's two, LoRA and full SFT (self-generated SFT and
# GRPO cost CPU-hours on a model that thinks; `-p reference_recipes` adds them) — and every arm is evaluated
# exactly as in chapters 04, 05 and 06:
#
# - **LoRA SFT** and **full SFT** on the analogue of s1K: for the organism its own training distribution (the same
#   conversations it was trained on, wrong steps masked), for the thinking SmolLM2 its own s1-format training
#   traces (its s1K: the 768 training problems, new slips each pass, two passes). Rank 16, alpha 32, dropout 0.05
#   on all seven projections, cosine schedule with 5% warmup, AdamW (0.9, 0.95), weight decay 1e-4, loss on the
#   answer only — the paper's settings, with learning rates and lengths scaled to models of 2 M and 135 M
#   parameters.
# - **Self-generated SFT** (arXiv 2602.01997): LoRA SFT on the pruned model's own sampled answers that the grader
#   marks correct.
# - **GRPO** (TRL's trainer): groups of sampled answers per training problem, reward 1 for a correct answer, the
#   group-relative advantage reinforcing the better ones. It fits the CPU budget here, so rejection-sampling
#   fine-tuning was not needed as a stand-in.
#
# Training problems never include an evaluation question (problem seed 1 against the evaluations' seed 0); the
# organism's facts are the exception, since they are its training data, as a real model's knowledge is its
# pretraining data.
#
# **Verdict.** {glue:text}`verdict`
#
# **What it means.** Unlike the paper, SFT brings back both what pruning took and what more test-time compute buys,
# on both embedded models. The thinking SmolLM2 ({glue:text}`reference_cut`) solves
# {glue:text}`reference_long_acc_pruned` of its {glue:text}`reference_long_task`; SFT on its own training traces
# lifts that to {glue:text}`reference_long_acc_lora` with LoRA and {glue:text}`reference_long_acc_full` with all
# parameters trained (unpruned {glue:text}`reference_long_acc_unpruned`), and raises what a doubled thinking budget
# buys from {glue:text}`reference_slope_pruned` to {glue:text}`reference_slope_lora` and
# {glue:text}`reference_slope_full` (unpruned {glue:text}`reference_slope_unpruned`). Its knowledge benchmarks stay
# where pruning left them ({glue:text}`reference_knowledge_acc_pruned` pruned,
# {glue:text}`reference_knowledge_acc_full` after full SFT). Its pass@k gain did not measurably shrink, but
# majority voting pays again: maj@{glue:text}`reference_k` adds {glue:text}`reference_maj_gain_pruned` over one
# sample pruned, {glue:text}`reference_maj_gain_lora` and {glue:text}`reference_maj_gain_full` recovered,
# {glue:text}`reference_maj_gain_unpruned` unpruned. The organism ({glue:text}`organism_cut`) heals the same way:
# SFT on its own training conversations takes its {glue:text}`organism_long_task` from
# {glue:text}`organism_long_acc_pruned` to {glue:text}`organism_long_acc_full` and its budget slope from
# {glue:text}`organism_slope_pruned` back to {glue:text}`organism_slope_full` (unpruned
# {glue:text}`organism_slope_unpruned`).
#
# Recipes that learn only from the pruned organism's own answers do not heal it: they can only reinforce what it
# still gets right. Self-generated SFT lifts recall ({glue:text}`organism_knowledge_acc_pruned` to
# {glue:text}`organism_knowledge_acc_self`) but gets fewer long chains right ({glue:text}`organism_long_acc_self`)
# and flattens the budget curve further ({glue:text}`organism_slope_self`); GRPO leaves both near where pruning put
# them ({glue:text}`organism_long_acc_grpo` and {glue:text}`organism_slope_grpo`). The likeliest reason the paper's
# Qwen3-8B did not heal is the size of the repair: s1K is a thousand examples for a model pretrained on trillions
# of tokens, while our SFT data is the very distribution our small models were taught to reason on.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
organism_grpo_steps = None  # GRPO optimizer steps on the organism, at least 1; None: set by the profile (60)
reference_grpo_steps = None  # GRPO optimizer steps on the reference, at least 1; None: set by the profile (30)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %% tags=["remove-cell"]
from lpts_helpers.book.build import check_injected_parameters

check_injected_parameters(globals())  # papermill -p with a name this chapter does not declare: an error

# %%
import pandas as pd

from lpts_helpers.book import display, plots
from lpts_helpers.chapters import ch06_parallel, ch07_recovery
from lpts_helpers.core import verdicts
from lpts_helpers.core.store import RunStore
from lpts_helpers.engine.generation import BackendOptions
from lpts_helpers.methods import study

# %% tags=["hide-output"]
plots.enable_offline_charts()
store = RunStore(store_dir)
options = BackendOptions(tensor_parallel_size=tensor_parallel_size, progress=False, batch_size=64)
plan = ch07_recovery.RecoveryPlan.for_profile(profile, organism_grpo_steps=organism_grpo_steps,
                                      reference_grpo_steps=reference_grpo_steps)
plan.to_dict()

# %% [markdown]
# ## The recoveries: what each trained on and what it cost
#
# Each recipe's training is one stored run (its config is the recipe; the recovered weights are rebuilt from it
# when missing). Compute is counted as 6·N FLOPs per trained token and 2·N per generated one (N parameters); the
# traces that the distilled and self-generated recipes learn from are drawn first and counted as generated tokens
# (in each recipe that uses them). Minutes are wall time on the 2-core CPU that built this book, the drawing of
# those traces included.

# %%
arms = ch07_recovery.arms(plan, store, options=options)
runs = ch07_recovery.recovery_runs(plan, store)
ch07_recovery.compute_table(runs)

# %%
plots.recovery_curves_chart(ch07_recovery.loss_curves(runs), title="Training curves of the recoveries")

# %% [markdown]
# ## Accuracy: unpruned, pruned and recovered
#
# Greedy decoding with chapter 04's settings; 95% bootstrap intervals over problems. The change against the pruned
# model is paired over the same problems.

# %%
static = study.compare(plan.static_cells(arms), store, options=options)
plots.arms_chart(static, title="Accuracy of each arm (95% CI)")

# %%
changes = ch07_recovery.versus_pruned(static, plan.static_cells(arms), store, plan.pruned_arms())
changes.drop(columns=["change", "change_low", "change_high"])

# %% [markdown]
# ## Parallel scaling: does sampling pay again?
#
# Chapter 06's protocol: many samples per problem at temperature 1.0; pass@k and maj@k with 95% intervals. The
# gain of k samples over one is paired over problems, and its change against the unpruned model's gain says
# whether the curve is still flattened. A recovery counts as "restored" when its gain is back to the unpruned
# model's (the paired change against it reaches 0) and above the pruned model's (the paired change against it
# clears 0); "still flattened" when it stays below the unpruned gain; else "inconclusive". A gain that pruning did
# not shrink leaves nothing to restore: the organism's pass@{glue:text}`organism_k` gain even grows when it is cut
# ({glue:text}`organism_pass_gain_pruned` against {glue:text}`organism_pass_gain_unpruned` unpruned), because its
# single answers collapse while a few of many samples still land.

# %%
sampling = plan.sampling_cells(arms)
curves = ch06_parallel.k_table(sampling, store, options=options)
plots.scaling_chart(curves[curves["metric"] == "pass"], x="k", x_title="samples k", log_x=True, color="method",
                    title="pass@k of each arm (click an arm)")

# %%
gains = ch07_recovery.with_gain_vs_pruned(ch06_parallel.sampling_gains(sampling, store), sampling, store,
                                          plan.pruned_arms())
ch07_recovery.gain_table(gains)

# %% [markdown]
# ## Sequential scaling: does a longer budget pay again?
#
# Chapter 05's protocol for the models that think: every arm answers the budget set at each thinking budget, and
# the slope of accuracy per doubling of the budget is compared, paired over problems, with the unpruned and the
# pruned arm's.

# %%
budget_cells = plan.budget_cells(arms)
budgets = study.compare(budget_cells, store, options=options)
plots.scaling_chart(budgets, x="budget", x_title="thinking budget (tokens)", log_x=True, color="method",
                    title="Accuracy against the thinking budget, per arm (click an arm)")

# %%
slopes = ch07_recovery.slope_gains(budget_cells, store, plan.pruned_arms())
ch07_recovery.slope_table(slopes)

# %% [markdown]
# ## Every recovery, model by model
#
# Per model: what pruning left of each task, what each recipe gave back (paired change against the pruned model),
# and whether the gain of many samples and the budget slope came back.

# %%
verdicts.findings_view(ch07_recovery.recovery_findings(static, changes, gains, slopes))

# %% [markdown]
# ## Paper vs ours

# %%
recipe_arms = plan.recipe_arms(store)
claims = ch07_recovery.recovery_claims(pd.concat([gains, slopes], ignore_index=True), plan.pruned_arms(), recipe_arms)
display.glue_numbers(ch07_recovery.key_numbers(static, gains, slopes, plan, recipe_arms)
                     | {"verdict": ch07_recovery.verdict(static, gains, slopes, plan, recipe_arms, claims)})
verdicts.claims_view(claims)

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025).
# - *On the Limits of Layer Pruning for Generative Reasoning in LLMs*, arXiv 2602.01997 (2026) — SFT on
#   self-generated responses.
# - E. J. Hu et al., *LoRA: Low-Rank Adaptation of Large Language Models*, arXiv 2106.09685 (2021).
# - Z. Shao et al., *DeepSeekMath*, arXiv 2402.03300 (2024) — GRPO.
# - N. Muennighoff et al., *s1: Simple test-time scaling*, arXiv 2501.19393 (2025) — s1K.
# - L. von Werra et al., *TRL: Transformer Reinforcement Learning*, github.com/huggingface/trl.
