"""The local benchmark copies under ``data/benchmarks/``: each file is checked against ``SHA256SUMS`` before it is
first read in a process (a changed or damaged copy is an error, never a silently different benchmark), and read
with errors that name the file and the line.
"""

from __future__ import annotations

import json
from functools import cache, lru_cache
from pathlib import Path

from ..core.paths import BENCHMARKS_DIR
from ..core.store import file_digest

CHECKSUMS = BENCHMARKS_DIR / "SHA256SUMS"


class BenchmarkFileError(ValueError):
    """A local benchmark file that is missing, unlisted, changed, malformed or empty."""


@lru_cache(maxsize=1)
def _listed() -> dict[str, str]:
    """``{path relative to data/benchmarks: sha256}`` from SHA256SUMS."""
    listed = {}
    for line in CHECKSUMS.read_text().splitlines():
        digest, rel = line.split(maxsplit=1)
        listed[rel] = digest
    return listed


def verify_checksums() -> dict[str, bool]:
    """Each file SHA256SUMS lists: ``{relative path: matches}``."""
    return {rel: (BENCHMARKS_DIR / rel).is_file() and file_digest(BENCHMARKS_DIR / rel) == digest
            for rel, digest in _listed().items()}


@cache
def _checked(rel: str, mtime_ns: int, size: int) -> None:
    """Hash a file once per process and version of it (its time and size are part of the cache key)."""
    expected = _listed().get(rel)
    if expected is None:
        raise BenchmarkFileError(f"data/benchmarks/{rel} is not listed in data/benchmarks/SHA256SUMS; allowed: the "
                                 f"listed copies (add a new file's line with `sha256sum` and its provenance)")
    if file_digest(BENCHMARKS_DIR / rel) != expected:
        raise BenchmarkFileError(f"data/benchmarks/{rel} does not match its SHA-256 in data/benchmarks/SHA256SUMS "
                                 f"(the copy was changed or damaged); restore it with "
                                 f"`git checkout -- data/benchmarks/{rel}`")


def local_file(path: str | Path) -> Path:
    """The checked path of a benchmark file (``path`` relative to data/benchmarks, or under it)."""
    path = Path(path)
    full = path if path.is_absolute() else BENCHMARKS_DIR / path
    rel = full.relative_to(BENCHMARKS_DIR).as_posix()
    if not full.is_file():
        raise BenchmarkFileError(f"data/benchmarks/{rel} is missing; restore it with "
                                 f"`git checkout -- data/benchmarks/{rel}`")
    stat = full.stat()
    _checked(rel, stat.st_mtime_ns, stat.st_size)
    return full


def read_text(path: str | Path) -> str:
    return local_file(path).read_text()


def read_lines(path: str | Path) -> list[str]:
    """The non-blank lines of a checked file; an empty file is an error."""
    lines = [line for line in read_text(path).splitlines() if line.strip()]
    if not lines:
        raise BenchmarkFileError(f"{_shown(path)} is empty; allowed: a file with at least one problem")
    return lines


def read_jsonl(path: str | Path) -> list[dict]:
    """One object per non-blank line of a checked JSON-lines file; a bad line is an error naming file and line."""
    rows = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if line.strip():
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as err:
                raise BenchmarkFileError(f"{_shown(path)}: line {number} is not JSON ({err.msg} at column "
                                         f"{err.colno})") from None
    if not rows:
        raise BenchmarkFileError(f"{_shown(path)} is empty; allowed: a file with at least one problem")
    return rows


def _shown(path: str | Path) -> str:
    full = Path(path) if Path(path).is_absolute() else BENCHMARKS_DIR / path
    return f"data/benchmarks/{full.relative_to(BENCHMARKS_DIR).as_posix()}"
