"""Generation runs (lpts_helpers.engine.generation) on a tiny in-memory model, through the run store."""

import pytest

from lpts_helpers.core.config import ConfigError
from lpts_helpers.core.store import RunStore
from lpts_helpers.engine import generation
from lpts_helpers.engine.backends.hf import HFBackend


@pytest.fixture
def tiny_backend(tiny_model):
    return HFBackend(*tiny_model, batch_size=4)


def test_run_generation_stores_one_row_per_problem_and_sample(store, tiny_backend, monkeypatch):
    config = generation.GenerationConfig(n_problems=3, n_samples=2, temperature=1.0, max_answer_tokens=4,
                                         thinking_budget=6, n_ignore=1)
    run = generation.run_generation(config, store, backend=tiny_backend, problems_per_chunk=2)
    assert run.computed and len(run.samples) == 6
    assert run.samples.groupby("item_id", sort=False)["sample"].apply(list).tolist() == [[0, 1]] * 3
    assert set(run.samples.columns) >= {"item_id", "sample", "seed", "thinking_budget", "n_ignore", "question",
                                        "gold", "prompt", "prompt_hash", "thinking", "answer", "completion",
                                        "thinking_tokens", "answer_tokens", "n_forced", "thinking_cut",
                                        "finish_reason", "device"}
    assert (run.samples["thinking_tokens"] <= 6).all() and (run.samples["answer_tokens"] <= 4).all()
    assert run.metrics["n"] == 6 and run.metrics["n_problems"] == 3
    assert run.samples["seed"].nunique() == 2  # each sample its own seed, shared across problems

    def no_model(*args, **kwargs):
        raise AssertionError("a finished run loaded a model")

    monkeypatch.setattr(generation, "make_backend", no_model)
    again = generation.run_generation(config, store)
    assert not again.computed and again.samples.equals(run.samples)


def test_resumed_run_regenerates_exactly_what_was_lost(store, tiny_backend, tmp_path):
    config = generation.GenerationConfig(n_problems=4, n_samples=2, temperature=1.0, max_answer_tokens=5)
    whole = generation.run_generation(config, RunStore(tmp_path / "whole"), backend=tiny_backend,
                                      problems_per_chunk=4)

    class Interrupted:
        """The tiny backend, interrupted after its first call."""

        name, tokenizer, device = "hf", tiny_backend.tokenizer, "cpu"

        def __init__(self):
            self.calls = 0

        def complete(self, requests):
            self.calls += 1
            if self.calls > 1:
                raise KeyboardInterrupt
            return tiny_backend.complete(requests)

    with pytest.raises(KeyboardInterrupt):
        generation.run_generation(config, store, backend=Interrupted(), problems_per_chunk=1)
    assert len(list(store.path(config).glob("parts/*.parquet"))) == 1
    resumed = generation.run_generation(config, store, backend=tiny_backend, problems_per_chunk=3)
    assert resumed.samples["completion"].tolist() == whole.samples["completion"].tolist()


def test_config_rules_for_scaling_knobs():
    with pytest.raises(ConfigError, match=r"n_ignore=2 needs a thinking section"):
        generation.GenerationConfig(n_ignore=2)
    with pytest.raises(ConfigError, match=r"n_samples=4 with temperature=0"):
        generation.GenerationConfig(n_samples=4)
    with pytest.raises(ConfigError, match=r"top_p=0.0 is out of range; allowed: 0 < top_p <= 1"):
        generation.GenerationConfig(top_p=0.0)
    with pytest.raises(ConfigError, match=r"thinking_format='r1' is not allowed"):
        generation.GenerationConfig(thinking_format="r1")
    with pytest.raises(ConfigError, match=r"backend='tgi' is not allowed"):
        generation.GenerationConfig(backend="tgi")
    paper = generation.GenerationConfig.for_profile("paper")
    assert (paper.model, paper.backend, paper.thinking_budget, paper.temperature) == ("qwen3-8b", "vllm", 8192, 1.0)
    options = generation.BackendOptions(tensor_parallel_size=8)
    assert options.backend_kwargs(paper)["tensor_parallel_size"] == 8
    assert "tensor_parallel_size" not in options.backend_kwargs(generation.GenerationConfig())


def test_prompt_lengths_per_benchmark(store, monkeypatch, tiny_model):
    monkeypatch.setattr(generation, "load_tokenizer", lambda name: tiny_model[1])
    config = generation.PromptLengthConfig(benchmarks=("aime24", "mmlu"), n_problems=4)
    run = generation.run_prompt_lengths(config, store)
    assert run.samples.groupby("benchmark").size().to_dict() == {"aime24": 4, "mmlu": 4}
    assert set(run.metrics) == {"aime24", "mmlu"} and run.metrics["aime24"]["n"] == 4
    assert (run.samples["prompt_tokens"] > 50).all()


def test_transcripts_escape_and_cut_long_texts():
    import pandas as pd

    from lpts_helpers.book.display import transcripts

    frame = pd.DataFrame({"item_id": ["a"], "question": ["<b>q</b>"], "gold": ["1"], "completion": ["x" * 50],
                          "finish_reason": ["length"]})
    shown = transcripts(frame, max_chars=20).data
    assert "&lt;b&gt;q&lt;/b&gt;" in shown and "[… 30 characters not shown …]" in shown
    assert "<b>finish_reason</b> length" in shown and "completion_tokens" not in shown
