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
# # In 30 CPU minutes the 12-layer organism memorizes its facts but does not yet add: it misses the targets a pruning study needs
#
# The paper's claims are about reasoning models, and the real model we can run here (SmolLM2-135M) solves
# almost no multi-step problem (chapter 01). So the book trains its own reasoning model in miniature, on this
# CPU: a Qwen3 of 12 decoder layers and 2.4 M parameters, trained to memorize facts, to add up chains of numbers
# by writing each step in a `<think>` section, to fix its slips after "Wait", and to answer in `\boxed{}` — the
# paper's prompt format, graded by the book's real graders. A control of the same architecture is trained on the
# same data to answer without thinking. This chapter trains both, measures what the unpruned organism can do
# against the targets a pruning study needs, and compares its layer-by-layer redundancy with a real LLM's.
#
# **Status.** The training budget of about 30 CPU minutes is not enough for this recipe: the loss was still
# falling steeply when training stopped (LOG.md), the organism recalls its facts in open form but not yet in
# multiple choice, and it has not learned the sums, so chains fail at any length and the scaling curves are flat.
# The targets are missed, with the figures below; the pruning chapters need a longer-trained organism.
#
# **Verdict.** Trained from scratch in {glue:text}`train_minutes:.0f` minutes on this CPU (both models), the
# organism answers {glue:text}`recall:.2f` of its 96 facts right (multiple choice) and {glue:text}`short:.2f` of
# short chains (1–3 steps, greedy); on 12-step chains it reaches {glue:text}`long_natural:.2f` when it ends its
# thinking itself. The gain from more thinking — from a 16-token budget to its own end — is
# {glue:text}`budget_gain:+.2f`;
# forcing "Wait" three times, {glue:text}`wait_gain:+.2f`; a majority vote of 16 samples against one sample,
# {glue:text}`parallel_gain:+.2f` (paired over the same problems; intervals in the targets table). The
# direct-answer control solves {glue:text}`control_short:.2f` of short chains. {glue:text}`targets_met` of
# {glue:text}`targets_total` targets are met. Removing one layer at a time — organism:
# {glue:text}`redundancy_organism`; SmolLM2-135M: {glue:text}`redundancy_reference`.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book); the organism has no paper scale
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
n_problems = None  # chain problems per length, at least 1; None: set by the profile (100)
n_samples = None  # samples per long-chain problem for pass@k and maj@k; None: set by the profile (16)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %%
from myst_nb import glue

from lpts_helpers import display, evaluation, organism, plans, plots, prune, redundancy
from lpts_helpers.generation import BackendOptions
from lpts_helpers.store import RunStore

plots.enable_offline_charts()
store = RunStore(store_dir)
options = BackendOptions(tensor_parallel_size=tensor_parallel_size, progress=False, batch_size=64)

# %%
plan = plans.OrganismPlan.for_profile(profile, n_problems=n_problems, n_samples=n_samples)
configs = {kind: organism.OrganismConfig.for_profile(profile, kind=kind) for kind in organism.KINDS}
plan.to_dict()

# %% [markdown]
# ## Its world: facts to recall, chains to follow, slips to fix
#
# Four training conversations as the organism sees them. The user turn and the text in `[masked: …]` are not
# trained on: the masked parts are the slips, so the model learns to notice and fix a slip, never to make one.
# Chains are running sums of one-digit terms, each named by a letter, from a two-digit start; the total stays
# within 10–99 (90 possible answers). Each thinking line folds named terms into the total ("A+4B+7=36"): a quick
# pass folds two terms per line; after "Wait" a careful pass folds one. Facts are "where does *name* live?",
# asked with four options or open.

# %%
display.transcripts(organism.example_table(), text="reply", title="prompt", facts=("task", "chain_length"))

# %% [markdown]
# ## Training: six layers first, then twelve
#
# One seeded command trains both models from scratch (`make organism`, or this cell): AdamW with warmup and
# cosine decay, one conversation per row, loss only on the assistant's tokens. Two choices were forced by this
# CPU's budget (LOG.md has the failed runs): the first 40% of training uses short chains (up to 3 steps), the
# only setting in which a small model learned within minutes to find a term and to read its last total; and the
# model is trained by **progressive stacking** (Gong et al., 2019): six layers until those skills form, then each
# layer is copied into two adjacent layers (their outputs halved) and all twelve train on, while the chains grow
# to 12 steps. A 12-layer model trained from scratch the same way had learned neither skill after 900 steps.
# Stacking starts adjacent layers as near-copies, which may make single layers easier to remove than in a
# model trained at full depth; the redundancy check below measures, rather than assumes, how this compares with
# a real LLM. Training is stored in blocks of steps, so an interrupted run resumes; the checkpoints are committed
# with the book (`data/runs/organism/…/checkpoint`), so building the book does not retrain.

# %%
trained = {kind: organism.train_organism(config, store, progress=False) for kind, config in configs.items()}
curves = organism.training_curves(trained)
summary = organism.training_summary(trained)
glue("train_minutes", float(summary["minutes"].sum()), display=False)
plots.loss_curve_chart(curves, title="Training loss (log scale)")

# %%
summary

# %% [markdown]
# ## What the unpruned organism can do
#
# Greedy decoding; the thinking organism thinks with a budget of 512 tokens (more than it uses), the control
# answers directly. Accuracy per chain length with 95% bootstrap intervals over problems; recall over all 96
# facts.

# %%
table = evaluation.sweep(plan.accuracy_configs(), store, options=options)
chains = table[table["benchmark"] == "organism_chain"]
plots.accuracy_chart(chains, x="chain_length", color="model", title="Unpruned accuracy against chain length",
                     x_title="steps in the chain", chance=0.01)

# %%
evaluation.sweep_view(table).assign(model=table["model"].to_numpy())

# %% [markdown]
# ## Sequential scaling: more thinking, more accuracy
#
# Two of the paper's knobs on 12-step chains. *Budget*: the thinking is cut after a budget of tokens and the
# answer is forced with s1's "Final Answer:" cue. *Forced "Wait"*: each time the organism ends its thinking, the
# end is suppressed and "Wait" appended, up to n times (s1's budget forcing).

# %%
budgets = evaluation.sweep(plan.budget_configs(), store, options=options)
waits = evaluation.sweep(plan.wait_configs(), store, options=options)
plots.accuracy_chart(budgets, x="thinking_budget", color="model", title="Accuracy against the thinking budget",
                     x_title="thinking budget (tokens)")

# %%
plots.accuracy_chart(waits, x="n_ignore", color="model", title="Accuracy against forced 'Wait's",
                     x_title="forced 'Wait' (times the end of thinking was suppressed)")

# %% [markdown]
# ## Parallel scaling: more samples, more accuracy
#
# Sixteen samples per 12-step problem at temperature 1.0. pass@k: at least one of k samples is right (unbiased
# estimator); maj@k: the most frequent answer of k samples is right.

# %%
k_table = evaluation.k_curves(plan.sampling_configs(), store, options=options)
plots.accuracy_chart(k_table, x="k", color="metric", facet="model", title="pass@k and maj@k on 12-step chains",
                     x_title="samples k")

# %% [markdown]
# ## Is it as redundant as a real LLM?
#
# A pruning result on a model that breaks whenever any layer is removed would say more about the model's size
# than about reasoning. So the same three measures are taken on the organism and on SmolLM2-135M: Block
# Influence per layer (ShortGPT's score, 1 − cos between a layer's input and output, on held-out text), and for
# each layer removed alone, the relative rise of the next-token loss on held-out text and the share of accuracy
# kept on a short task each model can do (SmolLM2: two-term chain sums; the organism: recall and 2-step chains).
# Depth is relative, so a 12-layer and a 30-layer model share one axis.

# %%
influence = {c.model: prune.run_prune(c, store) for c in plan.influence_configs()}
removal = {c.model: redundancy.run_removal(c, store) for c in plan.removal_configs()}
tables = {model: redundancy.removal_table(run.samples) for model, run in removal.items()}
profile_frame = redundancy.profile_frame(influence, tables)
plots.layer_profile_chart(profile_frame, title="Per-layer profile: organism vs SmolLM2-135M")

# %%
redundancy_view = redundancy.summary_table(tables)
glue("redundancy_organism", redundancy.describe(redundancy_view, plan.models[0]), display=False)
glue("redundancy_reference", redundancy.describe(redundancy_view, plan.reference), display=False)
redundancy_view

# %% [markdown]
# ## The targets
#
# What the organism had to be able to do before any pruning, measured; differences are paired over the same
# problems, with 95% bootstrap intervals.

# %%
targets = plan.target_table(store)
for row in targets.itertuples():
    glue(row.key, round(float(row.measured), 3), display=False)
glue("targets_met", int((targets["met"] == "yes").sum()), display=False)
glue("targets_total", len(targets), display=False)
targets.drop(columns="key")

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025).
# - N. Muennighoff et al., *s1: Simple test-time scaling*, arXiv 2501.19393 (2025) — budget forcing with "Wait".
# - X. Men et al., *ShortGPT: Layers in Large Language Models are More Redundant Than You Expect*, arXiv
#   2403.03853 (2024) — Block Influence.
# - Qwen Team, *Qwen3 Technical Report*, arXiv 2505.09388 (2025) — the architecture.
# - C. Olsson et al., *In-context Learning and Induction Heads*, Transformer Circuits (2022) — why copying
#   appears abruptly in training.
