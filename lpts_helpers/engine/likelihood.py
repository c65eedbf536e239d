"""Multiple choice by log-likelihood: the cheap way to score MMLU, with no generation at all.

For each question the model reads a plain-text prompt ("Question: … A. … D. …\\nAnswer:", after ``n_shots``
solved dev examples of the same subject) and we compare the log-probabilities of the four continuations:
- ``letter``: `` A`` … `` D`` (lm-evaluation-harness's MMLU);
- ``text``: each option's text, summed log-probability;
- ``text-normalized``: the same divided by the option's length in characters (longer options are not penalised);
- ``boxed-text``: for chat models trained to answer in ``\\boxed{}`` (the organism): the question alone in the
  model's own chat template, the reply opened with ``\\boxed{``, and each option's text with the closing brace
  scored — the cloze form lm-evaluation-harness uses for ARC, asked the way the model was taught to answer.
The highest scores wins; ties go to the first. This is how knowledge is usually measured for base models, and
how NOTES.md found SmolLM2-135M at chance on MMLU (0.255 letters, 0.305 normalised text): the chapters report a
benchmark at chance as uninformative, never as retained. transformers only (needs the logits of the prompt).

``StaticConfig`` scores the static sets of ``tasks.static`` (ARC, PIQA, HellaSwag, WinoGrande, BoolQ, OpenBookQA,
CommonsenseQA) the way lm-evaluation-harness does: context and continuation tokenized as lm-eval splits them, the
choices of many questions scored together in length-sorted batches, a shared context run once for all its choices
(``shared_context_logprobs``), ``acc`` and ``acc_norm`` from the same log-likelihoods.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import torch

from ..core import metrics
from ..core.config import ConfigError, knob
from ..core.store import Run, RunStore
from ..models.loading import cache_keyword, default_device, load_model, pad_token_id, right_padded
from ..models.registry import ModelStageConfig, check_model
from ..tasks.benchmarks import MMLU_LETTERS, few_shot_examples, get_benchmark, load_benchmark, question_text
from ..tasks.static import STATIC_BENCHMARKS, get_static, load_static
from .evaluation import summarize

SCORINGS = ("letter", "text", "text-normalized", "boxed-text")


@dataclass(frozen=True)
class ChoiceConfig(ModelStageConfig):
    """Log-likelihood scoring of a multiple-choice benchmark (the run store's "choice-loglik" stage)."""

    STAGE = "choice-loglik"
    PROFILE_DEFAULTS = {"smoke": {"n_problems": 8}, "default": {}, "paper": {"model": "qwen3-8b", "n_problems": None}}

    model: str = knob("smollm2-135m", doc="a model preset or a local checkpoint directory")
    benchmark: str = knob("mmlu", doc="a multiple-choice benchmark")
    n_problems: int | None = knob(200, ge=1, doc="questions drawn (seeded); None = all")
    problem_seed: int = knob(0, ge=0, doc="seed of the question sample")
    n_shots: int = knob(0, ge=0, le=5, doc="solved dev examples of the same subject before the question")
    scoring: str = knob("letter", choices=SCORINGS, doc="what is compared: option letters or option texts")
    dtype: str = knob("auto", choices=("auto", "bf16", "fp16", "fp32"), doc="auto: bf16 on GPU, fp32 on CPU")

    def validate(self) -> None:
        check_model(self.model)
        if get_benchmark(self.benchmark).answer_type != "choice letter":
            raise ConfigError(f"benchmark={self.benchmark!r} is not multiple choice; allowed: mmlu")
        if self.scoring == "boxed-text" and self.n_shots:
            raise ConfigError(f"n_shots={self.n_shots} with scoring='boxed-text'; allowed: 0 (the chat turn is the "
                              f"whole prompt)")

    def versions(self) -> dict[str, int | str]:
        return {**super().versions(), "benchmark": get_benchmark(self.benchmark).version}


def choice_prompt(name: str, problem: dict, n_shots: int) -> str:
    """Solved examples ("… Answer: B"), then the question ending in "Answer:"."""
    shots = few_shot_examples(name, problem.get("subject"))[:n_shots] if n_shots else []
    blocks = [f"Question: {question_text(name, ex)}\nAnswer: {ex['answer']}" for ex in shots]
    blocks.append(f"Question: {question_text(name, problem)}\nAnswer:")
    return "\n\n".join(blocks)


def scoring_prompt(config: ChoiceConfig, problem: dict, tokenizer: Any) -> str:
    """What the options are scored after: the plain-text prompt, or for ``boxed-text`` the chat turn of the
    question alone with the answer's ``\\boxed{`` opened."""
    if config.scoring != "boxed-text":
        return choice_prompt(config.benchmark, problem, config.n_shots)
    chat = tokenizer.apply_chat_template([{"role": "user", "content": problem["question"]}], tokenize=False,
                                         add_generation_prompt=True)
    return chat + "\\boxed{"


def continuations(problem: dict, scoring: str) -> list[str]:
    if scoring == "letter":
        return [f" {letter}" for letter in MMLU_LETTERS]
    if scoring == "boxed-text":
        return [f"{choice}}}" for choice in problem["choices"]]
    return [f" {choice}" for choice in problem["choices"]]


def continuation_logprobs(model: Any, tokenizer: Any, prompt: str, options: list[str]) -> list[float]:
    """Summed log-probability of each option's tokens after ``prompt`` (one batched forward pass)."""
    prompt_ids = tokenizer(prompt, add_special_tokens=False)["input_ids"]
    pad = pad_token_id(tokenizer)
    return batched_pair_logprobs(model, [
        (prompt_ids, tokenizer(prompt + option, add_special_tokens=False)["input_ids"][len(prompt_ids):])
        for option in options], pad)


def run_choice_loglik(config: ChoiceConfig, store: RunStore, *, model: Any = None, tokenizer: Any = None,
                      fresh: bool = False) -> Run:
    """Score the config's questions (read back when stored); one row per question, summarised like evaluations."""
    problems = load_benchmark(config.benchmark, n_problems=config.n_problems, seed=config.problem_seed)
    items = [{"item_id": p["problem_id"], "problem": p} for p in problems.to_dict("records")]
    loaded = {"model": model, "tokenizer": tokenizer}

    def compute(chunk: list[dict]) -> list[dict]:
        if loaded["model"] is None:  # load_model is cached: the configs of one table share the model
            loaded["model"], loaded["tokenizer"] = load_model(config.model, device=default_device(),
                                                              dtype=config.dtype)
        rows = []
        for item in chunk:
            problem = item["problem"]
            options = continuations(problem, config.scoring)
            scores = continuation_logprobs(loaded["model"], loaded["tokenizer"],
                                           scoring_prompt(config, problem, loaded["tokenizer"]), options)
            if config.scoring == "text-normalized":
                scores = [s / max(1, len(o.strip())) for s, o in zip(scores, options)]
            predicted = MMLU_LETTERS[int(np.argmax(scores))]
            rows.append({"item_id": item["item_id"], "problem_id": item["item_id"], "sample": 0,
                         "subject": problem.get("subject"), "gold": problem["answer"], "extracted": predicted,
                         "correct": predicted == problem["answer"], "scores": scores, "variant": config.model})
        return rows

    return store.run(config, items, compute, chunk_size=50, fresh=fresh, metrics=_metrics)


def _metrics(samples: pd.DataFrame) -> dict[str, Any]:
    summary = summarize(samples)
    return {"n_problems": summary["n_problems"], "accuracy": summary["accuracy"], "chance": 0.25}


def choice_table(configs: list[ChoiceConfig], store: RunStore) -> pd.DataFrame:
    """Run (or read back) each config; one row per config with accuracy, its 95% CI and chance."""
    rows = []
    for config in configs:
        run = run_choice_loglik(config, store)
        accuracy = run.metrics["accuracy"]
        rows.append({**config.to_dict(), "accuracy": accuracy["value"], "low": accuracy["low"],
                     "high": accuracy["high"], "chance": run.metrics["chance"],
                     "above_chance": accuracy["low"] > run.metrics["chance"], "n_problems": run.metrics["n_problems"]})
    return pd.DataFrame(rows)


def chance_verdict(table: pd.DataFrame) -> str:
    """Whether each scoring's 95% CI clears chance: the sentence the chapters glue into their verdicts."""
    parts = [f"{row.scoring} {row.accuracy:.2f} [{row.low:.2f}, {row.high:.2f}]" for row in table.itertuples()]
    above = table["above_chance"].any()
    verdict = "above chance" if above else "not distinguishable from chance (0.25)"
    return f"{verdict} ({'; '.join(parts)})"


# --- the static sets, scored as lm-evaluation-harness scores them --------------------------------------------------

@dataclass(frozen=True)
class StaticConfig(ModelStageConfig):
    """Zero-shot log-likelihood scoring of one static benchmark (the run store's "static-loglik" stage)."""

    STAGE = "static-loglik"
    PROFILE_DEFAULTS = {"smoke": {"n_problems": 6}, "default": {}, "paper": {"model": "qwen3-8b"}}

    model: str = knob("smollm2-135m", doc="a model preset or a local checkpoint directory")
    benchmark: str = knob("arc_easy", choices=tuple(STATIC_BENCHMARKS), doc="a static multiple-choice benchmark")
    n_problems: int | None = knob(500, ge=1, doc="questions drawn (seeded, the same for every variant); None = all")
    problem_seed: int = knob(0, ge=0, doc="seed of the question sample")
    dtype: str = knob("auto", choices=("auto", "bf16", "fp16", "fp32"), doc="auto: bf16 on GPU, fp32 on CPU")

    def validate(self) -> None:
        check_model(self.model)

    def versions(self) -> dict[str, int | str]:
        return {**super().versions(), "benchmark": get_static(self.benchmark).version}


def encode_pair(tokenizer: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """lm-eval's split of a request into tokens: trailing spaces of the context move to the continuation, the
    context is tokenized alone and the continuation is what tokenizing both adds after it."""
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
    context_ids = tokenizer(context, add_special_tokens=False)["input_ids"]
    return context_ids, whole[len(context_ids):]


def _batches(order: list[int], cost: Any, max_tokens: int) -> list[list[int]]:
    """``order`` cut greedily into consecutive batches whose padded ``cost`` stays within ``max_tokens`` (a batch
    holds at least one index)."""
    batches: list[list[int]] = []
    for index in order:
        if batches and cost([*batches[-1], index]) <= max_tokens:
            batches[-1].append(index)
        else:
            batches.append([index])
    return batches


def _continuation_sums(head: Any, hidden: Any, rows: list[int], positions: list[int], targets: list[int],
                       n_rows: int) -> list[float]:
    """Per row, the summed log-probability of ``targets``, each predicted from ``hidden`` at (row, position): the
    output projection runs on those positions alone (on a 135M model with a 49k vocabulary it is a fifth of the
    compute, nearly all of it wasted on the contexts)."""
    device = hidden.device
    picked = hidden[torch.tensor(rows, device=device), torch.tensor(positions, device=device)]
    logprobs = torch.log_softmax(head(picked).float(), dim=-1)
    token = logprobs[torch.arange(len(targets), device=device), torch.tensor(targets, device=device)]
    sums = torch.zeros(n_rows, dtype=torch.float64).index_add_(0, torch.tensor(rows), token.double().cpu())
    return sums.tolist()


def batched_pair_logprobs(model: Any, pairs: list[tuple[list[int], list[int]]], pad_id: int,
                          max_tokens: int = 6144) -> list[float]:
    """Summed log-probability of each pair's continuation after its context, for many pairs at once: the pairs
    are sorted by length and cut into right-padded batches of at most ``max_tokens`` (padding included)."""
    device = model.device
    body, head = model.get_decoder(), model.get_output_embeddings()
    lengths = [len(context) + len(continuation) for context, continuation in pairs]
    order = sorted(range(len(pairs)), key=lengths.__getitem__)
    scores = [0.0] * len(pairs)
    for batch in _batches(order, lambda b: len(b) * max(lengths[i] for i in b), max_tokens):
        ids, mask = right_padded([pairs[i][0] + pairs[i][1] for i in batch], pad_id)
        rows, positions, targets = [], [], []
        for row, index in enumerate(batch):
            context, continuation = pairs[index]
            sequence = context + continuation
            for j in range(len(context), len(sequence)):  # token j is predicted at position j - 1
                rows.append(row)
                positions.append(j - 1)
                targets.append(sequence[j])
        with torch.inference_mode():
            hidden = body(input_ids=ids.to(device), attention_mask=mask.to(device)).last_hidden_state
            sums = _continuation_sums(head, hidden, rows, positions, targets, len(batch))
        for row, index in enumerate(batch):
            scores[index] = sums[row]
    return scores


def shared_context_logprobs(model: Any, items: list[tuple[list[int], list[list[int]]]], pad_id: int,
                            max_tokens: int = 6144) -> list[list[float]]:
    """For items whose choices share one context, ``(context, [continuation, …])``: the summed log-probability of
    each continuation. Each batch runs its contexts once (right-padded), repeats their key/value cache for the
    choices and runs every continuation against it, positions carrying on from its own context: half the tokens
    of scoring every choice as a whole sequence on HellaSwag and BoolQ."""
    device = model.device
    body, head = model.get_decoder(), model.get_output_embeddings()
    keyword = cache_keyword(body)
    scores: list[list[float]] = [[] for _ in items]
    by_choices: dict[int, list[int]] = {}
    for index, (_, continuations) in enumerate(items):
        by_choices.setdefault(len(continuations), []).append(index)
    for n, indices in by_choices.items():
        order = sorted(indices, key=lambda i: len(items[i][0]))

        def cost(batch: list[int], n: int = n) -> int:
            longest = max(len(k) for i in batch for k in items[i][1])
            return len(batch) * (max(len(items[i][0]) for i in batch) + n * longest)

        for batch in _batches(order, cost, max_tokens):
            contexts = [items[i][0] for i in batch]
            ids, mask = right_padded(contexts, pad_id)
            continuations = [k for i in batch for k in items[i][1]]
            longest = max(map(len, continuations))
            cont_ids, cont_mask = right_padded(continuations, pad_id)
            starts = torch.tensor([len(c) for c in contexts]).repeat_interleave(n)
            rows, positions, targets = [], [], []
            for row, continuation in enumerate(continuations):
                for j in range(1, len(continuation)):  # the first token is predicted by the context's last position
                    rows.append(row)
                    positions.append(j - 1)
                    targets.append(continuation[j])
            with torch.inference_mode():
                prompt = body(input_ids=ids.to(device), attention_mask=mask.to(device), use_cache=True)
                cache = getattr(prompt, keyword)
                cache.batch_repeat_interleave(n)
                last = prompt.last_hidden_state[torch.arange(len(batch)), torch.tensor([len(c) - 1 for c in contexts])]
                first = torch.log_softmax(head(last).float(), dim=-1).repeat_interleave(n, dim=0)
                first = first[torch.arange(len(continuations)), torch.tensor([k[0] for k in continuations])]
                hidden = body(input_ids=cont_ids.to(device),
                              attention_mask=torch.cat([mask.repeat_interleave(n, dim=0), cont_mask], dim=1).to(device),
                              position_ids=(starts[:, None] + torch.arange(longest)[None, :]).to(device),
                              use_cache=True, **{keyword: cache}).last_hidden_state
                later = (_continuation_sums(head, hidden, rows, positions, targets, len(continuations)) if targets
                         else [0.0] * len(continuations))
            for row, index in enumerate(batch):
                scores[index] = [float(first[row * n + c]) + later[row * n + c] for c in range(n)]
    return scores


def item_pairs(tokenizer: Any, item: dict) -> list[tuple[list[int], list[int]]]:
    """lm-eval's requests of one item as token ids: (context, continuation) per choice."""
    return [encode_pair(tokenizer, c, k) for c, k in zip(item["contexts"], item["continuations"])]


def items_logprobs(model: Any, tokenizer: Any, items: list[dict]) -> list[list[float]]:
    """The summed log-likelihood of each choice's continuation after its context, per item: items whose choices
    share a context through ``shared_context_logprobs``, the others (WinoGrande's partial evaluation) as whole
    sequences, all in length-sorted batches."""
    pairs = [item_pairs(tokenizer, item) for item in items]
    pad = pad_token_id(tokenizer)
    shared, separate = [], []
    for i, item in enumerate(pairs):
        (shared if len({tuple(context) for context, _ in item}) == 1 else separate).append(i)
    out: list[list[float]] = [[] for _ in pairs]
    for i, scores in zip(shared, shared_context_logprobs(
            model, [(pairs[i][0][0], [k for _, k in pairs[i]]) for i in shared], pad)):
        out[i] = scores
    flat = batched_pair_logprobs(model, [pair for i in separate for pair in pairs[i]], pad) if separate else []
    at = 0
    for i in separate:
        out[i], at = flat[at:at + len(pairs[i])], at + len(pairs[i])
    return out


def run_static(config: StaticConfig, store: RunStore, *, fresh: bool = False) -> Run:
    """Score the config's questions (read back when stored): per question the log-likelihood of each choice,
    the choice picked by ``acc`` and by ``acc_norm``, and whether each is right."""
    items = load_static(config.benchmark, config.n_problems, config.problem_seed)
    loaded: dict[str, Any] = {}

    def compute(chunk: list[dict]) -> list[dict]:
        if not loaded:  # load_model is cached: the benchmarks of one table share the model
            loaded["model"], loaded["tokenizer"] = load_model(config.model, device=default_device(),
                                                              dtype=config.dtype)
        rows = []
        for item, scores in zip(chunk, items_logprobs(loaded["model"], loaded["tokenizer"], chunk)):
            lengths = [max(1, len(choice)) for choice in item["choices"]]
            picked = int(np.argmax(scores))
            picked_norm = int(np.argmax(np.array(scores) / np.array(lengths)))
            rows.append({"item_id": item["item_id"], "problem_id": item["item_id"], "gold": item["gold"],
                         "n_choices": len(item["choices"]), "scores": scores, "picked": picked,
                         "picked_norm": picked_norm, "correct": picked == item["gold"],
                         "correct_norm": picked_norm == item["gold"], "variant": config.model})
        return rows

    return store.run(config, items, compute, chunk_size=100, fresh=fresh, metrics=_static_metrics)


def headline_metric(benchmark: str) -> str:
    """The metric a static benchmark is judged on: acc_norm where lm-eval reports it (the choices differ in
    length), else acc."""
    return get_static(benchmark).metrics[-1]


def static_scores(config: StaticConfig, store: RunStore) -> pd.Series:
    """Per question (indexed by its id): 1.0 when the headline metric picks the right choice, else 0.0."""
    samples = run_static(config, store).samples.set_index("problem_id")
    column = "correct_norm" if headline_metric(config.benchmark) == "acc_norm" else "correct"
    return samples[column].astype(float)


def _static_metrics(samples: pd.DataFrame) -> dict[str, Any]:
    return {"n_problems": len(samples),
            "acc": metrics.bootstrap_ci(samples["correct"].astype(float)).as_dict(),
            "acc_norm": metrics.bootstrap_ci(samples["correct_norm"].astype(float)).as_dict(),
            "chance": float((1 / samples["n_choices"]).mean())}
