"""How a claim comes out: the agreement labels, one "paper vs ours" row, and glue keys for findings (every
chapter's claim rows and the summary use them).
"""

from __future__ import annotations

import pandas as pd

AGREEMENTS = ("agrees", "partly", "disagrees", "not testable here", "beyond the paper")


def agreement(hits: int, total: int) -> str:
    """How many of our tests came out as the paper says: all, some or none of them."""
    return "agrees" if hits == total else "disagrees" if hits == 0 else "partly"


def verdict_row(claim: str, paper: str, ours: str, verdict: str, agrees: str) -> dict[str, str]:
    """One "paper vs ours" row (``agrees`` is one of ``AGREEMENTS``); the chapters show their rows and the
    summary page collects them."""
    if agrees not in AGREEMENTS:
        raise ValueError(f"agrees={agrees!r} is not allowed; allowed: {list(AGREEMENTS)}")
    return {"claim": claim, "paper (Qwen3-8B / s1.1-7B)": paper, "ours": ours, "agreement": agrees,
            "verdict": verdict}


def glue_key(text: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in text)


def findings_view(findings: dict[str, str]) -> pd.DataFrame:
    return pd.DataFrame({"finding": list(findings.values())})
