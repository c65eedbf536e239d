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
# # The organism knows its facts and chains; SmolLM2, taught to think, leaves long-chain headroom
#
# The paper's claims are about reasoning models, and the real model we can run here (SmolLM2-135M) solves
# almost no multi-step problem (chapter 01). So the book trains its own reasoning model in miniature, on this
# CPU: a Qwen3 of 12 decoder layers and 3.0 M parameters that memorizes 200 facts, adds up chains of digits by
# writing one step per line in a `<think>` section, fixes its slips after "Wait", and answers in `\boxed{}` — the
# paper's prompt format, graded by the book's real graders. It is trained three times (seeds 0, 1, 2: another
# initialisation and data order each), and a control of the same architecture is trained on the same facts and
# on the chains it can add without thinking (1–4 steps) to answer at once. This chapter measures what each
# unpruned model can do against the targets a pruning study needs, and compares its layer-by-layer redundancy
# with a real LLM's.
#
# **Verdict.** Each of the three organism seeds knows its facts (open recall
# {glue:text}`recall_open_low:.2f`–{glue:text}`recall_open_high:.2f`), solves {glue:text}`long_chain`-step chains
# greedily ({glue:text}`long_low:.2f`–{glue:text}`long_high:.2f`) and gains {glue:text}`budget_slope_low:+.2f` to
# {glue:text}`budget_slope_high:+.2f` per doubling of its thinking budget. SmolLM2-135M-Instruct, taught to think,
# solves its long chain sums {glue:text}`thinker_long`, with headroom to lose, and gains
# {glue:text}`thinker_budget_slope` per doubling. The organisms meet {glue:text}`targets_met` of their
# {glue:text}`targets_total` targets and the thinking SmolLM2 {glue:text}`thinker_met` of its own.
#
# **What it means.** The organism is a reasoning model in miniature with two limits to keep in mind. Its chains leave no
# headroom: every seed solves every chain up to the longest the chapters use, and only beyond it does a seed fall (to
# {glue:text}`beyond_low:.2f`). Sampling has little to add: one sample is already right
# {glue:text}`sampled_low:.2f`–{glue:text}`sampled_high:.2f` of the time, so a majority of {glue:text}`n_samples`
# samples gains {glue:text}`maj_gain_low:+.2f` to {glue:text}`maj_gain_high:+.2f` and pass@{glue:text}`n_samples`
# {glue:text}`pass_gain_low:+.2f` to {glue:text}`pass_gain_high:+.2f`, while forcing "Wait" changes accuracy by
# {glue:text}`wait_gain_low:+.2f` to {glue:text}`wait_gain_high:+.2f` ({glue:text}`targets_negative` targets are these
# measured negative results). Writing a multiple-choice option's letter it stays at chance
# ({glue:text}`letter_low:.2f`–{glue:text}`letter_high:.2f`), so its knowledge is scored by log-likelihood
# ({glue:text}`recall_low:.2f`–{glue:text}`recall_high:.2f`). The direct-answer control knows the facts
# ({glue:text}`control_recall:.2f`) and answers short chains at once ({glue:text}`control_short:.2f`) but solves
# {glue:text}`control_long_chain:.2f` of the long ones: what thinking adds is the difference. The thinking SmolLM2
# solves short sums {glue:text}`thinker_short` and gains {glue:text}`thinker_maj_gain` from a majority of
# {glue:text}`thinker_samples` samples; {glue:text}`thinker_missed`. Removed one at a time, the layers each model can
# lose (chapter 03 has the detail) are, for the first organism seed, {glue:text}`redundancy_organism`; for SmolLM2-135M,
# {glue:text}`redundancy_reference`.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book); the organism has no paper scale
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
n_problems = None  # chain problems per length, at least 1; None: set by the profile (100)
n_samples = None  # samples per long-chain problem for pass@k and maj@k; None: set by the profile (16)
long_chain = None  # the longest chain the chapters use; None: set by the profile (24)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %% tags=["remove-cell"]
from lpts_helpers.book.build import check_injected_parameters

check_injected_parameters(globals())  # papermill -p with a name this chapter does not declare: an error

# %%
from myst_nb import glue

from lpts_helpers.book import display, plots
from lpts_helpers.chapters import ch02_organism
from lpts_helpers.core import metrics
from lpts_helpers.core.store import RunStore
from lpts_helpers.engine import evaluation, likelihood
from lpts_helpers.engine.generation import BackendOptions
from lpts_helpers.methods import organism, prune, redundancy

# %%
plots.enable_offline_charts()
store = RunStore(store_dir)
options = BackendOptions(tensor_parallel_size=tensor_parallel_size, progress=False, batch_size=128)

# %% tags=["hide-output"]
plan = ch02_organism.OrganismPlan.for_profile(profile, n_problems=n_problems, n_samples=n_samples, long_chain=long_chain)
configs = {model: organism.config_for(model, profile) for model in plan.models}
glue("long_chain", plan.long_chain, display=False)
glue("n_samples", plan.n_samples, display=False)
glue("thinker_samples", plan.thinker_samples, display=False)
plan.to_dict()

# %% [markdown]
# ## Its world: facts to recall, chains to follow, slips to fix
#
# Four training conversations as the organism sees them. The user turn and the text in `[masked: …]` are not
# trained on: the masked parts are the slips, so the model learns to notice and fix a slip, never to make one.
# A chain is a two-digit start and a string of digits; the answer is their sum modulo 100 (100 possible answers
# at every length). Each thinking line takes the total written just before, reads the next digit of the prompt
# by its position and writes the new total ("07+5=12"), so a chain of k digits takes k lines: longer problems
# need more thinking. Facts are "where does *name* live?", asked with four options or open.

# %%
display.transcripts(ch02_organism.example_table(), text="reply", title="prompt", facts=("task", "chain_length"))

# %% [markdown]
# ## Training: twelve layers from scratch, easy chains first, then the facts
#
# One seeded command trains every model (`make organism`), in two phases, one conversation per row, loss only on
# the assistant's tokens. *Phase 1* (1,300 AdamW steps, β 0.9/0.98, weight decay 0.1, warmup and cosine decay)
# mixes chains and facts under a curriculum: chains of up to 4 steps first, the longest one step longer every 40
# optimizer steps, up to 32. It teaches the chains, but gives each of the 200 facts too few exposures to be
# memorized (seed 0 after phase 1: open recall 0.35; LOG.md). *Phase 2* (1,000 steps, a fresh optimizer) trains on
# a facts-heavy mix with chains of every length replayed — as a pretraining run anneals on a knowledge-rich mix at
# its end. Training is stored in blocks of steps, so an interrupted run resumes; the final checkpoints are
# committed with the book (`data/runs/organism-consolidation/…/checkpoint`), so building the book never retrains.

# %%
runs = {model: organism.trained(config, store) for model, config in configs.items()}
curves = ch02_organism.training_curves(runs)
summary = ch02_organism.training_summary(runs)
glue("train_minutes", float(summary["minutes"].max()), display=False)
plots.loss_curve_chart(curves, title="Training loss (log scale)")

# %%
summary

# %% [markdown]
# ## What the unpruned organism can do
#
# Greedy decoding; the thinking seeds think with a budget of 512 tokens (more than a 32-step chain needs), the
# control answers directly. Accuracy per chain length with 95% bootstrap intervals over problems; recall over
# all 200 facts.

# %%
table = evaluation.sweep(plan.accuracy_configs(), store, options=options)
chains = table[table["benchmark"] == "organism_chain"]
letters = table[(table["benchmark"] == "organism_recall") & table["model"].isin(plan.thinking_models)]["accuracy"]
glue("letter_low", float(letters.min()), display=False)
glue("letter_high", float(letters.max()), display=False)
beyond = chains[(chains["chain_length"] > plan.long_chain) & chains["model"].isin(plan.thinking_models)]["accuracy"]
glue("beyond_low", float(beyond.min()) if len(beyond) else float("nan"), display=False)
control_long = chains[(chains["model"] == plan.control) & (chains["chain_length"] == plan.long_chain)]["accuracy"]
glue("control_long_chain", float(control_long.iloc[0]), display=False)
plots.accuracy_chart(chains, x="chain_length", color="model", title="Unpruned accuracy against chain length",
                     x_title="steps in the chain", chance=0.01)

# %%
evaluation.sweep_view(table).assign(model=table["model"].to_numpy())

# %% [markdown]
# Multiple-choice recall is asked two ways. Generated, the model must write the letter of the option it
# recalls — a lookup of its own answer among the listed options. Scored as MMLU-style benchmarks usually are, by
# the log-likelihood of each option's text in the model's own answer format (the cloze form lm-evaluation-harness
# uses for ARC), it measures whether the fact is known, whatever the letter skill. The target uses the second.

# %%
choice = likelihood.choice_table(plan.choice_configs(), store)
choice[["model", "scoring", "accuracy", "low", "high", "chance", "n_problems"]]

# %% [markdown]
# ## Sequential scaling: more thinking, more accuracy
#
# Two of the paper's knobs. *Budget*, on a set whose problems have 1 to {glue:text}`long_chain` steps (as MATH500 mixes
# levels): the thinking is cut after a budget of tokens and the answer is forced with s1's "Final Answer:" cue; each
# doubling lets longer chains finish. *Forced "Wait"*, on {glue:text}`long_chain`-step chains: each time the organism
# ends its thinking, the end is suppressed and "Wait" appended, up to n times (s1's budget forcing).

# %%
scaling = plan.scaling_configs()
budgets = evaluation.sweep(scaling["budget"], store, options=options)
waits = evaluation.sweep(scaling["wait"], store, options=options)
plots.accuracy_chart(budgets, x="thinking_budget", color="model", title="Accuracy against the thinking budget",
                     x_title="thinking budget (tokens)")

# %%
plots.accuracy_chart(waits, x="n_ignore", color="model", title="Accuracy against forced 'Wait's",
                     x_title="forced 'Wait' (times the end of thinking was suppressed)")

# %% [markdown]
# ## Parallel scaling: more samples, more accuracy
#
# Sixteen samples per {glue:text}`long_chain`-step problem at temperature 1.0. pass@k: at least one of k samples is
# right (unbiased estimator); maj@k: the most frequent answer of k samples is right.

# %%
k_table = evaluation.k_curves(scaling["sampling"], store, options=options)
single = k_table[(k_table["metric"] == "pass") & (k_table["k"] == 1) & k_table["model"].isin(plan.thinking_models)]
glue("sampled_low", float(single["accuracy"].min()), display=False)
glue("sampled_high", float(single["accuracy"].max()), display=False)
plots.accuracy_chart(k_table, x="k", color="metric", facet="model", title="pass@k and maj@k on long chains",
                     x_title="samples k")

# %% [markdown]
# ## Is it as redundant as a real LLM?
#
# A pruning result on a model that breaks whenever any layer is removed would say more about the model's size
# than about reasoning. So the same three measures are taken on each seed and on SmolLM2-135M: Block Influence
# per layer (ShortGPT's score, 1 − cos between a layer's input and output, on held-out text), and for each layer
# removed alone, the relative rise of the next-token loss on held-out text and the share of accuracy kept on a
# short task each model can do (SmolLM2: two-term chain sums; the organism: recall and 2-step chains). Depth is
# relative, so a 12-layer and a 30-layer model share one axis.

# %%
influence = {c.model: prune.run_prune(c, store) for c in plan.influence_configs()}
removal = {c.model: redundancy.run_removal(c, store) for c in plan.removal_configs()}
tables = {model: redundancy.removal_table(run.samples) for model, run in removal.items()}
profile_frame = redundancy.profile_frame(influence, tables)
plots.layer_profile_chart(profile_frame, title="Per-layer profile: three organism seeds vs SmolLM2-135M")

# %%
redundancy_view = redundancy.summary_table(tables)
glue("redundancy_organism", redundancy.describe(redundancy_view, plan.models[0]), display=False)
glue("redundancy_reference", redundancy.describe(redundancy_view, plan.reference), display=False)
redundancy_view

# %% [markdown]
# ## The targets
#
# What each model had to be able to do before any pruning, measured; differences are paired over the same
# problems, with 95% bootstrap intervals; ✓ marks a target met, ✗ one missed.

# %%
targets = ch02_organism.target_table(plan, store)
for key in targets["key"].unique():
    span = ch02_organism.target_range(targets, key, plan.thinking_models)
    glue(f"{key}_low", round(span["low"], 3), display=False)
    glue(f"{key}_high", round(span["high"], 3), display=False)
for row in targets[targets["model"] == plan.control].itertuples():
    glue(f"control_{row.key}", round(float(row.measured), 3), display=False)
glue("targets_met", int((targets["met"] == "yes").sum()), display=False)
glue("targets_negative", int((targets["met"] == "negative").sum()), display=False)
glue("targets_total", len(targets), display=False)
ch02_organism.targets_view(targets)

# %% [markdown]
# ## SmolLM2, taught to think the s1 way
#
# The organism is trained from nothing; the paper's s1.1-7B is a pretrained model (Qwen2.5-7B-Instruct)
# fine-tuned on about a thousand reasoning traces in s1's format. The embedded default does the same in
# miniature with its one real model: SmolLM2-135M-Instruct gets low-rank adapters (rank 16 on all seven
# projections, as the paper's LoRA) trained on reasoning-gym's chain sums of 1–20 steps written out in s1's format
# (`<|im_start|>think` … `<|im_start|>answer` "Final Answer:"), now and then with a slipped line (masked) fixed
# after "Wait" (`lpts_helpers.methods.thinking`). The adapter is committed and merged at load time; the book never
# retrains it. Its problems come from generator seeds the book never evaluates. Chapters 03–10 prune it as the
# book's real model, its static benchmarks standing for knowledge and its long sums for long-chain reasoning.

# %%
ch02_organism.thinker_examples()

# %%
ch02_organism.thinker_training_summary(plan)

# %% [markdown]
# Accuracy against chain length (greedy, thinking within the budget), and the targets a pruning study of it
# needs: short chains solved, long chains with headroom, gains from thinking longer and from voting over samples,
# and its static benchmarks kept (on each set the instruct model is above chance on, the same 500 questions).

# %%
thinker_table = evaluation.sweep(plan.thinker_accuracy_configs(), store, options=options)
plots.accuracy_chart(thinker_table, x="chain_length", color="model", title="SmolLM2 taught to think: chain sums",
                     x_title="chain length (terms; steps + 1)")

# %%
evaluation.sweep([*plan.thinker_budget_configs(), plan.thinker_sampling_config()], store, options=options)
thinker = ch02_organism.thinker_targets(plan, store)
for row in thinker.itertuples():
    glue(f"thinker_{row.key}", metrics.interval(row.measured, row.low, row.high), display=False)
glue("thinker_met", f"{int((thinker['met'] == 'yes').sum())} of {len(thinker)}", display=False)
glue("thinker_missed", ch02_organism.missed_targets(thinker), display=False)
ch02_organism.thinker_view(thinker)

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025).
# - N. Muennighoff et al., *s1: Simple test-time scaling*, arXiv 2501.19393 (2025) — budget forcing with "Wait".
# - X. Men et al., *ShortGPT: Layers in Large Language Models are More Redundant Than You Expect*, arXiv
#   2403.03853 (2024) — Block Influence.
# - Qwen Team, *Qwen3 Technical Report*, arXiv 2505.09388 (2025) — the architecture.
# - Y. Bengio et al., *Curriculum learning*, ICML (2009) — easy examples first.
