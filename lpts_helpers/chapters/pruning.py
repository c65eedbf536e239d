"""The pruning plan of chapters 03–06 (the paper's core claims): who is pruned how far by which method, and
how every variant is evaluated, as cells; and the base of the later chapters' plans, which reuse it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..core.config import ConfigError, knob
from ..core.store import RunStore
from ..engine.evaluation import EvalConfig
from ..engine.likelihood import StaticConfig
from ..methods import study
from ..methods.prune import PruneConfig, run_prune
from ..methods.redundancy import RemovalConfig
from ..models.registry import check_model
from .base import PAPER_METHODS, ChapterPlan, reference_removal


@dataclass(frozen=True)
class PruningPlan(ChapterPlan):
    """Chapters 03–06, the paper's core claims: which layers look redundant, static accuracy against the number
    of pruned layers, and sequential and parallel scaling at each level of pruning, for the organism, its
    direct-answer control and a real LLM (the embedded default), or the paper's models (``paper``)."""

    PROFILE_DEFAULTS = {
        "smoke": {"methods": ("shortgpt", "reverse"), "organism_seeds": (), "organism_levels": (1,),
                  "reference_levels": (1,),
                  "n_problems": 3, "reference_problems": 2, "reference_answer_tokens": 8,
                  "organism_tasks": ("organism_recall_open", "organism_chain@2"),
                  "reference_tasks": ("chain_sum@2", "arc_easy"), "static_questions": 4,
                  "sensitivity_tasks": ("organism_recall_open",), "sensitivity_problems": 2, "sensitivity_texts": 2,
                  "reference_sensitivity_tasks": (), "scaling_levels": (0, 1),
                  "reference_long_task": "chain_sum@3", "reference_budget_task": "chain_sum_mix@3",
                  "long_task": "organism_chain@8", "budget_task": "organism_chain_mix@8", "budgets": (16, 64),
                  "wait_counts": (0, 1), "parallel_tasks": ("organism_chain@2",),
                  "n_samples": 2, "reference_samples": 2, "parallel_problems": 2},
        "default": {},
        "paper": {"organism": "qwen3-8b", "organism_seeds": (), "control": "qwen3-8b", "reference": "s1.1-7b",
                  "backend": "vllm",
                  "organism_levels": (1, 2, 3, 4, 5, 6, 7), "reference_levels": (1, 2, 3),
                  "organism_tasks": ("mmlu", "gsm8k", "math500", "aime24"), "reference_tasks": ("math500", "aime24"),
                  "n_problems": 500, "reference_problems": 500, "thinking_budget": 8192, "max_answer_tokens": 1024,
                  "reference_answer_tokens": 1024, "budgets": (512, 1024, 2048, 4096, 8192), "long_task": "aime24",
                  "budget_task": "aime24",
                  "parallel_tasks": ("aime24",), "n_samples": 64, "reference_samples": 64, "parallel_problems": 30,
                  "scaling_levels": (0, 1, 2, 3), "reference_scaling_levels": (0, 1, 2, 3),
                  "sensitivity_tasks": (), "reference_sensitivity_tasks": (),
                  "reference_long_task": "aime24", "reference_budget_task": "aime24", "reference_dtype": "auto"},
    }

    organism: str = knob("organism", doc="the thinking model (paper: Qwen3-8B)")
    organism_seeds: tuple[str, ...] = knob(("organism-seed1", "organism-seed2"), doc="the thinking model's other "
                                           "training seeds, pruned and evaluated as it is in chapter 04 (the "
                                           "spread over seeds); empty: none")
    control: str = knob("organism-direct", doc="the direct-answer control (paper profile: the same model)")
    reference: str = knob("smollm2-135m-think", doc="the real LLM of the embedded default: SmolLM2-135M-Instruct "
                          "taught to think the s1 way (chapter 02; paper: s1.1-7B)")
    reference_thinks: bool = knob(True, doc="whether the reference writes a thinking section")
    backend: str = knob("hf", choices=("hf", "vllm"), doc="generation backend")
    methods: tuple[str, ...] = knob(("shortgpt", "reverse", "laco"), doc="pruning methods compared")
    organism_levels: tuple[int, ...] = knob((1, 2, 3), ge=1, doc="layers cut from the organism and the control "
                                            "(3 of 12 is 25% of depth)")
    reference_levels: tuple[int, ...] = knob((1, 2, 3, 8), ge=1, doc="layers cut from the reference (8 of 30 is 27%)")
    organism_tasks: tuple[str, ...] = knob(("organism_recall_open", "organism_recall", "organism_chain@2",
                                            "organism_chain@24"), doc="the organism's and the control's tasks "
                                            "(24 steps: chapter 02's long chains)")
    reference_tasks: tuple[str, ...] = knob(("chain_sum@15", "chain_sum@3", "arc_easy", "piqa", "hellaswag",
                                             "openbookqa"), doc="the reference's tasks: reasoning-gym sums of 15 "
                                            "and 3 terms (the first is its parallel task; 0.77 and 0.99 unpruned) "
                                            "and the static sets it is above chance on (its knowledge side)")
    n_problems: int = knob(60, ge=1, doc="problems per organism task")
    reference_problems: int = knob(100, ge=1, doc="problems per generated reference task")
    thinking_budget: int = knob(384, ge=1, doc="thinking tokens (a 24-step chain takes about 200; slips and "
                                "forced Waits add lines)")
    max_answer_tokens: int = knob(16, ge=1, doc="answer tokens of the organism")
    reference_answer_tokens: int = knob(16, ge=1, doc="answer tokens of the reference (after its thinking)")
    sensitivity_tasks: tuple[str, ...] = knob(("organism_recall_open", "organism_recall", "organism_chain@2",
                                               "organism_chain@24"), doc="tasks of the single-layer map")
    sensitivity_problems: int = knob(40, ge=1, doc="problems per task in the single-layer map")
    sensitivity_texts: int = knob(16, ge=1, doc="held-out texts for the loss in the single-layer map")
    reference_sensitivity_tasks: tuple[str, ...] = knob(("chain_sum@15",), doc="the reference's tasks in the "
                                                         "single-layer map (empty: none)")
    reference_sensitivity_problems: int = knob(40, ge=1, doc="problems per task in the reference's map (a pruned "
                                               "SmolLM2 that loops costs ~2 CPU minutes per 40 long chains)")
    reference_sensitivity_texts: int = knob(32, ge=1, doc="held-out texts in the reference's map")
    scaling_levels: tuple[int, ...] = knob((0, 1, 2), ge=0, doc="pruned layers of the organism's and the "
                                           "control's scaling curves")
    reference_scaling_levels: tuple[int, ...] = knob((0, 1), ge=0, doc="pruned layers of the reference's scaling "
                                                     "curves (with two cut its long chains are at 0.02, chapter 04, "
                                                     "and every curve would sit on the floor)")
    long_task: str = knob("organism_chain@24", doc="the long-chain task of the forced-'Wait' curve and the traces")
    budget_task: str = knob("organism_chain_mix@24", doc="the set the thinking budget is swept on: chains of 1-24 "
                            "steps mixed, as MATH500 mixes levels (one length would make the curve a single step)")
    reference_long_task: str = knob("chain_sum@15", doc="the reference's long-chain task of the forced-'Wait' "
                                    "curve (when it thinks)")
    reference_budget_task: str = knob("chain_sum_mix@15", doc="the set the reference's thinking budget is swept "
                                      "on (when it thinks)")
    static_questions: int = knob(500, ge=1, doc="questions per static benchmark (a fixed seeded subset; every "
                                 "variant answers the same ones)")
    reference_dtype: str = knob("bf16", choices=("auto", "bf16", "fp16", "fp32"), doc="the reference's weights "
                                "(auto: bf16 on GPU, fp32 on CPU; bf16 is ~2.5x faster on a CPU with AMX)")
    budgets: tuple[int, ...] = knob((24, 48, 96, 192, 384), ge=1, doc="thinking budgets of the sequential curve "
                                    "(doubling; a 24-step chain needs about 200)")
    wait_counts: tuple[int, ...] = knob((0, 1, 2), ge=0, doc="forced 'Wait's of the sequential curve")
    parallel_tasks: tuple[str, ...] = knob(("organism_chain@24", "organism_chain@2"), doc="the organism's tasks "
                                           "of the parallel curves (the first is also chapters 07, 08 and 10's; the "
                                           "reference uses its first task)")
    n_samples: int = knob(16, ge=1, doc="samples per problem for the organism's pass@k and maj@k")
    reference_samples: int = knob(8, ge=1, doc="samples per problem for the reference's pass@k and maj@k")
    parallel_problems: int = knob(30, ge=1, doc="problems per task of the parallel curves")
    temperature: float = knob(1.0, ge=0.0, doc="sampling temperature of the parallel curves (the paper's 1.0)")

    def validate(self) -> None:
        for model in (self.organism, *self.organism_seeds, self.control, self.reference):
            check_model(model)
        unknown = sorted(set(self.methods) - set(PAPER_METHODS))
        if unknown:
            raise ConfigError(f"methods={list(self.methods)!r} has unknown entries {unknown}; allowed: "
                              f"{list(PAPER_METHODS)}")
        for task in (*self.organism_tasks, *self.reference_tasks, *self.sensitivity_tasks, self.long_task,
                     self.budget_task, self.reference_long_task, self.reference_budget_task, *self.parallel_tasks):
            study.Task.parse(task)
        if study.Task.parse(self.parallel_task(self.reference)).static:
            raise ConfigError(f"reference_tasks={list(self.reference_tasks)!r} starts with a static benchmark; "
                              f"allowed: a generated task first (it is the reference's parallel-scaling task)")

    # --- who is pruned how far, and how each is evaluated ---------------------------------------------------------

    def models(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((self.organism, self.control, self.reference)))

    def levels(self, model: str) -> tuple[int, ...]:
        return self.reference_levels if model == self.reference else self.organism_levels

    def thinks(self, model: str) -> bool:
        if model == self.reference:
            return self.reference_thinks
        return model == self.organism or model in self.organism_seeds

    def scaling_levels_of(self, model: str) -> tuple[int, ...]:
        """Pruned layers of ``model``'s budget, forced-'Wait' and sampling curves (0: unpruned)."""
        return self.reference_scaling_levels if model == self.reference else self.scaling_levels

    def tasks(self, model: str) -> tuple[str, ...]:
        return self.reference_tasks if model == self.reference else self.organism_tasks

    def roles(self) -> dict[str, str]:
        """Each model by the part it plays, as the chapters' prose names it (a model may play several)."""
        return {"organism": self.organism, "control": self.control, "reference": self.reference}

    def seed_models(self) -> tuple[str, ...]:
        """The thinking model and its other seeds (the first seed alone when there are none)."""
        return tuple(dict.fromkeys((self.organism, *self.organism_seeds)))

    def long_task_of(self, model: str) -> str:
        return self.reference_long_task if model == self.reference else self.long_task

    def budget_task_of(self, model: str) -> str:
        return self.reference_budget_task if model == self.reference else self.budget_task

    def evaluation_of(self, model: str, name: str, task: Any, **knobs: Any) -> EvalConfig | StaticConfig:
        """How variant ``name`` of ``model`` (the model itself, pruned or recovered) is evaluated on ``task``:
        the same settings for every variant, so their stored runs compare. A static benchmark is scored by
        log-likelihood on the plan's fixed subset of its questions."""
        reference = model == self.reference
        if reference and self.reference_dtype != "auto":
            knobs.setdefault("dtype", self.reference_dtype)
        if task.static:
            return StaticConfig(model=name, benchmark=task.benchmark, n_problems=self.static_questions,
                                dtype=knobs.get("dtype", "auto"))
        return study.task_config(name, task,
                                 n_problems=knobs.pop("n_problems", self.reference_problems if reference
                                                      else self.n_problems),
                                 thinks=self.thinks(model), thinking_budget=knobs.pop("thinking_budget",
                                                                                      self.thinking_budget),
                                 max_answer_tokens=knobs.pop("max_answer_tokens", self.reference_answer_tokens
                                                             if reference else self.max_answer_tokens),
                                 backend=self.backend, **knobs)

    def sampling_knobs(self, model: str) -> dict[str, Any]:
        """The parallel-scaling settings of ``model``: problems, samples per problem, temperature."""
        return {"n_problems": self.parallel_problems, "temperature": self.temperature,
                "n_samples": self.reference_samples if model == self.reference else self.n_samples}

    def parallel_task(self, model: str) -> str:
        """The task of ``model``'s parallel curves (the reference's first task)."""
        return self.reference_tasks[0] if model == self.reference else self.parallel_tasks[0]

    def variants(self, model: str, methods: tuple[str, ...] | None = None) -> list[tuple[str, int]]:
        """(method, pruned layers) of every variant of ``model`` by ``methods`` (default: the plan's): the
        unpruned model once, under the first method, then each method at each level."""
        methods = methods or self.methods
        return [(method, n) for method in methods for n in (0, *self.levels(model)) if n > 0 or method == methods[0]]

    def parallel_cells(self, store: RunStore) -> list:
        """The sampling cells of each model's first parallel task, the unpruned model once (chapters 08 and 10)."""
        return [c for c in self.sampling_cells(store)
                if c.task.label == study.Task.parse(self.parallel_task(c.model)).label
                and (c.n_layers > 0 or c.method == self.methods[0])]

    def cell(self, model: str, method: str, n: int, task: Any, store: RunStore, setting: dict,
             **knobs: Any):
        """``model`` cut by ``method`` at ``n`` layers (0: unpruned), evaluated on ``task`` with this plan's
        settings (``knobs`` override them)."""
        config = self.evaluation_of(model, study.variant(model, method, n, store, self.profile), task, **knobs)
        return study.Cell(model, method, n, task, config, setting)

    # --- chapter 03: which layers look redundant --------------------------------------------------------------

    def influence_configs(self) -> dict[str, PruneConfig]:
        """Block Influence of every layer (the last scored too) of each model, on its own calibration text."""
        return {m: PruneConfig(model=m, method="shortgpt", n_layers=1, score_last_layer=True,
                               calibration=study.calibration_for(m)) for m in self.models()}

    def sensitivity_configs(self) -> dict[str, RemovalConfig]:
        """The single-layer map: each layer of the organism, the control and the reference removed alone, per
        task."""
        configs = {}
        for model in (self.organism, self.control):
            if model in configs or not self.sensitivity_tasks:
                continue
            configs[model] = RemovalConfig(model=model, text_source=study.calibration_for(model),
                                           tasks=self.sensitivity_tasks,
                                           n_problems=self.sensitivity_problems,
                                           n_texts=self.sensitivity_texts,
                                           thinking_budget=self.thinking_budget if self.thinks(model) else None)
        if self.reference_sensitivity_tasks:
            configs[self.reference] = reference_removal(
                self.reference, self.reference_sensitivity_tasks, self.reference_answer_tokens,
                n_problems=self.reference_sensitivity_problems, n_texts=self.reference_sensitivity_texts,
                thinking_budget=self.thinking_budget if self.reference_thinks else None, dtype=self.reference_dtype)
        return configs

    # --- chapter 04: static benchmarks --------------------------------------------------------------------------

    def depths(self, store: RunStore) -> dict[str, int]:
        """Decoder layers of each model, read from its first pruning recipe (stored with the cut)."""
        return {m: run_prune(study.prune_config(m, self.methods[0], self.levels(m)[0], self.profile),
                             store).metrics["n_total"] for m in self.models()}

    def static_cells(self, store: RunStore, models: tuple[str, ...] | None = None) -> list:
        """Every model × task × method × level (level 0, the unpruned model, shared by the methods), for
        ``models`` (default: the plan's)."""
        return [self.cell(model, method, n, study.Task.parse(name), store, {})
                for model in (self.models() if models is None else models) for name in self.tasks(model)
                for method in self.methods for n in (0, *self.levels(model))]

    def seed_cells(self, store: RunStore) -> list:
        """The static cells of the thinking model's other seeds (each pruned by its own Block Influence)."""
        return self.static_cells(store, self.organism_seeds)

    # --- chapters 05 and 06: sequential and parallel scaling ---------------------------------------------------

    def _scaling_models(self) -> tuple[str, ...]:
        return tuple(m for m in self.models() if self.thinks(m))

    def budget_cells(self, store: RunStore) -> list:
        """The budget set at each thinking budget (cut, then s1's "Final Answer:" cue), per method and level."""
        return [self.cell(m, method, n, study.Task.parse(self.budget_task_of(m)), store, {"budget": b},
                          thinking_budget=b)
                for m in self._scaling_models() for method in self.methods for n in self.scaling_levels_of(m)
                for b in self.budgets]

    def wait_cells(self, store: RunStore) -> list:
        """Long chains with each early end of thinking suppressed n times by "Wait" (s1's budget forcing)."""
        return [self.cell(m, method, n, study.Task.parse(self.long_task_of(m)), store, {"waits": w}, n_ignore=w)
                for m in self._scaling_models() for method in self.methods for n in self.scaling_levels_of(m)
                for w in self.wait_counts]

    def sampling_cells(self, store: RunStore) -> list:
        """Many samples per problem at the sampling temperature, per model, task, method and level."""
        cells = []
        for model in self.models():
            names = self.reference_tasks[:1] if model == self.reference else self.parallel_tasks
            cells += [self.cell(model, method, n, study.Task.parse(name), store, {},
                                 **self.sampling_knobs(model))
                      for name in names for method in self.methods for n in self.scaling_levels_of(model)]
        return cells


@dataclass(frozen=True)
class DerivedPlan(ChapterPlan):
    """A plan that reuses the pruning plan's models, cuts and evaluation settings (chapters 07–10): it carries
    that plan, so a chapter's overrides of it travel with it instead of being rebuilt from the profile."""

    pruning: PruningPlan | None = knob(None, doc="the pruning plan this chapter reuses; None: the profile's")

    def __post_init__(self) -> None:
        if self.pruning is None:
            object.__setattr__(self, "pruning", PruningPlan.for_profile(self.profile))
        super().__post_init__()
        if self.pruning.profile != self.profile:
            raise ConfigError(f"pruning has profile={self.pruning.profile!r}; allowed: the plan's own "
                              f"({self.profile!r})")
