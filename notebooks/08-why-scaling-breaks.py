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
# **What it means.** On the thinking SmolLM2 the paper's mechanisms come apart by how deep the cut goes. One layer
# cut by ShortGPT — the cut that takes its long sums from 0.77 to 0.21 — changes nothing these measures see: its
# traces are as long, as repetitive (Self-BLEU 27.5 against 27.2 unpruned) and as free of loops and "Wait" as the
# unpruned model's; it writes the same kind of chain and adds wrong. Deeper cuts break the trace itself: every
# trace runs to the budget; cut in reverse order it loops (13% of traces with one layer cut, 65% with two, 93%
# with three), cut by two or three ShortGPT layers it writes "Wait" 30–39 times per 1,000 tokens without fixing
# anything, and at eight layers every ShortGPT trace loops. Reflection markers rise after pruning instead of
# falling, as on the organism, and across samples the pruned variants are more diverse, not less (cross-sample
# Self-BLEU 95 unpruned; 90, 37 and 79 with one layer cut by ShortGPT, reverse order and LaCo): their samples
# differ because they are noisy, not because they explore.
#
# On the organism, repetition is the clearest of the three. Unpruned, the organism's 24-step traces never loop and score Self-BLEU 3 (each line adds a different
# digit); with three layers cut their Self-BLEU rises to 12 (ShortGPT), 28 (reverse order) and 48 (LaCo), but
# only 2% of them pass the loop measure's threshold — the pruned organism repeats lines that vary just enough to
# escape it, or collapses into runs of one character that end the trace. Reflection goes the opposite way from
# the paper's claim on the organism: unpruned and greedy it writes no "Wait" (it makes no slip to fix), and pruned it writes
# 13–61 per 1,000 tokens — a lexical count cannot tell reflection from a stutter, which is why the paper used an
# LLM judge. On the paper's own s1.1-7B traces the measures read as a working reasoner's: loop share 0.06,
# Self-BLEU 45, 8 reflections per 1,000 tokens.

# %% tags=["parameters"]
profile = "default"  # "smoke" (seconds; tests) | "default" (the embedded book) | "paper" (Qwen3-8B, s1.1-7B; GPU)
tensor_parallel_size = 1  # vllm only: GPUs per model replica (2 or more for a model above 10B)
judge_model = None  # the reflection judge's model name at judge_base_url; None: lexical measure only
judge_base_url = None  # an OpenAI-compatible endpoint (http://localhost:8000/v1 for vLLM); None: no judge
store_dir = "data/runs"  # where runs are stored (relative to the repository root)

# %%
from myst_nb import glue

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
# ## Verdict, and paper vs ours

# %%
findings = ch08_traces.findings(table, paper_summary)
glue("verdict", " ".join(f"{text}." for text in findings.values()), display=False)
verdicts.claims_view(ch08_traces.trace_claims(changed, changed_samples))

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
