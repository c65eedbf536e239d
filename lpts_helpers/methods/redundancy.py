"""How much each layer matters, measured the same way on any model: remove one layer at a time and record the
rise of the next-token loss on held-out text and what is left of the accuracy on tasks the model can do.

This is the realism check of the model organism (is it about as redundant as a real LLM?) and the single-layer
map the pruning chapters start from. Block Influence, the score ShortGPT prunes by, comes from
``prune.block_influence``; this module measures what removing the layer actually costs. Introduced in
``02-the-model-organism``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from ..core import metrics
from ..core.config import knob
from ..core.store import Run, RunStore
from ..engine.backends.hf import HFBackend
from ..engine.evaluation import EvalConfig
from ..engine.scaling import generate_traces
from ..models.loading import load_model
from ..models.registry import ModelStageConfig, check_model, thinking_format
from ..tasks.grading import grade
from .organism import heldout_examples
from .prune import calibration_texts, decoder_layers, without_layer
from .study import Task, task_config

TEXT_SOURCES = ("gsm8k-train", "organism-thinking", "organism-direct")


@dataclass(frozen=True)
class RemovalConfig(ModelStageConfig):
    """Single-layer removal: held-out loss and task accuracy without each layer (the "layer-removal" stage)."""

    STAGE = "layer-removal"
    # the committed sweeps were stored before the knob existed
    LATE_FIELDS: ClassVar[dict[str, Any]] = {"dtype": "auto"}
    PROFILE_DEFAULTS = {"smoke": {"n_texts": 4, "n_problems": 2, "max_answer_tokens": 8},
                        "default": {}, "paper": {"model": "qwen3-8b", "n_texts": 256, "n_problems": 100}}

    model: str = knob("organism", doc="a model preset or a local checkpoint directory")
    text_source: str = knob("organism-thinking", choices=TEXT_SOURCES, doc="held-out text the loss is taken on")
    n_texts: int = knob(64, ge=1, doc="held-out texts")
    text_length: int = knob(256, ge=8, doc="tokens per text at most")
    tasks: tuple[str, ...] = knob(("organism_recall", "organism_chain@2"), doc="benchmark or benchmark@chain length")
    n_problems: int = knob(60, ge=1, doc="problems per task (greedy)")
    thinking_budget: int | None = knob(256, ge=1, doc="thinking tokens on chain tasks; None = answer directly")
    max_answer_tokens: int = knob(16, ge=1, doc="answer tokens at most")
    dtype: str = knob("auto", choices=("auto", "bf16", "fp16", "fp32"), doc="weights while sweeping (auto: bf16 on "
                      "GPU, fp32 on CPU)")

    def validate(self) -> None:
        check_model(self.model)
        for task in self.tasks:
            self.eval_config(task)

    def eval_config(self, task: str) -> EvalConfig:
        """The evaluation a task names (its prompt, budget and grading); chains think, other tasks answer."""
        return task_config(self.model, Task.parse(task), n_problems=self.n_problems, thinks=True,
                           thinking_budget=self.thinking_budget, max_answer_tokens=self.max_answer_tokens)


def scored_texts(source: str, n: int) -> list[list[tuple[str, bool]]]:
    """Held-out texts as (text, scored) segments: all of a worked solution; only the reply of an organism chat."""
    if source.startswith("organism-"):
        return heldout_examples(source.removeprefix("organism-"), n)
    return [[(text, True)] for text in calibration_texts(source, n)]


def heldout_nll(model: Any, tokenizer: Any, texts: list[list[tuple[str, bool]]], max_length: int) -> float:
    """Mean next-token negative log-likelihood over the scored tokens of ``texts`` (teacher forcing)."""
    total, count = 0.0, 0
    with torch.inference_mode():
        for segments in texts:
            ids: list[int] = []
            scored: list[bool] = []
            for text, keep in segments:
                piece = tokenizer(text, add_special_tokens=False)["input_ids"]
                ids += piece
                scored += [keep] * len(piece)
            ids, scored = ids[:max_length], scored[:max_length]
            logits = model(input_ids=torch.tensor([ids], device=model.device), use_cache=False).logits[0].float()
            logprobs = torch.log_softmax(logits[:-1], dim=-1)
            targets = torch.tensor(ids[1:], device=model.device)
            mask = torch.tensor(scored[1:], device=model.device)
            picked = logprobs.gather(1, targets[:, None])[:, 0]
            total -= float(picked[mask].sum())
            count += int(mask.sum())
    return total / max(count, 1)


def _task_rows(config: RemovalConfig, task: str, backend: HFBackend) -> list[dict]:
    evaluation = config.eval_config(task)
    problems = evaluation.problems().to_dict("records")
    prompts = [evaluation.prompt(backend.tokenizer, p) for p in problems]
    traces = generate_traces(backend, prompts, [0] * len(prompts), evaluation.budget(),
                             thinking_format(config.model))
    rows = []
    for problem, trace in zip(problems, traces):
        graded = grade(trace.completion, problem["answer"], extractor=evaluation.extractor_name,
                       scorer=evaluation.scorer_name)
        rows.append({"measure": task, "problem_id": problem["problem_id"], "value": float(graded.correct),
                     "completion": trace.completion})
    return rows


def run_removal(config: RemovalConfig, store: RunStore, *, fresh: bool = False) -> Run:
    """One row per (layer, held-out loss) and per (layer, task problem); ``layer = -1`` is the unpruned model.
    Layers are removed one at a time in place (no copy) and stored one at a time, so a sweep resumes."""
    loaded: dict[str, Any] = {}

    def ensure() -> tuple[Any, Any]:
        if not loaded:
            loaded["model"], loaded["tokenizer"] = load_model(config.model, dtype=config.dtype)
        return loaded["model"], loaded["tokenizer"]

    def compute(chunk: list[dict]) -> list[dict]:
        model, tokenizer = ensure()
        texts = scored_texts(config.text_source, config.n_texts)
        rows = []
        for item in chunk:
            with without_layer(model, item["layer"]):
                found = [{"measure": "heldout_nll", "problem_id": "", "completion": "",
                          "value": heldout_nll(model, tokenizer, texts, config.text_length)}]
                backend = HFBackend(model, tokenizer, batch_size=64)
                for task in config.tasks:
                    found += _task_rows(config, task, backend)
            rows += [{"item_id": item["item_id"], "layer": item["layer"], **row} for row in found]
        return rows

    if store.is_complete(config) and not fresh:
        return store.run(config, [], compute, metrics=removal_metrics)
    items = [{"item_id": f"layer:{i}", "layer": i} for i in range(-1, len(decoder_layers(ensure()[0])))]
    return store.run(config, items, compute, chunk_size=1, fresh=fresh, metrics=removal_metrics)


def removal_table(samples: pd.DataFrame) -> pd.DataFrame:
    """Per (layer, measure): the value without that layer and what it keeps of the unpruned model's.

    For the held-out loss, ``relative`` is the relative rise of the loss; for a task, ``relative`` is retention
    (accuracy over the unpruned accuracy) and ``drop`` the paired accuracy difference with its 95% CI.
    """
    rows = []
    base = samples[samples["layer"] == -1]
    for (layer, measure), group in samples[samples["layer"] >= 0].groupby(["layer", "measure"], sort=True):
        reference = base[base["measure"] == measure].set_index("problem_id")["value"]
        values = group.set_index("problem_id")["value"].reindex(reference.index)
        row = {"layer": int(layer), "measure": measure, "value": float(values.mean()),
               "baseline": float(reference.mean())}
        if measure == "heldout_nll":
            row["relative"] = row["value"] / row["baseline"] - 1
        else:
            row["relative"] = row["value"] / row["baseline"] if row["baseline"] > 0 else np.nan
            drop = metrics.paired_difference_ci(reference.to_numpy(), values.to_numpy())
            row.update(drop=drop.value, drop_low=drop.low, drop_high=drop.high)
        rows.append(row)
    table = pd.DataFrame(rows)
    n_layers = int(table["layer"].max()) + 1 if len(table) else 0
    table["depth"] = (table["layer"] + 0.5) / max(n_layers, 1)  # relative depth, to compare models of any depth
    return table


def removal_metrics(samples: pd.DataFrame) -> dict[str, Any]:
    """Per measure: the unpruned value, the median single removal and the worst layer (retention of a task the
    unpruned model never solves is undefined: no worst layer)."""
    out: dict[str, Any] = {}
    for measure, group in removal_table(samples).groupby("measure"):
        relative = group["relative"].dropna()
        entry = {"baseline": float(group["baseline"].iloc[0]),
                 "median_relative": float(relative.median()) if len(relative) else None}
        if len(relative):
            worst = relative.idxmax() if measure == "heldout_nll" else relative.idxmin()
            entry.update(worst_layer=int(group.loc[worst, "layer"]), worst_relative=float(relative[worst]))
        out[measure] = entry
    return out


def profile_frame(influence: dict[str, Run], tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Per-layer profiles of several models in long form (model, layer, depth, measure, value), for the profile
    chart: Block Influence (``prune.run_prune`` rows), the relative rise of held-out loss and retention per task
    (``removal_table`` rows)."""
    frames = []
    for model, run in influence.items():
        scores = run.samples
        frames.append(pd.DataFrame({"model": model, "layer": scores["layer"], "measure": "Block Influence (1 − cos)",
                                    "value": scores["score"], "depth": (scores["layer"] + 0.5) / len(scores)}))
        table = tables[model]
        labels = table["measure"].map(lambda m: "held-out loss, relative rise" if m == "heldout_nll"
                                      else f"retention: {m}")
        frames.append(pd.DataFrame({"model": model, "layer": table["layer"], "measure": labels,
                                    "value": table["relative"], "depth": table["depth"]}))
    return pd.concat(frames, ignore_index=True)


def summary_table(tables: dict[str, pd.DataFrame], *, loss_tolerance: float = 0.1,
                  retention: float = 0.9) -> pd.DataFrame:
    """Per model: how many single layers cost at most ``loss_tolerance`` relative held-out loss, how many keep
    ``retention`` of each task's accuracy, and the worst single removal of each measure."""
    rows = []
    for model, table in tables.items():
        n_layers = int(table["layer"].nunique())
        for measure, group in table.groupby("measure"):
            loss = measure == "heldout_nll"
            ok = group["relative"] <= loss_tolerance if loss else group["relative"] >= retention
            relative = group["relative"].fillna(-np.inf if loss else np.inf)  # undefined retention never worst
            worst = group.loc[relative.idxmax() if loss else relative.idxmin()]
            rows.append({"model": model, "measure": "held-out loss" if loss else f"accuracy: {measure}",
                         "unpruned": round(float(group["baseline"].iloc[0]), 3),
                         "layers removable at small cost": f"{int(ok.sum())} of {n_layers}" if loss or
                         group["baseline"].iloc[0] > 0 else "uninformative: the unpruned model scores 0",
                         "rule": f"loss +{loss_tolerance:.0%} at most" if loss else f"keeps {retention:.0%}",
                         "median single removal": round(float(group["relative"].median()), 3),
                         "worst layer": int(worst["layer"]), "worst": round(float(worst["relative"]), 3)})
    return pd.DataFrame(rows)


def describe(summary: pd.DataFrame, model: str) -> str:
    """One model's row group of ``summary_table`` as a clause for a chapter's verdict."""
    rows = summary[summary["model"] == model]
    return "; ".join(f"{row['measure']}: {row['layers removable at small cost']} layers ({row['rule']})"
                     for _, row in rows.iterrows())
