"""The model organism: generators (determinism, formats, gold answers that grade correct), the tokenizer, the
packed training batches and a smoke training that learns a trivial task."""

from __future__ import annotations

import random
import re

import pytest

from lpts_helpers import organism
from lpts_helpers.benchmarks import load_benchmark, user_message
from lpts_helpers.config import ConfigError
from lpts_helpers.grading import grade
from lpts_helpers.organism import (
    IGNORE,
    OrganismConfig,
    TraceStyle,
    build_tokenizer,
    chain_problem,
    chain_terms,
    chain_trace,
    encode,
    example_batch,
    heldout_examples,
    prompt_text,
    train_organism,
    training_example,
)


def _text(segments, trained_only=False):
    return "".join(text for text, trained in segments if trained or not trained_only)


def test_chain_terms_stay_in_range_and_are_seeded():
    for seed in range(50):
        terms = chain_terms(random.Random(seed), 12)
        assert len(terms) == 13 and 10 <= terms[0] <= 99
        assert all(1 <= abs(t) <= 9 for t in terms[1:])
        assert all(10 <= sum(terms[:i + 1]) <= 99 for i in range(len(terms)))
        assert chain_terms(random.Random(seed), 12) == terms
    with pytest.raises(ConfigError, match="chain_length=17"):
        chain_terms(random.Random(0), 17)


def test_chain_question_names_each_term_and_agrees_with_the_answer():
    problem = chain_problem(random.Random(3), 5)
    assert problem["question"].endswith("=?")
    start, *named = problem["question"][:-2].split(" ")
    assert [n[0] for n in named] == list("ABCDE")
    assert int(start) + sum(int(n[1:]) for n in named) == int(problem["answer"])


def _check_line(line: str, question: str, previous: int) -> int:
    """A thinking line "A+5B-3=39": its named terms are the question's and the total adds up."""
    left, total = line.split("=")
    named = re.findall(r"[A-P][+-][1-9]", left)
    assert "".join(named) == left and set(named) <= set(question[:-2].split(" ")[1:])
    assert int(total) == previous + sum(int(term[1:]) for term in named)
    return int(total)


@pytest.mark.parametrize("seed", range(20))
def test_trained_lines_add_up_and_the_last_pass_ends_on_the_answer(seed):
    rng = random.Random(seed)
    problem = chain_problem(rng, rng.randint(1, 12))
    segments = chain_trace(problem, "thinking", rng, TraceStyle(inline_slip=0.3, recheck=1.0, hidden_error=0.0))
    trained = _text(segments, trained_only=True)
    thinking = trained.split("<think>\n")[1].split("</think>")[0]
    for one_pass in thinking.split("Wait\n"):
        lines = one_pass.replace("Wait, ", "").splitlines()
        assert lines[0] == f"={problem['terms'][0]}"  # every pass restarts from the start value
        total = problem["terms"][0]
        for line in lines[1:]:
            total = _check_line(line, problem["question"], total)
        assert total == int(problem["answer"])
    assert trained.endswith(f"\\boxed{{{problem['answer']}}}<|im_end|>")


def test_a_hidden_slip_propagates_and_the_careful_pass_fixes_it():
    rng = random.Random(5)
    problem = chain_problem(rng, 8)
    segments = chain_trace(problem, "thinking", rng, TraceStyle(inline_slip=0.0, recheck=1.0, hidden_error=1.0,
                                                                 second_recheck=0.0, answer_cue=0.0))
    quick = _text(segments).split("<think>\n")[1].split("Wait\n")[0]
    assert quick.splitlines()[-1].split("=")[1] != problem["answer"]  # the quick pass ends wrong
    assert sum(1 for _, trained in segments if not trained) == 1  # only the slipped line is masked
    assert _text(segments, trained_only=True).endswith(f"{{{problem['answer']}}}<|im_end|>")


def test_slips_are_never_trained_on_and_are_followed_by_their_fix():
    rng = random.Random(0)
    for _ in range(20):
        problem = chain_problem(rng, 6)
        segments = chain_trace(problem, "thinking", rng, TraceStyle(inline_slip=1.0, recheck=0.0))
        thinking = segments[2:-2]  # after "<think>" and the start line, before "</think>" and the answer
        masked = [i for i, (text, trained) in enumerate(thinking) if not trained]
        assert masked and len(masked) == len([t for t, _ in thinking if t == "Wait, "])
        for i in masked:
            slip, (wait, _), (fix, fixed_trained) = thinking[i][0], thinking[i + 1], thinking[i + 2]
            assert wait == "Wait, " and fixed_trained
            assert slip.split("=")[0] == fix.split("=")[0] and slip.split("=")[1] != fix.split("=")[1]


def test_direct_control_answers_without_thinking():
    rng = random.Random(1)
    segments = chain_trace(chain_problem(rng, 4), "direct", rng)
    assert _text(segments).startswith("\\boxed{") and "<think>" not in _text(segments)


@pytest.mark.parametrize("name,length", [("organism_recall", None), ("organism_recall_open", None),
                                         ("organism_chain", 3), ("organism_chain", 12)])
def test_benchmarks_are_seeded_and_their_gold_grades_correct(name, length):
    first = load_benchmark(name, n_problems=10, seed=4, chain_length=length)
    assert first.equals(load_benchmark(name, n_problems=10, seed=4, chain_length=length))
    assert not first.equals(load_benchmark(name, n_problems=10, seed=5, chain_length=length))
    assert first["problem_id"].is_unique
    from lpts_helpers.benchmarks import get_benchmark

    spec = get_benchmark(name)
    for row in first.to_dict("records"):
        graded = grade(f"\\boxed{{{row['answer']}}}", row["answer"], extractor=spec.extractor, scorer=spec.scorer)
        assert graded.correct
        assert "\n\n" not in user_message(name, row)  # no instruction: the chat turn is the task


def test_recall_covers_every_fact_once():
    frame = load_benchmark("organism_recall")
    assert len(frame) == organism.WORLD.n_facts and frame["fact"].is_unique
    assert frame.apply(lambda r: r["choices"][" ABCD".index(r["answer"]) - 1] == organism.WORLD.facts[r["fact"]][1],
                       axis=1).all()


def test_chain_length_is_required_for_chains():
    with pytest.raises(ConfigError, match="chain_length"):
        load_benchmark("organism_chain", n_problems=2)
    with pytest.raises(ConfigError, match="chain_length"):
        load_benchmark("organism_recall", chain_length=3)


def test_fast_encoder_matches_the_tokenizer_and_the_chat_template():
    tokenizer = build_tokenizer()
    rng = random.Random(2)
    for _ in range(30):
        text = _text(training_example(rng, "thinking", organism.DataMix(), organism.WORLD, 12, TraceStyle()))
        assert encode(text) == tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(encode(text)) == text
    problem = chain_problem(rng, 3)
    assert prompt_text("chain", problem) == tokenizer.apply_chat_template(
        [{"role": "user", "content": user_message("organism_chain", problem)}], tokenize=False,
        add_generation_prompt=True)


def test_batches_hold_one_whole_example_per_row_and_mask_prompts():
    tokenizer = build_tokenizer()
    ids, labels, mask = example_batch(random.Random(0), tokenizer.pad_token_id, 5,
                                      lambda r: training_example(r, "thinking", organism.DataMix(), organism.WORLD, 6,
                                                                 TraceStyle()))
    assert ids.shape == labels.shape == mask.shape and ids.shape[0] == 5
    start, end = tokenizer.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"])
    for row, row_labels, row_mask in zip(ids.tolist(), labels.tolist(), mask.tolist()):
        n = sum(row_mask)
        assert row_mask == [1] * n + [0] * (len(row) - n)  # right padding
        assert row[0] == start and row[n - 1] == end and row.count(end) == 2  # one conversation: user, assistant
        assert row_labels[0] == IGNORE and all(label == IGNORE for label in row_labels[n:])
        trained = [i for i, label in zip(row, row_labels) if label != IGNORE]
        assert trained and trained[-1] == end and start not in trained  # the prompt is never trained on


def test_heldout_examples_are_not_the_training_stream():
    held = [_text(s) for s in heldout_examples("thinking", 20)]
    assert held == [_text(s) for s in heldout_examples("thinking", 20)]
    rng = random.Random("0:0")
    train = [_text(training_example(rng, "thinking", organism.DataMix(), organism.WORLD, 12, TraceStyle()))
             for _ in range(20)]
    assert held != train
    with pytest.raises(ConfigError, match="kind='pondering'"):
        heldout_examples("pondering", 1)


def test_config_rejects_bad_values():
    with pytest.raises(ConfigError, match="head_dim=31"):
        OrganismConfig(head_dim=31)
    with pytest.raises(ConfigError, match="steps=70"):
        OrganismConfig(steps=70, log_every=20)
    with pytest.raises(ConfigError, match="kind"):
        OrganismConfig(kind="pondering")


def test_smoke_training_learns_facts_resumes_and_loads_with_auto_classes(store):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config = OrganismConfig.for_profile("smoke")
    run = train_organism(config, store, progress=False)
    losses = run.samples["loss"]
    assert len(run.samples) == config.steps
    assert losses.tail(10).mean() < 0.5 * losses.head(5).mean()  # it learns: the loss more than halves
    path = run.path / "checkpoint"
    model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    assert model.config.model_type == "qwen3" and model.config.num_hidden_layers == config.n_layers
    assert tokenizer.decode(tokenizer("=12+3\n")["input_ids"]) == "=12+3\n"
    # read back, not retrained
    again = train_organism(config, store, progress=False)
    assert not again.computed and again.samples.equals(run.samples)


def test_interrupted_training_resumes_to_the_same_result(tmp_path, monkeypatch):
    from lpts_helpers.store import RunStore

    config = OrganismConfig.for_profile("smoke", steps=40)
    whole = train_organism(config, RunStore(tmp_path / "a"), progress=False)
    original = organism._train_block

    def interrupted(config, tokenizer, model, optimizer, block, bar):
        if block == 1:
            raise KeyboardInterrupt
        return original(config, tokenizer, model, optimizer, block, bar)

    monkeypatch.setattr(organism, "_train_block", interrupted)
    with pytest.raises(KeyboardInterrupt):
        train_organism(config, RunStore(tmp_path / "b"), progress=False)
    monkeypatch.setattr(organism, "_train_block", original)
    resumed = train_organism(config, RunStore(tmp_path / "b"), progress=False)
    columns = ["step", "loss", "lr", "tokens"]
    assert resumed.samples[columns].equals(whole.samples[columns])


def test_growing_copies_each_layer_into_adjacent_layers_with_scaled_outputs():
    import torch

    config = OrganismConfig(n_layers=6, grow_from=2, hidden_size=32, intermediate_size=64, head_dim=16)
    tokenizer = build_tokenizer()
    small = organism.new_model(config, tokenizer, 2)
    big = organism.grown(small, config, tokenizer)
    assert len(big.model.layers) == 6 and big.config.num_hidden_layers == 6
    for index, layer in enumerate(big.model.layers):
        source = small.model.layers[index // 3]
        assert torch.equal(layer.self_attn.q_proj.weight, source.self_attn.q_proj.weight)
        assert torch.allclose(layer.mlp.down_proj.weight * 3, source.mlp.down_proj.weight)
    assert torch.equal(big.model.embed_tokens.weight, small.model.embed_tokens.weight)
    ids = torch.tensor([encode("<|im_start|>user\n37 A+5=?<|im_end|>\n")])
    with torch.no_grad():
        a, b = small(input_ids=ids).logits, big(input_ids=ids).logits
    assert torch.nn.functional.cosine_similarity(a.flatten(), b.flatten(), dim=0) > 0.99  # nearly the same function
    with pytest.raises(ConfigError, match="grow_from=5"):
        OrganismConfig(n_layers=12, grow_from=5)
