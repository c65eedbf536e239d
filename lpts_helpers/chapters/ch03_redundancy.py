"""Chapter 03, which layers look redundant: Block Influence per layer as a long table, and the chapter's findings
from the single-layer removal map.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core.verdicts import glue_key


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
        first = int(scores.loc[scores["score"].idxmin(), "layer"])
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
