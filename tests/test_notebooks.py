"""Every chapter is a jupytext pair in sync, with the skeleton the book's conventions ask for."""

import ast

import jupytext
import pytest

from lpts_helpers.book.build import toc_chapters
from lpts_helpers.core.paths import NOTEBOOKS_DIR

CHAPTERS = sorted(NOTEBOOKS_DIR.glob("[0-9][0-9]-*.py"))


def code_cells(notebook):
    return [c for c in notebook.cells if c.cell_type == "code"]


def test_every_chapter_is_in_the_table_of_contents():
    assert CHAPTERS and toc_chapters() == CHAPTERS


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_pair_is_in_sync(source):
    paired = source.with_suffix(".ipynb")
    assert paired.exists(), f"{paired.name} is missing: run `make sync` (jupytext --sync)"
    text, notebook = jupytext.read(source), jupytext.read(paired)
    assert [(c.cell_type, c.source) for c in text.cells] == [(c.cell_type, c.source) for c in notebook.cells], \
        f"{source.name} and {paired.name} differ: run `make sync`"
    assert all(not c.get("outputs") for c in code_cells(notebook)), "commit the paired notebook without outputs"
    assert notebook.metadata["kernelspec"]["name"] == "python3"  # papermill needs it


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_chapter_skeleton(source):
    notebook = jupytext.read(source)
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ") and "**Verdict.**" in first.source
    parameters = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(parameters) == 1
    tree = ast.parse(parameters[0].source)
    targets = []
    for node in tree.body:  # the parameters cell holds literal assignments only
        assert isinstance(node, ast.Assign) and len(node.targets) == 1, ast.dump(node)
        ast.literal_eval(node.value)
        targets.append(node.targets[0].id)
    assert targets[0] == "profile"
    for line in parameters[0].source.splitlines():
        assert "#" in line and line.count("=") == 1, f"comment each knob, without '=' (papermill): {line}"
    assert notebook.cells[-1].source.startswith("## References")


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_no_algorithm_lives_in_a_notebook(source):
    for cell in code_cells(jupytext.read(source)):
        tree = ast.parse(cell.source)
        defined = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))]
        assert not defined, f"move this into lpts_helpers: {cell.source[:80]}"
        assert len(cell.source.splitlines()) <= 12, f"a chapter cell calls a few helpers: {cell.source[:80]}"
