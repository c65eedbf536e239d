"""Where the book's files live, resolved from the package so that notebooks run from any working directory."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PACKAGE_DIR = REPO_ROOT / "lpts_helpers"
DATA_DIR = REPO_ROOT / "data"
BENCHMARKS_DIR = DATA_DIR / "benchmarks"
RUNS_DIR = DATA_DIR / "runs"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
BOOK_DIR = REPO_ROOT / "book"
BUILD_DIR = REPO_ROOT / "build"


def claims_file(store_root: Path) -> Path:
    """The claims table (the summary's evidence rows as data) of a run store: beside it, ``data/claims.csv`` for
    the book's own store."""
    return store_root.parent / "claims.csv"
