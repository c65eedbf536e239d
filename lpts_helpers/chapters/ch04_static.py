"""Chapter 04, static benchmarks: retention beside the paper's, the spread over the organism's seeds, the
chapter's findings and its claim rows (C1, C2, C2′).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core import paper
from ..core.metrics import interval
from ..core.paper import LACO_RETENTION, LACO_SOURCE
from ..core.prose import FAMILY_KEYS, NOT_RUN, NUMBER_LEVELS, NUMBER_METHODS, estimate_text, span
from ..core.store import RunStore
from ..core.verdicts import claim_table, claims_sentence, direction, evidence_row, glue_key
from ..methods.prune import METHOD_TITLES
from ..methods.study import FAMILIES, Cell, Task, compare, cut_words, model_words
from ..models.presets import PRESETS
from ..tasks.benchmarks import get_benchmark

PAPER_FAMILIES = {"mmlu": "knowledge", "gsm8k": "short chains", "math500": "long chains", "aime24": "long chains"}


def _kept(row: Any) -> str:
    if not row.informative:
        return "uninformative"
    return interval(row.retention, row.retention_low, row.retention_high)


def static_beside_paper(table: pd.DataFrame, paper_static: pd.DataFrame, method: str = "shortgpt") -> pd.DataFrame:
    """Per family and number of pruned layers: the paper's retention (its accuracy over its unpruned accuracy,
    ShortGPT on Qwen3-8B) beside ours (retention with its 95% CI, per model and task)."""
    ours = table[(table["method"] == method) & (table["pruned_layers"] > 0)]
    rows = []
    for n in sorted(ours["pruned_layers"].unique()):
        for family in FAMILIES:
            theirs = paper_static[(paper_static["pruned_layers"] == n) &
                                  (paper_static["benchmark"].map(PAPER_FAMILIES) == family)]
            mine = ours[(ours["pruned_layers"] == n) & (ours["family"] == family)]
            if mine.empty and theirs.empty:
                continue
            rows.append({"family": family, "pruned layers": int(n),
                         "paper (Qwen3-8B, 36 layers)": "; ".join(
                             f"{r.benchmark} {r.paper_retention:.2f}" for r in theirs.itertuples())
                         or "—",
                         "ours": "; ".join(f"{r.model} {r.task} {_kept(r)}" for r in mine.itertuples()) or "—"})
    return pd.DataFrame(rows)


def static_findings(table: pd.DataFrame) -> dict[str, str]:
    """Per model, one sentence: what each task keeps at the first and at the deepest level of pruning, per method."""
    findings = {}
    for model, group in table[table["pruned_layers"] > 0].groupby("model", sort=False):
        clauses = []
        for n in (group["pruned_layers"].min(), group["pruned_layers"].max()):
            at = group[group["pruned_layers"] == n]
            parts = []
            for task, rows in at.groupby("task", sort=False):
                if not rows["informative"].iloc[0]:
                    parts.append(f"{task} uninformative (unpruned {rows['baseline'].iloc[0]:.2f}, at chance)")
                    continue
                parts.append(f"{task} keeps " + ", ".join(f"{r.retention:.2f} [{r.retention_low:.2f}, "
                                                           f"{r.retention_high:.2f}] ({r.method})"
                                                           for r in rows.itertuples()))
            clauses.append(f"with {int(n)} layer{'s' if n > 1 else ''} cut: " + "; ".join(parts))
        findings[glue_key(model)] = f"{model} — " + ". ".join(clauses)
    return findings


def seed_spread(table: pd.DataFrame, seed_cells: list[Cell], seeds: tuple[str, ...], store: RunStore, *,
                options: Any = None) -> pd.DataFrame:
    """Accuracy of each seed of a model per task, method and level (the unpruned model once, as "unpruned"), and
    its range over seeds: how far a claim about which cut breaks what depends on the training run. ``table`` is
    the first seed's comparison; ``seed_cells`` (evaluated here when not stored) are the other seeds'."""
    if seed_cells:
        table = pd.concat([table, compare(seed_cells, store, options=options)], ignore_index=True)
    rows = table[table["model"].isin(seeds)].copy()
    rows["method"] = rows["method"].where(rows["pruned_layers"] > 0, "unpruned")
    rows = rows.drop_duplicates(["model", "task", "method", "pruned_layers"])
    wide = rows.pivot_table(index=["task", "method", "pruned_layers"], columns="model", values="accuracy",
                            sort=False)[list(seeds)].rename_axis(columns=None)
    wide["lowest"], wide["highest"] = wide[list(seeds)].min(axis=1), wide[list(seeds)].max(axis=1)
    return wide.reset_index()


def seed_findings(spread: pd.DataFrame, seeds: tuple[str, ...], method: str = "shortgpt") -> str:
    """One clause per task: the range over ``seeds`` unpruned and at each level of ``method``."""
    levels = sorted(spread.loc[spread["method"] == method, "pruned_layers"].unique())
    parts = []
    for task, rows in spread.groupby("task", sort=False):
        picked = [rows[rows["method"] == "unpruned"]] + [rows[(rows["method"] == method) &
                                                              (rows["pruned_layers"] == n)] for n in levels]
        parts.append(f"{task} " + " / ".join(f"{r['lowest'].iloc[0]:.2f}–{r['highest'].iloc[0]:.2f}"
                                             for r in picked if len(r)))
    return (f"Over {len(seeds)} seed{'s' if len(seeds) > 1 else ''}, the lowest–highest accuracy unpruned / with "
            f"{' / '.join(map(str, levels))} layer{'s' if levels != [1] else ''} cut by {method}: "
            + "; ".join(parts))


CLAIM_LAYERS = 3  # the paper's static claims are about 1–3 pruned layers: each model is judged at the level nearest


KNOWLEDGE_KEPT = 0.85  # ShortGPT's claim: about 85% of knowledge-benchmark accuracy kept at 25% of layers cut


COLLAPSE = 0.5  # a task "collapses" when less than half of its unpruned accuracy is left


def _paper_retention(paper_static: pd.DataFrame, benchmark: str) -> tuple[str, float]:
    """The paper's retention of ``benchmark`` with ``CLAIM_LAYERS`` ShortGPT layers cut: text and number."""
    values = paper_static[paper_static["benchmark"] == benchmark].set_index("pruned_layers")["paper_retention"]
    if CLAIM_LAYERS not in values.index:
        return "—", float("nan")
    value = float(values[CLAIM_LAYERS])
    depth = PRESETS[paper.MODEL].n_layers
    return f"{value:.2f} ({get_benchmark(benchmark).words()}, {CLAIM_LAYERS} of {depth} layers)", value


MEASURE = "share of unpruned accuracy kept"
STATIC_CLAIMS = (  # claim, family, the paper's benchmark for it, and where the paper puts our retention
    ("C1 knowledge (MMLU) degrades only gradually", "knowledge", "mmlu", (1, KNOWLEDGE_KEPT)),
    ("C2 long-chain reasoning collapses", "long chains", "aime24", (-1, COLLAPSE)),
    ("C2′ short chains (GSM8K) hold longer than long ones", "short chains", "gsm8k", (1, COLLAPSE)),
)


def static_claims(table: pd.DataFrame, paper_static: pd.DataFrame, method: str = "shortgpt") -> pd.DataFrame:
    """C1 (knowledge survives pruning) and C2 (long chains collapse, short ones hold longer) as evidence rows: per
    model and task of each family, the share of its unpruned accuracy kept with ``CLAIM_LAYERS`` layers cut by
    ``method`` (or the nearest level run), beside the paper's. Knowledge agrees when the interval lies above
    ``KNOWLEDGE_KEPT``; long chains when it lies below ``COLLAPSE``; short chains when above it; an interval
    across the threshold is inconclusive (``verdicts.direction``). A task the unpruned model is at chance on
    cannot test anything."""
    ours = table[(table["method"] == method) & (table["pruned_layers"] > 0)]
    rows = []
    for claim, family, benchmark, (side, threshold) in STATIC_CLAIMS:
        paper, paper_value = _paper_retention(paper_static, benchmark)
        for (model, task), group in ours[ours["family"] == family].groupby(["model", "task"], sort=False):
            row = group.loc[(group["pruned_layers"] - CLAIM_LAYERS).abs().idxmin()]
            subject = f"{model_words(model)}, {Task.parse(task).words}"
            variant = cut_words(model, method, int(row.pruned_layers))
            if not row.informative:
                rows.append(evidence_row(claim, subject, variant, MEASURE, float("nan"), float("nan"), float("nan"),
                                         "not testable here", paper=paper, paper_value=paper_value,
                                         ours=f"at chance unpruned ({row.baseline:.2f})"))
                continue
            agrees = direction(row.retention_low, row.retention_high, side, threshold)
            rows.append(evidence_row(claim, subject, variant, MEASURE, row.retention, row.retention_low,
                                     row.retention_high, agrees, paper=paper, paper_value=paper_value))
    return claim_table(rows)


LACO_DEPTH = 0.25  # the literature's LaCo rows remove a quarter of Llama-2-7B's 32 layers


def laco_beside_literature(table: pd.DataFrame, depths: dict[str, int]) -> pd.DataFrame:
    """LaCo's published retention on Llama-2-7B (a quarter of its layers merged away) beside ours, per benchmark
    the literature reports: each of our models cut by LaCo at its level nearest a quarter of its depth
    (``depths``: decoder layers per model), retention with its 95% CI."""
    ours = table[(table["method"] == "laco") & (table["pruned_layers"] > 0)]
    rows = []
    for benchmark, (before, after) in LACO_RETENTION.items():
        for model, group in ours[ours["task"] == benchmark].groupby("model", sort=False):
            target = LACO_DEPTH * depths[model]
            row = group.loc[(group["pruned_layers"] - target).abs().idxmin()]
            rows.append({"benchmark": benchmark, "literature": f"{before:.3f} → {after:.3f} (keeps "
                                                               f"{after / before:.2f})",
                         "model": model, "pruned layers": f"{int(row.pruned_layers)} of {depths[model]}",
                         "ours": f"{row.baseline:.3f} → {row.accuracy:.3f} (keeps {_kept(row)})"})
    if not rows:
        rows.append({"benchmark": ", ".join(LACO_RETENTION), "literature": "—", "model": "—", "pruned layers": "—",
                     "ours": "no model of this plan is scored on these by LaCo"})
    return pd.DataFrame(rows).rename(columns={"literature": f"literature: {LACO_SOURCE}"})


# The prose's numbers: every role, family, method and level below gets a key in every profile ("—" where the plan
# does not run it), so a page cites the same keys whichever profile built it.


def _family_text(rows: pd.DataFrame, value: str) -> str:
    """One family's ``value`` ("retention" or "accuracy") at one variant (``estimate_text`` over its tasks),
    "uninformative" when no task's unpruned model clears chance."""
    if value == "accuracy":
        return estimate_text(rows)
    rows = rows[rows["informative"]]
    return estimate_text(rows, "retention", "retention_low", "retention_high") if len(rows) else "uninformative"


def key_numbers(table: pd.DataFrame, roles: dict[str, str], paper_static: pd.DataFrame,
                spread: pd.DataFrame | None = None) -> dict[str, str]:
    """The numbers chapter 04's prose cites, by name: per role ("organism", "control", "reference"), family,
    method and level, the share of unpruned accuracy kept (``{role}_{family}_{method}_{level}``) and the accuracy
    (``{role}_{family}_acc_{method}_{level}``; ``…_acc_0`` unpruned), the deepest level (``{role}_deep``, "8 of
    30"); the paper's retention (``paper_{benchmark}_{level}``); and over the thinking model's other seeds
    (``spread``), the span of their long-chain accuracy with one layer cut by any method (``other_seeds_long_1``)."""
    numbers: dict[str, str] = {}
    for role, model in roles.items():
        rows = table[table["model"] == model]
        levels = sorted(rows.loc[rows["pruned_layers"] > 0, "pruned_layers"].unique())
        deep = levels[-1] if levels else None
        depth = PRESETS[model].n_layers if model in PRESETS else None
        numbers[f"{role}_deep"] = NOT_RUN if deep is None else f"{deep} of {depth}" if depth else str(deep)
        for family, key in FAMILY_KEYS.items():
            here = rows[rows["family"] == family]
            unpruned = here[here["pruned_layers"] == 0].drop_duplicates("task")
            numbers[f"{role}_{key}_acc_0"] = _family_text(unpruned, "accuracy") if len(unpruned) else NOT_RUN
            for method in NUMBER_METHODS:
                for level in NUMBER_LEVELS:
                    n = deep if level == "deep" else level
                    at = here[(here["method"] == method) & (here["pruned_layers"] == n)]
                    numbers[f"{role}_{key}_{method}_{level}"] = _family_text(at, "retention") if len(at) else NOT_RUN
                    numbers[f"{role}_{key}_acc_{method}_{level}"] = _family_text(at, "accuracy") if len(at) \
                        else NOT_RUN
    for benchmark in PAPER_FAMILIES:
        for level in (1, 2, 3):
            value = paper_static[(paper_static["benchmark"] == benchmark) & (paper_static["pruned_layers"] == level)]
            numbers[f"paper_{benchmark}_{level}"] = f"{value['paper_retention'].iloc[0]:.2f}" if len(value) \
                else NOT_RUN
    others = [] if spread is None else [c for c in spread.columns if c not in
                                        ("task", "method", "pruned_layers", "lowest", "highest")][1:]
    long_rows = pd.DataFrame() if spread is None else spread[
        (spread["pruned_layers"] == 1) & (spread["method"] != "unpruned")
        & (spread["task"].map(lambda t: Task.parse(t).family) == "long chains")]
    numbers["other_seeds_long_1"] = span(long_rows[others].to_numpy().ravel().tolist()) if others and \
        len(long_rows) else NOT_RUN
    return numbers


def verdict(table: pd.DataFrame, roles: dict[str, str], claims: pd.DataFrame, method: str = "shortgpt") -> str:
    """Chapter 04's verdict: what one layer cut by ``method`` leaves of the real model's long chains and of its
    knowledge, then how the chapter's claims came out."""
    model = roles["reference"]
    numbers = key_numbers(table, {"reference": model}, paper.static_table())
    long_tasks = table.loc[(table["model"] == model) & (table["family"] == "long chains"), "task"].unique()
    chains = Task.parse(long_tasks[0]).words if len(long_tasks) else "long chains"
    first = (f"With one layer cut by {METHOD_TITLES[method]}, the {model_words(model)} solves "
             f"{numbers[f'reference_long_acc_{method}_1']} of its {chains} (unpruned "
             f"{numbers['reference_long_acc_0']}) and keeps {numbers[f'reference_knowledge_{method}_1']} of its "
             f"knowledge scores.")
    return f"{first} {claims_sentence(claims)}"
