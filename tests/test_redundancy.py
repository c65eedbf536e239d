"""Single-layer removal: the held-out loss, the per-layer table and its summary, a sweep on a tiny model."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from lpts_helpers.core.config import ConfigError
from lpts_helpers.core.store import Run
from lpts_helpers.methods.redundancy import (
    RemovalConfig,
    heldout_nll,
    profile_frame,
    removal_table,
    run_removal,
    scored_texts,
    summary_table,
)
from lpts_helpers.models.loading import save_checkpoint


def _samples() -> pd.DataFrame:
    rows = []
    for layer, nll, correct in ((-1, 1.0, [1, 1, 1, 0]), (0, 2.0, [0, 0, 1, 0]), (1, 1.05, [1, 1, 1, 0])):
        rows.append({"layer": layer, "measure": "heldout_nll", "problem_id": "", "value": nll})
        rows += [{"layer": layer, "measure": "task", "problem_id": f"p{i}", "value": float(c)}
                 for i, c in enumerate(correct)]
    return pd.DataFrame(rows)


def test_removal_table_gives_loss_rise_retention_and_paired_drop():
    table = removal_table(_samples()).set_index(["layer", "measure"])
    assert table.loc[(0, "heldout_nll"), "relative"] == pytest.approx(1.0)  # the loss doubled
    assert table.loc[(1, "heldout_nll"), "relative"] == pytest.approx(0.05)
    assert table.loc[(0, "task"), "relative"] == pytest.approx(1 / 3)  # 0.25 of 0.75 kept
    assert table.loc[(0, "task"), "drop"] == pytest.approx(-0.5)
    assert table.loc[(0, "task"), "drop_low"] <= -0.5 <= table.loc[(0, "task"), "drop_high"]
    assert table.loc[(1, "task"), "relative"] == pytest.approx(1.0)
    assert table.loc[(1, "task"), "depth"] == pytest.approx(0.75)  # layer 1 of 2, at its middle


def test_summary_counts_layers_removable_at_small_cost():
    summary = summary_table({"m": removal_table(_samples())}).set_index("measure")
    assert summary.loc["held-out loss", "layers removable at small cost"] == "1 of 2"
    assert summary.loc["held-out loss", "worst layer"] == 0
    assert summary.loc["accuracy: task", "layers removable at small cost"] == "1 of 2"


def _answer_nll(model, tokenizer, prompt: str, answer: str) -> float:
    """Mean negative log-likelihood per answer token given the prompt, by teacher forcing (the reference)."""
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    answer_ids = tokenizer(prompt + answer, add_special_tokens=False)["input_ids"][len(prompt_ids):]
    ids = torch.tensor([prompt_ids + answer_ids])
    with torch.inference_mode():
        logprobs = torch.log_softmax(model(input_ids=ids, use_cache=False).logits[0].float(), dim=-1)
    positions = range(len(prompt_ids), len(ids[0]))
    return -sum(logprobs[p - 1, ids[0, p]].item() for p in positions) / len(answer_ids)


def test_heldout_nll_scores_only_the_marked_segments(tiny_model):
    model, tokenizer = tiny_model
    prompt, answer = "U:2+3?\nA:", "The answer is 5."
    assert heldout_nll(model, tokenizer, [[(prompt, False), (answer, True)]], 512) == pytest.approx(
        _answer_nll(model, tokenizer, prompt, answer), rel=1e-5)
    whole = heldout_nll(model, tokenizer, [[(prompt + answer, True)]], 512)
    assert whole != pytest.approx(heldout_nll(model, tokenizer, [[(prompt, False), (answer, True)]], 512))


def test_scored_texts_mark_replies_of_organism_chats_only():
    chats = scored_texts("organism-thinking", 3)
    assert all(not chat[0][1] and chat[0][0].startswith("<|im_start|>user") for chat in chats)
    assert all(any(scored for _, scored in chat) for chat in chats)
    solutions = scored_texts("gsm8k-train", 2)
    assert all(len(s) == 1 and s[0][1] for s in solutions)


def test_task_names_are_checked():
    with pytest.raises(ConfigError, match="organism_chain@two"):
        RemovalConfig(model="smollm2-135m", tasks=("organism_chain@two",))
    with pytest.raises(ConfigError, match="needs a chain length"):
        RemovalConfig(model="smollm2-135m", tasks=("organism_chain",))


def test_removal_sweep_on_a_tiny_model_stores_every_layer_and_reads_back(tiny_model, tmp_path, store):
    model, tokenizer = tiny_model
    path = save_checkpoint(model, tokenizer, tmp_path / "tiny")
    config = RemovalConfig(model=str(path), text_source="gsm8k-train", n_texts=2, text_length=32,
                           tasks=("organism_recall",), n_problems=2, thinking_budget=None, max_answer_tokens=4)
    run = run_removal(config, store)
    assert sorted(run.samples["layer"].unique()) == [-1, 0, 1]
    per_layer = run.samples.groupby("layer")["measure"].value_counts().unstack()
    assert (per_layer["heldout_nll"] == 1).all() and (per_layer["organism_recall"] == 2).all()
    assert np.isfinite(run.samples.query("measure == 'heldout_nll'")["value"]).all()
    again = run_removal(config, store)
    assert not again.computed and again.samples.equals(run.samples)
    influence = Run(path=tmp_path, config={}, metrics={}, computed=False,
                    samples=pd.DataFrame({"layer": [0, 1], "score": [0.5, 0.1]}))
    frame = profile_frame({"tiny": influence}, {"tiny": removal_table(run.samples)})
    assert set(frame["measure"]) == {"Block Influence (1 − cos)", "held-out loss, relative rise",
                                     "retention: organism_recall"}
