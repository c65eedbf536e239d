"""The model organism: generators (determinism, formats, gold answers that grade correct), the tokenizer, the
batches and micro-batches, the curriculum, the seeds' presets and a smoke training that learns a trivial task."""

from __future__ import annotations

import random

import pytest

from lpts_helpers.chapters import ch02_organism
from lpts_helpers.core.config import ConfigError
from lpts_helpers.methods import organism
from lpts_helpers.methods.organism import (
    OrganismConfig,
    heldout_examples,
    micro_batches,
    padded_batch,
    prompt_text,
    train_organism,
    training_example,
)
from lpts_helpers.tasks import world
from lpts_helpers.tasks.benchmarks import load_benchmark, user_message
from lpts_helpers.tasks.grading import grade
from lpts_helpers.tasks.world import (
    IGNORE,
    build_tokenizer,
    chain_problem,
    chain_terms,
    chain_trace,
    encode,
    encode_segments,
)


def _text(segments, trained_only=False):
    return "".join(text for text, trained in segments if trained or not trained_only)


def _example(rng, kind="thinking", longest=12):
    return training_example(rng, kind, organism.DataMix(), world.WORLD, longest)


def test_chain_terms_are_a_start_and_digits_and_are_seeded():
    for seed in range(50):
        terms = chain_terms(random.Random(seed), 12)
        assert len(terms) == 13 and 0 <= terms[0] <= 99 and all(0 <= t <= 9 for t in terms[1:])
        assert chain_terms(random.Random(seed), 12) == terms
    with pytest.raises(ConfigError, match="chain_length=41"):
        chain_terms(random.Random(0), 41)


def test_answers_take_every_value_mod_100():
    rng = random.Random(0)
    answers = {int(chain_problem(rng, 20)["answer"]) for _ in range(3000)}
    assert answers == set(range(100))


def test_chain_question_holds_the_start_and_the_digits_in_order():
    problem = chain_problem(random.Random(3), 5)
    start, digits = problem["question"].removesuffix("=?").split(" ")
    assert len(start) == 2 and len(digits) == 5
    assert (int(start) + sum(map(int, digits))) % 100 == int(problem["answer"])


@pytest.mark.parametrize("seed", range(20))
def test_every_trained_line_reads_the_next_digit_and_adds_it(seed):
    rng = random.Random(seed)
    problem = chain_problem(rng, rng.randint(1, 24))
    segments = chain_trace(problem, "thinking", rng, slip=0.3)
    trained = _text(segments, trained_only=True)
    lines = [line for line in trained.split("<think>\n")[1].split("</think>")[0].splitlines() if line != "Wait"]
    digits = problem["question"].removesuffix("=?").split(" ")[1]
    total = problem["terms"][0]
    assert len(lines) == len(digits)  # one line per digit, in order
    for line, digit in zip(lines, digits):
        new = (total + int(digit)) % 100
        assert line == f"{total:02d}+{digit}={new:02d}"
        total = new
    assert trained.endswith(f"\\boxed{{{problem['answer']}}}<|im_end|>")


def test_slips_are_never_trained_on_and_are_followed_by_wait_and_their_fix():
    rng = random.Random(0)
    kinds = set()
    for _ in range(40):
        problem = chain_problem(rng, 6)
        segments = chain_trace(problem, "thinking", rng, slip=1.0, answer_cue=0.0)
        thinking = segments[1:-2]  # after "<think>", before "</think>" and the answer
        masked = [i for i, (_, trained) in enumerate(thinking) if not trained]
        assert len(masked) == 6 == len([t for t, _ in thinking if t == "Wait\n"])
        for i in masked:
            slip, (wait, _), (fix, fixed_trained) = thinking[i][0], thinking[i + 1], thinking[i + 2]
            assert wait == "Wait\n" and fixed_trained and slip != fix
            assert slip[:3] == fix[:3]  # the same total before it
            kinds.add("misread" if slip[3:5] != fix[3:5] else "wrong sum")
    assert kinds == {"misread", "wrong sum"}


def test_direct_control_answers_without_thinking():
    rng = random.Random(1)
    segments = chain_trace(chain_problem(rng, 4), "direct", rng)
    assert _text(segments).startswith("\\boxed{") and "<think>" not in _text(segments)


@pytest.mark.parametrize("name,length", [("organism_recall", None), ("organism_recall_open", None),
                                         ("organism_chain", 3), ("organism_chain", 12),
                                         ("organism_chain_mix", 24)])
def test_benchmarks_are_seeded_and_their_gold_grades_correct(name, length):
    first = load_benchmark(name, n_problems=10, seed=4, chain_length=length)
    assert first.equals(load_benchmark(name, n_problems=10, seed=4, chain_length=length))
    assert not first.equals(load_benchmark(name, n_problems=10, seed=5, chain_length=length))
    assert first["problem_id"].is_unique
    from lpts_helpers.tasks.benchmarks import get_benchmark

    spec = get_benchmark(name)
    for row in first.to_dict("records"):
        graded = grade(f"\\boxed{{{row['answer']}}}", row["answer"], extractor=spec.extractor, scorer=spec.scorer)
        assert graded.correct
        assert "\n\n" not in user_message(name, row)  # no instruction: the chat turn is the task


def test_recall_covers_every_fact_once():
    frame = load_benchmark("organism_recall")
    assert len(frame) == world.WORLD.n_facts and frame["fact"].is_unique
    assert frame.apply(lambda r: r["choices"][" ABCD".index(r["answer"]) - 1] == world.WORLD.facts[r["fact"]][1],
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
        text = _text(_example(rng))
        assert encode(text) == tokenizer(text, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(encode(text)) == text
    problem = chain_problem(rng, 3)
    assert prompt_text("chain", problem) == tokenizer.apply_chat_template(
        [{"role": "user", "content": user_message("organism_chain", problem)}], tokenize=False,
        add_generation_prompt=True)


def test_batches_hold_one_whole_example_per_row_and_mask_prompts():
    tokenizer = build_tokenizer()
    rng = random.Random(0)
    ids, labels, mask = padded_batch([encode_segments(_example(rng, longest=6)) for _ in range(5)],
                                     tokenizer.pad_token_id)
    assert ids.shape == labels.shape == mask.shape and ids.shape[0] == 5
    start, end = tokenizer.convert_tokens_to_ids(["<|im_start|>", "<|im_end|>"])
    for row, row_labels, row_mask in zip(ids.tolist(), labels.tolist(), mask.tolist()):
        n = sum(row_mask)
        assert row_mask == [1] * n + [0] * (len(row) - n)  # right padding
        assert row[0] == start and row[n - 1] == end and row.count(end) == 2  # one conversation: user, assistant
        assert row_labels[0] == IGNORE and all(label == IGNORE for label in row_labels[n:])
        trained = [i for i, label in zip(row, row_labels) if label != IGNORE]
        assert trained and trained[-1] == end and start not in trained  # the prompt is never trained on


def test_micro_batches_give_the_whole_batch_gradient_with_less_padding():
    import torch
    import torch.nn.functional as F

    config = OrganismConfig(n_layers=2, hidden_size=32, intermediate_size=64, head_dim=16)
    tokenizer = build_tokenizer()
    rng = random.Random(1)
    examples = [encode_segments(_example(rng, longest=24)) for _ in range(12)]
    trained = sum(sum(label != IGNORE for label in labels) for _, labels in examples)

    def gradient(batches):
        model = organism.new_model(config, tokenizer)
        for ids, labels, mask in batches:
            logits = model(input_ids=ids, attention_mask=mask).logits
            F.cross_entropy(logits[:, :-1].flatten(0, 1), labels[:, 1:].flatten(), ignore_index=IGNORE,
                            reduction="sum").div(trained).backward()
        return torch.cat([p.grad.flatten() for p in model.parameters()])

    whole = [padded_batch(examples, tokenizer.pad_token_id)]
    split = micro_batches(examples, tokenizer.pad_token_id, 4)
    assert len(split) == 4 and sum(len(ids) for ids, _, _ in split) == 12
    assert sum(ids.numel() for ids, _, _ in split) < whole[0][0].numel()
    assert torch.allclose(gradient(whole), gradient(split), atol=1e-6)


def test_heldout_examples_are_not_the_training_stream():
    held = [_text(s) for s in heldout_examples("thinking", 20)]
    assert held == [_text(s) for s in heldout_examples("thinking", 20)]
    rng = random.Random("0:0")
    train = [_text(_example(rng)) for _ in range(20)]
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
    with pytest.raises(ConfigError, match="max_chain=41"):
        OrganismConfig(max_chain=41)


def test_curriculum_grows_the_longest_chain_one_step_per_interval_up_to_max():
    config = OrganismConfig()
    assert [config.chain_limit(s) for s in (0, 39, 40, 400, 1119, 1120, 5000)] == [4, 4, 5, 14, 31, 32, 32]


def test_the_second_phase_replays_chains_up_to_its_cap_and_keeps_the_committed_hashes_by_default():
    full = organism.ConsolidationConfig()
    assert {full.chain_limit(s) for s in (0, 999)} == {full.first_phase().max_chain} == {32}
    assert {organism.ConsolidationConfig(replay_chain=12).chain_limit(s) for s in (0, 999)} == {12}
    assert organism.ConsolidationConfig(replay_chain=40).chain_limit(0) == 32  # never beyond the first phase
    # the committed seed-0 organism was stored before the knob existed; a cap is another run
    assert full.config_hash() == "d1932d56e3cd2eef"
    assert organism.ConsolidationConfig(replay_chain=32).config_hash() != full.config_hash()
    with pytest.raises(ConfigError, match="replay_chain=41"):
        organism.ConsolidationConfig(replay_chain=41)


def test_the_seeds_presets_load_their_own_checkpoints():
    from lpts_helpers.models.presets import PRESETS

    for name, (kind, seed) in {"organism": ("thinking", 0), "organism-seed1": ("thinking", 1),
                               "organism-seed2": ("thinking", 2), "organism-direct": ("direct", 0)}.items():
        assert organism.config_for(name) == organism.ConsolidationConfig(kind=kind, seed=seed)
        recipe = organism.CONTROL_RECIPE if kind == "direct" else {}
        assert organism.config_for(name).first_phase() == OrganismConfig(kind=kind, seed=seed, **recipe)
        assert PRESETS[name].location == f"{kind}:{seed}"
    with pytest.raises(ConfigError, match="smollm2-135m"):
        organism.config_for("smollm2-135m")


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
    assert tokenizer.decode(tokenizer("07+5=12\n")["input_ids"]) == "07+5=12\n"
    # read back, not retrained
    again = train_organism(config, store, progress=False)
    assert not again.computed and again.samples.equals(run.samples)


def test_interrupted_training_resumes_to_the_same_result(tmp_path, monkeypatch):
    from lpts_helpers.core.store import RunStore

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


def test_second_phase_starts_from_the_first_and_is_keyed_by_it(store):
    import torch
    from transformers import AutoModelForCausalLM

    config = organism.ConsolidationConfig.for_profile("smoke")
    assert config.first_phase() == OrganismConfig.for_profile("smoke")
    first = train_organism(config.first_phase(), store, progress=False)
    a = AutoModelForCausalLM.from_pretrained(first.path / "checkpoint")
    first, second = organism.trained(config, store)
    assert len(second.samples) == config.steps and second.samples["lr"].iloc[0] < config.lr  # a fresh warmup
    b = AutoModelForCausalLM.from_pretrained(second.path / "checkpoint")
    assert not torch.equal(a.model.embed_tokens.weight, b.model.embed_tokens.weight)  # it trained on
    assert not (first.path / "checkpoint").exists()  # one checkpoint per organism is kept
    # a first phase without its checkpoint is retrained, exactly, when a second phase needs it
    again = train_organism(config.first_phase(), store, progress=False)
    assert again.samples["loss"].equals(first.samples["loss"])
    assert torch.equal(AutoModelForCausalLM.from_pretrained(again.path / "checkpoint").model.embed_tokens.weight,
                       a.model.embed_tokens.weight)
    # another first phase is another second phase
    other = organism.ConsolidationConfig.for_profile("smoke", seed=1)
    assert other.config_hash() != config.config_hash()
    control = OrganismConfig(kind="direct", **organism.CONTROL_RECIPE)
    assert organism.ConsolidationConfig(kind="direct").versions() == {"first_phase": control.config_hash()}
    assert organism.ConsolidationConfig(kind="direct").chain_limit(0) == 4  # replays only what it was taught
    assert organism.ConsolidationConfig.for_profile("smoke", kind="direct").first_phase() == \
        OrganismConfig.for_profile("smoke", kind="direct")  # the recipe is the default profile's
    curves = ch02_organism.training_curves({"m": (first, second)})
    assert curves["step"].is_monotonic_increasing and len(curves) == first.samples.shape[0] + config.steps
    with pytest.raises(ConfigError, match="steps=25"):
        organism.ConsolidationConfig(steps=25, log_every=10)
