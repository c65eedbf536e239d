"""Recovery after pruning (lpts_helpers.methods.recovery): data, the reward, LoRA merging, recovered model names, and a
smoke run of every recipe on the organism with two layers cut."""

import json
import shutil

import pytest
import torch

from lpts_helpers.chapters import ch07_recovery
from lpts_helpers.core import verdicts
from lpts_helpers.core.config import ConfigError
from lpts_helpers.engine.generation import BackendOptions
from lpts_helpers.methods import adapters, recovery, study
from lpts_helpers.models import loading, registry

QUIET = BackendOptions(progress=False, batch_size=16)


def test_config_errors_name_the_bad_value():
    for bad, message in (({"method": "dpo"}, "dpo"), ({"adapter": "qlora"}, "qlora"), ({"data": "web"}, "web"),
                         ({"method": "grpo"}, "max_steps"), ({"tasks": ("organism_chain",)}, "chain length"),
                         ({"lora_targets": ("q_proj", "lm_head")}, "lm_head"),
                         ({"method": "grpo", "max_steps": 2, "batch_size": 6, "num_generations": 4}, "multiple")):
        with pytest.raises(ConfigError, match=message):
            recovery.RecoveryConfig(**bad)
    with pytest.raises(ConfigError, match="recipes"):
        ch07_recovery.RecoveryPlan(recipes=("lora", "dpo"))


def test_tokenized_trains_on_the_completion_only(tiny_model):
    _, tokenizer = tiny_model
    (ids, mask), = recovery.tokenized([("U:1+1\nA:", "2")], tokenizer, max_length=64)
    assert len(ids) == len(mask) == len("U:1+1\nA:") + 2  # the answer and the end of turn
    assert mask == [0] * len("U:1+1\nA:") + [1, 1]
    assert tokenizer.decode(ids[-2:-1]) == "2" and ids[-1] == tokenizer.eos_token_id
    (short, short_mask), = recovery.tokenized([("U:1+1\nA:", "2")], tokenizer, max_length=4)
    assert len(short) == len(short_mask) == 4


def test_split_is_seeded_and_disjoint():
    examples = [([i], [1]) for i in range(20)]
    train, held = recovery.split(examples, 0.1, seed=0)
    assert len(held) == 2 and len(train) == 18
    assert sorted(x[0][0] for x in train + held) == list(range(20))
    assert recovery.split(examples, 0.1, seed=0) == (train, held)
    everything, none = recovery.split(examples, 0.0, seed=0)
    assert none == [] and sorted(x[0][0] for x in everything) == list(range(20))


def test_the_reward_is_the_graders_verdict():
    rewards = recovery.correctness_reward(
        prompts=["p"] * 3, completions=["A=5\n</think>\n\n5<|im_end|>", "</think>\n\n7", "no answer"],
        gold=["5", "5", "5"], opening=["<think>\n"] * 3, extractor=["flex"] * 3, scorer=["exact"] * 3)
    assert rewards == [1.0, 0.0, 0.0]


def test_training_problems_never_include_an_evaluation_question():
    task = study.Task.parse("chain_sum@2")
    config = recovery.RecoveryConfig(model="organism", method="grpo", max_steps=1, tasks=("organism_chain@2",),
                                     n_train_problems=300, batch_size=8)
    prompts = recovery.rl_prompts(config, loading.load_tokenizer("organism"))
    evaluation = recovery.heldout_questions(study.Task.parse("organism_chain@2"), config.eval_problems)
    assert len(evaluation) > 0 and prompts["prompt"].str.endswith("<think>\n").all()
    assert len(evaluation) == 100 and not any(q in p for p in prompts["prompt"] for q in evaluation)
    assert len(prompts) < 300  # the training draw met some evaluated questions, and they were dropped
    assert recovery.heldout_questions(study.Task.parse("organism_recall_open"), 60) == set()  # facts: training data
    first = recovery.heldout_questions(task, n=30)  # a generator's first problems (a few repeat at 2 terms)
    assert 25 <= len(first) <= 30 and first <= recovery.heldout_questions(task, n=60)
    assert recovery.heldout_questions(task, n=0) == set()


def _gain_row(method, vs_unpruned, vs_pruned):
    """A ``with_gain_vs_pruned`` row with the (value, low, high) of both gain changes."""
    row = {"model": "m", "method": method, "pruned_layers": 0 if method == "unpruned" else 2,
           "measure": "pass@8 − pass@1", "task": "chain_sum@15"}
    for name, (value, low, high) in (("gain change vs unpruned", vs_unpruned), ("gain change vs pruned", vs_pruned)):
        row.update({name: f"{value:.2f}", f"{name} value": value, f"{name} low": low, f"{name} high": high})
    return row


def test_outcomes_and_claims_follow_the_paired_intervals():
    import pandas as pd

    gains = pd.DataFrame([_gain_row("unpruned", (0, 0, 0), (0.3, 0.1, 0.5)),
                          _gain_row("pruned", (-0.3, -0.5, -0.1), (0, 0, 0)),
                          _gain_row("LoRA SFT", (0.0, -0.2, 0.2), (0.3, 0.1, 0.5)),  # back, and above pruned
                          _gain_row("full SFT", (-0.3, -0.5, -0.1), (0.0, -0.1, 0.1)),  # still below unpruned
                          _gain_row("GRPO", (-0.1, -0.3, 0.1), (0.1, -0.1, 0.3))])  # neither
    assert [ch07_recovery.outcome(r) for _, r in gains.iloc[2:].iterrows()] == ["restored", "still flattened",
                                                                         "inconclusive"]
    arms = {"m": {"lora": "LoRA SFT", "full": "full SFT", "grpo": "GRPO"}}
    claims = ch07_recovery.recovery_claims(gains, {"m": "pruned"}, arms)
    assert list(claims["agreement"]) == ["disagrees", "agrees", "inconclusive"]  # LoRA restored; full did not
    assert claims["variant"].iloc[0] == "LoRA SFT"
    assert claims["measure"].iloc[0] == "change in pass@8 − pass@1 vs unpruned (restored)"
    assert claims["model and task"].iloc[0] == "m, 15-term sums" and claims["ours"].iloc[1] == "-0.30 [-0.50, -0.10]"
    assert verdicts.claim_verdicts(claims)["verdict"].tolist() == ["partly", "inconclusive"]  # C5′: GRPO undecided
    unharmed = gains.assign(**{"gain change vs unpruned high": 0.1})
    unharmed_claims = ch07_recovery.recovery_claims(unharmed, {"m": "pruned"}, arms)
    assert set(unharmed_claims["agreement"]) == {"not testable here"}
    assert unharmed_claims["measure"].str.endswith("(nothing lost)").all()
    slope = gains.assign(measure="accuracy per doubling of the budget")
    both = ch07_recovery.recovery_claims(pd.concat([unharmed, slope]), {"m": "pruned"}, arms)
    assert verdicts.claim_verdicts(both)["as the paper says"].iloc[0] == "1 of 2"  # the slope counts; the gain not


def test_budget_slopes_and_their_changes_are_paired_over_problems(monkeypatch):
    import types

    import numpy as np
    import pandas as pd

    from lpts_helpers.engine import evaluation

    budgets = (24, 48, 96, 192)
    rng = np.random.default_rng(0)
    # per arm, P(correct) per budget: the unpruned model climbs, the pruned one is flat, LoRA climbs again
    curves = {"unpruned": (0.2, 0.4, 0.6, 0.8), "pruned": (0.2, 0.2, 0.2, 0.2), "LoRA SFT": (0.2, 0.4, 0.6, 0.8)}
    scores = {(arm, b): pd.Series((rng.random(200) < p).astype(float), index=[f"q{i}" for i in range(200)])
              for arm, ps in curves.items() for b, p in zip(budgets, ps)}
    monkeypatch.setattr(evaluation, "per_problem", lambda config, store: scores[config])
    cells = [types.SimpleNamespace(model="m", method=arm, n_layers=0 if arm == "unpruned" else 2,
                                   task=study.Task.parse("chain_sum_mix@15"), setting={"budget": b}, config=(arm, b))
             for arm in curves for b in budgets]
    slopes = ch07_recovery.slope_gains(cells[::-1], None, {"m": "pruned"}).set_index("method")
    assert slopes.loc["unpruned", "slope value"] == pytest.approx(
        np.polyfit(np.log2(budgets), [scores[("unpruned", b)].mean() for b in budgets], 1)[0])
    assert slopes.loc["pruned", "gain change vs unpruned high"] < 0 < slopes.loc["LoRA SFT", "gain change vs pruned low"]
    assert ch07_recovery.outcome(slopes.loc["LoRA SFT"]) == "restored"


def test_merging_lora_reproduces_the_adapter_models_logits(tiny_model):
    from peft import get_peft_model

    model, _ = tiny_model
    config = recovery.RecoveryConfig(lora_rank=4, lora_alpha=8, lora_dropout=0.0)
    adapted = get_peft_model(adapters.trainable_copy(model), adapters.lora_config(config)).eval()
    torch.manual_seed(1)
    with torch.no_grad():
        for name, parameter in adapted.named_parameters():
            if "lora_B" in name:  # B starts at 0 (the adapter is the identity): make it matter
                parameter.normal_(0.0, 0.5)
    ids = torch.randint(3, 60, (2, 12))
    with torch.no_grad():
        adapter_logits = adapted(input_ids=ids).logits
        base_logits = model(input_ids=ids).logits
        merged_logits = recovery.merged(adapted)(input_ids=ids).logits
    assert not torch.allclose(adapter_logits, base_logits, atol=1e-3)
    torch.testing.assert_close(merged_logits, adapter_logits, atol=1e-4, rtol=1e-4)
    assert not any("lora" in name for name, _ in recovery.merged(adapted).named_parameters())


@pytest.fixture(scope="module")
def pruned(tmp_path_factory):
    """The organism with its last two layers cut (reverse order: no calibration), in a module-wide store."""
    from lpts_helpers.core.store import RunStore

    store = RunStore(tmp_path_factory.mktemp("recovery") / "runs")
    return study.variant("organism", "reverse", 2, store, "smoke"), store


@pytest.mark.slow
@pytest.mark.parametrize("recipe, autocast", [("lora", "fp32"), ("full", "fp32"), ("self", "fp32"),
                                              ("lora", "bf16")])
def test_each_sft_recipe_lowers_the_heldout_loss(pruned, recipe, autocast):
    name, store = pruned
    knobs = dict(ch07_recovery.RECIPES[recipe])
    knobs.setdefault("data", "organism")
    config = recovery.RecoveryConfig.for_profile("smoke", model=name, autocast=autocast, **knobs)
    run = recovery.train_recovery(config, store, options=QUIET, progress=False)
    assert run.metrics["heldout_after"] < run.metrics["heldout_before"]
    assert run.metrics["flops"] > 0 and run.metrics["steps"] == config.max_steps
    trainable = run.metrics["trainable_parameters"]
    assert (trainable < run.metrics["parameters"] / 2) == (config.adapter == "lora")
    if recipe == "self":  # trained on the pruned model's own correct answers
        assert run.metrics["teacher"] == name and 0 < run.metrics["samples_kept"] <= run.metrics["samples_drawn"]


@pytest.mark.slow
def test_grpo_logs_rewards_and_changes_the_weights(pruned):
    name, store = pruned
    config = recovery.RecoveryConfig.for_profile("smoke", model=name, method="grpo", adapter="full", lr=1e-2)
    run = recovery.train_recovery(config, store, options=QUIET, progress=False)
    rewards = run.samples["reward"].dropna()
    assert len(rewards) == config.max_steps // config.logging_steps and rewards.between(0, 1).all()
    before, _ = loading.load_model(name)
    after, _ = loading.load_model(recovery.recovered_name(config, store))
    changed = [not torch.equal(a, b) for a, b in zip(before.parameters(), after.parameters())]
    assert any(changed)


@pytest.mark.slow
def test_a_recovered_model_is_named_by_its_run_and_rebuilt_only_on_request(pruned):
    name, store = pruned
    config = recovery.RecoveryConfig.for_profile("smoke", model=name, adapter="full")
    recovered = recovery.recovered_name(config, store, options=QUIET, progress=False)
    assert recovered.startswith(recovery.RECOVERED_PREFIX) and registry.check_model(recovered) == recovered
    assert registry.base_model(recovered) == "organism"
    assert registry.thinking_format(recovered) == registry.thinking_format("organism")
    fingerprint = registry.model_fingerprint(recovered)
    run = recovery.recovered_run(recovered)
    weights = {k: v.clone() for k, v in loading.load_model(recovered)[0].state_dict().items()}
    shutil.rmtree(run / "checkpoint")
    loading.load_model.cache_clear()
    with pytest.raises(FileNotFoundError, match=f"python -m lpts_helpers.methods.recovery --rebuild {run}"):
        loading.load_model(recovered)  # loading never trains
    assert not (run / "checkpoint").exists()
    recovery.main(["--rebuild", str(run)])  # the command the error names
    rebuilt = loading.load_model(recovered)[0].state_dict()
    assert registry.model_fingerprint(recovered) == fingerprint
    assert max((rebuilt[k] - v).abs().max().item() for k, v in weights.items()) < 1e-4
    with pytest.raises(ConfigError, match="names no finished run"):
        registry.check_model(recovery.RECOVERED_PREFIX + str(run.parent / "missing"))


def test_the_plan_builds_each_recipe_on_the_pruned_variant(pruned):
    _, store = pruned
    plan = ch07_recovery.RecoveryPlan.for_profile("smoke")
    configs = {r: plan.recovery_config("organism", r, store) for r in plan.recipes}
    assert {c.model for c in configs.values()} == {study.variant("organism", "shortgpt", 1, store, "smoke")}
    assert [c.label() for c in configs.values()] == ["LoRA SFT", "full SFT", "LoRA SFT, self-generated",
                                                     "GRPO (full)"]
    assert configs["grpo"].batch_size % configs["grpo"].num_generations == 0
    reference = plan.recovery_config(plan.pruning.reference, "full", store)
    assert reference.data == "thinking" and reference.thinks and reference.autocast == "bf16"
    assert plan.recipes_of(plan.pruning.reference) == ("lora", "full")
    assert json.loads(json.dumps(plan.to_dict())) == plan.to_dict()
    chosen = ch07_recovery.RecoveryPlan.for_profile("smoke", reference_recipes=("lora",))
    assert chosen.recipes_of(chosen.pruning.reference) == ("lora",) and chosen.recipes_of("organism") == plan.recipes
    with pytest.raises(ConfigError, match=r"reference_recipes=\['sft'\] has unknown entries \['sft'\]"):
        ch07_recovery.RecoveryPlan.for_profile("smoke", reference_recipes=("sft",))


def test_cpu_autocast_is_part_of_a_recoverys_identity_only_when_asked():
    plain = recovery.RecoveryConfig.for_profile("smoke")
    assert "autocast" not in plain.identity()["config"]  # recoveries stored before the knob keep their hashes
    mixed = recovery.RecoveryConfig.for_profile("smoke", autocast="bf16")
    assert mixed.identity()["config"]["autocast"] == "bf16" and mixed.config_hash() != plain.config_hash()
