"""The summary page: every chapter's evidence rows recomputed from the stored runs (the core claims of chapters
04–06 here, the others from their chapters' modules), the count of how the claims came out, and the claims as
data (``claims.csv`` beside the run store; the build puts it in the published site).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from ..core import paper
from ..core.derived import tracked_table
from ..core.paths import claims_file
from ..core.store import RunStore
from ..core.verdicts import AGREEMENTS, claim_verdicts
from ..engine import evaluation
from ..methods.study import compare
from . import ch07_recovery, ch08_traces, ch09_compounding, ch10_frontier
from .beyond import BeyondPlan
from .ch04_static import static_claims
from .ch05_sequential import scaling_slopes, sequential_claim
from .ch06_parallel import parallel_claim, sampling_gains
from .ch07_recovery import RecoveryPlan
from .ch08_traces import AnalysisPlan
from .pruning import PruningPlan


def core_claims(plan: PruningPlan, store: RunStore, *, options: Any = None) -> pd.DataFrame:
    """Every core claim's evidence rows, recomputed from the stored runs of chapters 04–06."""
    static = compare(plan.static_cells(store), store, options=options)
    budget_cells, wait_cells = plan.budget_cells(store), plan.wait_cells(store)
    evaluation.sweep([c.config for c in budget_cells + wait_cells], store, options=options)
    sampling = plan.sampling_cells(store)
    evaluation.sweep([c.config for c in sampling], store, options=options)
    return pd.concat([static_claims(static, paper.static_table()),
                      sequential_claim(scaling_slopes(budget_cells, wait_cells, store, paper.sequential_table())),
                      parallel_claim(sampling_gains(sampling, store), paper.parallel_table())], ignore_index=True)


def all_evidence(plan: PruningPlan, store: RunStore, *, options: Any = None) -> pd.DataFrame:
    """Every chapter's evidence rows, in chapter order: the core claims (04–06), recovery (07), traces (08), error
    compounding (09) and the compute frontier (10); the later chapters' plans derive from ``plan``. Stored as a
    ``tracked_table``: a re-render reads it back while every run it read is unchanged."""
    def compute() -> pd.DataFrame:
        recovery = RecoveryPlan.for_profile(plan.profile, pruning=plan)
        traces = AnalysisPlan.for_profile(plan.profile, pruning=plan)
        beyond = BeyondPlan.for_profile(plan.profile, pruning=plan)
        return pd.concat([core_claims(plan, store, options=options),
                          ch07_recovery.claims(recovery, store, options=options),
                          ch08_traces.claims(traces, store, options=options),
                          ch09_compounding.claims(beyond, store, options=options),
                          ch10_frontier.claims(beyond, store, options=options)], ignore_index=True)

    return tracked_table(store, "claims", plan.to_dict(), compute)


def claims_verdict(evidence: pd.DataFrame) -> str:
    """The claims counted by how they came out (the summary's verdict)."""
    verdicts = claim_verdicts(evidence)
    paper = verdicts[~verdicts["claim"].str.startswith("R")]
    counts = paper["verdict"].value_counts()
    plural = {"agrees": "agree", "disagrees": "disagree"}
    parts = [f"{int(counts[a])} {plural.get(a, a) if counts[a] > 1 else a}" for a in AGREEMENTS if counts.get(a, 0)]
    return (f"Of {len(paper)} claims about pruning tested here, " + ", ".join(parts) + f"; "
            f"{len(verdicts) - len(paper)} questions the paper left open are answered beyond it.")


def claims_csv(evidence: pd.DataFrame) -> pd.DataFrame:
    """The claims as data, one row per piece of evidence: the claim and its overall verdict, the model and task,
    the measure, the paper's number and ours with its 95% CI (numbers and text), and how the row came out."""
    verdicts = claim_verdicts(evidence).set_index("claim")["verdict"]
    table = evidence.assign(**{"claim verdict": evidence["claim"].map(verdicts)})
    return table[["claim", "claim verdict", "model and task", "measure", "paper", "paper value", "ours", "value",
                  "low", "high", "agreement"]]


def write_claims(evidence: pd.DataFrame, store: RunStore) -> Path:
    """Write ``claims_csv`` beside the store (rounded to 4 decimals, so that a rerun on another machine writes the
    same bytes)."""
    path = claims_file(store.root)
    claims_csv(evidence).round(4).to_csv(path, index=False)
    return path
