"""The numbers chapters' prose cites: one format for an estimate, one grid of variant keys, counts in words."""

import numpy as np
import pandas as pd

from lpts_helpers.core import prose, verdicts


def test_an_estimate_is_an_interval_for_one_row_and_a_span_for_several():
    rows = pd.DataFrame({"accuracy": [0.5, 0.93, 0.99], "low": [0.4, 0.9, 0.97], "high": [0.6, 0.96, 1.0]})
    assert prose.estimate_text(rows.head(1)) == "0.50 [0.40, 0.60]"
    assert prose.estimate_text(rows) == "0.50–0.99"
    assert prose.estimate_text(rows.iloc[:0]) == prose.NOT_RUN == "—"
    assert prose.span([0.931, 0.934]) == "0.93" and prose.span([np.nan]) == "—"
    assert prose.estimate_text(rows.rename(columns={"accuracy": "slope"}).head(1), "slope", digits=3) == \
        "0.500 [0.400, 0.600]"


def test_counts_are_words_and_every_variant_has_a_key():
    assert prose.count_words(1, "layer") == "one layer" and prose.count_words(2, "sample") == "two samples"
    assert prose.count_words(30, "layer") == "30 layers"
    table = pd.DataFrame({"model": "m", "method": ["shortgpt", "laco", "shortgpt", "laco"],
                          "pruned_layers": [0, 0, 2, 2], "x": [1, 1, 2, 3]})
    variants = prose.variant_rows(table)
    assert set(variants) == {"0"} | {f"{m}_{lv}" for m in (*prose.NUMBER_METHODS, "any") for lv in prose.NUMBER_LEVELS}
    assert variants["0"]["method"].tolist() == ["shortgpt"]  # the unpruned rows once
    assert variants["laco_deep"]["x"].tolist() == [3] and variants["any_2"]["x"].tolist() == [2, 3]
    assert variants["reverse_1"].empty  # not run: the prose shows "—"
    assert prose.deepest_cut(table, "m") == "two layers"


def test_a_chapters_claims_read_as_one_sentence():
    rows = [verdicts.evidence_row("C2 long chains collapse", "m, t", "v", "kept", 0.1, 0.0, 0.2, "agrees"),
            verdicts.evidence_row("C2 long chains collapse", "m, u", "v", "kept", 0.9, 0.8, 1.0, "disagrees"),
            verdicts.evidence_row("R1 errors compound", "m, t", "v", "ε", 0.1, 0.0, 0.2, "beyond the paper")]
    assert verdicts.claims_sentence(verdicts.claim_table(rows)) == (
        "Against the paper — C2 long chains collapse: partly (1 of 2 tests); R1 errors compound: beyond the paper.")
    assert verdicts.claims_sentence(verdicts.claim_table([])) == "No claim of the paper is tested here."


def test_an_interval_agrees_disagrees_or_cannot_tell():
    assert verdicts.direction(-0.3, -0.1, -1) == "agrees"  # wholly below 0, as claimed
    assert verdicts.direction(0.1, 0.3, -1) == "disagrees"
    assert verdicts.direction(-0.23, 0.08, -1) == "inconclusive"  # spans 0: these problems cannot tell
    assert verdicts.direction(0.0, 0.0, 1) == "disagrees"  # no change at all is not the claimed rise
    assert verdicts.direction(0.90, 1.02, 1, 0.85) == "agrees"
    assert verdicts.direction(0.80, 0.95, 1, 0.85) == "inconclusive"
    assert verdicts.direction(0.10, 0.20, -1, 0.5) == "agrees"
    rows = [verdicts.evidence_row("C4 x", "m, t", "v", "change", -0.07, -0.23, 0.08, "inconclusive")]
    assert verdicts.claim_verdicts(verdicts.claim_table(rows))["verdict"].tolist() == ["inconclusive"]
