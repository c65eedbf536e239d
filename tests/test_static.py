"""The static multiple-choice sets (lpts_helpers.tasks.static) and their lm-eval-style scoring
(lpts_helpers.engine.likelihood.StaticConfig), on the committed copies and a tiny model."""

import numpy as np
import pytest
import torch

from lpts_helpers.core.config import ConfigError
from lpts_helpers.engine import likelihood
from lpts_helpers.tasks import static

# Sizes and gold counts as PROVENANCE.md records them for each copy.
SIZES = {"arc_easy": 2376, "arc_challenge": 1172, "piqa": 1838, "hellaswag": 10042, "winogrande": 1267,
         "boolq": 3270, "openbookqa": 500, "commonsense_qa": 1221}
GOLDS = {"piqa": [910, 928], "hellaswag": [2515, 2485, 2584, 2458], "winogrande": [628, 639], "boolq": [1237, 2033]}


@pytest.mark.parametrize("name", list(SIZES))
def test_every_static_set_loads_whole_with_its_chance(name):
    items = static.load_static(name)
    assert len(items) == SIZES[name] and len({i["item_id"] for i in items}) == SIZES[name]
    if name in GOLDS:
        assert np.bincount([i["gold"] for i in items]).tolist() == GOLDS[name]
    chance = np.mean([1 / len(i["choices"]) for i in items])
    assert static.get_static(name).chance == pytest.approx(chance, abs=5e-4)
    for item in items:
        assert len(item["contexts"]) == len(item["continuations"]) == len(item["choices"]) >= 2
    subset = static.load_static(name, 50, seed=3)
    assert len(subset) == 50 and subset == static.load_static(name, 50, seed=3) != static.load_static(name, 50)


def test_prompts_are_lm_evals():
    arc = static.load_static("arc_easy")[0]
    assert arc["contexts"][0] == ("Question: Which statement best explains why photosynthesis is the foundation "
                                  "of most food webs?\nAnswer:")
    assert arc["continuations"][0] == " Sunlight is the source of energy for nearly all ecosystems."
    assert arc["gold"] == 0 and len(arc["choices"]) == 4
    wino = static.load_static("winogrande")[0]
    assert wino["contexts"] == ["Sarah was a much better surgeon than Maria so Sarah",
                                "Sarah was a much better surgeon than Maria so Maria"]
    assert wino["continuations"] == [" always got the easier cases."] * 2 and wino["gold"] == 1
    boolq = static.load_static("boolq")[0]
    assert boolq["contexts"][0].startswith("Ethanol fuel -- ")
    assert boolq["contexts"][0].endswith("\nQuestion: does ethanol take more energy make that produces?\nAnswer:")
    assert boolq["continuations"] == [" no", " yes"] and boolq["gold"] == 0
    csqa = static.load_static("commonsense_qa")[0]
    assert csqa["contexts"][0].endswith("\nA. bank\nB. library\nC. department store\nD. mall\nE. new york\nAnswer:")
    assert csqa["continuations"] == [" A", " B", " C", " D", " E"] and csqa["gold"] == 0
    hella = static.load_static("hellaswag")[0]
    assert hella["contexts"][0] == "Roof shingle removal: A man is sitting on a roof. He"  # ctx_b capitalised
    assert hella["gold"] == 3 and hella["continuations"][3] == " starts pulling up roofing on a roof."
    assert static.hellaswag_clean(" Make tea [title] Boil water. [step] Pour it.  ") == \
        "Make tea. Boil water. Pour it."
    assert static.load_static("openbookqa")[0]["gold"] == 1  # key B of question 8-343


def test_unknown_static_benchmark_is_an_error():
    with pytest.raises(ConfigError, match=r"benchmark='mmlu' is not a static benchmark; allowed: \['arc_easy'"):
        static.get_static("mmlu")
    with pytest.raises(ConfigError, match="benchmark='sciq' is not allowed"):
        likelihood.StaticConfig(benchmark="sciq")


def test_pairs_split_as_lm_eval_splits_them(tiny_model):
    _, tokenizer = tiny_model
    context, continuation = likelihood.encode_pair(tokenizer, "Question: x\nAnswer: ", "yes")
    assert tokenizer.decode(context) == "Question: x\nAnswer:" and tokenizer.decode(continuation) == " yes"


def _one_sequence_score(model, tokenizer, context, continuation):
    ctx, cont = likelihood.encode_pair(tokenizer, context, continuation)
    with torch.inference_mode():
        logprobs = torch.log_softmax(model(input_ids=torch.tensor([ctx + cont])).logits[0].float(), dim=-1)
    return sum(float(logprobs[len(ctx) + j - 1, t]) for j, t in enumerate(cont))


def test_batched_scores_equal_one_sequence_scoring(tiny_model):
    model, tokenizer = tiny_model
    items = [{"contexts": ["Question: 2+2?\nAnswer:"] * 3, "continuations": [" 4", " five", " 22 apples"]},
             {"contexts": ["Question: 2+2?\nAnswer:", "Q: 2+2?\nA:", "2+2="], "continuations": [" 4"] * 3},
             {"contexts": ["A much longer context, so that the batches need padding:"] * 3,
              "continuations": [" yes", " no, not at all", "!"]}]
    expected = [[_one_sequence_score(model, tokenizer, c, k) for c, k in zip(i["contexts"], i["continuations"])]
                for i in items]
    assert all(np.allclose(got, want, atol=1e-4)
               for got, want in zip(likelihood.items_logprobs(model, tokenizer, items), expected))
    pairs = [likelihood.item_pairs(tokenizer, item) for item in items]
    shared = [(pairs[i][0][0], [k for _, k in pairs[i]]) for i in (0, 2)]  # contexts of two lengths, padded
    for budget in (1, 64, 10_000):  # one per batch, a few per batch, all in one
        flat = likelihood.batched_pair_logprobs(model, [p for item in pairs for p in item], tokenizer.pad_token_id,
                                                max_tokens=budget)
        assert np.allclose(flat, [s for item in expected for s in item], atol=1e-4)
        together = likelihood.shared_context_logprobs(model, shared, tokenizer.pad_token_id, max_tokens=budget)
        assert np.allclose(np.concatenate(together), expected[0] + expected[2], atol=1e-4)


def test_a_static_run_reports_acc_and_acc_norm(store):
    config = likelihood.StaticConfig(model="organism", benchmark="piqa", n_problems=4)
    run = likelihood.run_static(config, store)
    samples = run.samples
    assert len(samples) == 4 and (samples["correct"] == (samples["picked"] == samples["gold"])).all()
    lengths = [[len(c) for c in item["choices"]] for item in static.load_static("piqa", 4)]
    norm = [int(np.argmax(np.array(s) / np.array(n))) for s, n in zip(samples["scores"], lengths)]
    assert samples["picked_norm"].tolist() == norm
    assert run.metrics["acc"]["value"] == pytest.approx(samples["correct"].mean())
    assert run.metrics["chance"] == 0.5 and run.metrics["n_problems"] == 4
