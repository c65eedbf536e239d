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
# # The grader reads every gold answer right; SmolLM2 matches its published static scores
#
# Every claim in this book is an accuracy difference, often on a few dozen problems, so this chapter checks the
# grader and measures the unpruned baselines the pruning chapters compare against. It reproduces no figure of
# the paper; it sets the paper's unpruned numbers (PAPER.md, "Reported numbers", 0 pruned layers) beside ours.
#
# **Verdict.** The grader marks every gold answer of AIME24, MATH-500 and GSM8K correct (lowest rate of the three checks
# {glue:text}`gold_min_rate:.3f`), and our static scoring meets {glue:text}`anchor_within` published numbers for SmolLM2
# within {glue:text}`anchor_tolerance` points (largest gap {glue:text}`anchor_gap`), so a difference in accuracy is the
# model's, not the book's. Read leniently, the unpruned SmolLM2-135M-Instruct gets {glue:text}`baseline_summary`, and on
# MMLU it is {glue:text}`mmlu_verdict`. As it is, it cannot test the paper's claims: its chains collapse with length
# before any pruning, and it is above chance only on {glue:text}`static_informative`, which become its knowledge tasks.

# %% tags=["parameters"]
profile = "default"  # "smoke" (CPU, seconds; tests) | "default" (the embedded book) | "paper" (GPU, paper scale)
model = None  # a preset name or a local checkpoint directory; None: set by the profile
backend = None  # "hf" | "vllm"; None: set by the profile
chain_lengths = None  # list of steps per synthetic problem, e.g. [2, 4, 8]; None: set by the profile
n_problems = None  # problems per task, at least 1; None: set by the profile (40)
max_answer_tokens = None  # tokens per answer, at least 1; None: set by the profile (192)
mmlu_questions = None  # MMLU questions scored by log-likelihood; None: set by the profile (200)
static_questions = None  # questions per static set, at least 1; None: set by the profile (the full split)
tensor_parallel_size = 1  # vllm only: GPUs per model replica
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %% tags=["remove-cell"]
from lpts_helpers.book.build import check_injected_parameters

check_injected_parameters(globals())  # papermill -p with a name this chapter does not declare: an error

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

# %% tags=["hide-output"]
plan = ch01_baselines.BaselinePlan.for_profile(profile, model=model, backend=backend, chain_lengths=chain_lengths,
                                      n_problems=n_problems, max_answer_tokens=max_answer_tokens,
                                      mmlu_questions=mmlu_questions, static_questions=static_questions)
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
# ## Static benchmarks, scored as lm-evaluation-harness scores them: the anchor check
#
# The layer-pruning literature (ShortGPT, LaCo) reports what a pruned model keeps on static multiple-choice sets,
# and SmolLM2 is above chance on several of them where it is at chance on MMLU. Each set is scored zero-shot with
# lm-eval's prompts: the log-likelihood of each choice's text after the question (WinoGrande by partial
# evaluation), `acc` picking the most likely choice and `acc_norm` the most likely per character. Before these
# numbers measure pruning they must match what others measured for the same model: the published zero-shot
# numbers of SmolLM2-135M-Instruct (its model card, scored with lighteval; and an lm-eval table). Our weights are
# the 4-bit GGUF copy (Q4_1) the embedded package ships, scored in bf16, not the bf16 originals: a gap can come
# from the quantisation, which we cannot measure here without the original weights.

# %%
static = ch01_baselines.static_table(plan, store)
anchor = ch01_baselines.anchor_table(static)
for key, value in ch01_baselines.anchor_verdict(anchor, static).items():
    glue(key, value, display=False)
plots.static_chart(ch01_baselines.static_points(static, anchor),
                   title="Static sets, zero-shot (grey tick: chance; diamond: lm-eval's published number)")

# %%
ch01_baselines.static_view(static)

# %%
anchor

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
