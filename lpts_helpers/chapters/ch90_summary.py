"""The summary page: every chapter's claim rows recomputed from the stored runs (the core claims of chapters
04–06 here, the others from their chapters' modules), and the count of how they came out.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from ..core import paper
from ..core.store import RunStore
from ..core.verdicts import AGREEMENTS
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


def core_claims(plan: PruningPlan, store: RunStore, *, options: Any = None,
                static: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every core claim's "paper vs ours" row, recomputed from the stored runs of chapters 04–06 (seconds when
    they are stored): what the summary page shows. ``static`` is chapter 04's ``compare`` table when at hand."""
    if static is None:
        static = compare(plan.static_cells(store), store, options=options)
    budget_cells, wait_cells = plan.budget_cells(store), plan.wait_cells(store)
    evaluation.sweep([c.config for c in budget_cells + wait_cells], store, options=options)
    sampling = plan.sampling_cells(store)
    evaluation.sweep([c.config for c in sampling], store, options=options)
    return pd.concat([static_claims(static, paper.static_table()),
                      sequential_claim(scaling_slopes(budget_cells, wait_cells, store, paper.sequential_table())),
                      parallel_claim(sampling_gains(sampling, store), paper.parallel_table())], ignore_index=True)


def claim_table(plan: PruningPlan, store: RunStore, *, options: Any = None,
                static: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every chapter's claim rows, in chapter order: the core claims (04–06), recovery (07), traces (08), error
    compounding (09) and the compute frontier (10); the later chapters' plans derive from ``plan``."""
    recovery = RecoveryPlan.for_profile(plan.profile, pruning=plan)
    traces = AnalysisPlan.for_profile(plan.profile, pruning=plan)
    beyond = BeyondPlan.for_profile(plan.profile, pruning=plan)
    return pd.concat([core_claims(plan, store, options=options, static=static),
                      ch07_recovery.claims(recovery, store, options=options),
                      ch08_traces.claims(traces, store, options=options),
                      ch09_compounding.claims(beyond, store, options=options),
                      ch10_frontier.claims(beyond, store, options=options)], ignore_index=True)


def claims_verdict(table: pd.DataFrame) -> str:
    """The claim rows counted by how they came out (the summary's verdict)."""
    counts = table["agreement"].value_counts()
    parts = [f"{int(counts.get(a, 0))} {a}" for a in AGREEMENTS if counts.get(a, 0)]
    return f"Of {len(table)} claim rows: " + ", ".join(parts) + "."
