"""lpts: helpers behind the book.

The package's folders are its layers, each importing only from itself and the layers below:
``core`` (paths, configs, the run store, metrics) → ``tasks`` (benchmarks, the organism's world, grading) →
``models`` (presets, the model-name registry, loading) → ``engine`` (backends, test-time scaling, generation,
evaluation) → ``methods`` (pruning, the organism's training, recovery, trace analysis, the pruning study) →
``chapters`` (what each chapter runs and concludes) → ``book`` (build, plots, display).

Importing the package registers the model names the methods own (``pruned:``, ``recovered:``, the organism's
and the thinking SmolLM2's checkpoints) with ``models.registry``, so that any module can load them without importing a method.
"""

from .methods import organism, prune, recovery, thinking  # noqa: F401  (they register their model names)
