"""Multiple choice by log-likelihood (lpts_helpers.engine.likelihood)."""

import pytest
import torch

from lpts_helpers.core.config import ConfigError
from lpts_helpers.engine import likelihood
from lpts_helpers.tasks.benchmarks import load_benchmark


def test_logprobs_equal_a_one_sequence_reference(tiny_model):
    model, tokenizer = tiny_model
    prompt, options = "Question: 1+1?\nAnswer:", [" A", " BB", " 2"]
    scores = likelihood.continuation_logprobs(model, tokenizer, prompt, options)
    for option, score in zip(options, scores):
        ids = tokenizer(prompt + option, add_special_tokens=False, return_tensors="pt")["input_ids"]
        with torch.inference_mode():
            logprobs = torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)
        start = len(prompt)  # one token per character
        expected = sum(logprobs[p - 1, ids[0, p]].item() for p in range(start, ids.shape[1]))
        assert score == pytest.approx(expected, abs=1e-4)


def test_prompt_with_shots_ends_at_answer():
    problem = load_benchmark("mmlu").iloc[0].to_dict()
    prompt = likelihood.choice_prompt("mmlu", problem, 2)
    assert prompt.count("Question:") == 3 and prompt.endswith("\nAnswer:")
    assert "\nAnswer: B\n\n" in prompt  # the first abstract-algebra dev example's answer


@pytest.mark.parametrize("scoring", likelihood.SCORINGS)
def test_run_scores_every_question(store, tiny_model, scoring):
    config = likelihood.ChoiceConfig(n_problems=6, scoring=scoring)
    run = likelihood.run_choice_loglik(config, store, model=tiny_model[0], tokenizer=tiny_model[1])
    assert len(run.samples) == 6 and set(run.samples["extracted"]) <= set("ABCD")
    assert all(len(s) == 4 for s in run.samples["scores"])
    assert 0 <= run.metrics["accuracy"]["value"] <= 1 and run.metrics["chance"] == 0.25


def test_only_multiple_choice_benchmarks():
    with pytest.raises(ConfigError, match=r"benchmark='gsm8k' is not multiple choice"):
        likelihood.ChoiceConfig(benchmark="gsm8k")
    with pytest.raises(ConfigError, match=r"n_shots=6 is out of range"):
        likelihood.ChoiceConfig(n_shots=6)


def test_boxed_text_scores_the_option_inside_the_models_own_answer_format(tiny_model):
    from lpts_helpers.tasks.world import recall_problem

    _, tokenizer = tiny_model
    problem = recall_problem(__import__("random").Random(0), 3)
    config = likelihood.ChoiceConfig(benchmark="organism_recall", scoring="boxed-text")
    prompt = likelihood.scoring_prompt(config, problem, tokenizer)
    assert prompt == f"U:{problem['question']}\nA:\\boxed{{"  # the question alone: no lettered options
    assert likelihood.continuations(problem, "boxed-text") == [f"{c}}}" for c in problem["choices"]]
    with pytest.raises(ConfigError, match="n_shots=1 with scoring='boxed-text'"):
        likelihood.ChoiceConfig(benchmark="organism_recall", scoring="boxed-text", n_shots=1)
