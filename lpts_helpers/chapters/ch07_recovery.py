"""Chapter 07, whether fine-tuning brings pruned models back: the plan (one pruned variant of each model,
recovered by each recipe), the training it asks for, and what the chapter shows (loss curves, compute, changes
against the pruned model, the restored-or-not outcome of each recipe and its claim rows)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..core import metrics
from ..core.config import ConfigError, knob
from ..core.metrics import interval
from ..core.prose import FAMILY_KEYS, NOT_RUN, NUMBER_ROLES, estimate_columns, estimate_text
from ..core.store import Run, RunStore
from ..core.verdicts import claim_table, claims_sentence, evidence_row
from ..engine import evaluation
from ..engine.generation import BackendOptions
from ..methods import study
from ..methods.recovery import RecoveryConfig, recovered_name, train_recovery
from ..methods.study import Task, model_words
from .base import PAPER_METHODS
from .ch06_parallel import sampling_gains
from .pruning import DerivedPlan

PAPER_C5 = "not restored (s1K SFT, LoRA or full; no number reported)"

# The recovery recipes the chapter compares: how each trains, in RecoveryConfig's terms (the data of the SFT
# recipes comes from the plan: the organism's own distribution, distilled traces for a real LLM, s1K at paper scale).
RECIPES = {"lora": {"method": "sft", "adapter": "lora"}, "full": {"method": "sft", "adapter": "full"},
           "self": {"method": "sft", "adapter": "lora", "data": "self"}, "grpo": {"method": "grpo", "adapter": "full"}}


@dataclass(frozen=True)
class RecoveryPlan(DerivedPlan):
    """Chapter 07: one pruned variant of the organism and of the reference, recovered by each recipe, evaluated
    with chapters 04 and 06's settings (the pruning plan's) beside the unpruned and the pruned model."""

    PROFILE_DEFAULTS = {
        "smoke": {"organism_method": "shortgpt", "organism_layers": 1, "reference_layers": 1,
                  "organism_train_tasks": ("organism_recall_open",), "organism_grpo_steps": 4,
                  "reference_grpo_steps": 2, "organism_epochs": 0.1, "reference_epochs": 1.0, "n_train_problems": 16,
                  "reference_examples": 64,
                  "n_train_samples": 4, "organism_self_samples": 4, "self_epochs": 1.0, "num_generations": 4,
                  "grpo_prompts": 1},
        "default": {},
        "paper": {"organism_method": "shortgpt", "reference_method": "shortgpt", "organism_data": "s1k",
                  "reference_data": "s1k", "organism_train_tasks": ("basic_arithmetic@4", "chain_sum@8"),
                  "reference_train_tasks": ("basic_arithmetic@4", "chain_sum@8"),
                  "organism_lr": (1e-5, 1e-5, 1e-6), "reference_lr": (1e-5, 1e-5, 1e-6), "organism_epochs": 5.0,
                  "reference_epochs": 5.0, "organism_grpo_steps": 200, "reference_grpo_steps": 200,
                  "num_generations": 16, "n_train_problems": 1000},
    }

    organism_method: str = knob("shortgpt", choices=PAPER_METHODS, doc="how the organism is cut (the paper's "
                                "method; with two layers cut, 16 samples of 24-step chains stay below the unpruned "
                                "model's single answer and its 2-step pass@16 is flat, chapter 06)")
    organism_layers: int = knob(2, ge=1, doc="layers cut from the organism")
    reference_method: str = knob("shortgpt", choices=PAPER_METHODS, doc="how the reference is cut (the paper's "
                                 "method)")
    reference_layers: int = knob(1, ge=1, doc="layers cut from the reference (one ShortGPT layer takes its long "
                                 "chains from 0.77 to 0.21 and keeps its knowledge, chapter 04)")
    reference_recipes: tuple[str, ...] = knob(("lora", "full"), doc="the recipes tried on the reference: the "
                                              "paper's two (self-generated SFT and GRPO cost CPU-hours on a model "
                                              "that thinks; add them with -p)")
    reference_examples: int = knob(768, ge=1, doc="conversations of the reference's SFT data when it is drawn "
                                   "from a training distribution (data 'thinking': its s1K, 768 problems)")
    recipes: tuple[str, ...] = knob(tuple(RECIPES), doc="lora / full: SFT on the plan's data; self: LoRA SFT on "
                                    "the pruned model's own correct answers; grpo: RL with a correctness reward")
    organism_data: str = knob("organism", doc="SFT data of the organism's lora / full recipes (its own "
                              "training distribution: the s1K analogue)")
    reference_data: str = knob("thinking", doc="SFT data of the reference's lora / full recipes (the thinking "
                               "SmolLM2's own training traces: its s1K)")
    organism_train_tasks: tuple[str, ...] = knob(("organism_chain@2", "organism_recall_open"),
                                                 doc="problems of the organism's self / grpo recipes")
    reference_train_tasks: tuple[str, ...] = knob(("chain_sum@15",), doc="problems of the reference's distill, "
                                                  "self and grpo recipes")
    n_train_problems: int = knob(200, ge=1, doc="training problems per task (problem seed 1; evaluation's are "
                                 "kept out)")
    n_train_samples: int = knob(4, ge=1, doc="samples per training problem for distill and the reference's "
                                "self recipe (correct kept)")
    organism_self_samples: int = knob(16, ge=1, doc="samples per training problem for the organism's self "
                                      "recipe (correct kept): sampled, the pruned organism is rarely right")
    self_epochs: float = knob(5.0, ge=0.01, doc="passes over the self-generated answers (the paper's 5 epochs "
                              "of s1K: the kept set is small)")
    organism_lr: tuple[float, ...] = knob((3e-3, 1e-3, 3e-4), ge=0.0, doc="learning rates of LoRA SFT, full SFT "
                                          "and GRPO on the organism (the paper: 1e-5 for SFT of 8B models)")
    reference_lr: tuple[float, ...] = knob((2e-4, 2e-5, 1e-5), ge=0.0, doc="learning rates of LoRA SFT, full "
                                           "SFT and GRPO on the reference")
    organism_epochs: float = knob(2.0, ge=0.01, doc="passes over the organism's SFT data (2048 conversations)")
    reference_epochs: float = knob(2.0, ge=0.01, doc="passes over the reference's SFT data")
    organism_grpo_steps: int = knob(60, ge=1, doc="GRPO optimizer steps on the organism")
    reference_grpo_steps: int = knob(30, ge=1, doc="GRPO optimizer steps on the reference")
    num_generations: int = knob(8, ge=2, doc="GRPO samples per problem")
    grpo_prompts: int = knob(4, ge=1, doc="GRPO problems per optimizer step")

    def validate(self) -> None:
        for name in ("organism_lr", "reference_lr"):
            if len(getattr(self, name)) != 3:
                raise ConfigError(f"{name}={getattr(self, name)!r} is not allowed; allowed: three learning rates "
                                  f"(LoRA SFT, full SFT, GRPO)")
        for name in ("recipes", "reference_recipes"):
            unknown = sorted(set(getattr(self, name)) - set(RECIPES))
            if unknown:
                raise ConfigError(f"{name}={list(getattr(self, name))!r} has unknown entries {unknown}; allowed: "
                                  f"{list(RECIPES)}")
        for task in (*self.organism_train_tasks, *self.reference_train_tasks):
            study.Task.parse(task)


    def models(self) -> tuple[str, ...]:
        """The models recovered: the thinking model and the reference."""
        return (self.pruning.organism, self.pruning.reference)

    def recipes_of(self, model: str) -> tuple[str, ...]:
        """The recipes tried on ``model``."""
        return self.reference_recipes if model == self.pruning.reference else self.recipes

    def cut(self, model: str) -> tuple[str, int]:
        if model == self.pruning.reference:
            return self.reference_method, self.reference_layers
        return self.organism_method, self.organism_layers

    def pruned_model(self, model: str, store: RunStore) -> str:
        """The name of ``model``'s pruned variant (its prune run is made when not stored)."""
        method, n = self.cut(model)
        return study.variant(model, method, n, store, self.profile)

    def recovery_config(self, model: str, recipe: str, store: RunStore) -> RecoveryConfig:
        """How ``recipe`` recovers ``model``'s pruned variant."""
        pruning = self.pruning
        reference = model == pruning.reference
        knobs = dict(RECIPES[recipe])
        knobs.setdefault("data", self.reference_data if reference else self.organism_data)
        lora, full, grpo = self.reference_lr if reference else self.organism_lr
        grpo_steps = self.reference_grpo_steps if reference else self.organism_grpo_steps
        return RecoveryConfig.for_profile(
            self.profile, model=self.pruned_model(model, store), **knobs,
            tasks=self.reference_train_tasks if reference else self.organism_train_tasks,
            n_train_problems=self.n_train_problems,
            n_train_samples=self.organism_self_samples if recipe == "self" and not reference
            else self.n_train_samples,
            thinks=pruning.thinks(model), **({"n_examples": self.reference_examples} if reference else {}),
            autocast="bf16" if reference and pruning.reference_dtype == "bf16" else "fp32",
            # a model that does not think keeps the config's default budget (unused), so its stored runs stay
            **({"thinking_budget": pruning.thinking_budget} if pruning.thinks(model) else {}),
            eval_problems=max(pruning.reference_problems if reference else pruning.n_problems,
                              pruning.parallel_problems),
            max_answer_tokens=pruning.reference_answer_tokens if reference else pruning.max_answer_tokens,
            lr=grpo if recipe == "grpo" else lora if knobs["adapter"] == "lora" else full,
            epochs=self.self_epochs if recipe == "self" else self.reference_epochs if reference
            else self.organism_epochs,
            max_steps=grpo_steps if recipe == "grpo" else None, num_generations=self.num_generations,
            batch_size=self.grpo_prompts * self.num_generations if recipe == "grpo" else None)

    def recipe_arms(self, store: RunStore) -> dict[str, dict[str, str]]:
        """Per model, each recipe's arm label (as the chapter's tables name it)."""
        return {model: {r: self.recovery_config(model, r, store).label() for r in self.recipes_of(model)}
                for model in self.models()}

    def pruned_arms(self) -> dict[str, str]:
        """Each model's pruned arm, by label."""
        return {model: self.pruned_label(model) for model in self.models()}

    def pruned_label(self, model: str) -> str:
        method, n = self.cut(model)
        return f"pruned ({method}, {n} cut)"

    def static_cells(self, arms: dict[str, list]) -> list:
        """Every arm on every task of its model, with chapter 04's settings."""
        pruning = self.pruning
        return [study.Cell(model, label, n, study.Task.parse(task),
                           pruning.evaluation_of(model, name, study.Task.parse(task)), {})
                for model, rows in arms.items() for task in pruning.tasks(model)
                if task in self.tasks_shown(model) for label, name, n in rows]

    def tasks_shown(self, model: str) -> tuple[str, ...]:
        """The tasks the chapter evaluates (multiple-choice recall is at chance for the organism: left out)."""
        return tuple(t for t in self.pruning.tasks(model) if t != "organism_recall")

    def sampling_cells(self, arms: dict[str, list]) -> list:
        """Every arm sampled many times on its model's parallel task, with chapter 06's settings."""
        pruning = self.pruning
        cells = []
        for model, rows in arms.items():
            task = study.Task.parse(pruning.parallel_task(model))
            cells += [study.Cell(model, label, n, task,
                                 pruning.evaluation_of(model, name, task, **pruning.sampling_knobs(model)), {})
                      for label, name, n in rows]
        return cells

    def budget_cells(self, arms: dict[str, list]) -> list:
        """Every arm of a model that thinks at each of chapter 05's thinking budgets, on its budget set."""
        pruning = self.pruning
        return [study.Cell(model, label, n, task, pruning.evaluation_of(model, name, task, thinking_budget=budget),
                           {"budget": budget})
                for model, rows in arms.items() if pruning.thinks(model)
                for task in [study.Task.parse(pruning.budget_task_of(model))]
                for label, name, n in rows for budget in pruning.budgets]


def loss_curves(runs: dict[str, Run]) -> pd.DataFrame:
    """Every recovery's logged losses and rewards in long form (recipe, step, kind, loss, reward)."""
    return pd.concat([run.samples.assign(recipe=label) for label, run in runs.items()], ignore_index=True)


def compute_table(runs: dict[str, Run]) -> pd.DataFrame:
    """What each recovery spent and how its losses moved."""
    rows = []
    for label, run in runs.items():
        m = run.metrics
        rows.append({"recipe": label, "examples": m.get("examples"), "steps": m.get("steps"),
                     "trainable params (M)": round(m.get("trainable_parameters", 0) / 1e6, 2),
                     "trained tokens": m.get("trained_tokens"), "generated tokens": m.get("generated_tokens"),
                     "PFLOPs": round(m.get("flops", 0.0) / 1e15, 4), "minutes": round(m.get("minutes", 0.0), 1),
                     "held-out loss before → after": _arrow(m.get("heldout_before"), m.get("heldout_after")),
                     "reward (last logs)": m.get("final_reward")})
    return pd.DataFrame(rows)


def _arrow(before: float | None, after: float | None) -> str:
    return "—" if before is None or after is None else f"{before:.3f} → {after:.3f}"


def versus_pruned(table: pd.DataFrame, cells: list, store: RunStore, pruned_arms: dict[str, str]) -> pd.DataFrame:
    """For each recovered arm and task, the paired change in accuracy against its model's pruned arm (95% CI) and
    the share of what pruning took that came back (point estimate; undefined when pruning took nothing)."""
    scores = {(c.model, c.method, c.task.label): study.scores(c.config, store) for c in cells}
    rows = []
    for row in table.itertuples():
        pruned = pruned_arms[row.model]
        if row.method in (pruned, "unpruned"):
            continue
        before = scores[(row.model, pruned, row.task)]
        change = evaluation.paired_gain(before, scores[(row.model, row.method, row.task)])
        lost = row.baseline - float(before.mean())
        rows.append({"model": row.model, "recipe": row.method, "task": row.task, "family": row.family,
                     "accuracy": interval(row.accuracy, row.low, row.high),
                     "change vs pruned": interval(change.value, change.low, change.high),
                     "share of the loss recovered": round(change.value / lost, 2) if lost > 0 else None,
                     "change": change.value, "change_low": change.low, "change_high": change.high})
    return pd.DataFrame(rows)


def with_gain_vs_pruned(gains: pd.DataFrame, cells: list, store: RunStore,
                        pruned_arms: dict[str, str]) -> pd.DataFrame:
    """``study.sampling_gains`` rows plus each arm's change in the gain of k samples against its model's pruned
    arm (paired over problems, 95% CI): did the recovery bring any of the gain back?"""
    def gain(cell: Any) -> pd.Series:
        k = cell.config.n_samples
        return evaluation.per_problem(cell.config, store, "pass", k) - evaluation.per_problem(cell.config, store)

    by_arm = {(c.model, c.method): gain(c) for c in cells}
    rows = []
    for _, row in gains.iterrows():
        change = evaluation.paired_gain(by_arm[(row["model"], pruned_arms[row["model"]])],
                                        by_arm[(row["model"], row["method"])])
        rows.append({"measure": f"pass@{row['k']} − pass@1",
                     "gain change vs pruned": interval(change.value, change.low, change.high),
                     "gain change vs pruned value": change.value, "gain change vs pruned low": change.low,
                     "gain change vs pruned high": change.high})
    return pd.concat([gains.reset_index(drop=True), pd.DataFrame(rows)], axis=1)


def slope_gains(cells: list, store: RunStore, pruned_arms: dict[str, str]) -> pd.DataFrame:
    """Per arm: accuracy gained per doubling of the thinking budget (chapter 05's slope) and its paired changes
    against the unpruned and the pruned arm, over the same problems (a slope is linear in the per-problem scores,
    so the change of slopes is the slope of the per-problem differences, bootstrapped over problems)."""
    curves = {(model, arm): (task, x, frame) for (model, arm, _, task), (x, frame)
              in study.curves(cells, store, "budget", transform=np.log2).items()}
    rows = []
    for (model, arm), (task, x, frame) in curves.items():
        row = {"model": model, "method": arm, "task": task.label, "measure": "accuracy per doubling of the budget"}
        for name, against in (("slope", None), ("gain change vs unpruned", "unpruned"),
                              ("gain change vs pruned", pruned_arms[model])):
            matrix = frame if against is None else frame - curves[(model, against)][2]
            estimate = metrics.slope_ci(x, matrix.dropna().to_numpy())
            row[name] = interval(estimate.value, estimate.low, estimate.high)
            row[f"{name} value"], row[f"{name} low"], row[f"{name} high"] = \
                estimate.value, estimate.low, estimate.high
        rows.append(row)
    return pd.DataFrame(rows)


def slope_table(slopes: pd.DataFrame) -> pd.DataFrame:
    """The budget slopes as the book shows them: per arm, the slope and its changes against the unpruned model
    (negative: still flattened) and the pruned one (positive: some came back)."""
    return slopes[["model", "method", "task", "slope", "gain change vs unpruned", "gain change vs pruned"]].rename(
        columns={"method": "arm", "slope": "accuracy per doubling (95% CI)"})


def gain_table(gains: pd.DataFrame) -> pd.DataFrame:
    """The chapter's sampling gains as the book shows them: pass@1, the gain of k samples, and that gain's change
    against the unpruned model (negative: still flattened) and against the pruned one (positive: some came back)."""
    return gains[["model", "method", "task", "k", "pass@1", "pass@k − pass@1", "gain change vs unpruned",
                  "gain change vs pruned"]].rename(columns={"method": "arm"})


OUTCOMES = ("restored", "still flattened", "inconclusive")


def outcome(row: Any) -> str:
    """What a recovery did to the flattened gain of k samples: "restored" when its gain is back to the unpruned
    model's (the change against it reaches 0) and above the pruned model's (the change against it clears 0);
    "still flattened" when its gain stays below the unpruned model's; else "inconclusive"."""
    if row["gain change vs unpruned high"] < 0:
        return "still flattened"
    return "restored" if row["gain change vs pruned low"] > 0 else "inconclusive"


def pruned_gain_shrank(gains: pd.DataFrame, pruned_arm: str) -> bool:
    """Whether the pruned arm's gain of k samples fell below the unpruned model's (CI of the change below 0);
    when it did not, a recovery has nothing to restore."""
    return bool(gains[gains["method"] == pruned_arm].iloc[0]["gain change vs unpruned high"] < 0)


def recovery_findings(static: pd.DataFrame, changes: pd.DataFrame, gains: pd.DataFrame,
                      slopes: pd.DataFrame) -> dict[str, str]:
    """Per model, one sentence: what pruning took, what each recipe gave back on each task (paired change against
    the pruned model), and whether the sampling gain and, for a model that thinks, the budget slope came back."""
    findings = {}
    for model, group in changes.groupby("model", sort=False):
        lost = static[(static["model"] == model) & (static["pruned_layers"] > 0)]
        pruned = lost.iloc[0]["method"]
        parts = [f"{pruned} keeps " + ", ".join(f"{r.task} {r.accuracy:.2f} of {r.baseline:.2f}"
                                                for r in lost[lost["method"] == pruned].itertuples())]
        for recipe, rows in group.groupby("recipe", sort=False):
            parts.append(f"{recipe}: " + ", ".join(f"{r['task']} {r['accuracy']} ({r['change vs pruned']} vs pruned)"
                                                   for _, r in rows.iterrows()))
        sampled = gains[gains["model"] == model]
        base = sampled[sampled["pruned_layers"] == 0].iloc[0]
        k = int(base["k"])
        shrank = pruned_gain_shrank(sampled, pruned)  # else nothing to restore: no outcome is named
        parts.append(f"pass@{k} − pass@1 unpruned {base['pass@k − pass@1']}; change of that gain vs unpruned: "
                     + ", ".join(f"{r['method']} {r['gain change vs unpruned']}"
                                 + ("" if r["method"] == pruned or not shrank
                                    else f" ({outcome(r)})")
                                 for _, r in sampled[sampled["pruned_layers"] > 0].iterrows())
                     + ("" if shrank else " (the pruned gain did not shrink: nothing to restore)"))
        curve = slopes[slopes["model"] == model]
        if len(curve):
            lost = pruned_gain_shrank(curve, pruned)
            parts.append("accuracy per doubling of the budget: " + ", ".join(
                f"{r['method']} {r['slope']}" + ("" if r["method"] in (pruned, "unpruned") or not lost
                                                 else f" ({outcome(r)})") for _, r in curve.iterrows())
                         + ("" if lost else " (the pruned slope did not shrink: nothing to restore)"))
        findings[model] = f"{model} — " + "; ".join(parts)
    return findings


CLAIMS = (  # claim, the paper's words, the recipes (RECIPES keys) that test it, what it says they do
    ("C5 SFT (LoRA or full) does not restore scaling", PAPER_C5, ("lora", "full"), False),
    ("C5′ RL or self-generated SFT restores scaling (reviewers' question)", "not tested in the paper",
     ("self", "grpo"), True),
)


def recovery_claims(gains: pd.DataFrame, pruned_arms: dict[str, str],
                    recipe_arms: dict[str, dict[str, str]]) -> pd.DataFrame:
    """C5 (SFT does not restore scaling) and the reviewers' question (does RL-style or self-generated SFT?) as
    evidence rows: per model, measure of scaling (the gain of k samples, ``with_gain_vs_pruned`` rows; the budget
    slope, ``slope_gains`` rows) and recipe, the change of the measure against the unpruned model, paired over
    problems, and the recipe's ``outcome``. ``recipe_arms`` gives, per model, each recipe's arm label. A measure
    the pruned model did not lose has nothing to restore (not testable); an inconclusive recovery counts for
    neither side."""
    rows = []
    for claim, paper, recipes, claimed in CLAIMS:
        for (model, measure), group in gains.groupby(["model", "measure"], sort=False):
            lost = pruned_gain_shrank(group, pruned_arms[model])
            labels = [recipe_arms[model][r] for r in recipes if r in recipe_arms[model]]
            for _, row in group[group["method"].isin(labels)].iterrows():
                result = outcome(row)
                agrees = ("not testable here" if not lost else "inconclusive" if result == "inconclusive"
                          else "agrees" if (result == "restored") == claimed else "disagrees")
                rows.append(evidence_row(
                    claim, f"{model_words(model)}, {Task.parse(row['task']).words}", row["method"],
                    f"change in {measure} vs unpruned ({result if lost else 'nothing lost'})",
                    row["gain change vs unpruned value"], row["gain change vs unpruned low"],
                    row["gain change vs unpruned high"], agrees, paper=paper, digits=3 if "budget" in measure else 2))
    return claim_table(rows)


def arms(plan: RecoveryPlan, store: RunStore, *, options: BackendOptions | None = None) -> dict[str, list]:
    """Per model: (label, model name, layers cut) of the unpruned, the pruned and each recovered model;
    recoveries are trained here when not stored."""
    rows = {}
    for model in plan.models():
        n = plan.cut(model)[1]
        configs = [plan.recovery_config(model, r, store) for r in plan.recipes_of(model)]
        rows[model] = [("unpruned", model, 0), (plan.pruned_label(model), plan.pruned_model(model, store), n)] + [
            (c.label(), recovered_name(c, store, options=options, progress=False), n) for c in configs]
    return rows


def recovery_runs(plan: RecoveryPlan, store: RunStore) -> dict[str, Run]:
    """Every recovery's stored run (trained when missing), labelled "model · recipe"."""
    runs = {}
    for model in plan.models():
        for recipe in plan.recipes_of(model):
            config = plan.recovery_config(model, recipe, store)
            runs[f"{model} · {config.label()}"] = train_recovery(config, store, progress=False)
    return runs


def claims(plan: RecoveryPlan, store: RunStore, *, options: BackendOptions | None = None) -> pd.DataFrame:
    """The recovery chapter's "paper vs ours" rows recomputed from its stored runs (the summary page's rows)."""
    recovered = arms(plan, store, options=options)
    cells, budgets = plan.sampling_cells(recovered), plan.budget_cells(recovered)
    evaluation.sweep([c.config for c in cells + budgets], store, options=options)
    return recovery_claims(scaling_gains(plan, cells, budgets, store), plan.pruned_arms(), plan.recipe_arms(store))


def scaling_gains(plan: RecoveryPlan, sampling: list, budgets: list, store: RunStore) -> pd.DataFrame:
    """Both measures of scaling per arm, against the unpruned and the pruned arm: the gain of k samples and the
    budget slope (the rows ``recovery_claims`` reads)."""
    pruned = plan.pruned_arms()
    return pd.concat([with_gain_vs_pruned(sampling_gains(sampling, store), sampling, store, pruned),
                      slope_gains(budgets, store, pruned)], ignore_index=True)


# The prose's numbers: every role the chapter recovers, arm and family gets a key in every profile ("—" where the
# plan does not run it), so a page cites the same keys whichever profile built it.
RECIPE_WORDS = {"lora": "LoRA SFT", "full": "full SFT", "self": "self-generated SFT", "grpo": "GRPO"}


def _arm_labels(plan: RecoveryPlan, model: str, recipe_arms: dict[str, dict[str, str]]) -> dict[str, str | None]:
    """Each arm (unpruned, pruned, each recipe of ``RECIPES``) by the label the chapter's tables give it on
    ``model`` (None: not run on it)."""
    recipes = recipe_arms.get(model, {})
    return {"unpruned": "unpruned", "pruned": plan.pruned_label(model), **{r: recipes.get(r) for r in RECIPES}}


def key_numbers(static: pd.DataFrame, gains: pd.DataFrame, slopes: pd.DataFrame, plan: RecoveryPlan,
                recipe_arms: dict[str, dict[str, str]]) -> dict[str, str]:
    """The numbers chapter 07's prose cites, by name: per role ("organism", "reference") the cut (``{role}_cut``,
    "ShortGPT, 1 of 30 layers cut"), its long chains in words (``{role}_long_task``), the samples of its gains
    (``{role}_k``) and, per arm (unpruned, pruned and each recipe of ``RECIPES``), each family's accuracy
    (``{role}_{family}_acc_{arm}``), the gains of k samples over one (``{role}_pass_gain_{arm}``,
    ``{role}_maj_gain_{arm}``) and the accuracy per doubling of the thinking budget (``{role}_slope_{arm}``)."""
    roles = plan.pruning.roles()
    numbers: dict[str, str] = {}
    for role in NUMBER_ROLES:
        model = roles[role]
        mine, sampled, curve = (t[t["model"] == model] for t in (static, gains, slopes))
        long_tasks = mine.loc[mine["family"] == "long chains", "task"].unique()
        numbers[f"{role}_cut"] = study.cut_words(model, *plan.cut(model))
        numbers[f"{role}_long_task"] = Task.parse(long_tasks[0]).words if len(long_tasks) else NOT_RUN
        numbers[f"{role}_k"] = str(int(sampled["k"].iloc[0])) if len(sampled) else NOT_RUN
        for arm, label in _arm_labels(plan, model, recipe_arms).items():
            for family, key in FAMILY_KEYS.items():
                numbers[f"{role}_{key}_acc_{arm}"] = estimate_text(
                    mine[(mine["method"] == label) & (mine["family"] == family)])
            drawn = sampled[sampled["method"] == label]
            numbers[f"{role}_pass_gain_{arm}"] = estimate_text(drawn.head(1), *estimate_columns("pass@k − pass@1"))
            numbers[f"{role}_maj_gain_{arm}"] = estimate_text(drawn.head(1), *estimate_columns("maj@k − pass@1"))
            numbers[f"{role}_slope_{arm}"] = estimate_text(curve[curve["method"] == label].head(1),
                                                           *estimate_columns("slope"))
    return numbers


# What a group of recipes does to a budget slope, by ``outcome``: the verb (one recipe; several) and its state
OUTCOME_WORDS = {"restored": ("restores", "restore", ""), "still flattened": ("leaves", "leave", " flattened"),
                 "inconclusive": ("leaves", "leave", " undecided")}


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _slope_outcomes(slopes: pd.DataFrame, model: str, pruned_arm: str, labels: dict[str, str | None]) -> str:
    """Which recipes restore ``model``'s budget slope and which leave it flattened, as one clause ("LoRA SFT and
    full SFT restore its budget slope, while GRPO leaves it flattened"): the verdict's words follow ``outcome``."""
    curve = slopes[slopes["model"] == model]
    if curve.empty:
        return "no budget slope is measured"
    if not pruned_gain_shrank(curve, pruned_arm):
        return "pruning did not flatten its budget slope, so no recipe has one to restore"
    named: dict[str, list[str]] = {result: [] for result in OUTCOMES}
    for recipe, label in labels.items():
        row = curve[curve["method"] == label]
        if recipe in RECIPES and len(row):
            named[outcome(row.iloc[0])].append(RECIPE_WORDS[recipe])
    clauses = []
    for result, names in named.items():
        if not names:
            continue
        single, several, state = OUTCOME_WORDS[result]
        clauses.append(f"{_listed(names)} {several if len(names) > 1 else single} "
                       f"{'it' if clauses else 'its budget slope'}{state}")
    return ", while ".join(clauses) or "no recipe is run on it"


def verdict(static: pd.DataFrame, gains: pd.DataFrame, slopes: pd.DataFrame, plan: RecoveryPlan,
            recipe_arms: dict[str, dict[str, str]], claims: pd.DataFrame, recipe: str = "full") -> str:
    """Chapter 07's verdict: what ``recipe`` gives back to the pruned reference (its budget slope and its long
    chains, beside pruned and unpruned), which recipes restore the organism's budget slope, then the claims."""
    n = key_numbers(static, gains, slopes, plan, recipe_arms)
    roles = plan.pruning.roles()
    first = (f"After {RECIPE_WORDS[recipe]} the {model_words(roles['reference'])} ({n['reference_cut']}) gains "
             f"{n[f'reference_slope_{recipe}']} per doubling of its thinking budget (pruned "
             f"{n['reference_slope_pruned']}, unpruned {n['reference_slope_unpruned']}) and solves "
             f"{n[f'reference_long_acc_{recipe}']} of its {n['reference_long_task']} (pruned "
             f"{n['reference_long_acc_pruned']}, unpruned {n['reference_long_acc_unpruned']}).")
    organism = roles["organism"]
    recovered = _slope_outcomes(slopes, organism, plan.pruned_label(organism),
                                _arm_labels(plan, organism, recipe_arms))
    return f"{first} On the {model_words(organism)} ({n['organism_cut']}), {recovered}. {claims_sentence(claims)}"
