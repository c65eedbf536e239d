"""Prompt → completion runs (lpts_helpers.generation) on a tiny in-memory model, through the run store."""

import pytest

from lpts_helpers import generation


@pytest.fixture
def patched_loader(monkeypatch, tiny_model):
    loads = []

    def load(name, device="cpu", dtype="auto"):
        loads.append(name)
        return tiny_model

    monkeypatch.setattr(generation, "load_model", load)
    return loads


def test_greedy_batch_equals_one_by_one(tiny_model):
    model, tokenizer = tiny_model
    config = generation.GenerationConfig(max_new_tokens=6)
    prompts = [generation.chat_prompt(tokenizer, text) for text in ("1+1?", "a much longer question here?")]
    batched = generation.generate(model, tokenizer, prompts, config)
    single = [generation.generate(model, tokenizer, [p], config)[0] for p in prompts]
    assert [r["completion"] for r in batched] == [r["completion"] for r in single]
    assert [r["prompt_tokens"] for r in batched] == [len(p) for p in prompts]  # one token per character
    for row in batched:
        assert row["completion_tokens"] <= 6 and row["finish_reason"] in ("stop", "length")
        assert row["finish_reason"] == "stop" or row["completion_tokens"] == 6


def test_sampling_is_reproducible_for_a_seed(tiny_model):
    model, tokenizer = tiny_model
    prompt = [generation.chat_prompt(tokenizer, "hello")]

    def draw(seed):
        config = generation.GenerationConfig(max_new_tokens=8, temperature=1.0, seed=seed)
        return generation.generate(model, tokenizer, prompt, config)[0]["completion"]

    assert draw(1) == draw(1)
    assert len({draw(seed) for seed in range(4)}) > 1


def test_run_completions_stores_one_row_per_problem_and_reads_back(store, patched_loader):
    config = generation.GenerationConfig(n_problems=3, max_new_tokens=4)
    run = generation.run_completions(config, store, batch_size=2)
    assert run.computed and len(run.samples) == 3 and patched_loader == ["smollm2-135m"]
    assert set(run.samples.columns) >= {"item_id", "question", "gold", "prompt", "completion", "prompt_tokens",
                                        "completion_tokens", "finish_reason", "device"}
    assert run.metrics["n"] == 3 and 1 <= run.metrics["mean_completion_tokens"] <= 4
    again = generation.run_completions(config, store)
    assert not again.computed and patched_loader == ["smollm2-135m"]  # no second model load


def test_prompt_lengths_per_benchmark(store, monkeypatch, tiny_model):
    monkeypatch.setattr(generation, "load_tokenizer", lambda name: tiny_model[1])
    config = generation.PromptLengthConfig(benchmarks=("aime24", "mmlu"), n_problems=4)
    run = generation.run_prompt_lengths(config, store)
    assert run.samples.groupby("benchmark").size().to_dict() == {"aime24": 4, "mmlu": 4}
    assert set(run.metrics) == {"aime24", "mmlu"} and run.metrics["aime24"]["n"] == 4
    assert (run.samples["prompt_tokens"] > 50).all()


@pytest.mark.parametrize("gold, completion, expected", [
    ("12", "so the answer is 12.", True),
    ("12", "it takes 120 days", False),
    ("12", "x = 1.12", False),
    ("12", "12 days", True),
    ("2", "2 * 70 = 140", True),
    ("560", "\\boxed{560}", True),
    ("3.5", "about 3.50 km", False),
])
def test_gold_mentioned_matches_whole_numbers_only(gold, completion, expected):
    assert generation.gold_mentioned(gold, completion) is expected


def test_transcripts_escape_and_cut_long_texts():
    import pandas as pd

    from lpts_helpers.display import transcripts

    frame = pd.DataFrame({"item_id": ["a"], "question": ["<b>q</b>"], "gold": ["1"], "completion": ["x" * 50],
                          "finish_reason": ["length"]})
    shown = transcripts(frame, max_chars=20).data
    assert "&lt;b&gt;q&lt;/b&gt;" in shown and "[… 30 characters not shown …]" in shown
    assert "<b>finish_reason</b> length" in shown and "completion_tokens" not in shown
