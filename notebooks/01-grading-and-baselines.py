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
# # The grader reads every gold answer right; unpruned SmolLM2-135M solves few two-step chains, no eight-step ones, and is at chance on MMLU
#
# Every claim in this book is an accuracy difference, often on a few dozen problems, so this chapter checks the
# grader and measures the unpruned baselines the pruning chapters compare against. It reproduces no figure of
# the paper; it sets the paper's unpruned numbers (PAPER.md, "Reported numbers", 0 pruned layers) beside ours.
#
# **Verdict.** The grader marks every gold answer of AIME24, MATH-500 and GSM8K correct (lowest rate of the three
# checks: {glue:text}`gold_min_rate:.3f`), so a difference in accuracy is the model's, not the grader's. The
# embedded SmolLM2-135M-Instruct almost never boxes its answer (the paper's reading gives it 0 everywhere); read
# leniently, it gets {glue:text}`baseline_summary`. Its chains collapse with length before any pruning, so the
# pruning chapters can measure it only on the shortest chains, and with wide intervals. On MMLU it is
# {glue:text}`mmlu_verdict`: SmolLM2 cannot show whether pruning keeps knowledge, which is one reason the book
# trains its own model organism.

# %% tags=["parameters"]
profile = "default"  # "smoke" (CPU, seconds; tests) | "default" (the embedded book) | "paper" (GPU, paper scale)
model = None  # a preset name or a local checkpoint directory; None: set by the profile
backend = None  # "hf" | "vllm"; None: set by the profile
chain_lengths = None  # list of steps per synthetic problem, e.g. [2, 4, 8]; None: set by the profile
n_problems = None  # problems per task, at least 1; None: set by the profile (40)
max_answer_tokens = None  # tokens per answer, at least 1; None: set by the profile (192)
mmlu_questions = None  # MMLU questions scored by log-likelihood; None: set by the profile (200)
tensor_parallel_size = 1  # vllm only: GPUs per model replica
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %%
from myst_nb import glue

from lpts_helpers.book import plots
from lpts_helpers.chapters import ch01_baselines
from lpts_helpers.core import paper
from lpts_helpers.core.store import RunStore
from lpts_helpers.engine import evaluation, generation, likelihood

# %%
plots.enable_offline_charts()
store = RunStore(store_dir)

# %%
plan = ch01_baselines.BaselinePlan.for_profile(profile, model=model, backend=backend, chain_lengths=chain_lengths,
                                      n_problems=n_problems, max_answer_tokens=max_answer_tokens,
                                      mmlu_questions=mmlu_questions)
options = generation.BackendOptions(tensor_parallel_size=tensor_parallel_size, progress=False)
gold_config = evaluation.GoldCheckConfig.for_profile(profile)
plan.to_dict()

# %% [markdown]
# ## The grader passes its own gold check
#
# Three checks on every problem of the math benchmarks: the gold answer written as `\boxed{gold}` and graded
# like a completion; math-verify's parser and verifier alone, gold against itself (no string shortcut); and, for
# MATH-500, the worked solution text, whose last box the grader must read as the gold answer. The table keeps
# the grading speed, and the unit tests (`tests/test_grading.py`) add the equivalent forms, wrong answers and 200
# adversarial completions that must grade without error.

# %%
gold = evaluation.run_gold_check(gold_config, store)
gold_table = evaluation.gold_check_table(gold.metrics)
glue("gold_min_rate", float(gold_table["rate"].min()), display=False)
gold_table

# %% [markdown]
# ## The embedded model on each task family
#
# Each task is answered greedily, then graded two ways: `boxed` reads only a `\boxed{}` answer (the paper's
# harness), `flex` also accepts "the answer is …" or the last number. The synthetic reasoning-gym families have a
# chain-length knob (terms to add, animals to count), so accuracy against length shows where the unpruned model
# stops being able to follow a chain — the range the pruning chapters can use.

# %%
table = evaluation.sweep(plan.eval_configs(), store, options=options)
plots.accuracy_chart(table[table["chain_length"].notna()], x="chain_length", color="extractor",
                     facet="benchmark", title="Unpruned accuracy against chain length", x_title="chain length")

# %%
shown = evaluation.sweep_view(table)
glue("baseline_summary", evaluation.describe_extremes(table), display=False)
shown

# %% [markdown]
# ## Knowledge: MMLU by log-likelihood
#
# The cheap knowledge measure: which of the four options the model finds most likely after "Answer:". A score
# whose confidence interval includes chance (0.25) cannot show that pruning *keeps* knowledge, so the pruning
# chapters report such a benchmark as uninformative.

# %%
mmlu = likelihood.choice_table(plan.choice_configs(), store)
glue("mmlu_verdict", likelihood.chance_verdict(mmlu), display=False)
plots.interval_chart(mmlu, y="scoring", title="MMLU by log-likelihood (dashed: chance)", chance=0.25)

# %% [markdown]
# ## The paper's unpruned numbers beside ours
#
# The paper's model (Qwen3-8B) against ours; different models, so the comparison is of the setting, not a
# replication: the pruning chapters compare each model with itself.

# %%
ours = evaluation.baseline_rows(table, mmlu)
paper.beside_static(ours, our_model=plan.model).query("pruned_layers == 0")

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025) — the unpruned numbers.
# - Hugging Face, *Math-Verify* (github.com/huggingface/Math-Verify) — the answer parser and verifier.
# - M. Chen et al., *Evaluating Large Language Models Trained on Code*, arXiv 2107.03374 — unbiased pass@k.
# - R. Agarwal et al., *Deep RL at the Edge of the Statistical Precipice*, NeurIPS 2021 — intervals over tasks.
# - Z. Stojanovski et al., *reasoning-gym*, github.com/open-thought/reasoning-gym — the synthetic chains.
