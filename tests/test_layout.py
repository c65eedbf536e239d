"""Guards of the code's layout: every committed run is still addressed by its config, and the package's folders
are layers that import only downwards, at module level."""

import ast
import importlib
import json
import pkgutil
from pathlib import Path

import lpts_helpers
from lpts_helpers.core.config import StageConfig
from lpts_helpers.core.paths import REPO_ROOT

RUNS = REPO_ROOT / "data" / "runs"


def _stage_classes() -> dict[str, type]:
    for module in pkgutil.walk_packages(lpts_helpers.__path__, "lpts_helpers."):
        importlib.import_module(module.name)
    classes, todo = {}, [StageConfig]
    while todo:
        cls = todo.pop()
        todo += cls.__subclasses__()
        if cls.STAGE and cls.__module__.startswith("lpts_helpers."):
            assert classes.setdefault(cls.STAGE, cls) is cls, f"two stage classes for {cls.STAGE!r}"
    return classes


def test_every_committed_run_is_addressed_by_its_rebuilt_config():
    classes = _stage_classes()
    records = sorted(RUNS.glob("*/*/config.json"))
    assert len(records) > 500  # the committed runs are here
    orphans = []
    for record in records:
        stage, folder = record.parent.parent.name, record.parent.name
        assert stage in classes, f"no stage class for the committed runs under {record.parent.parent}"
        config = classes[stage].from_dict(json.loads(record.read_text())["config"])
        if config.config_hash() != folder:
            orphans.append(f"{stage}/{folder} -> {config.config_hash()}")
    assert not orphans, f"{len(orphans)} committed runs no longer match their config: {orphans[:5]}"


# The layers, lowest first: a module imports only from its own layer and the layers below, at module level.
LAYERS = ("core", "tasks", "models", "engine", "methods", "chapters", "book")
PACKAGE = REPO_ROOT / "lpts_helpers"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path) -> list[tuple[str, int, bool]]:
    """(imported lpts_helpers module or name, line, inside a function) for each import in ``path``."""
    name = _module_name(path)
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    found = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inside = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
            if isinstance(child, ast.ImportFrom):
                base = package[:len(package) - child.level + 1] if child.level else []
                module = ".".join(base + ([child.module] if child.module else []))
                if module.startswith("lpts_helpers"):
                    targets = [module] if child.module else [f"{module}.{alias.name}" for alias in child.names]
                    found.extend((target, child.lineno, inside) for target in targets)
            elif isinstance(child, ast.Import):
                found.extend((alias.name, child.lineno, inside) for alias in child.names
                             if alias.name.startswith("lpts_helpers"))
            visit(child, inside)

    visit(ast.parse(path.read_text()), False)
    return found


def _layer(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in LAYERS else None


def test_every_module_sits_in_a_layer():
    loose = [p.name for p in PACKAGE.glob("*.py") if p.name != "__init__.py"]
    assert not loose, f"modules outside the layer folders {LAYERS}: {loose}"
    assert sorted(p.name for p in PACKAGE.iterdir() if p.is_dir() and p.name != "__pycache__") == sorted(LAYERS)


def test_imports_go_downwards_at_module_level():
    problems = []
    for path in sorted(PACKAGE.rglob("*.py")):
        own = _layer(_module_name(path))
        for target, line, inside in _imports(path):
            where = f"{path.relative_to(REPO_ROOT)}:{line} imports {target}"
            if inside:
                problems.append(f"{where} inside a function")
            if own is not None and _layer(target) is not None and LAYERS.index(_layer(target)) > LAYERS.index(own):
                problems.append(f"{where} from the higher layer {_layer(target)!r}")
    assert not problems, "\n".join(problems)


def test_no_import_circle():
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        modules = {_module_name(p) for p in PACKAGE.rglob("*.py")}
        targets = set()
        for target, _, _ in _imports(path):
            while target and target not in modules:  # "from . import x" names a module or a package attribute
                target = target.rpartition(".")[0]
            if target and target != _module_name(path) and target != "lpts_helpers":
                targets.add(target)
        graph[_module_name(path)] = targets
    state: dict[str, int] = {}

    def cycle_from(module: str, stack: list[str]) -> list[str] | None:
        state[module] = 1
        for target in sorted(graph.get(module, ())):
            if state.get(target) == 1:
                return stack + [module, target]
            if state.get(target) is None and (found := cycle_from(target, stack + [module])):
                return found
        state[module] = 2
        return None

    for module in sorted(graph):
        if module != "lpts_helpers" and state.get(module) is None:
            found = cycle_from(module, [])
            assert found is None, f"import circle: {' -> '.join(found)}"


def test_the_import_reader_resolves_relative_imports():
    """The two guards above are only as good as this reader: relative imports resolve to absolute modules."""
    evaluation = {target for target, _, inside in _imports(PACKAGE / "engine" / "evaluation.py") if not inside}
    assert {"lpts_helpers.core.config", "lpts_helpers.engine.generation"} <= evaluation
    backends = {target for target, _, _ in _imports(PACKAGE / "engine" / "backends" / "__init__.py")}
    assert "lpts_helpers.engine.backends.base" in backends
    assert _layer("lpts_helpers.methods.prune") == "methods" and _layer("lpts_helpers") is None
