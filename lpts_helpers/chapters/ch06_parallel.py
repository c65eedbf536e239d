"""Chapter 06, parallel scaling: pass@k and maj@k per variant, what k samples add, beside the paper's AIME
curves, the chapter's findings and its claim row (C4).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.metrics import interval
from ..core.paper import MODEL
from ..core.prose import (
    FAMILY_KEYS,
    NOT_RUN,
    NUMBER_METHODS,
    count_words,
    deepest_cut,
    estimate_columns,
    estimate_text,
    span,
    variant_rows,
)
from ..core.store import RunStore
from ..core.verdicts import claim_table, claims_sentence, direction, evidence_row, glue_key
from ..engine import evaluation
from ..methods.prune import METHOD_TITLES
from ..methods.study import Cell, Task, cut_words, model_words
from ..models.presets import PRESETS


def k_table(cells: list[Cell], store: RunStore, *, options: Any = None) -> pd.DataFrame:
    """pass@k and maj@k (k = 1, 2, 4, … ≤ samples) with 95% CIs, one row per cell × metric × k."""
    evaluation.sweep([c.config for c in cells], store, options=options)
    return pd.DataFrame([{"model": cell.model, "method": cell.method, "pruned_layers": cell.n_layers,
                          "task": cell.task.label, **row}
                         for cell in cells for row in evaluation.k_rows(
                             evaluation.run_evaluation(cell.config, store).metrics)])


def sampling_gains(cells: list[Cell], store: RunStore) -> pd.DataFrame:
    """Per cell, at k = its number of samples: pass@k − pass@1 and maj@k − pass@1 (paired over problems), pass@k
    of the pruned model minus pass@1 of the unpruned one (does sampling recover what pruning took?), and how much
    the pass@k gain changed against the unpruned model's (negative: pruning flattened the curve)."""
    scores = {id(c): {m: evaluation.per_problem(c.config, store, m, c.config.n_samples)
                      for m in ("accuracy", "pass", "maj")} for c in cells}
    unpruned = {(c.model, c.task): scores[id(c)] for c in cells if c.n_layers == 0}
    rows = []
    for cell in cells:
        k = cell.config.n_samples
        single, passed, voted = (scores[id(cell)][m] for m in ("accuracy", "pass", "maj"))
        reference = unpruned[(cell.model, cell.task)]["accuracy"]
        reference_gain = unpruned[(cell.model, cell.task)]["pass"] - reference
        row = {"model": cell.model, "method": cell.method, "pruned_layers": cell.n_layers, "task": cell.task.label,
               "k": k, "pass@1": float(single.mean())}
        for name, before, after in (("pass@k − pass@1", single, passed), ("maj@k − pass@1", single, voted),
                                    ("pass@k − unpruned pass@1", reference, passed),
                                    ("gain change vs unpruned", reference_gain, passed - single)):
            gain = evaluation.paired_gain(before, after)
            row[name] = interval(gain.value, gain.low, gain.high)
            row[f"{name} value"], row[f"{name} low"], row[f"{name} high"] = gain.value, gain.low, gain.high
        rows.append(row)
    return pd.DataFrame(rows)


def parallel_beside_paper(curves: pd.DataFrame, paper_parallel: pd.DataFrame) -> pd.DataFrame:
    """pass@1 → pass@k per method and level: the paper's on AIME (Qwen3-8B) beside ours (largest k we drew
    that the paper also reports)."""
    rows = []
    passed = curves[curves["metric"] == "pass"]
    for (method, n), group in passed.groupby(["method", "pruned_layers"]):
        theirs = paper_parallel[(paper_parallel["method"] == method) & (paper_parallel["pruned_layers"] == n)]
        ours = []
        for (model, task), g in group.groupby(["model", "task"], sort=False):
            top = g[g["k"] == g["k"].max()].iloc[0]
            one = g[g["k"] == 1].iloc[0]
            ours.append(f"{model} {task}: {one.accuracy:.2f} → {top.accuracy:.2f} [{top.low:.2f}, {top.high:.2f}] "
                        f"at k = {int(top.k)}")
        k = int(group["k"].max())
        paper_k = theirs[theirs["k"] == k] if k in set(theirs["k"]) else theirs[theirs["k"] == theirs["k"].max()]
        rows.append({"method": method, "pruned layers": int(n),
                     "paper, AIME pass@1 → pass@k (Qwen3-8B)": (
                         f"{theirs[theirs['k'] == 1]['paper_pass_at_k'].iloc[0]:.2f} → "
                         f"{paper_k['paper_pass_at_k'].iloc[0]:.2f} at k = {int(paper_k['k'].iloc[0])}")
                     if len(theirs) else "—",
                     "ours": "; ".join(ours)})
    return pd.DataFrame(rows)


def gains_view(gains: pd.DataFrame) -> pd.DataFrame:
    """``sampling_gains`` as the book shows it: the intervals, without the numeric helper columns."""
    return gains[[c for c in gains.columns if not c.endswith((" value", " low", " high"))]]


def parallel_findings(gains: pd.DataFrame) -> dict[str, str]:
    """Per model and task: what k samples add unpruned and at the deepest level, per method."""
    findings = {}
    for (model, task), group in gains.groupby(["model", "task"], sort=False):
        deepest = group["pruned_layers"].max()
        unpruned = group[group["pruned_layers"] == 0].iloc[0]
        k = int(unpruned["k"])
        parts = [(f"unpruned pass@1 {unpruned['pass@1']:.2f}, pass@{k} − pass@1 {unpruned['pass@k − pass@1']}, "
                  f"maj@{k} − pass@1 {unpruned['maj@k − pass@1']}")]
        parts += [f"{r['method']} with {deepest} cut: pass@1 {r['pass@1']:.2f}, pass@{k} − pass@1 "
                  f"{r['pass@k − pass@1']}, pass@{k} − unpruned pass@1 {r['pass@k − unpruned pass@1']}"
                  for _, r in group[group["pruned_layers"] == deepest].iterrows()]
        findings[glue_key(f"{model}_{task}")] = f"{model} on {task}: " + "; ".join(parts)
    return findings


def parallel_claim(gains: pd.DataFrame, paper_parallel: pd.DataFrame) -> pd.DataFrame:
    """C4 (parallel scaling is flattened) as evidence rows: per model, task and method at the deepest level run,
    how much the gain of k samples (pass@k − pass@1) changed against the unpruned model's, paired over problems,
    beside the change of the paper's AIME gain (pass@32 − pass@1) with 2 ShortGPT layers cut. A change agrees when
    its interval lies below 0, disagrees when at or above it, and is inconclusive when it spans 0; a model none of
    whose samples is ever right cannot test the claim."""
    theirs = paper_parallel[paper_parallel["method"] == "shortgpt"].set_index(["pruned_layers", "k"])[
        "paper_pass_at_k"]
    before, after = theirs[(0, 32)] - theirs[(0, 1)], theirs[(2, 32)] - theirs[(2, 1)]
    paper = (f"{after - before:+.2f} (AIME24, pass@32 − pass@1, 2 of {PRESETS[MODEL].n_layers} layers; unpruned "
             f"gain {before:+.2f})")
    rows = []
    for (model, task), group in gains.groupby(["model", "task"], sort=False):
        unpruned = group[group["pruned_layers"] == 0].iloc[0]
        deepest = group[group["pruned_layers"] == group["pruned_layers"].max()]
        testable = not (unpruned["pass@1"] == 0 and unpruned["pass@k − pass@1 value"] == 0)
        subject = f"{model_words(model)}, {Task.parse(task).words}"
        for _, row in deepest.iterrows():
            measure = (f"change in pass@{int(row['k'])} − pass@1 (unpruned gain "
                       f"{unpruned['pass@k − pass@1 value']:+.2f})")
            agrees = direction(row["gain change vs unpruned low"], row["gain change vs unpruned high"], -1) \
                if testable else "not testable here"
            rows.append(evidence_row("C4 parallel scaling (pass@k) is flattened", subject,
                                     cut_words(model, row["method"], int(row["pruned_layers"])), measure,
                                     row["gain change vs unpruned value"], row["gain change vs unpruned low"],
                                     row["gain change vs unpruned high"], agrees, paper=paper,
                                     paper_value=after - before,
                                     ours=None if testable else "no sample right unpruned"))
    return claim_table(rows)


SAMPLED_FAMILIES = {family: key for family, key in FAMILY_KEYS.items() if family != "knowledge"}
GAINS = {"pass_gain": "pass@k − pass@1", "maj_gain": "maj@k − pass@1", "vs_unpruned": "pass@k − unpruned pass@1",
         "gain_change": "gain change vs unpruned"}  # key → ``sampling_gains`` column, each with its 95% CI


def key_numbers(gains: pd.DataFrame, curves: pd.DataFrame, roles: dict[str, str],
                paper_parallel: pd.DataFrame) -> dict[str, str]:
    """The numbers chapter 06's prose cites, by name. Per role ("organism", "control", "reference"): the samples
    drawn per problem (``{role}_samples`` in words; ``{role}_pass_at_k``, "pass@16"; ``{role}_maj_at_k``) and the
    problems sampled (``{role}_problems``, from ``curves``); per family of its sampled task
    (``{role}_{family}_words``, family "short" or "long") and variant (``core.prose.variant_rows``): pass@1,
    and pass@k and maj@k at the samples drawn (``…_pass1_{v}``, ``…_passk_{v}``, ``…_majk_{v}``), and each of
    ``GAINS`` with its 95% CI (``…_pass_gain_{v}`` …). The paper's AIME pass@1 and pass@k at its largest k
    (``paper_pass_at_top``), unpruned (``paper_pass_1_0``, ``paper_pass_top_0``) and per method at one to three
    layers cut (``paper_pass_1_{method}_{level}``, ``paper_pass_top_…``, and the change of its gain,
    ``paper_gain_change_…``)."""
    table = gains.assign(passk=gains["pass@1"] + gains["pass@k − pass@1 value"],  # at k = the samples drawn
                         majk=gains["pass@1"] + gains["maj@k − pass@1 value"])
    numbers: dict[str, str] = {}
    for role, model in roles.items():
        mine = table[table["model"] == model]
        k = int(mine["k"].max()) if len(mine) else None
        numbers[f"{role}_samples"] = count_words(k, "sample") if k else NOT_RUN
        numbers[f"{role}_pass_at_k"] = f"pass@{k}" if k else NOT_RUN
        numbers[f"{role}_maj_at_k"] = f"maj@{k}" if k else NOT_RUN
        problems = curves.loc[curves["model"] == model, "n_problems"]
        numbers[f"{role}_problems"] = f"{int(problems.max())}" if len(problems) else NOT_RUN
        families = mine["task"].map(lambda task: Task.parse(task).family)
        for family, key in SAMPLED_FAMILIES.items():
            here = mine[families == family]
            here = here[here["task"] == here["task"].iloc[0]] if len(here) else here  # its first task
            numbers[f"{role}_{key}_words"] = Task.parse(here["task"].iloc[0]).words if len(here) else NOT_RUN
            for variant, rows in variant_rows(here).items():
                for name, column in (("pass1", "pass@1"), ("passk", "passk"), ("majk", "majk")):
                    numbers[f"{role}_{key}_{name}_{variant}"] = span(rows[column].tolist())
                for name, column in GAINS.items():
                    numbers[f"{role}_{key}_{name}_{variant}"] = estimate_text(rows, *estimate_columns(column))
    theirs = paper_parallel.set_index(["method", "pruned_layers", "k"])["paper_pass_at_k"]
    top = int(paper_parallel["k"].max())
    numbers["paper_pass_at_top"] = f"pass@{top}"
    numbers["paper_pass_1_0"] = f"{theirs[('shortgpt', 0, 1)]:.2f}"
    numbers["paper_pass_top_0"] = f"{theirs[('shortgpt', 0, top)]:.2f}"
    for method in NUMBER_METHODS:  # the paper reports every method at zero to three layers cut
        unpruned_gain = theirs[(method, 0, top)] - theirs[(method, 0, 1)]
        for level in (1, 2, 3):
            one, most = theirs[(method, level, 1)], theirs[(method, level, top)]
            numbers[f"paper_pass_1_{method}_{level}"] = f"{one:.2f}"
            numbers[f"paper_pass_top_{method}_{level}"] = f"{most:.2f}"
            numbers[f"paper_gain_change_{method}_{level}"] = f"{most - one - unpruned_gain:+.2f}"
    return numbers


def verdict(gains: pd.DataFrame, curves: pd.DataFrame, roles: dict[str, str], paper_parallel: pd.DataFrame,
            claims: pd.DataFrame, method: str = "shortgpt") -> str:
    """Chapter 06's verdict: what k samples add to one for the real thinking model by any right sample and by
    majority vote, unpruned and at its deepest cut by ``method``; the organism's pass@k against one unpruned sample
    and its gain at its deepest cut; then how the claim came out."""
    n = key_numbers(gains, curves, roles, paper_parallel)
    cut = {role: deepest_cut(gains, roles[role]) for role in ("reference", "organism")}
    title = METHOD_TITLES[method]
    first = (f"With {cut['reference']} cut by {title}, {n['reference_samples']} of the "
             f"{model_words(roles['reference'])} add {n[f'reference_long_pass_gain_{method}_deep']} to one when any "
             f"right sample counts (unpruned {n['reference_long_pass_gain_0']}) and "
             f"{n[f'reference_long_maj_gain_{method}_deep']} by majority vote (unpruned "
             f"{n['reference_long_maj_gain_0']}).")
    second = (f"With {cut['organism']} cut by {title}, {n['organism_samples']} of the "
              f"{model_words(roles['organism'])} contain a right answer to {n[f'organism_long_passk_{method}_deep']} "
              f"of its {n['organism_long_words']} (one unpruned sample: {n['organism_long_pass1_0']}), and the gain "
              f"of sampling is {n[f'organism_long_pass_gain_{method}_deep']} (unpruned "
              f"{n['organism_long_pass_gain_0']}).")
    return f"{first} {second} {claims_sentence(claims)}"
