"""The pruning study (lpts_helpers.methods.study and the chapter modules over it), pruned model names (models,
prune) and the new metrics, on tiny inputs."""

import numpy as np
import pandas as pd
import pytest

from lpts_helpers.chapters import ch04_static, ch90_summary, pruning
from lpts_helpers.core import metrics, verdicts
from lpts_helpers.core.config import ConfigError
from lpts_helpers.methods import prune, study
from lpts_helpers.models import loading, registry


def test_retention_ratio_ci():
    baseline = np.array([1, 1, 1, 1, 0, 0, 1, 1, 0, 1], dtype=float)
    treatment = np.array([1, 0, 1, 0, 0, 0, 1, 0, 0, 1], dtype=float)
    estimate = metrics.paired_ratio_ci(baseline, treatment)
    assert estimate.value == pytest.approx(4 / 7)
    assert estimate.low < estimate.value < estimate.high <= 1.0
    assert metrics.paired_ratio_ci(baseline, baseline).value == 1.0
    with pytest.raises(ValueError, match="uninformative"):
        metrics.paired_ratio_ci(np.zeros(4), np.ones(4))


def test_slope_ci_recovers_a_known_slope():
    rng = np.random.default_rng(0)
    x = np.array([0, 1, 2, 3])
    matrix = (rng.random((400, 4)) < 0.1 + 0.2 * x).astype(float)  # accuracy rises 0.2 per unit of x
    estimate = metrics.slope_ci(x, matrix)
    assert estimate.low < 0.2 < estimate.high and estimate.high - estimate.low < 0.1
    flat = metrics.slope_ci(x, np.ones((5, 4)))
    assert flat.value == flat.low == flat.high == 0.0
    with pytest.raises(ValueError, match="settings"):
        metrics.slope_ci([1], np.ones((3, 1)))


def test_tasks_parse_with_their_family_and_chance():
    assert study.Task.parse("organism_chain@8").family == "long chains"
    assert study.Task.parse("organism_chain@2").family == "short chains"
    assert study.Task.parse("organism_recall").family == "knowledge"
    assert study.Task.parse("organism_recall").chance == 0.25
    assert study.Task.parse("gsm8k").family == "short chains"
    assert study.Task.parse("aime24").family == study.Task.parse("math500").family == "long chains"  # the paper's
    assert study.Task.parse("chain_sum@4").label == "chain_sum@4"
    arc = study.Task.parse("arc_easy")
    assert arc.static and arc.family == "knowledge" and arc.chance == pytest.approx(0.2502)
    assert not study.Task.parse("chain_sum@4").static
    for bad, message in (("organism_chain", "needs a chain length"), ("gsm8k@3", "takes no"),
                         ("organism_chain@x", "allowed"), ("nope", "nope"), ("piqa@2", "static benchmark")):
        with pytest.raises(ConfigError, match=message):
            study.Task.parse(bad)


def test_plan_rejects_unknown_methods_and_tasks():
    with pytest.raises(ConfigError, match="random"):
        pruning.PruningPlan(methods=("shortgpt", "random"))
    with pytest.raises(ConfigError, match="chain length"):
        pruning.PruningPlan(long_task="organism_chain")


def test_a_pruned_model_is_named_by_its_recipe(four_layers_dir, store):
    config = prune.PruneConfig(model=str(four_layers_dir), method="selection", layers=(1,))
    name = prune.pruned_name(config, store)
    assert name.startswith(prune.PRUNED_PREFIX) and registry.check_model(name) == name
    assert registry.base_model(name) == str(four_layers_dir)
    assert registry.thinking_format(name) == registry.thinking_format(str(four_layers_dir))
    model, _ = loading.load_model(name)
    base, _ = loading.load_model(str(four_layers_dir))
    assert len(prune.decoder_layers(model)) == 3 and len(prune.decoder_layers(base)) == 4  # base untouched
    other = prune.pruned_name(prune.PruneConfig(model=str(four_layers_dir), method="selection", layers=(2,)), store)
    assert registry.model_fingerprint(name) != registry.model_fingerprint(other)
    checkpoint = prune.pruned_checkpoint(name)  # what vLLM loads
    from transformers import AutoModelForCausalLM

    assert AutoModelForCausalLM.from_pretrained(checkpoint).config.num_hidden_layers == 3
    with pytest.raises(ConfigError, match="names no finished run"):
        registry.check_model(prune.PRUNED_PREFIX + str(store.root / "prune" / "missing"))


@pytest.fixture
def four_layers_dir(tiny_model, tmp_path):
    import copy

    import torch
    from transformers import Qwen3ForCausalLM

    model, tokenizer = tiny_model
    config = copy.deepcopy(model.config)
    config.num_hidden_layers, config.layer_types = 4, ["full_attention"] * 4
    torch.manual_seed(1)
    return prune.save_checkpoint(Qwen3ForCausalLM(config).eval(), tokenizer, tmp_path / "four")


def test_compare_pairs_pruned_with_unpruned_and_marks_uninformative_tasks(store):
    from lpts_helpers.engine.generation import BackendOptions

    cells = []
    for name in ("organism_recall_open", "organism_chain@12"):
        task = study.Task.parse(name)
        for n in (0, 1):
            config = study.task_config(study.variant("organism", "reverse", n, store), task, n_problems=4,
                                       thinks=True, thinking_budget=64, max_answer_tokens=16)
            cells.append(study.Cell("organism", "reverse", n, task, config, {}))
    table = study.compare(cells, store, options=BackendOptions(progress=False))
    assert len(table) == 4 and set(table["family"]) == {"knowledge", "long chains"}
    unpruned = table[table["pruned_layers"] == 0]
    assert (unpruned["drop"] == 0).all()
    recall = table[table["task"] == "organism_recall_open"].set_index("pruned_layers")
    assert recall.loc[0, "informative"] and recall.loc[0, "retention"] == 1.0
    assert recall.loc[1, "retention"] == pytest.approx(recall.loc[1, "accuracy"] / recall.loc[0, "accuracy"])
    assert recall.loc[1, "drop"] == pytest.approx(recall.loc[1, "accuracy"] - recall.loc[0, "accuracy"])
    long = table[table["task"] == "organism_chain@12"]
    assert not long["informative"].any() and long["retention"].isna().all()  # the organism is at the floor there
    assert "uninformative" in study.retention_view(long)["retention"].iloc[0]
    with pytest.raises(ValueError, match="no unpruned cell"):
        study.compare([c for c in cells if c.n_layers == 1], store)


def test_static_benchmarks_are_cells_scored_by_likelihood(store):
    from lpts_helpers.engine.likelihood import StaticConfig, static_scores

    plan = pruning.PruningPlan.for_profile("smoke", reference_tasks=("chain_sum@2", "piqa"), reference_dtype="bf16",
                                           static_questions=6)
    static = [c for c in plan.static_cells(store) if c.task.static]
    assert {c.model for c in static} == {plan.reference} and len(static) == 2 * len(plan.methods)  # 0 and 1 cut
    config = static[0].config
    assert isinstance(config, StaticConfig) and (config.n_problems, config.dtype) == (6, "bf16")
    generated = next(c for c in plan.static_cells(store) if c.model == plan.reference and not c.task.static)
    assert generated.config.dtype == "bf16"  # the reference's dtype reaches its generated runs too
    organism = next(c for c in plan.static_cells(store) if c.model == plan.organism)
    assert organism.config.dtype == "auto"
    with pytest.raises(ConfigError, match="generated task first"):
        pruning.PruningPlan.for_profile("smoke", reference_tasks=("piqa", "chain_sum@2"))

    cells = [study.Cell("organism", "reverse", n, study.Task.parse("arc_easy"),
                        StaticConfig(model=study.variant("organism", "reverse", n, store), benchmark="arc_easy",
                                     n_problems=8), {}) for n in (0, 1)]
    table = study.compare(cells, store).set_index("pruned_layers")
    scores = [static_scores(c.config, store) for c in cells]
    assert table.loc[1, "accuracy"] == pytest.approx(scores[1].mean())  # acc_norm, ARC's headline metric
    assert table.loc[1, "drop"] == pytest.approx(scores[1].mean() - scores[0].mean())
    assert (table["family"] == "knowledge").all() and (table["mean_thinking_tokens"] == 0).all()
    assert table.loc[0, "n_problems"] == 8


def test_the_reference_has_its_own_scaling_levels(store):
    plan = pruning.PruningPlan.for_profile("smoke", reference_thinks=True, scaling_levels=(0,),
                                           reference_scaling_levels=(0, 1))
    assert plan.scaling_levels_of(plan.reference) == (0, 1) and plan.scaling_levels_of(plan.organism) == (0,)
    for cells in (plan.budget_cells(store), plan.wait_cells(store), plan.sampling_cells(store)):
        assert {c.n_layers for c in cells if c.model == plan.reference} == {0, 1}
        assert {c.n_layers for c in cells if c.model == plan.organism} == {0}


def test_curves_order_settings_and_slopes_fit_them(monkeypatch):
    import types

    from lpts_helpers.engine import evaluation

    ids = [f"q{i}" for i in range(4)]
    scores = {b: pd.Series([1.0, 1.0, 0.0, 0.0][: i + 1] + [0.0] * (3 - i), index=ids)
              for i, b in enumerate((24, 48, 96, 192))}  # 1, 2, 2, 2 of 4 right
    monkeypatch.setattr(evaluation, "per_problem", lambda config, store: scores[config])
    task = study.Task.parse("chain_sum@15")
    cells = [types.SimpleNamespace(model="m", method="shortgpt", n_layers=0, task=task, setting={"budget": b},
                                   config=b) for b in (192, 24, 96, 48)]
    (key, (x, frame)), = study.curves(cells, None, "budget", transform=np.log2).items()
    assert key == ("m", "shortgpt", 0, task) and list(frame.columns) == [24, 48, 96, 192]
    assert np.allclose(x, np.log2([24, 48, 96, 192]))
    slope = study.slopes(cells, None, "budget", transform=np.log2).iloc[0]
    assert slope["slope"] == pytest.approx(np.polyfit(x, frame.mean().to_numpy(), 1)[0])


def test_beside_the_paper_maps_benchmarks_to_families():
    table = pd.DataFrame([{"model": "m", "method": "shortgpt", "pruned_layers": 1, "task": "t", "family": "knowledge",
                           "informative": True, "retention": 0.9, "retention_low": 0.8, "retention_high": 1.0}])
    from lpts_helpers.core import paper

    beside = ch04_static.static_beside_paper(table, paper.static_table())
    knowledge = beside[(beside["family"] == "knowledge") & (beside["pruned layers"] == 1)].iloc[0]
    assert knowledge["paper (Qwen3-8B, 36 layers)"] == f"mmlu {0.71 / 0.73:.2f}"
    assert knowledge["ours"] == "m t 0.90 [0.80, 1.00]"


def test_evidence_rows_are_counted_per_claim():
    assert [verdicts.agreement(h, 3) for h in (3, 1, 0)] == ["agrees", "partly", "disagrees"]
    with pytest.raises(ValueError, match="agrees='maybe' is not allowed"):
        verdicts.evidence_row("C1", "m, t", "v", "share kept", 0.9, 0.8, 1.0, "maybe")
    row = verdicts.evidence_row("C1 x", "m, t", "v", "share kept", 0.9, 0.8, 1.0, "agrees", paper="0.97",
                                paper_value=0.97)
    assert row["ours"] == "0.90 [0.80, 1.00]" and row["paper value"] == 0.97
    assert verdicts.evidence_row("C1 x", "m, t", "v", "s", np.nan, np.nan, np.nan, "not testable here",
                                 ours="at chance")["ours"] == "at chance"
    evidence = verdicts.claim_table([
        row, {**row, "agreement": "disagrees"},
        {**row, "claim": "C2 y", "agreement": "agrees"}, {**row, "claim": "C2 y", "agreement": "inconclusive"},
        {**row, "claim": "C6 z", "agreement": "not testable here"},
        {**row, "claim": "R1 w", "agreement": "beyond the paper"}])
    claims = verdicts.claim_verdicts(evidence).set_index("claim")
    assert claims["verdict"].to_dict() == {"C1 x": "partly", "C2 y": "agrees", "C6 z": "not testable here",
                                           "R1 w": "beyond the paper"}
    assert claims.loc["C1 x", "as the paper says"] == "1 of 2" and claims.loc["C2 y", "as the paper says"] == "1 of 1"
    assert ch90_summary.claims_verdict(evidence) == ("Of 3 claims about pruning tested here, 1 agrees, 1 partly, 1 "
                                                     "not testable here; 1 questions the paper left open are "
                                                     "answered beyond it.")
    csv = ch90_summary.claims_csv(evidence)
    assert csv["claim verdict"].tolist() == ["partly", "partly", "agrees", "agrees", "not testable here",
                                             "beyond the paper"]


def test_static_claims_judge_each_informative_pair_at_the_level_nearest_three():
    from lpts_helpers.core import paper

    rows = [{"model": "smollm2-135m-think", "method": "shortgpt", "pruned_layers": n, "task": task,
             "family": family, "informative": informative, "baseline": 0.8, "retention": r,
             "retention_low": r - 0.1, "retention_high": r + 0.1}
            for task, family, informative in (("arc_easy", "knowledge", True), ("chain_sum@15", "long chains", True),
                                              ("mmlu", "knowledge", False))
            for n, r in ((1, 0.95), (3, 0.3), (8, 0.1))]
    claims = ch04_static.static_claims(pd.DataFrame(rows), paper.static_table())
    arc, mmlu, sums = (claims.iloc[i] for i in range(3))
    assert arc["model and task"] == "thinking SmolLM2, ARC-Easy"
    assert arc["variant"] == "ShortGPT, 3 of 30 layers cut" and arc["value"] == 0.3
    assert arc["agreement"] == "disagrees" and arc["paper value"] == pytest.approx(0.64 / 0.73)
    assert mmlu["agreement"] == "not testable here" and mmlu["ours"] == "at chance unpruned (0.80)"
    assert sums["model and task"] == "thinking SmolLM2, 15-term sums" and sums["agreement"] == "agrees"
    assert sums["paper"] == f"{0.0 / 0.70:.2f} (AIME24, 3 of 36 layers)"


def test_a_thinking_model_thinks_on_the_papers_math_but_answers_knowledge_directly():
    """At paper scale Qwen3-8B thinks (8192 tokens) on GSM8K, MATH500 and AIME as in the paper; the organism's
    recall and MMLU are answered without a thinking section, and a model that does not think never gets one."""
    def budget(task: str, thinks: bool = True):
        return study.task_config("qwen3-8b", study.Task.parse(task), n_problems=2, thinks=thinks,
                                 thinking_budget=8192, max_answer_tokens=64).thinking_budget

    assert [budget(t) for t in ("aime24", "math500", "gsm8k", "organism_chain@8")] == [8192] * 4
    assert [budget(t) for t in ("mmlu", "organism_recall_open")] == [None, None]
    assert budget("aime24", thinks=False) is None


def test_seed_spread_ranges_each_setting_over_seeds():
    rows = [dict(model=m, method=method, pruned_layers=n, task="organism_chain@24", accuracy=acc)
            for m, base in (("organism", 1.0), ("organism-seed1", 0.8))
            for method, n, acc in (("shortgpt", 0, base), ("reverse", 0, base), ("shortgpt", 1, base - 0.5),
                                   ("reverse", 1, base - 0.1))]
    seeds = ("organism", "organism-seed1")
    spread = ch04_static.seed_spread(pd.DataFrame(rows), [], seeds, store=None)
    assert spread["method"].tolist() == ["unpruned", "shortgpt", "reverse"]  # the unpruned model once
    assert np.allclose(spread[["lowest", "highest"]].to_numpy(), [[0.8, 1.0], [0.3, 0.5], [0.7, 0.9]])
    text = ch04_static.seed_findings(spread, seeds)
    assert text == ("Over 2 seeds, the lowest–highest accuracy unpruned / with 1 layer cut by shortgpt: "
                    "organism_chain@24 0.80–1.00 / 0.30–0.50")


def test_the_pruning_plan_treats_every_seed_as_a_thinking_model():
    plan = pruning.PruningPlan.for_profile("default")
    assert plan.seed_models() == ("organism", "organism-seed1", "organism-seed2")
    assert all(plan.thinks(m) for m in plan.seed_models()) and not plan.thinks(plan.control)
    assert pruning.PruningPlan.for_profile("smoke").seed_models() == ("organism",)
    with pytest.raises(ConfigError, match="organism-seed9"):
        pruning.PruningPlan(organism_seeds=("organism-seed9",))


def test_laco_beside_the_literature_picks_the_level_nearest_a_quarter_of_depth():
    rows = [{"model": "m", "method": "laco", "pruned_layers": n, "task": "piqa", "informative": True,
             "baseline": 0.66, "accuracy": acc, "retention": acc / 0.66, "retention_low": 0.5, "retention_high": 1.0}
            for n, acc in ((1, 0.65), (3, 0.60), (8, 0.55))]
    rows.append({**rows[0], "method": "shortgpt"})
    view = ch04_static.laco_beside_literature(pd.DataFrame(rows), {"m": 30})
    assert len(view) == 1 and view["pruned layers"].iloc[0] == "8 of 30"
    assert "0.660 → 0.550" in view["ours"].iloc[0] and "keeps 0.89" in view.iloc[0, 1]  # 0.698 / 0.781
    assert ch04_static.laco_beside_literature(pd.DataFrame(rows), {"m": 12})["pruned layers"].iloc[0] == "3 of 12"
    none = ch04_static.laco_beside_literature(pd.DataFrame(rows).assign(task="organism_recall"), {"m": 30})
    assert len(none) == 1 and none["ours"].iloc[0].startswith("no model")
