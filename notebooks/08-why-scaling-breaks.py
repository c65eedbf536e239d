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
# # One cut layer leaves traces whole but wrong; deeper cuts loop or stall
#
# The paper explains the collapse of pruned models by what their reasoning traces show: they fall into recurring
# loops, their text grows repetitive (a higher Self-BLEU within each response) and they reflect less — fewer
# verification, backtracking and subgoal-setting steps, counted by an LLM. This chapter measures all three on
# every trace the book's thinking models wrote at each level of pruning, and on the paper's own s1.1-7B traces:
#
# - **Loops.** A span of ten tokens (words and punctuation marks) that occurs three or more times is a repeated
#   span; the tokens of its second and later occurrences are looping tokens. A trace *loops* when at least 20% of
#   its tokens are looping tokens. Whether the trace ran into its budget is shown beside it.
# - **Diversity.** The paper's Self-BLEU: each sentence's BLEU (NLTK, 4-gram, smoothing method 4) against the
#   other sentences of the same response, averaged, on the first sample of each problem (0–100; higher is more
#   repetitive; the organism's traces, one step per line and no punctuation, are split at lines). Cross-sample
#   Self-BLEU over chapter 06's many samples per problem is its complement: do the samples of a problem differ?
# - **Self-reflection.** Reflection markers ("wait", "alternatively", "actually", "let me check", "verify", …)
#   per 1,000 tokens, leaving out markers inside a loop, and the share of them after which the running answer
#   changed. The paper's LLM judge runs when an endpoint is named (`judge_model`, `judge_base_url`); its
#   agreement with the lexical count is then reported.
#
# Every value carries a 95% bootstrap interval over problems; changes are paired over the same problems.
#
# **Verdict.** {glue:text}`verdict`
#
# **What it means.** On the thinking SmolLM2 the paper's mechanisms come apart by how deep the cut goes. One
# ShortGPT layer cut takes its {glue:text}`reference_task` from {glue:text}`reference_acc_0` to
# {glue:text}`reference_acc_shortgpt_1` yet changes nothing these measures see: its traces are as repetitive as the
# unpruned model's (Self-BLEU {glue:text}`reference_selfbleu_shortgpt_1` against {glue:text}`reference_selfbleu_0`)
# and as free of loops and reflection markers; it writes the same kind of chain and adds wrong. Deeper cuts break
# the trace itself. With two or more layers cut, {glue:text}`reference_budget_any_deeper` of its traces run into
# the budget; cut in reverse order it loops ({glue:text}`reference_loop_reverse_1`,
# {glue:text}`reference_loop_reverse_2` and {glue:text}`reference_loop_reverse_3` of traces with one, two and three
# layers cut); cut by two or three ShortGPT layers it writes {glue:text}`reference_reflections_shortgpt_2` and
# {glue:text}`reference_reflections_shortgpt_3` reflection markers per thousand tokens, few of which change its
# answer ({glue:text}`reference_fixes_shortgpt_deeper`); with {glue:text}`reference_deep` layers cut every
# ShortGPT trace loops ({glue:text}`reference_loop_shortgpt_deep`). Its samples grow more diverse, not less:
# cross-sample Self-BLEU falls from {glue:text}`reference_sampled_across_0` unpruned to
# {glue:text}`reference_sampled_across_any_1` with one layer cut by any method — noise, not exploration.
#
# On the organism, repetition is the clearest of the three: the Self-BLEU of its {glue:text}`organism_task` rises
# from {glue:text}`organism_selfbleu_0` unpruned to {glue:text}`organism_selfbleu_any_deep` with
# {glue:text}`organism_deep` layers cut, yet only {glue:text}`organism_loop_any_deep` of its traces loop. Where
# reflection markers change they mostly rise, against the paper: the pruned organism writes
# {glue:text}`organism_reflections_any_deep` per thousand tokens where the unpruned one writes
# {glue:text}`organism_reflections_0`. The paper's own s1.1-7B traces read as a working reasoner's: loop share
# {glue:text}`paper_loop`, Self-BLEU {glue:text}`paper_selfbleu`, {glue:text}`paper_reflections` reflections per
# thousand tokens.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
judge_model = None  # the reflection judge's model name at judge_base_url; None: lexical measure only
judge_base_url = None  # an OpenAI-compatible endpoint (http://localhost:8000/v1 for vLLM); None: no judge
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %% tags=["remove-cell"]
from lpts_helpers.book.build import check_injected_parameters

check_injected_parameters(globals())  # papermill -p with a name this chapter does not declare: an error

# %%
from lpts_helpers.book import display, plots
from lpts_helpers.chapters import ch08_traces
from lpts_helpers.chapters.ch08_traces import AnalysisPlan
from lpts_helpers.core import verdicts
from lpts_helpers.core.store import RunStore
from lpts_helpers.engine.generation import BackendOptions
from lpts_helpers.methods import analysis

# %% tags=["hide-output"]
plots.enable_offline_charts()
store = RunStore(store_dir)
options = BackendOptions(tensor_parallel_size=tensor_parallel_size, progress=False, batch_size=32)
plan = AnalysisPlan.for_profile(profile, judge_model=judge_model, judge_base_url=judge_base_url)
plan.to_dict()

# %% [markdown]
# ## The measures on a real reasoning model's traces
#
# First the paper's own example: eight s1.1-7B samples for each of two AIME 2022 problems (thinking budget 8192
# tokens), unpruned. Intervals here resample the 16 traces, which come from only two problems: read them as a
# description of these traces, not of s1.1-7B on AIME.

# %%
paper_measures = ch08_traces.paper_example(plan, store)
paper_summary = analysis.summarize(paper_measures, unit="trace")
ch08_traces.summary_view(paper_summary)

# %%
paper_measures[["item_id", "sample", "correct", "hit_budget", "tokens", "loop_fraction", "self_bleu",
                "reflection_rate", "answer_changes"]].round(2)

# %%
display.side_by_side(ch08_traces.paper_case(analysis.source_samples(analysis.PAPER_SOURCE), paper_measures),
                     spec=plan.loop_spec)

# %% [markdown]
# ## Loops, diversity and reflection against the number of pruned layers
#
# One greedy trace per problem, chapter 04's runs (thinking budget 384 tokens): the organism's 24-step chains and
# the thinking SmolLM2's 15-term sums (one step per line for both: Self-BLEU's sentences end at lines); the
# paper's unpruned s1.1-7B traces are the third column, for scale.

# %%
cells = plan.trace_cells(store)
measures = ch08_traces.cell_measures(cells, store, plan, options=options)
table = ch08_traces.variant_table(cells, measures)
shown = ("accuracy", "loop share", "hit budget", "Self-BLEU (within)", "reflections per 1k tokens")
plots.measures_chart(ch08_traces.long_form(table, shown, paper_summary),
                     title="Trace measures per level of pruning (95% CI; s1.1-7B: the paper traces, unpruned)")

# %%
ch08_traces.measures_view(table, (*shown, "looping fraction", "reflections that change the answer"))

# %% [markdown]
# Unpruned, the organism's traces never loop and score a low Self-BLEU ({glue:text}`organism_selfbleu_0`): each
# line adds a different digit. Pruned, it repeats lines that vary just enough to escape the loop measure, stutters
# ("Waiiit") or collapses into runs of one character, so its Self-BLEU rises while its loop share stays near
# {glue:text}`organism_loop_any_deep`. Unpruned and greedy it writes no reflection marker (it makes no slip to
# fix); pruned it writes many, and a lexical count cannot tell reflection from a stutter — which is why the paper
# used an LLM judge (below). The thinking SmolLM2 cut in reverse order loops less at its deepest cut
# ({glue:text}`reference_loop_reverse_deep` with {glue:text}`reference_deep` layers cut) than with three.

# %% [markdown]
# Does the loop verdict hang on the span length? The share of traces that loop, for spans of 6 to 16 tokens:

# %%
ch08_traces.loop_sensitivity(cells, store, spec=plan.loop_spec)

# %% [markdown]
# ## Diversity across samples
#
# Chapter 06's samples (temperature 1.0; 16 per organism problem, 8 per SmolLM2 problem): cross-sample Self-BLEU
# per problem, and the same within-trace measures on the first sample.

# %%
sample_cells = plan.sample_cells(store)
sampled = ch08_traces.cell_measures(sample_cells, store, plan, options=options)
sample_table = ch08_traces.variant_table(sample_cells, sampled)
ch08_traces.measures_view(sample_table, ("accuracy", "Self-BLEU (across samples)", "Self-BLEU (within)",
                                      "loop share", "reflections per 1k tokens"))

# %% [markdown]
# ## What pruning changed, paired over problems
#
# Each pruned model's change from the unpruned model on the same problems, with its 95% interval.

# %%
labels = ("loop share", "Self-BLEU (within)", "reflections per 1k tokens")
changed = ch08_traces.changes(cells, measures, labels)
changed_samples = ch08_traces.changes(sample_cells, sampled, (*labels, "Self-BLEU (across samples)"), "sampled")
ch08_traces.changes_view(changed, changed_samples)

# %% [markdown]
# ## Do the measures track accuracy?
#
# Spearman correlation of each measure with a sample being right, over every trace of every level of pruning
# (problems resampled for the interval).

# %%
ch08_traces.correlations(cells, measures, paper_measures)

# %% [markdown]
# ## Case studies
#
# One problem per model: the unpruned model's trace beside its most-pruned variant's (the method whose traces
# loop most), on the problem where the looping fraction rose most. Loops are shaded, reflection markers bold.

# %%
display.side_by_side(ch08_traces.case_traces(cells, measures, store, cells[0].model), spec=plan.loop_spec)

# %%
display.side_by_side(ch08_traces.case_traces(cells, measures, store, cells[-1].model), spec=plan.loop_spec)

# %% [markdown]
# ## The LLM judge of self-reflection
#
# The paper's measure needs an LLM; with `judge_model` and `judge_base_url` set, every trace above is also
# judged and the judge's counts are compared with the lexical ones here.

# %%
ch08_traces.judge_report(paper_measures, measures)

# %% [markdown]
# ## Every model at its deepest cut
#
# Per model: loop share, Self-BLEU and reflections unpruned and at its deepest level of each method, with 95% CIs;
# and the paper's s1.1-7B traces.

# %%
verdicts.findings_view(ch08_traces.findings(table, paper_summary))

# %% [markdown]
# ## Paper vs ours

# %%
claims = ch08_traces.trace_claims(changed, changed_samples)
display.glue_numbers(ch08_traces.key_numbers(table, sample_table, paper_summary, plan.pruning.roles())
                     | {"verdict": ch08_traces.verdict(table, changed, plan.pruning.roles(), claims)})
verdicts.claims_view(claims)

# %% [markdown]
# ## References
#
# - K. Wang et al., *When Fewer Layers Break More Chains*, arXiv 2510.22228 (2025) — the three mechanisms and the
#   s1.1-7B example traces.
# - Y. Zhu et al., *Texygen: A Benchmarking Platform for Text Generation Models*, SIGIR 2018 — Self-BLEU.
# - K. Papineni et al., *BLEU*, ACL 2002; B. Chen and C. Cherry, *A Systematic Comparison of Smoothing Techniques
#   for Sentence-Level BLEU*, WMT 2014 — smoothing method 4.
# - K. Gandhi et al., *Cognitive Behaviors that Enable Self-Improving Reasoners*, arXiv 2503.01307 (2025) —
#   verification, backtracking and subgoal setting as counted reasoning behaviours.
# - N. Muennighoff et al., *s1: Simple test-time scaling*, arXiv 2501.19393 (2025) — s1.1-7B.
