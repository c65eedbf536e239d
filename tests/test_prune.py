"""Layer pruning (lpts_helpers.methods.prune) on tiny random models built in memory."""

import copy

import numpy as np
import pytest
import torch

from lpts_helpers.core.config import ConfigError
from lpts_helpers.engine.backends import Request
from lpts_helpers.engine.backends.hf import HFBackend
from lpts_helpers.methods import prune


@pytest.fixture
def four_layers(tiny_model):
    """A 4-layer Qwen3 (random) with the tiny character tokenizer."""
    from transformers import Qwen3ForCausalLM

    model, tokenizer = tiny_model
    config = copy.deepcopy(model.config)
    config.num_hidden_layers, config.layer_types = 4, ["full_attention"] * 4
    torch.manual_seed(1)
    return Qwen3ForCausalLM(config).eval(), tokenizer


TEXTS = ["the cat sat on the mat", "1 + 2 = 3, and 3 + 4 = 7", "hello world, hello again"]


def reference_bi(model, tokenizer, texts, batch_size):
    """A hand-written BI from output_hidden_states (inputs of layers 0..L-1), padding included, NaN → 0.5."""
    pad = tokenizer.pad_token_id
    totals, batches = np.zeros(len(prune.decoder_layers(model)) - 1), 0
    for start in range(0, len(texts), batch_size):
        encoded = [tokenizer(t, add_special_tokens=False)["input_ids"] for t in texts[start:start + batch_size]]
        width = max(map(len, encoded))
        ids = torch.tensor([e + [pad] * (width - len(e)) for e in encoded])
        mask = torch.tensor([[1] * len(e) + [0] * (width - len(e)) for e in encoded])
        with torch.no_grad():
            hidden = model(input_ids=ids, attention_mask=mask, output_hidden_states=True).hidden_states
        for i in range(len(totals)):
            cos = torch.nn.functional.cosine_similarity(hidden[i], hidden[i + 1], dim=-1)
            totals[i] += (1 - torch.nan_to_num(cos, nan=0.5)).mean().item()
        batches += 1
    return totals / batches


def test_block_influence_equals_a_hand_written_reference(four_layers):
    model, tokenizer = four_layers
    scores = prune.block_influence(model, tokenizer, TEXTS, batch_size=2)
    assert np.isnan(scores[-1])  # the paper's code never scores the last layer
    np.testing.assert_allclose(scores[:-1], reference_bi(model, tokenizer, TEXTS, 2), rtol=1e-5, atol=1e-6)
    scored = prune.block_influence(model, tokenizer, TEXTS, batch_size=2, score_last_layer=True)
    assert not np.isnan(scored[-1]) and np.allclose(scored[:-1], scores[:-1])
    angular = prune.block_influence(model, tokenizer, TEXTS, batch_size=2, angular=True)
    assert np.all(angular[:-1] >= 0) and np.all(angular[:-1] <= 1) and not np.allclose(angular[:-1], scores[:-1])


def test_an_identity_layer_has_zero_influence_and_goes_first(four_layers):
    model, tokenizer = four_layers
    identity = copy.deepcopy(model)
    layer = prune.decoder_layers(identity)[2]
    with torch.no_grad():  # zero output projections: the layer adds nothing to the residual stream
        layer.self_attn.o_proj.weight.zero_()
        layer.mlp.down_proj.weight.zero_()
    scores = prune.block_influence(identity, tokenizer, TEXTS)
    assert scores[2] == pytest.approx(0.0, abs=1e-6)
    assert prune.lowest(scores, 1) == [2]


def test_nan_similarity_counts_as_one_half():
    before = torch.tensor([[[float("nan"), 1.0], [1.0, 0.0]]])
    after = torch.tensor([[[1.0, 1.0], [1.0, 0.0]]])
    assert prune.token_distance(before, after).tolist() == [[0.5, 0.0]]  # 1 - 0.5 for the NaN token
    assert prune.token_distance(before, after, angular=True)[0].tolist() == pytest.approx([1 / 3, 0.0])


def test_reverse_random_and_selection_pick_the_right_indices(four_layers, store):
    model, tokenizer = four_layers
    pick = lambda **kw: prune.choose_layers(prune.PruneConfig(**kw), model, tokenizer)["removed"]
    assert pick(method="reverse", n_layers=2) == [2, 3]
    assert pick(method="selection", layers=(3, 0)) == [0, 3]
    first = pick(method="random", n_layers=2, seed=5)
    assert first == pick(method="random", n_layers=2, seed=5) and len(set(first)) == 2
    assert pick(method="shortgpt", n_layers=1)[0] in (0, 1, 2)  # never the unscored last layer


def test_bad_requests_are_clear_errors(four_layers):
    model, tokenizer = four_layers
    with pytest.raises(ConfigError, match=r"n_layers=5 would remove every layer of 'smollm2-135m', which has 4; "
                                          r"allowed: 1..3"):
        prune.choose_layers(prune.PruneConfig(method="reverse", n_layers=5), model, tokenizer)
    with pytest.raises(ConfigError, match=r"n_layers=13 would remove every layer of 'organism', which has 12"):
        prune.PruneConfig(model="organism", method="reverse", n_layers=13)
    with pytest.raises(ConfigError, match=r"layers \[12\] do not exist; allowed: indices 0..11"):
        prune.PruneConfig(model="organism", method="selection", layers=(12,))
    with pytest.raises(ConfigError, match=r"n_layers=0 is out of range for method='shortgpt'"):
        prune.PruneConfig(n_layers=0)
    with pytest.raises(ConfigError, match=r"n_layers=-1 is out of range"):
        prune.PruneConfig(n_layers=-1)
    with pytest.raises(ConfigError, match=r"method='magnitude' is not allowed"):
        prune.PruneConfig(method="magnitude")
    with pytest.raises(ConfigError, match=r"layers \[7\] do not exist; allowed: indices 0..3"):
        prune.choose_layers(prune.PruneConfig(method="selection", layers=(7,)), model, tokenizer)
    with pytest.raises(ConfigError, match=r"n_layers=4: only 3 layers are scored"):
        prune.lowest(np.array([0.1, 0.2, 0.3, np.nan]), 4)


def test_laco_merging_identical_layers_reproduces_the_layer(four_layers):
    model, _ = four_layers
    layers = prune.decoder_layers(copy.deepcopy(model))
    twin = copy.deepcopy(layers[1])
    for rule in ("rdsc", "as-coded"):
        base = copy.deepcopy(layers[1])
        prune.merge_into(base, [copy.deepcopy(twin)], rule)
        for (name, a), b in zip(base.state_dict().items(), twin.state_dict().values()):
            torch.testing.assert_close(a, b, msg=name)


def test_laco_rules_differ_as_described(four_layers):
    model, _ = four_layers
    layers = prune.decoder_layers(copy.deepcopy(model))
    a, b, c = (copy.deepcopy(layers[i]) for i in (0, 1, 2))
    as_coded = copy.deepcopy(a)
    prune.merge_into(as_coded, [b, c], "as-coded")
    torch.testing.assert_close(as_coded.mlp.up_proj.weight, c.mlp.up_proj.weight)  # the last merged layer's weights
    torch.testing.assert_close(as_coded.input_layernorm.weight, a.input_layernorm.weight)  # norms untouched
    rdsc = copy.deepcopy(a)
    prune.merge_into(rdsc, [b, c], "rdsc")
    expected = a.mlp.up_proj.weight + (b.mlp.up_proj.weight - a.mlp.up_proj.weight) + (
        c.mlp.up_proj.weight - a.mlp.up_proj.weight)
    torch.testing.assert_close(rdsc.mlp.up_proj.weight, expected)


def test_laco_threshold_controls_how_many_layers_go(four_layers):
    model, tokenizer = four_layers
    sentences = TEXTS
    _, none = prune.laco(model, tokenizer, sentences, merge_layers=2, threshold=1.01, interval=1, rule="as-coded")
    _, every = prune.laco(model, tokenizer, sentences, merge_layers=2, threshold=-1.0, interval=1, rule="as-coded")
    assert none == [] and len(every) >= 1 and every[0][0] == 1  # base starts at L - 1 - M = 1
    _, pruned, merges = prune.search_threshold(model, tokenizer, sentences, 1, merge_layers=2, interval=1,
                                                       rule="as-coded")
    assert sum(len(m) for _, m in merges) == 1 and len(prune.decoder_layers(pruned)) == 3


def test_pruned_checkpoint_round_trips_and_generates_identically(four_layers, store, tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, tokenizer = four_layers
    config = prune.PruneConfig(method="selection", layers=(1,))
    run = prune.run_prune(config, store, model=model, tokenizer=tokenizer)
    assert run.metrics["removed"] == [1] and run.metrics["n_total"] == 4
    pruned = prune.apply_recipe(model, run.metrics)
    assert len(prune.decoder_layers(model)) == 4  # the base is not modified
    assert pruned.config.num_hidden_layers == 3 and pruned.config.layer_types == ["full_attention"] * 3
    assert [layer.self_attn.layer_idx for layer in prune.decoder_layers(pruned)] == [0, 1, 2]
    path = prune.save_checkpoint(pruned, tokenizer, tmp_path / "pruned")
    reloaded = AutoModelForCausalLM.from_pretrained(path).eval()
    requests = [Request("U:1+1?\nA:", max_tokens=10), Request("U:x\nA:", max_tokens=10)]
    ours = HFBackend(pruned, tokenizer).complete(requests)
    again = HFBackend(reloaded, AutoTokenizer.from_pretrained(path)).complete(requests)
    assert ours == again


def test_prune_runs_are_stored_and_reused(four_layers, store):
    model, tokenizer = four_layers
    config = prune.PruneConfig(method="shortgpt", n_layers=2, n_calibration=3, calibration_length=16)
    first = prune.run_prune(config, store, model=model, tokenizer=tokenizer)
    assert first.computed and first.samples["score"].notna().sum() == 3 and first.metrics["n_removed"] == 2
    again = prune.run_prune(config, store)  # no model needed: read back
    assert not again.computed and again.metrics == first.metrics


def test_replaying_a_laco_recipe_rebuilds_the_same_model(four_layers):
    model, tokenizer = four_layers
    collapsed, merges = prune.laco(model, tokenizer, TEXTS, merge_layers=2, threshold=-1.0, interval=1,
                                   rule="rdsc")
    assert len(merges) >= 2  # with T = -1 every candidate is accepted, so merges chain downwards
    recipe = {"merges": merges, "removed": sorted(i for _, merged in merges for i in merged)}
    rebuilt = prune.apply_recipe(model, recipe, "rdsc")
    for (name, a), b in zip(collapsed.state_dict().items(), rebuilt.state_dict().values()):
        torch.testing.assert_close(a, b, msg=name)
