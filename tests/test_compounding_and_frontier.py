"""Chapters 09 and 10's helpers on hand-made data: the compounding fit, the control gap, the compute frontier and
the paper profile's GPU cost."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from lpts_helpers.chapters import ch09_compounding, scaleup
from lpts_helpers.core.prose import NOT_RUN
from lpts_helpers.methods import compounding, frontier


def simulated(epsilon: float, a: float, lengths=(1, 2, 3, 4, 6, 8), n: int = 400, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    return {k: pd.Series((rng.random(n) < a * (1 - epsilon) ** k).astype(float),
                         index=[f"p{k}-{i}" for i in range(n)]) for k in lengths}


def test_the_fit_recovers_a_known_per_step_error_and_its_interval_covers_it():
    result = compounding.fit(simulated(0.12, 0.9, n=2000), "two", n_resamples=200)
    assert abs(result.epsilon.value - 0.12) < 0.015 and abs(result.a.value - 0.9) < 0.05
    assert result.epsilon.low < result.epsilon.value < result.epsilon.high < result.epsilon.low + 0.04
    # the 95% interval of the pure form covers the true ε in most of 20 simulated studies
    covered = [compounding.fit(simulated(0.12, 1.0, n=200, seed=s), "one", n_resamples=200) for s in range(20)]
    assert sum(f.epsilon.low <= 0.12 <= f.epsilon.high for f in covered) >= 16
    assert all(f.a.value == 1.0 for f in covered)


def test_exact_likelihood_maximum_on_noise_free_counts():
    k = np.array([1, 2, 4, 8])
    total = np.full(4, 10_000)
    solved = np.round(total * 0.8 * 0.9 ** k)
    epsilon, a = compounding.mle(k, solved, total, "two")
    assert epsilon == pytest.approx(0.1, abs=2e-3) and a == pytest.approx(0.8, abs=5e-3)
    assert compounding.deviance(k, solved, total, epsilon, a) < 1.0
    with pytest.raises(ValueError, match="form='three' is not allowed"):
        compounding.mle(k, solved, total, "three")


def test_a_curve_that_is_not_compounding_is_rejected():
    # flat then a cliff: no a·(1 − ε)^k passes through both
    cliff = {k: pd.Series(np.r_[np.ones(int(400 * acc)), np.zeros(400 - int(400 * acc))])
             for k, acc in ((1, 0.9), (2, 0.9), (3, 0.9), (4, 0.9), (6, 0.05), (8, 0.05))}
    assert compounding.fit(cliff, "two").p_value < 1e-6
    check = compounding.holdout(cliff, 6, "two")
    assert list(check["steps"]) == [6, 8] and not check["holds"].any()
    assert compounding.holdout(simulated(0.1, 0.9), 6, "two")["holds"].all()


def test_fit_table_marks_variants_that_solve_nothing_and_chain_sums_count_operations():
    scores = {("m", "shortgpt", 0): simulated(0.1, 0.9, n=100), ("m", "shortgpt", 2): {
        k: pd.Series(np.zeros(50)) for k in (1, 2, 4)}}
    table = ch09_compounding.fit_table(scores, {"m": 6})
    fitted = table[table["pruned_layers"] == 0].set_index("form")
    assert fitted.loc["two", "epsilon low"] <= 0.1 <= fitted.loc["two", "epsilon high"]
    assert "6 steps:" in fitted.loc["two", "long chains predicted"] and fitted.loc["two", "holds"]
    dead = table[table["pruned_layers"] == 2]
    assert dead["epsilon"].isna().all() and (dead["ε (95% CI)"] == "— (no chain solved)").all()
    assert compounding.steps("chain_sum", 4) == 3 and compounding.steps("organism_chain", 4) == 4


def test_key_numbers_cite_every_role_and_level_and_a_model_no_pruned_variant_of_which_solves_a_chain():
    dead = {k: pd.Series(np.zeros(50)) for k in (1, 2, 4, 6, 8)}
    scores = {("t", "shortgpt", 0): simulated(0.0, 1.0, n=100), ("t", "shortgpt", 2): dead,
              ("r", "shortgpt", 0): simulated(0.02, 1.0, n=100), ("r", "shortgpt", 1): simulated(0.1, 1.0, n=100),
              ("r", "shortgpt", 3): dead}
    fits = ch09_compounding.fit_table(scores, {"t": 6, "r": 6})
    roles = {"organism": "t", "control": "c", "reference": "r"}
    numbers = ch09_compounding.key_numbers(fits, pd.DataFrame(), roles)
    two = fits[(fits["form"] == "two") & (fits["model"] == "r")].set_index("pruned_layers")
    assert numbers["reference_eps_shortgpt_1"] == two.loc[1, "ε (95% CI)"] and numbers["reference_deep"] == "3"
    assert numbers["reference_solving"] == "1" and numbers["reference_a_shortgpt_deep"] == NOT_RUN
    assert numbers["reference_predicted"] == "{} of 2".format(int(two["holds"].sum()))
    assert numbers["organism_solving"] == "none" and numbers["control_eps_0"] == NOT_RUN
    assert set(numbers) == set(ch09_compounding.key_numbers(fits.iloc[0:0], pd.DataFrame(), roles))
    # the deepest level that still solves a chain: none for "t", so its findings and claim rows cite no pruned ε
    organism = fits[(fits["form"] == "two") & (fits["model"] == "t")]
    assert ch09_compounding.deepest_solving(organism) is None
    assert ch09_compounding.deepest_solving(two.reset_index()) == 1
    assert "no pruned variant solves a chain" in ch09_compounding.findings(fits, pd.DataFrame(), "t", "c")["t"]
    cells = [SimpleNamespace(model=m, task=SimpleNamespace(benchmark="chain_sum")) for m in ("t", "r")]
    claims = ch09_compounding.claim_rows(fits, pd.DataFrame(), cells, roles)
    assert claims["model and task"].str.startswith("r").all() and len(claims) == 1


def test_control_gap_is_paired_and_signed():
    ids = [f"p{i}" for i in range(60)]
    right, wrong = pd.Series(1.0, index=ids), pd.Series(0.0, index=ids)
    half = pd.Series(np.r_[np.ones(30), np.zeros(30)], index=ids)
    scores = {("think", "shortgpt", 0): {2: right}, ("think", "shortgpt", 1): {2: wrong},
              ("direct", "shortgpt", 0): {2: right}, ("direct", "shortgpt", 1): {2: half}}
    gap = ch09_compounding.control_gap(scores, "think", "direct")
    row = gap.iloc[0]
    assert row["gap"] == pytest.approx(-0.5) and row["thinking loses more"]
    assert row["thinking change"].startswith("-1.00") and row["control change"].startswith("-0.50")


def test_pareto_and_matched_comparison():
    table = pd.DataFrame({"model": "m", "method": ["shortgpt"] * 4, "pruned_layers": [0, 0, 2, 2], "k": [1, 2, 1, 4],
                          "compute": [100.0, 200.0, 90.0, 300.0], "accuracy": [0.5, 0.6, 0.4, 0.9],
                          "low": 0.0, "high": 1.0})
    marked = frontier.pareto(table)
    assert marked["frontier"].tolist() == [True, True, True, True]
    worse = table.assign(accuracy=[0.5, 0.6, 0.4, 0.55])
    assert frontier.pareto(worse)["frontier"].tolist() == [True, True, True, False]
    n = 50
    per_problem = {("m", "shortgpt", 0, 1): np.r_[np.ones(25), np.zeros(25)],
                   ("m", "shortgpt", 0, 2): np.r_[np.ones(30), np.zeros(20)],
                   ("m", "shortgpt", 2, 1): np.r_[np.ones(20), np.zeros(30)],
                   ("m", "shortgpt", 2, 4): np.ones(n)}
    matches = frontier.matched(table, per_problem).set_index("k")
    assert matches.loc[1, "unpruned match"] == "none cheaper"  # 90 layer passes: no unpruned setting that cheap
    assert matches.loc[4, "unpruned match"].startswith("k = 2") and matches.loc[4, "pruned wins"]
    assert matches.loc[4, "difference"] == pytest.approx(0.4)


def test_paper_cost_counts_generations_from_the_plans():
    table = scaleup.generations()
    static_aime = table[(table["chapter"] == "04 static") & (table["task"] == "aime24") &
                        (table["model"] == "qwen3-8b")].iloc[0]
    assert static_aime["generations"] == 22 * 30  # 1 + 3 methods × 7 levels variants, AIME's 30 problems
    assert static_aime["tokens per generation (max)"] == 8192 + 1024
    cost = scaleup.paper_cost(1000.0)
    total = cost[cost["chapter"] == "all"].iloc[0]
    assert total["GPU hours at 1,000 tok/s"] == pytest.approx(total["tokens (max, M)"] * 1e6 / 1000 / 3600, rel=0.01)
    with pytest.raises(ValueError, match="tokens_per_second=0"):
        scaleup.paper_cost(0)
