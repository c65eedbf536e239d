"""Build the book: run every chapter headlessly with papermill, then render the executed notebooks to HTML.

    python -m lpts_helpers.book.build --profile default             # the whole book on the embedded default
    python -m lpts_helpers.book.build --profile smoke --out build/smoke   # seconds-scale run used by the tests
    python -m lpts_helpers.book.build --chapters 00 -p max_answer_tokens 64 --no-html
    python -m lpts_helpers.book.build --fresh                       # clear the run store, recompute everything
                                                               # but the trained organisms

Chapters run in table-of-contents order (``book/_toc.yml``). Each ``notebooks/NN-*.py`` (the reviewed jupytext
source) is converted in memory and executed into ``<out>/site/notebooks/NN-*.ipynb``; ``-p key value`` goes to
every chapter whose ``parameters`` cell declares ``key`` (values are read as YAML: ``64``, ``0.5``, ``[a, b]``).
A chapter whose inputs (source, parameters, helper code) are unchanged since its last execution is not run again,
and results always come from the run store, so a warm rebuild takes seconds. Jupyter Book then renders
``<out>/site`` with execution switched off: it never re-executes a notebook.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import yaml

from ..core.config import PROFILES
from ..core.paths import BOOK_DIR, BUILD_DIR, PACKAGE_DIR, REPO_ROOT, RUNS_DIR, claims_file
from ..core.store import MARKER, source_digest
from .plots import write_vega_bundle

# Stages whose runs are trained artifacts, like a pretrained checkpoint: --fresh keeps them (LOG.md, issue 18).
# Both organism phases: the second holds the committed checkpoints, the first the training record it starts from.
# Named, not imported: the organism module loads torch, which the build's start-up does not need (a test ties
# the names to the stage classes).
TRAINED_STAGES = ("organism", "organism-consolidation")


class ChapterError(RuntimeError):
    """A chapter failed to execute; the message names the chapter and the cell."""


def _shown(path: Path) -> str:
    """A path as messages show it: relative to the repository when inside it."""
    return str(path.relative_to(REPO_ROOT)) if path.is_relative_to(REPO_ROOT) else str(path)


def toc_chapters(toc: Path = BOOK_DIR / "_toc.yml") -> list[Path]:
    """The chapter sources (``notebooks/NN-*.py``) in the order the table of contents lists them."""
    def walk(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["file"]] if isinstance(node.get("file"), str) else []
            for key in ("root", "parts", "chapters", "sections"):
                value = node.get(key)
                found += [value] if key == "root" and isinstance(value, str) else walk(value)
            return found
        return [f for item in node for f in walk(item)] if isinstance(node, list) else []

    entries = walk(yaml.safe_load(toc.read_text()))
    return [REPO_ROOT / f"{entry}.py" for entry in entries if entry.startswith("notebooks/")]


def parse_overrides(pairs: list[list[str]]) -> dict[str, Any]:
    """``[["n", "3"], ["model", "smollm2-135m"]]`` → ``{"n": 3, "model": "smollm2-135m"}`` (values as YAML)."""
    values = {}
    for key, value in pairs:
        try:
            values[key] = yaml.safe_load(value)
        except yaml.YAMLError as err:
            problem = getattr(err, "problem", None) or type(err).__name__
            raise SystemExit(f"error: -p {key} {value!r} is not a YAML value ({problem}); allowed: a number, true, "
                             f"false, null, a word or quoted text, or a list such as [2, 4, 8]") from None
    return values


def check_injected_parameters(namespace: dict[str, Any]) -> None:
    """In a chapter run by papermill directly, refuse a parameter its ``parameters`` cell does not declare (a
    misspelt knob would otherwise be ignored while the chapter computes with its default). Reads the kernel's
    input history: the first cell is the parameters cell, papermill's injected cell starts with "# Parameters"."""
    history = namespace.get("In") or []
    cells = [source for source in history if source.strip()]
    injected = next((source for source in cells if source.startswith("# Parameters\n")), None)
    if injected is None or not cells:
        return  # not run by papermill: nothing was injected

    def names(source: str) -> set[str]:
        return {target.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
                for target in node.targets if isinstance(target, ast.Name)}

    unknown = sorted(names(injected) - names(cells[0]))
    if unknown:
        raise ChapterError(f"parameter(s) {unknown} are not declared by this chapter; allowed: "
                           f"{sorted(names(cells[0]))}")


def declared_parameters(source: Path) -> dict[str, Any]:
    """The names and default values in a chapter's ``parameters`` cell."""
    import jupytext

    notebook = jupytext.read(source)
    cells = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ChapterError(f"{_shown(source)} must have exactly one cell tagged 'parameters' "
                           f"(found {len(cells)})")
    values = {}
    for node in ast.parse(cells[0].source).body:  # literal assignments only (tests/test_notebooks.py checks)
        values[node.targets[0].id] = ast.literal_eval(node.value)
    return values


def chapter_parameters(chapters: list[Path], profile: str, overrides: dict[str, Any]) -> dict[Path, dict]:
    """Per chapter, the parameters papermill injects; an override no chapter declares is an error."""
    declared = {chapter: declared_parameters(chapter) for chapter in chapters}
    known = set().union(*declared.values()) if declared else set()
    unknown = sorted(set(overrides) - known)
    if unknown:
        raise SystemExit(f"error: parameter(s) {unknown} are declared by none of the chapters "
                         f"{[c.stem for c in chapters]}; declared parameters: {sorted(known)}")
    return {chapter: {"profile": profile, **{k: v for k, v in overrides.items() if k in names}}
            for chapter, names in declared.items()}


def fingerprint(source: Path, parameters: dict[str, Any]) -> str:
    """What a chapter's execution depends on besides the store: its source, parameters and the helper code."""
    digest = hashlib.sha256(source.read_bytes())
    digest.update(json.dumps(parameters, sort_keys=True, default=str).encode())
    digest.update(source_digest(PACKAGE_DIR).encode())  # all of lpts_helpers: a chapter may use any of it
    return digest.hexdigest()


def execute_chapter(source: Path, output: Path, parameters: dict[str, Any]) -> float:
    """Execute one chapter with papermill into ``output``; return seconds taken. Raises ChapterError."""
    import jupytext
    import papermill
    from papermill.exceptions import PapermillExecutionError

    notebook = jupytext.read(source)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    output.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        papermill.execute_notebook(notebook, str(output), parameters=parameters, kernel_name="python3",
                                   cwd=str(REPO_ROOT), progress_bar=False)
    except PapermillExecutionError as err:
        first_line = next((line for line in err.source.splitlines() if line.strip()), "")
        raise ChapterError(
            f"chapter {_shown(source)} failed in cell {err.cell_index} of the executed notebook "
            f"(execution count {err.exec_count}), the cell that starts with:\n    {first_line}\n"
            f"{err.ename}: {err.evalue}\nThe executed notebook, with the traceback, is {output}") from None
    hide_parameter_cells(output)
    return time.perf_counter() - started


def hide_parameter_cells(executed: Path) -> None:
    """Tag papermill's injected-parameters cell ``remove-cell``: the page shows the chapter's own parameters cell
    (its knobs, documented), not the build's overrides of them. On a page that shows no code (every other code
    cell tagged ``remove-input``, as the summary's are) the parameters cell goes too. nbval still runs both."""
    import nbformat

    notebook = nbformat.read(executed, as_version=4)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    parameters = {"parameters", "injected-parameters"}
    shows_code = any(not parameters & set(c.metadata.get("tags", [])) and
                     not {"remove-input", "remove-cell"} & set(c.metadata.get("tags", [])) for c in code)
    for cell in code:
        tags = cell.metadata.setdefault("tags", [])
        hide = "injected-parameters" in tags or ("parameters" in tags and not shows_code)
        if hide and "remove-cell" not in tags:
            tags.append("remove-cell")
    nbformat.write(notebook, executed)


def glued_values(executed: Path) -> dict[str, str]:
    """The values a chapter glued (myst-nb ``glue``), as the text its pages show: ``{name: text}``."""
    import nbformat

    values = {}
    for cell in nbformat.read(executed, as_version=4).cells:
        for output in cell.get("outputs", []):
            record = output.get("metadata", {}).get("scrapbook")
            if record:
                values[record["name"]] = output["data"][record["mime_prefix"] + "text/plain"]
    return values


def _touch_runs(store_dir: Path, record: Path) -> bool:
    """Mark the runs a kept chapter used as used again; False when the record or any run is missing (then the
    chapter must run again, e.g. after its runs were deleted)."""
    if not record.exists():
        return False
    markers = [store_dir / run / MARKER for run in json.loads(record.read_text())]
    if not all(m.is_file() for m in markers):
        return False
    for marker in markers:
        os.utime(marker)
    return True


def stage_site(site: Path, store_dir: Path) -> None:
    """Lay out the Jupyter Book source folder: config, toc, the book's own pages, the vega bundle, and the claims
    table of ``store_dir`` (the summary writes it) as a download at the site's root."""
    shutil.copy2(REPO_ROOT / "_config.yml", site / "_config.yml")
    shutil.copy2(BOOK_DIR / "_toc.yml", site / "_toc.yml")
    if (site / "book").exists():
        shutil.rmtree(site / "book")
    shutil.copytree(BOOK_DIR, site / "book", ignore=shutil.ignore_patterns("_toc.yml"))
    write_vega_bundle(site / "_static")
    extra = site / "_extra"  # html_extra_path: copied as is to the root of the HTML
    extra.mkdir(exist_ok=True)
    claims = claims_file(store_dir)
    (extra / claims.name).unlink(missing_ok=True)
    if claims.is_file():
        shutil.copy2(claims, extra / claims.name)


def render_html(site: Path, out: Path) -> Path:
    """Render the staged site with Jupyter Book (execution off); return the HTML folder."""
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(site), "--path-output", str(out),
               "--warningiserror", "--keep-going", "--nitpick"]
    result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"error: Jupyter Book failed (exit {result.returncode}):\n{result.stdout[-4000:]}"
                         f"\n{result.stderr[-4000:]}")
    return out / "_build" / "html"


def clear_store(store_dir: Path) -> None:
    """Delete every stored result but the trained artifacts (``TRAINED_STAGES``)."""
    for stage in store_dir.iterdir():
        if stage.name not in TRAINED_STAGES:
            shutil.rmtree(stage) if stage.is_dir() else stage.unlink()


def build(profile: str, out: Path, overrides: dict[str, Any], *, only: list[str] | None = None,
          html: bool = True, fresh: bool = False, force: bool = False) -> Path:
    """Execute the chapters (all, or those whose number/name starts with an entry of ``only``) and render.

    ``fresh`` clears the run store (the default one, or the ``store_dir`` override) so that every result is
    recomputed, except the trained organisms (``make organism FRESH=1`` retrains those); ``force`` re-executes
    every chapter even when its inputs are unchanged (results still come from the store).
    """
    if profile not in PROFILES:
        raise SystemExit(f"error: --profile {profile!r} is not allowed; allowed: {list(PROFILES)}")
    if out.exists() and not out.is_dir():
        raise SystemExit(f"error: --out {_shown(out)} is a file; allowed: a folder (new or a previous build's)")
    if only is not None and (not only or any(not entry.strip() for entry in only)):
        raise SystemExit(f"error: --chapters {only} has an empty entry; allowed: chapter numbers or name "
                         f"prefixes, e.g. --chapters 04 05")
    chapters = toc_chapters()
    if only:
        chosen = [c for c in chapters if any(c.stem.startswith(prefix) for prefix in only)]
        if not chosen:
            raise SystemExit(f"error: --chapters {only} match none of {[c.stem for c in chapters]}")
        chapters = chosen
    store_dir = Path(overrides.get("store_dir", RUNS_DIR))
    store_dir = store_dir if store_dir.is_absolute() else REPO_ROOT / store_dir
    if fresh and store_dir.exists():
        print(f"--fresh: removing the run store {store_dir} (trained artifacts kept: {list(TRAINED_STAGES)})",
              flush=True)
        clear_store(store_dir)
    site = out / "site"
    started = time.time()
    for chapter, parameters in chapter_parameters(chapters, profile, overrides).items():
        target = site / "notebooks" / f"{chapter.stem}.ipynb"
        stamp, used = target.with_suffix(".fingerprint"), target.with_suffix(".runs.json")
        key = fingerprint(chapter, parameters)
        if not (fresh or force) and target.exists() and stamp.exists() and stamp.read_text() == key \
                and _touch_runs(store_dir, used):
            print(f"[{chapter.stem}] unchanged since its last execution; kept", flush=True)
            continue
        stamp.unlink(missing_ok=True)
        print(f"[{chapter.stem}] executing with {parameters}", flush=True)
        chapter_started = time.time()
        try:
            seconds = execute_chapter(chapter, target, parameters)
        except ChapterError as err:
            raise SystemExit(f"error: {err}") from None
        # The runs the chapter read or wrote (reading touches a run's marker): kept chapters touch them again.
        runs = [str(m.parent.relative_to(store_dir)) for m in store_dir.glob(f"*/*/{MARKER}")
                if m.stat().st_mtime >= chapter_started - 1]
        used.write_text(json.dumps(sorted(runs), indent=1))
        stamp.write_text(key)
        print(f"[{chapter.stem}] done in {seconds:.1f} s", flush=True)
    (out / "last_build.json").write_text(json.dumps({"started": started, "profile": profile,
                                                     "chapters": "all" if not only else only}))
    if not html:
        return site
    stage_site(site, store_dir)
    html_dir = render_html(site, out)
    print(f"book: {html_dir / 'index.html'}", flush=True)
    return html_dir


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lpts_helpers.book.build", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profile", default="default", choices=PROFILES)
    parser.add_argument("--out", type=Path, default=None, help="build folder (default: build/<profile>)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("KEY", "VALUE"),
                        help="override a chapter parameter, as papermill's -p (value read as YAML)")
    parser.add_argument("--chapters", nargs="+", default=None, help="only these chapters (number or name prefix)")
    parser.add_argument("--no-html", action="store_true", help="execute the chapters only; do not render HTML")
    parser.add_argument("--fresh", action="store_true", help="remove the run store first (the trained organisms "
                        "excepted): recompute everything")
    parser.add_argument("--force", action="store_true", help="re-execute chapters even when their inputs are "
                        "unchanged (needed after deleting stored runs by hand)")
    args = parser.parse_args(argv)
    out = (args.out or BUILD_DIR / args.profile).resolve()
    build(args.profile, out, parse_overrides(args.parameter), only=args.chapters, html=not args.no_html,
          fresh=args.fresh, force=args.force)


if __name__ == "__main__":
    main()
