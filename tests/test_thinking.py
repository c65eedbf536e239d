"""Teaching SmolLM2 to think (lpts_helpers.methods.thinking): s1-format traces, their loss mask, held-out problems,
the config's checks, and a smoke training whose merged checkpoint computes what base + adapter compute."""

import random

import pytest

from lpts_helpers.core.config import ConfigError
from lpts_helpers.methods import thinking
from lpts_helpers.models.presets import S1_THINKING
from lpts_helpers.tasks.world import IGNORE


def test_a_trace_writes_one_line_per_step_in_s1s_format():
    segments = thinking.s1_trace("8 + 0 + 7 - 3 - 0", random.Random(0), slip_rate=0.0)
    text = "".join(t for t, _ in segments)
    assert text == ("<|im_start|>think\n8 + 0 = 8\n8 + 7 = 15\n15 - 3 = 12\n12 - 0 = 12\n"
                    "<|im_start|>answer\nFinal Answer: \\boxed{12}")
    assert text.startswith(S1_THINKING.think_start) and S1_THINKING.think_end in text
    assert all(trained for _, trained in segments)


def test_a_slipped_line_is_masked_and_fixed_after_wait():
    segments = thinking.s1_trace("9 - 4 + 6 + 1", random.Random(3), slip_rate=1.0)
    masked = [t for t, trained in segments if not trained]
    assert len(masked) == 1
    wrong = masked[0]
    fix = segments[[t for t, _ in segments].index(wrong) + 1][0]
    assert fix.startswith("Wait, ") and fix.removeprefix("Wait, ").split(" = ")[0] == wrong.split(" = ")[0]
    assert fix.split(" = ")[1] != wrong.split(" = ")[1]
    assert segments[-1][0].endswith("\\boxed{12}")  # the slip does not change the total


def test_terms_read_signs_and_refuse_other_operators():
    assert thinking._terms("3 - 5 + 0 - 0") == (3, [("-", 5), ("+", 0), ("-", 0)])
    with pytest.raises(ValueError, match=r"operator '\*'; allowed: \+ and -"):
        thinking._terms("3 * 5")


def test_only_the_completion_and_the_end_of_turn_are_trained(tiny_model):
    _, tokenizer = tiny_model
    ids, labels = thinking.encode(tokenizer, "U:q\nA:", [("ab\n", True), ("xy\n", False), ("cd", True)])
    trained = tokenizer.decode([i for i, label in zip(ids, labels) if label != IGNORE])
    assert tokenizer.decode(ids) == "U:q\nA:ab\nxy\ncd<eos>" and trained == "ab\ncd<eos>"
    assert labels[:5] == [IGNORE] * 5


def test_training_problems_are_distinct_unevaluated_and_seen_once_an_epoch(monkeypatch):
    config = thinking.ThinkingConfig.for_profile("default")
    problems = thinking.training_problems(config)
    questions = [p["question"] for p in problems]
    assert len(questions) == len(set(questions)) == config.n_problems == 768
    assert not set(questions) & thinking.heldout_questions()
    blocks = [thinking.block_problems(config, b) for b in range(config.steps // config.log_every)]
    stream = [pair for block in blocks for pair in block]
    assert len(stream) == config.n_problems * config.epochs and config.steps == 240
    for epoch in range(config.epochs):
        seen = [p["question"] for e, p in stream if e == epoch]
        assert sorted(seen) == sorted(questions)  # every problem once per epoch
    assert [p["question"] for e, p in stream[:20]] != [p["question"] for e, p in stream[768:788]]  # a new order
    smoke = thinking.ThinkingConfig.for_profile("smoke")
    first = thinking.training_problems(smoke)[0]["question"]
    monkeypatch.setattr(thinking, "heldout_questions", lambda: frozenset([first]))
    thinking.training_problems.cache_clear()
    assert first not in {p["question"] for p in thinking.training_problems(smoke)}
    thinking.training_problems.cache_clear()


def test_recovery_can_train_on_the_thinkers_own_traces(tiny_model, store):
    from lpts_helpers.methods import recovery

    _, tokenizer = tiny_model
    config = recovery.RecoveryConfig(model="organism", data="thinking", n_examples=770)
    examples, info = recovery.training_examples(config, store, tokenizer)
    problems = thinking.training_problems(thinking.ThinkingConfig())
    assert len(examples) == 770 and info == {"generated_tokens": 0}
    ids, mask = examples[0]
    assert len(ids) == len(mask) and 0 < sum(mask) < len(ids) and mask[0] == 0  # the prompt is not trained
    prompt = tokenizer.decode(ids[:mask.index(1)])
    assert problems[0]["question"] in prompt  # its training problems in turn, wrapping after the last
    assert problems[1]["question"] in tokenizer.decode(examples[769][0])
    assert recovery.RecoveryConfig(model="organism", data="thinking").label() == "LoRA SFT"


def test_bad_training_configs_are_errors():
    with pytest.raises(ConfigError, match="min_terms=9 > max_terms=4"):
        thinking.ThinkingConfig(min_terms=9, max_terms=4)
    with pytest.raises(ConfigError, match=r"n_problems × epochs = 3850 is not a multiple of batch_size × log_every"):
        thinking.ThinkingConfig(n_problems=770)
    with pytest.raises(ConfigError, match=r"lora_targets has unknown entries \['qkv'\]"):
        thinking.ThinkingConfig(lora_targets=("qkv",))


@pytest.mark.slow
def test_a_smoke_training_resumes_and_its_merged_checkpoint_equals_base_plus_adapter(store):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    from lpts_helpers.methods.adapters import trainable_copy
    from lpts_helpers.models.loading import load_weights

    config = thinking.ThinkingConfig.for_profile("smoke")
    run = thinking.train_thinking(config, store, progress=False)
    assert run.metrics["steps"] == config.steps and len(run.samples) == config.steps
    assert not (run.path / "resume.pt").exists()
    again = thinking.train_thinking(config, store, progress=False)  # read back, not retrained
    assert again.samples["loss"].tolist() == run.samples["loss"].tolist()
    merged = AutoModelForCausalLM.from_pretrained(thinking.merged_checkpoint(config, store)).eval()
    base = trainable_copy(load_weights("smollm2-135m", dtype="fp32"))
    adapted = PeftModel.from_pretrained(base, thinking.adapter_path(run.path)).eval()
    ids = torch.tensor([[1, 22, 333, 4444, 5555]])
    with torch.inference_mode():
        assert torch.allclose(merged(input_ids=ids).logits, adapted(input_ids=ids).logits, atol=1e-3)
