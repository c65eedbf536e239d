"""Chapter plans, sweeps and the tables the chapters show (with the paper's numbers beside ours)."""

import inspect

import pandas as pd
import pytest

from lpts_helpers.chapters import beyond, ch01_baselines, ch02_organism, ch07_recovery, ch08_traces, pruning
from lpts_helpers.core import paper
from lpts_helpers.core.config import ConfigError
from lpts_helpers.engine import evaluation, likelihood
from lpts_helpers.engine.backends.hf import HFBackend


def test_baseline_plan_lists_every_task_and_reading():
    plan = ch01_baselines.BaselinePlan(families=("chain_sum", "leg_counting"), chain_lengths=(2, 5),
                                       benchmarks=("gsm8k",), extractors=("boxed", "flex"))
    configs = plan.eval_configs()
    assert len(configs) == (2 * 2 + 1) * 2
    assert {(c.benchmark, c.chain_length) for c in configs} == {("chain_sum", 2), ("chain_sum", 5),
                                                                ("leg_counting", 2), ("leg_counting", 5),
                                                                ("gsm8k", None)}
    assert len({c.generation().config_hash() for c in configs}) == 5  # two readings share one generation run
    assert [c.scoring for c in plan.choice_configs()] == ["letter", "text-normalized"]
    paper_plan = ch01_baselines.BaselinePlan.for_profile("paper")
    assert paper_plan.families == () and paper_plan.thinking_budget == 8192 and paper_plan.backend == "vllm"
    with pytest.raises(ConfigError, match=r"families=\['chain_sum', 'sudoku'\] has unknown entries \['sudoku'\]"):
        ch01_baselines.BaselinePlan(families=("chain_sum", "sudoku"))


def test_sweep_reads_back_without_loading_a_model(store, tiny_model, monkeypatch):
    configs = [evaluation.EvalConfig(benchmark="chain_sum", chain_length=k, n_problems=2, max_answer_tokens=4,
                                     extractor=e) for k in (2, 3) for e in ("boxed", "flex")]
    loads = []

    def fake_make_backend(name, model, **options):
        loads.append(model)
        return HFBackend(*tiny_model)

    monkeypatch.setattr(evaluation, "make_backend", fake_make_backend)
    table = evaluation.sweep(configs, store)
    assert len(table) == 4 and loads == ["smollm2-135m"]  # one model for all four runs
    assert {"accuracy", "low", "high", "pass@n", "share_answered", "extractor"} <= set(table)
    again = evaluation.sweep(configs, store)
    assert loads == ["smollm2-135m"] and again["accuracy"].tolist() == table["accuracy"].tolist()
    view = evaluation.sweep_view(table)
    assert list(view.columns) == ["benchmark", "chain length", "extractor", "accuracy (95% CI)", "answers found",
                                  "problems"]


def sweep_table():
    return pd.DataFrame({"benchmark": ["chain_sum", "chain_sum", "chain_sum", "gsm8k"],
                         "chain_length": [2, 8, 2, None], "extractor": ["flex", "flex", "boxed", "flex"],
                         "accuracy": [0.8, 0.1, 0.5, 0.05], "low": [0.7, 0.0, 0.4, 0.0], "high": [0.9, 0.2, 0.6, 0.1],
                         "share_answered": [1, 1, 0.5, 1], "n_problems": [40] * 4})


def test_describe_extremes_and_baseline_rows():
    table = sweep_table()
    assert evaluation.describe_extremes(table) == ("chain_sum 0.80 [0.70, 0.90] at 2 steps and 0.10 [0.00, 0.20] "
                                                   "at 8")
    choice = pd.DataFrame({"scoring": ["letter"], "accuracy": [0.3], "low": [0.2], "high": [0.4]})
    rows = evaluation.baseline_rows(table, choice)
    assert rows["benchmark"].tolist() == ["chain_sum (2 steps)", "chain_sum (8 steps)", "gsm8k", "mmlu"]
    beside = paper.beside_static(rows, our_model="smollm2-135m").query("pruned_layers == 0").set_index("benchmark")
    assert beside.loc["gsm8k", "paper (Qwen3-8B)"] == "0.88" and beside.loc["gsm8k", "ours (95% CI)"].startswith("0.05")
    assert beside.loc["aime24", "ours (95% CI)"] == "—" and beside.loc["chain_sum (2 steps)", "paper (Qwen3-8B)"] == "—"


def test_chance_verdict():
    at_chance = pd.DataFrame({"scoring": ["letter"], "accuracy": [0.26], "low": [0.2], "high": [0.32],
                              "above_chance": [False]})
    assert likelihood.chance_verdict(at_chance) == "not distinguishable from chance (0.25) (letter 0.26 [0.20, 0.32])"
    above = at_chance.assign(low=[0.3], above_chance=[True])
    assert likelihood.chance_verdict(above).startswith("above chance")


def test_gold_check_run_and_table(store):
    run = evaluation.run_gold_check(evaluation.GoldCheckConfig(n_problems=5), store)
    table = evaluation.gold_check_table(run.metrics)
    assert len(table) == 7 and (table["rate"] == 1.0).all() and (table["misses"] == "none").all()
    with pytest.raises(ConfigError, match="'mmlu' is not graded by math-verify"):
        evaluation.GoldCheckConfig(benchmarks=("mmlu",))


def test_paper_tables_match_the_paper_md_figures():
    static = paper.static_table().set_index(["benchmark", "pruned_layers"])["paper_accuracy"]
    assert static[("aime24", 0)] == 0.70 and static[("aime24", 2)] == 0.07 and static[("mmlu", 7)] == 0.46
    sequential = paper.sequential_table()
    assert len(sequential) == 6 * 4 * 5
    assert sequential.query("method == 'laco' and benchmark == 'aime24' and pruned_layers == 3 and budget == 8192")[
        "paper_accuracy"].item() == 0.21
    assert paper.parallel_table().query("method == 'reverse' and pruned_layers == 3 and k == 32")[
        "paper_pass_at_k"].item() == 0.03


def test_organism_targets_view_marks_met_missed_and_a_negative_result():
    targets = pd.DataFrame([
        {"key": "short", "target": "short chains", "model": "a", "measured": 0.97, "low": 0.95, "high": 0.99,
         "met": "yes"},
        {"key": "short", "target": "short chains", "model": "b", "measured": 0.40, "low": 0.30, "high": 0.50,
         "met": "no"},
        {"key": "wait_gain", "target": "forced Wait", "model": "a", "measured": -0.20, "low": -0.30, "high": -0.10,
         "met": "negative"}])
    view = ch02_organism.targets_view(targets)
    assert view.loc["short chains", "a"].endswith("✓") and view.loc["short chains", "b"].endswith("✗")
    assert view.loc["forced Wait", "a"].endswith("(a measured negative result)")
    assert view.loc["forced Wait", "b"] == "—"
    assert ch02_organism.target_range(targets, "short", ("a", "b")) == {"low": 0.40, "high": 0.97, "met": 1, "of": 2}


def test_plans_are_data_whose_profile_is_a_field():
    plans = [ch01_baselines.BaselinePlan, ch02_organism.OrganismPlan, pruning.PruningPlan,
             ch07_recovery.RecoveryPlan, ch08_traces.AnalysisPlan, beyond.BeyondPlan]
    for cls in plans:
        assert cls.for_profile("smoke").profile == "smoke"
        for name, method in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("__"):
                continue  # the dataclass's own __init__ takes the field
            assert "profile" not in inspect.signature(method).parameters, f"{cls.__name__}.{name} takes a profile"
    with pytest.raises(ConfigError, match="profile='fast' is not allowed"):
        pruning.PruningPlan.for_profile("fast")


def test_a_derived_plan_keeps_the_pruning_plan_it_was_given():
    chosen = pruning.PruningPlan.for_profile("smoke", n_problems=7)
    for cls in (ch07_recovery.RecoveryPlan, ch08_traces.AnalysisPlan, beyond.BeyondPlan):
        assert cls.for_profile("smoke", pruning=chosen).pruning.n_problems == 7
        assert cls.for_profile("smoke").pruning == pruning.PruningPlan.for_profile("smoke")
        with pytest.raises(ConfigError, match=r"pruning has profile='smoke'; allowed: the plan's own \('default'\)"):
            cls.for_profile("default", pruning=chosen)


def _static_row(benchmark, acc, acc_norm, chance, informative=True):
    return {"benchmark": benchmark, "title": benchmark, "questions": 100, "chance": chance, "informative": informative,
            "acc": acc, "acc_low": acc - 0.02, "acc_high": acc + 0.02,
            "acc_norm": acc_norm, "acc_norm_low": acc_norm - 0.02, "acc_norm_high": acc_norm + 0.02}


def test_the_anchor_table_sets_each_published_number_beside_ours():
    table = pd.DataFrame([_static_row("arc_easy", 0.52, 0.46, 0.25), _static_row("arc_challenge", 0.24, 0.28, 0.25),
                          _static_row("hellaswag", 0.33, 0.38, 0.25), _static_row("boolq", 0.5, 0.5, 0.5, False)])
    anchor = ch01_baselines.anchor_table(table).set_index(["source", "benchmark", "metric"])
    assert len(anchor) == 5  # PIQA is not in the table; BoolQ has no published number
    arc = anchor.loc[("model card", "arc", "acc_norm")]
    assert arc["ours"] == pytest.approx(0.37) and arc["difference (points)"] == pytest.approx(-0.3)
    assert arc["within tolerance"]
    hella = anchor.loc[("lm-eval", "hellaswag", "acc_norm")]
    assert hella["difference (points)"] == pytest.approx(-5.0) and not hella["within tolerance"]
    assert anchor.loc[("lm-eval", "arc_easy", "acc"), "ours (95% CI)"] == "0.52 [0.50, 0.54]"
    verdict = ch01_baselines.anchor_verdict(anchor.reset_index(), table)
    assert verdict["anchor_within"] == "4 of 5" and verdict["anchor_gap"].startswith("-5.0 points (lm-eval, hellaswag")
    assert verdict["static_informative"] == "arc_easy, arc_challenge, hellaswag"
    points = ch01_baselines.static_points(table, anchor.reset_index())
    assert len(points) == 8 and points.query("benchmark == 'arc_easy' and metric == 'acc'")["published"].item() == 0.5412


def test_the_thinker_plan_covers_its_targets():
    plan = ch02_organism.OrganismPlan()
    lengths = [c.chain_length for c in plan.thinker_accuracy_configs()]
    assert lengths == sorted(set(lengths)) and {2, 3, 4, 13, 15, 17} <= set(lengths)
    assert {c.model for c in plan.thinker_accuracy_configs()} == {"smollm2-135m-think"}
    assert [c.thinking_budget for c in plan.thinker_budget_configs()] == [24, 48, 96, 192]
    assert {c.benchmark for c in plan.thinker_budget_configs()} == {"chain_sum_mix"}
    sampled = plan.thinker_sampling_config()
    assert sampled.n_samples == 16 and sampled.temperature > 0 and sampled.chain_length == 15
    static = plan.thinker_static_configs()
    assert len(static) == 16 and {c.n_problems for c in static} == {500}
    with pytest.raises(ConfigError, match=r"thinker_static has unknown entries \['sciq'\]"):
        ch02_organism.OrganismPlan(thinker_static=("sciq",))
