"""Every chapter is a jupytext pair in sync, with the skeleton the book's conventions ask for."""

import ast
import re

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
def test_a_chapter_refuses_parameters_it_does_not_declare(source):
    """Run by papermill directly, a chapter checks the injected parameters first (a misspelt one is an error)."""
    cells = jupytext.read(source).cells
    first = next(i for i, c in enumerate(cells) if "parameters" in c.metadata.get("tags", []))
    check = cells[first + 1]
    assert check.cell_type == "code" and "check_injected_parameters(globals())" in check.source
    assert "remove-cell" in check.metadata.get("tags", [])


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_no_algorithm_lives_in_a_notebook(source):
    for cell in code_cells(jupytext.read(source)):
        tree = ast.parse(cell.source)
        defined = [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))]
        assert not defined, f"move this into lpts_helpers: {cell.source[:80]}"
        assert len(cell.source.splitlines()) <= 12, f"a chapter cell calls a few helpers: {cell.source[:80]}"


GLUE_ROLE = re.compile(r"\{glue:text\}`[^`]+`")
# A number typed into prose: digits not part of a name ("Qwen3-8B", "AIME24", "s1.1-7B") or a chapter's number.
TYPED_NUMBER = re.compile(r"(?<![\w.\-])\d[\d.,]*(?![\w])(?!-[A-Za-z])|(?<![\w.\-])\d+-(?=[a-z])")
CHAPTER_NUMBER = re.compile(r"\b[Cc]hapters? \d\d(?:[–-]\d\d)?(?:(?:, | and )\d\d(?:[–-]\d\d)?)*|\d\d-[a-z-]+\.ipynb|95% "
                            r"(?=CI|confidence|interval)")


def prose(source) -> dict[str, str]:
    """The paragraphs whose numbers must come from the runs: the verdict, "What it means" to the end of its cell,
    and the summary's account of the setting chapters (its section)."""
    first = jupytext.read(source).cells[0].source
    parts = {"verdict": first[first.index("**Verdict.**"):].split("\n\n")[0]}
    if "**What it means.**" in first:
        parts["what it means"] = first[first.index("**What it means.**"):]
    for cell in jupytext.read(source).cells:
        if cell.cell_type == "markdown" and "## What the setting chapters established" in cell.source:
            parts["setting"] = cell.source.split("## What the setting chapters established")[1].split("\n## ")[0]
    return parts


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_prose_types_no_number_of_its_own(source):
    """Every number in a verdict and in "What it means" is glued from the runs, so it cannot drift from them."""
    for name, text in prose(source).items():
        bare = CHAPTER_NUMBER.sub("", GLUE_ROLE.sub("", text))
        typed = TYPED_NUMBER.findall(bare)
        assert not typed, f"{source.name}, {name}: typed numbers {typed}; glue them from the runs"


def test_typed_numbers_are_found():
    bare = CHAPTER_NUMBER.sub("", "see chapter 02, chapters 03 and 05–10; 02-the-model-organism.ipynb")
    assert not TYPED_NUMBER.findall(bare)
    assert TYPED_NUMBER.findall("keeps 0.93 of 24-step chains with 3 cut") == ["0.93", "24-", "3"]
    assert not TYPED_NUMBER.findall("Qwen3-8B, AIME24, s1.1-7B, MATH-500, C2′")


@pytest.mark.parametrize("source", CHAPTERS, ids=lambda p: p.stem)
def test_a_verdict_is_at_most_three_sentences(source):
    text = GLUE_ROLE.sub("N", prose(source)["verdict"].removeprefix("**Verdict.**"))
    assert len(re.findall(r"[.!?](?:\s|$)", text.strip())) <= 3, f"{source.name}: {text}"
