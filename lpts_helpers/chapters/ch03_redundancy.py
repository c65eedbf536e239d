"""Chapter 03, which layers look redundant: Block Influence per layer as a long table, the chapter's findings
from the single-layer removal map, and the numbers and verdict its prose cites.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.prose import NOT_RUN
from ..core.verdicts import glue_key
from ..methods.study import Task, model_words
from ..tasks.benchmarks import get_benchmark


def influence_frame(influence: dict[str, Any]) -> pd.DataFrame:
    """Block Influence per layer of several models in the long form of ``plots.layer_profile_chart``."""
    frames = [pd.DataFrame({"model": model, "layer": run.samples["layer"], "measure": "Block Influence (1 − cos)",
                            "value": run.samples["score"], "depth": (run.samples["layer"] + 0.5) / len(run.samples)})
              for model, run in influence.items()]
    return pd.concat(frames, ignore_index=True)


def stacked(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per-model tables stacked into one with a ``model`` column."""
    return pd.concat([table.assign(model=model) for model, table in tables.items()], ignore_index=True)


def redundancy_findings(influence: dict[str, Any], tables: dict[str, pd.DataFrame],
                        summary: pd.DataFrame) -> dict[str, str]:
    """One sentence per model for the verdict: ShortGPT's first pick and what the model keeps without it, and
    how many single layers each task survives."""
    findings = {}
    for model, run in influence.items():
        scores = run.samples.dropna(subset=["score"])
        first = first_pick(scores)
        table = tables.get(model)
        kept = ""
        if table is not None:
            at = table[(table["layer"] == first) & (table["measure"] != "heldout_nll")]
            loss = table[(table["layer"] == first) & (table["measure"] == "heldout_nll")]["relative"]
            parts = [f"{row.measure} {row.relative:.2f}" if pd.notna(row.relative) else f"{row.measure} uninformative"
                     for row in at.itertuples()]
            kept = (f"; without it the held-out loss rises {float(loss.iloc[0]):+.0%} and it keeps "
                    + ", ".join(parts)) if len(loss) else ""
        counts = summary[summary["model"] == model]
        survived = "; ".join(f"{row['measure'].replace('accuracy: ', '')}: {row['layers removable at small cost']}"
                             for _, row in counts.iterrows())
        findings[glue_key(model)] = (f"{model}: ShortGPT's first pick is layer {first} of {len(run.samples)} "
                                     f"(BI {float(scores['score'].min()):.3f}){kept}. Single layers that cost "
                                     f"little — {survived}")
    return findings


RETENTION = 0.9  # a single layer "can go" on a task when the model keeps this share of its accuracy without it
LOSS_TOLERANCE = 0.1  # ... and on held-out text when its loss rises by at most this share
SLOTS = ("choice", "recall", "short", "long")  # the kinds of task the prose names: recall by letter, open recall,
# short and long chains


def slot(task: str) -> str:
    """The kind of task ``task`` is, as the prose names it (one of ``SLOTS``)."""
    parsed = Task.parse(task)
    if parsed.family != "knowledge":
        return "short" if parsed.family == "short chains" else "long"
    return "choice" if parsed.static or get_benchmark(parsed.benchmark).answer_type == "choice letter" else "recall"


def first_pick(scores: pd.DataFrame) -> int:
    """ShortGPT's first pick: the layer of lowest Block Influence."""
    scores = scores.dropna(subset=["score"])
    return int(scores.loc[scores["score"].idxmin(), "layer"])


def _task_numbers(table: pd.DataFrame, task: str, first: int | None) -> dict[str, str]:
    """One task of one model: its words, unpruned accuracy and chance, what it keeps without the first pick (and
    its accuracy then), the most any single removal leaves it, and how many single layers can go with
    ``RETENTION`` of it kept ("uninformative" when the unpruned model scores 0)."""
    rows = table[table["measure"] == task]
    kept = rows.loc[rows["layer"] == first, "relative"]
    informative = rows["relative"].notna().any()
    return {"task": Task.parse(task).words, "unpruned": f"{rows['baseline'].iloc[0]:.2f}",
            "chance": f"{Task.parse(task).chance:.2f}",
            "first": NOT_RUN if kept.empty else "uninformative" if pd.isna(kept.iloc[0]) else f"{kept.iloc[0]:.2f}",
            "first_acc": f"{rows.loc[rows['layer'] == first, 'value'].iloc[0]:.2f}" if len(kept) else NOT_RUN,
            "best": f"{rows['relative'].max():.2f}" if informative else "uninformative",
            "removable": str(int((rows["relative"] >= RETENTION).sum())) if informative else "uninformative"}


TASK_NUMBERS = ("task", "unpruned", "chance", "first", "first_acc", "best", "removable")


def key_numbers(influence: dict[str, Any], tables: dict[str, pd.DataFrame], roles: dict[str, str]
                ) -> dict[str, str]:
    """The numbers chapter 03's prose cites, by name: per role ("organism", "control", "reference") its depth
    (``{role}_layers``), ShortGPT's first pick (``{role}_first_layer``), the held-out loss rise without it
    (``{role}_first_loss``) and how many single layers raise that loss by ``LOSS_TOLERANCE`` at most
    (``{role}_loss_removable``); per role and kind of task (``SLOTS``; the first task of that kind)
    ``{role}_{slot}_`` + each of ``TASK_NUMBERS``; the rules (``keep_share``, ``loss_rise``). Every key exists in
    every profile, "—" where the plan does not measure it."""
    numbers = {"keep_share": f"{RETENTION:.0%}", "loss_rise": f"{LOSS_TOLERANCE:.0%}"}
    for role, model in roles.items():
        scores = influence[model].samples if model in influence else None
        table = tables.get(model, pd.DataFrame(columns=["layer", "measure", "relative", "value", "baseline"]))
        first = None if scores is None else first_pick(scores)
        loss = table.loc[table["measure"] == "heldout_nll"]
        rise = loss.loc[loss["layer"] == first, "relative"]
        numbers |= {f"{role}_layers": NOT_RUN if scores is None else str(len(scores)),
                    f"{role}_first_layer": NOT_RUN if first is None else str(first),
                    f"{role}_first_loss": f"{float(rise.iloc[0]):+.0%}" if len(rise) else NOT_RUN,
                    f"{role}_loss_removable": str(int((loss["relative"] <= LOSS_TOLERANCE).sum())) if len(loss)
                    else NOT_RUN}
        tasks = [t for t in dict.fromkeys(table["measure"]) if t != "heldout_nll"]
        for kind in SLOTS:
            task = next((t for t in tasks if slot(t) == kind), None)
            found = _task_numbers(table, task, first) if task else dict.fromkeys(TASK_NUMBERS, NOT_RUN)
            numbers |= {f"{role}_{kind}_{name}": text for name, text in found.items()}
    return numbers


def verdict(influence: dict[str, Any], tables: dict[str, pd.DataFrame], roles: dict[str, str]) -> str:
    """Chapter 03's verdict: what ShortGPT's first pick costs the real model on text and on its long chains, and
    how few of the organism's layers its long chains can spare."""
    n = key_numbers(influence, tables, roles)
    reference, organism = model_words(roles["reference"]), model_words(roles["organism"])
    return (f"ShortGPT's first pick is layer {n['reference_first_layer']} of the {reference}'s "
            f"{n['reference_layers']}: without it the held-out loss changes by {n['reference_first_loss']} and it "
            f"keeps {n['reference_long_first']} of its {n['reference_long_task']}; "
            f"{n['reference_long_removable']} of its {n['reference_layers']} layers can go alone with "
            f"{n['keep_share']} of those kept. The {organism} keeps {n['organism_long_first']} of its "
            f"{n['organism_long_task']} without its own first pick (layer {n['organism_first_layer']}), and "
            f"{n['organism_long_removable']} of its {n['organism_layers']} layers can go alone with "
            f"{n['keep_share']} of them kept.")
