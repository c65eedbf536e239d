"""The plan of chapters 09 and 10, beyond the paper: chains of several lengths for the error-compounding fits
and the compute frontier over chapter 06's samples.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..core.config import ConfigError, knob
from ..core.store import RunStore
from ..methods import study
from .base import PAPER_METHODS
from .pruning import DerivedPlan, PruningPlan


@dataclass(frozen=True)
class BeyondPlan(DerivedPlan):
    """Chapters 09 and 10, beyond the paper: chains of several lengths for the error-compounding fits (the
    thinking model, its direct-answer control, the reference) and the compute frontier over chapter 06's samples."""

    PROFILE_DEFAULTS = {
        "smoke": {"organism_lengths": (1, 2, 3), "reference_lengths": (2, 3), "organism_holdout": 3,
                  "reference_holdout": 2},
        "default": {},
        "paper": {"organism_task": "basic_arithmetic", "organism_lengths": (2, 4, 8, 16, 32),
                  "reference_lengths": (2, 4, 8, 16), "organism_holdout": 16, "reference_holdout": 8,
                  "reference_methods": PAPER_METHODS, "chain_problems": 100},
    }

    organism_task: str = knob("organism_chain", doc="chains of the thinking model and its control (paper "
                              "profile: reasoning-gym's mixed + and −)")
    organism_lengths: tuple[int, ...] = knob((1, 2, 4, 8, 16, 24), ge=1, doc="chain lengths (steps) of the "
                                             "organism and its control (2 and 24 are chapter 04's runs)")
    organism_holdout: int = knob(16, ge=2, doc="steps from which the organism's chains are predicted, not fitted")
    reference_task: str = knob("chain_sum", doc="chains of the reference")
    reference_lengths: tuple[int, ...] = knob((3, 6, 10, 15), ge=1, doc="chain lengths of the reference (terms "
                                              "of a chain sum: one step fewer; 3 and 15 are chapter 04's runs)")
    reference_holdout: int = knob(14, ge=2, doc="steps from which the reference's chains are predicted (14: the "
                                  "15-term sums, from fits on 2, 5 and 9 steps)")
    reference_methods: tuple[str, ...] = knob(("shortgpt",), doc="methods cutting the reference (each level "
                                              "× length costs a SmolLM2 evaluation)")
    chain_problems: int | None = knob(None, ge=1, doc="problems per chain length; None: the pruning plan's")
    frontier_score: str = knob("maj", choices=("maj", "pass"), doc="how k samples are scored on the frontier: "
                               "majority vote (no verifier) or pass@k (an oracle verifier)")

    def validate(self) -> None:
        for name, lengths in ((self.organism_task, self.organism_lengths),
                              (self.reference_task, self.reference_lengths)):
            for length in lengths:
                study.Task.parse(f"{name}@{length}")
        unknown = sorted(set(self.reference_methods) - set(PAPER_METHODS))
        if unknown:
            raise ConfigError(f"reference_methods={list(self.reference_methods)!r} has unknown entries {unknown}; "
                              f"allowed: {list(PAPER_METHODS)}")


    def holdout(self, model: str, pruning: PruningPlan) -> int:
        return self.reference_holdout if model == pruning.reference else self.organism_holdout

    def chain_cells(self, store: RunStore) -> list:
        """Every chain length at every level: the thinking model and its control by each of the pruning plan's
        methods, the reference by ``reference_methods`` (the unpruned model once per model and length)."""
        pruning = self.pruning
        cells = []
        for model in pruning.models():
            reference = model == pruning.reference
            task, lengths = ((self.reference_task, self.reference_lengths) if reference
                             else (self.organism_task, self.organism_lengths))
            methods = self.reference_methods if reference else pruning.methods
            knobs = {"n_problems": self.chain_problems} if self.chain_problems else {}
            cells += [pruning.cell(model, method, n, study.Task.parse(f"{task}@{length}"), store, {},
                                   **knobs)
                      for length in lengths for method, n in pruning.variants(model, methods)]
        return cells

    def frontier_cells(self, store: RunStore) -> list:
        """Chapter 06's samples of each model's first parallel task, the unpruned model once."""
        return self.pruning.parallel_cells(store)
