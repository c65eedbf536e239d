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
# # Many thinking-SmolLM2 layers look free on text, yet none spares its long sums
#
# The paper prunes by three rules. **ShortGPT** removes the layers whose output is most similar to their input
# (lowest Block Influence, BI = 1 − cos between a layer's input and output hidden states, on calibration text);
# **reverse-order** removes the deepest layers; **LaCo** folds groups of adjacent layers into one from the top
# down while the model's last hidden states stay similar to the original's. Before asking what pruning breaks,
# this chapter shows what each rule sees: the BI profile of every model, the layers each method removes, and —
# measured rather than scored — what each model keeps on each task when one layer at a time is removed.
#
# **Verdict.** {glue:text}`verdict`
#
# **What it means.** Block Influence finds, in every model, a layer whose removal costs little on held-out text —
# the premise of ShortGPT. Without its first pick the organism's held-out loss rises
# {glue:text}`organism_first_loss` and the thinking SmolLM2's {glue:text}`reference_first_loss`, and
# {glue:text}`reference_loss_removable` of the SmolLM2's {glue:text}`reference_layers` layers each raise it by
# {glue:text}`loss_rise` or less. It does not find the layers a task needs. Without that first pick the thinking
# SmolLM2 keeps {glue:text}`reference_long_first` of its {glue:text}`reference_long_task`
# ({glue:text}`reference_long_unpruned` → {glue:text}`reference_long_first_acc`), and no single layer can go with
# more than {glue:text}`reference_long_best` of them kept: its long chains use the whole depth that text and, in
# chapter 04, knowledge can spare. The organism loses little to its own first pick (its
# {glue:text}`organism_long_task` keep {glue:text}`organism_long_first`, its open recall
# {glue:text}`organism_recall_first`), yet only {glue:text}`organism_recall_removable` of its
# {glue:text}`organism_layers` layers can go alone with {glue:text}`keep_share` of its open recall kept,
# {glue:text}`organism_short_removable` with its {glue:text}`organism_short_task` and
# {glue:text}`organism_long_removable` with its {glue:text}`organism_long_task`.
#
# The direct-answer control, trained on the same facts and on short chains it answers at once, keeps
# {glue:text}`keep_share` of its open recall without any one of {glue:text}`control_recall_removable` of its
# {glue:text}`control_layers` layers; for its {glue:text}`control_short_task` (unpruned
# {glue:text}`control_short_unpruned`) that count is {glue:text}`control_short_removable`: adding without writing
# the steps out takes its whole depth. Multiple-choice recall by letter is at chance for the thinking organism
# ({glue:text}`organism_choice_unpruned`, chance {glue:text}`organism_choice_chance`), so its row of the map shows
# only that there is nothing to lose; the control reaches {glue:text}`control_choice_unpruned` by letter.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %% tags=["remove-cell"]
from lpts_helpers.book.build import check_injected_parameters

check_injected_parameters(globals())  # papermill -p with a name this chapter does not declare: an error

# %%
from lpts_helpers.book import display, plots
from lpts_helpers.chapters import ch03_redundancy, pruning
from lpts_helpers.core import verdicts
from lpts_helpers.core.store import RunStore
from lpts_helpers.methods import prune, redundancy, study

# %% tags=["hide-output"]
plots.enable_offline_charts()
store = RunStore(store_dir)
plan = pruning.PruningPlan.for_profile(profile)
plan.to_dict()

# %% [markdown]
# ## Block Influence, layer by layer
#
# BI of every layer (the last one included) on each model's own kind of text: the organism's held-out chats, and
# worked GSM8K solutions for the thinking SmolLM2 (the paper's BookCorpus is not reachable offline). A low score
# means the layer barely turns its input; ShortGPT removes the lowest first. Depth is relative, so models of 12
# and 30 layers share one axis.

# %%
influence = {model: prune.run_prune(config, store) for model, config in plan.influence_configs().items()}
profiles = ch03_redundancy.influence_frame(influence)
plots.layer_profile_chart(profiles, title="Block Influence per layer")

# %% [markdown]
# ## The layers each method removes
#
# 0-based layer indices. LaCo does not take a layer count: its merge threshold is searched until the requested
# number of layers is folded away.

# %%
removed = study.removed_layers(plan.models(), plan.methods, {m: plan.levels(m) for m in plan.models()}, store,
                               profile)
removed

# %% [markdown]
# ## What one layer costs, per task
#
# Each layer of the organism and of its direct-answer control is removed alone and every task is answered again
# (greedy; the same problems as unpruned). A cell is the share of the unpruned accuracy kept (retention; 1 =
# nothing lost, above 1 = better without the layer); the "held-out loss" row shows 1 / (1 + the relative rise of
# the next-token loss). The thinking SmolLM2's row has its loss and its 15-term sums (40 problems, within the
# 384-token thinking budget).

# %%
runs = {model: redundancy.run_removal(config, store) for model, config in plan.sensitivity_configs().items()}
tables = {model: redundancy.removal_table(run.samples) for model, run in runs.items()}
plots.sensitivity_heatmap(ch03_redundancy.stacked(tables), title="What each model keeps without one layer")

# %%
sensitivity = redundancy.summary_table(tables, loss_tolerance=ch03_redundancy.LOSS_TOLERANCE,
                                      retention=ch03_redundancy.RETENTION)
sensitivity

# %% [markdown]
# ## Model by model
#
# ShortGPT's first pick, what each model keeps without it, and how many single layers each measure survives.

# %%
display.glue_numbers(ch03_redundancy.key_numbers(influence, tables, plan.roles())
                     | {"verdict": ch03_redundancy.verdict(influence, tables, plan.roles())})
verdicts.findings_view(ch03_redundancy.redundancy_findings(influence, tables, sensitivity))

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025).
# - X. Men et al., *ShortGPT: Layers in Large Language Models are More Redundant Than You Expect*, arXiv
#   2403.03853 (2024).
# - Y. Yang et al., *LaCo: Large Language Model Pruning via Layer Collapse*, arXiv 2402.11187 (2024).
