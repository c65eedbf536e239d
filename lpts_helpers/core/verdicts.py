"""How a claim comes out: the agreement labels, one "paper vs ours" row, and glue keys for findings (every
chapter's claim rows and the summary use them).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .metrics import interval

AGREEMENTS = ("agrees", "partly", "disagrees", "inconclusive", "not testable here", "beyond the paper")


def agreement(hits: int, total: int) -> str:
    """How many of our tests came out as the paper says: all, some or none of them."""
    return "agrees" if hits == total else "disagrees" if hits == 0 else "partly"


# How one piece of evidence came out: as the paper says, against it, neither (its interval spans both), unable to
# say (the unpruned model lacks the ability), or a question the paper did not ask.
OUTCOMES = ("agrees", "disagrees", "inconclusive", "not testable here", "beyond the paper")
CLAIM_COLUMNS = ("claim", "model and task", "variant", "measure", "paper", "ours", "agreement", "paper value", "value",
                 "low", "high")


def direction(low: float, high: float, claimed: int, reference: float = 0.0) -> str:
    """How a 95% CI bears on a claim that a quantity lies below (``claimed`` −1) or above (+1) ``reference``:
    "agrees" when the interval lies wholly on the claimed side, "disagrees" when wholly on the other (an interval
    at the reference itself, no change at all, included), "inconclusive" when it spans the reference (these
    problems cannot tell either way)."""
    if claimed not in (-1, 1):
        raise ValueError(f"claimed={claimed!r} is not allowed; allowed: -1 (below) or 1 (above)")
    low, high = claimed * low, claimed * high
    low, high = min(low, high), max(low, high)
    reference *= claimed
    return "agrees" if low > reference else "disagrees" if high <= reference else "inconclusive"


def evidence_row(claim: str, subject: str, variant: str, measure: str, value: float, low: float, high: float,
                 agrees: str, *, paper: str = "—", paper_value: float = float("nan"), ours: str | None = None,
                 digits: int = 2) -> dict[str, Any]:
    """One piece of evidence for a claim: one model on one task (``subject``, in words) in one ``variant`` (how it
    was pruned or recovered), one number with its 95% CI (``value``, ``low``, ``high``; ``ours`` replaces its
    text, e.g. "at chance") beside the paper's number for the same ``measure``, and how it came out (one of
    ``OUTCOMES``). Every chapter's claim rows are these; the summary collects them, counts them per claim and
    draws them."""
    if agrees not in OUTCOMES:
        raise ValueError(f"agrees={agrees!r} is not allowed; allowed: {list(OUTCOMES)}")
    return {"claim": claim, "model and task": subject, "variant": variant, "measure": measure, "paper": paper,
            "ours": interval(value, low, high, digits) if ours is None else ours, "agreement": agrees,
            "paper value": paper_value, "value": value, "low": low, "high": high}


def claim_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """Evidence rows as a table with every column of ``CLAIM_COLUMNS`` (an empty list gives an empty table)."""
    return pd.DataFrame(rows, columns=list(CLAIM_COLUMNS))


def claim_verdicts(evidence: pd.DataFrame) -> pd.DataFrame:
    """One row per claim (in order): "agrees" when every conclusive piece of evidence agrees, "disagrees" when none
    does, else "partly"; when no evidence is conclusive, "beyond the paper" (a question the paper did not ask),
    "inconclusive" (tested, but no interval decides) or "not testable here"."""
    rows = []
    for claim, group in evidence.groupby("claim", sort=False):
        outcomes = group["agreement"]
        hits, tested = int((outcomes == "agrees").sum()), int(outcomes.isin(["agrees", "disagrees"]).sum())
        if tested:
            verdict, count = agreement(hits, tested), f"{hits} of {tested}"
        else:
            verdict = next((label for label in ("beyond the paper", "inconclusive") if (outcomes == label).any()),
                           "not testable here")
            count = "—"
        rows.append({"claim": claim, "verdict": verdict, "as the paper says": count, "evidence": len(group)})
    return pd.DataFrame(rows, columns=["claim", "verdict", "as the paper says", "evidence"])


def claims_view(evidence: pd.DataFrame) -> pd.DataFrame:
    """Evidence rows as the book shows them: words and intervals, no raw numbers."""
    return evidence[["claim", "model and task", "variant", "measure", "paper", "ours", "agreement"]].rename(
        columns={"ours": "ours (95% CI)"}).reset_index(drop=True)


def claims_sentence(evidence: pd.DataFrame) -> str:
    """A chapter's claims as one sentence of its verdict: each claim's name, how it came out and how many of the
    conclusive tests come out as the paper says ("C2 long-chain reasoning collapses: agrees (3 of 3 tests)")."""
    parts = [f"{row['claim']}: {row['verdict']}" + (f" ({row['as the paper says']} tests)"
                                                    if row["verdict"] in AGREEMENTS[:3] else "")
             for row in claim_verdicts(evidence).to_dict("records")]
    return "Against the paper — " + "; ".join(parts) + "." if parts else "No claim of the paper is tested here."


def glue_key(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def findings_view(findings: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"finding": list(findings.values())})
