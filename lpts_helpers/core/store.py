"""The run store: every result the book shows is a per-sample table on disk, keyed by its full config.

Layout (``data/runs/<stage>/<config_hash>/``)::

    config.json      the full config, its hash identity, git commit and library versions (metadata, not hashed)
    parts/           chunks of finished samples, one parquet file each, written atomically as they finish
    samples.parquet  the consolidated per-sample table (the truth; every aggregate is derived from it)
    metrics.json     aggregates computed from samples.parquet
    COMPLETE         written last and atomically: without it a run is never read as finished

A finished run is read back, never recomputed; an unfinished one resumes from its stored parts, so an
interrupted build loses at most one chunk. Used by every chapter; introduced in ``00-models-and-benchmarks``.
"""

from __future__ import annotations

import hashlib
import inspect
import io
import json
import os
import platform
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from . import metrics as intervals
from .config import StageConfig
from .paths import PACKAGE_DIR, REPO_ROOT, RUNS_DIR

MARKER = "COMPLETE"
SEALED_FILES = ("samples.parquet", "metrics.json", "config.json")  # a finished run's files; the marker holds digests
TRACKED_LIBRARIES = ("torch", "transformers", "peft", "datasets", "math-verify", "vllm", "lpts")


class CorruptRunError(RuntimeError):
    """A finished run whose files no longer match the digests its completion marker recorded."""


@dataclass(frozen=True)
class Run:
    """A finished run read back from the store."""

    path: Path
    config: dict[str, Any]
    samples: pd.DataFrame
    metrics: dict[str, Any]
    computed: bool  # True when this call computed (some of) the samples, False when all came from disk


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see either the old file or the whole new one, never a part."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_digest(path: Path) -> str:
    """SHA-256 of a file's bytes (hex)."""
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def seal(path: Path) -> dict[str, str]:
    """The digests of the run in ``path``'s files (``SEALED_FILES``), as its marker records them."""
    return {name: file_digest(path / name) for name in SEALED_FILES}


def recompute_hint(path: Path) -> str:
    """How to get a damaged run back: delete its folder, then rerun what made it (it is recomputed alone)."""
    return (f"delete the run (rm -r {_where(path)}) and rebuild what used it (`make book`, or the chapter's "
            f"`make book ARGS='--chapters NN'`; a trained model: `make organism`) — only the missing run is recomputed")


def read_marker(path: Path) -> dict[str, Any]:
    """The completion marker of the run in ``path``; a damaged one is an error naming it."""
    try:
        marker = json.loads((path / MARKER).read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise CorruptRunError(f"{_where(path / MARKER)} is damaged ({err}); {recompute_hint(path)}") from None
    if not isinstance(marker, dict):
        raise CorruptRunError(f"{_where(path / MARKER)} is damaged (not a JSON object); {recompute_hint(path)}")
    return marker


def verify(path: Path, marker: Mapping[str, Any]) -> None:
    """Check a finished run's files against the digests in its marker: a missing or changed file is an error that
    names it and says how to recompute the run (a flipped bit in a table must never read as a result)."""
    recorded = marker.get("files")
    if recorded is not None and (not isinstance(recorded, dict) or set(recorded) != set(SEALED_FILES)):
        raise CorruptRunError(f"{_where(path / MARKER)} is damaged (its digests name {recorded!r:.80}, not "
                              f"{list(SEALED_FILES)}); {recompute_hint(path)}")
    if not recorded:
        raise CorruptRunError(f"{_where(path)}: its {MARKER} marker records no file digests (stored before they "
                              f"were kept); seal the store once with `python -m lpts_helpers.core.store seal "
                              f"{_where(path.parent.parent)}`, or {recompute_hint(path)}")
    for name, digest in recorded.items():
        if not (path / name).is_file():
            raise CorruptRunError(f"{_where(path / name)} is missing from a finished run; {recompute_hint(path)}")
        if file_digest(path / name) != digest:
            raise CorruptRunError(f"{_where(path / name)} does not match the digest its {MARKER} marker recorded "
                                  f"(the file was damaged or edited); {recompute_hint(path)}")


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_bytes(path, (json.dumps(obj, indent=1, sort_keys=True, default=str) + "\n").encode())


def parquet_bytes(frame: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False, compression="zstd")
    return buffer.getvalue()


def atomic_write_parquet(path: Path, frame: pd.DataFrame) -> None:
    atomic_write_bytes(path, parquet_bytes(frame))


def write_part(path: Path, frame: pd.DataFrame) -> None:
    """Store one chunk of an unfinished run with its digest beside it (written first: a part never exists
    without one), so a part damaged while the run waits to resume is an error, not different samples."""
    data = parquet_bytes(frame)
    atomic_write_bytes(path.with_name(path.name + ".sha256"), hashlib.sha256(data).hexdigest().encode())
    atomic_write_bytes(path, data)


def read_part(path: Path) -> pd.DataFrame:
    digest = path.with_name(path.name + ".sha256")
    expected = digest.read_text().strip() if digest.is_file() else None
    if expected != file_digest(path):
        stored = "none stored" if expected is None else digest.name
        raise CorruptRunError(f"{_where(path)} does not match its digest ({stored}: it was damaged while the run "
                              f"was unfinished); delete it (rm {_where(path)}) and run again: its items are "
                              f"recomputed")
    return pd.read_parquet(path)


def git_commit() -> str:
    """The checkout's commit (with ``-dirty`` when it has uncommitted changes), or ``unknown`` outside git."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10,
                              check=True).stdout.strip()
    try:
        commit = git("rev-parse", "HEAD")
        return commit + ("-dirty" if git("status", "--porcelain", "--untracked-files=no") else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def code_digest(modules: Iterable[ModuleType]) -> str:
    """A 16-hex-digit digest of the source files of ``modules``."""
    h = hashlib.sha256()
    for module in sorted(set(modules), key=lambda m: m.__name__):
        h.update(module.__name__.encode() + Path(inspect.getsourcefile(module)).read_bytes())
    return h.hexdigest()[:16]


def source_digest(folder: Path) -> str:
    """A 16-hex-digit digest of every Python file under ``folder``, names and bytes (``PACKAGE_DIR``: all of the
    helper code, what a chapter's execution and the summary's claim rows depend on)."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        h.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return h.hexdigest()[:16]


def metrics_code(metrics: Callable) -> str:
    """What a run's aggregates depend on besides its samples: which function computes them, the source of its
    module and of ``core.metrics`` (the bootstrap intervals)."""
    modules = code_digest([inspect.getmodule(metrics), intervals])
    return hashlib.sha256(f"{metrics.__qualname__}:{modules}".encode()).hexdigest()[:16]


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in TRACKED_LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


# Open ``recording_reads`` blocks: each maps every finished run read inside it to its ``finished_stamp``.
_READS: list[dict[str, str]] = []


def _where(path: Path) -> str:
    return path.relative_to(REPO_ROOT).as_posix() if path.is_relative_to(REPO_ROOT) else str(path)


def finished_stamp(path: Path) -> str:
    """Which finishing of the run in ``path`` this is (its marker's random id; for runs stored before markers had
    one, when and with how many rows it finished), "" when unfinished: a recomputed run gets another stamp, on
    every clone alike (unlike file times)."""
    return _stamp(read_marker(path)) if (path / MARKER).is_file() else ""


def _stamp(marker: Mapping[str, Any]) -> str:
    return marker.get("id") or f"{marker.get('finished_at')}/{marker.get('n_rows')}"


@contextmanager
def recording_reads() -> Iterator[dict[str, str]]:
    """Record every finished run read (``RunStore.load``, in any store) while the block runs: ``{run folder:
    finished_stamp}``, the folder relative to the repository when inside it."""
    reads: dict[str, str] = {}
    _READS.append(reads)
    try:
        yield reads
    finally:
        _READS.remove(reads)


def _folder(where: str) -> Path:
    return Path(where) if Path(where).is_absolute() else REPO_ROOT / where


def unchanged(reads: Mapping[str, str]) -> bool:
    """Whether every run in ``reads`` is still finished with the same stamp."""
    return all(finished_stamp(_folder(where)) == stamp for where, stamp in reads.items())


def mark_used(path: Path) -> None:
    """Touch the marker of the run in ``path`` (if finished): a run read recently is one the book uses."""
    if (path / MARKER).is_file():
        os.utime(path / MARKER)


def replay_reads(reads: Mapping[str, str]) -> None:
    """Count ``reads`` as read again, without reading them: mark each run used (``prune_unused`` keeps it) and
    record it in the open ``recording_reads`` blocks (a result built on a stored table depends on its runs)."""
    for where in reads:
        mark_used(_folder(where))
    for open_reads in _READS:
        open_reads.update(reads)


class RunStore:
    """Content-addressed runs under ``root/<stage>/<config_hash>/`` (see the module docstring)."""

    def __init__(self, root: str | Path = RUNS_DIR):
        root = Path(root)
        self.root = root if root.is_absolute() else REPO_ROOT / root

    def path(self, config: StageConfig) -> Path:
        return self.root / config.STAGE / config.config_hash()

    def is_complete(self, config: StageConfig) -> bool:
        return (self.path(config) / MARKER).is_file()

    def load(self, config: StageConfig) -> Run:
        """Read a finished run; a run without its completion marker is an error, never a partial result."""
        path = self.path(config)
        if not (path / MARKER).is_file():
            raise FileNotFoundError(f"no finished {config.STAGE} run {config.config_hash()} under {self.root} "
                                    f"(a folder without {MARKER} is unfinished and is resumed by run())")
        marker = read_marker(path)
        verify(path, marker)
        os.utime(path / MARKER)  # marks the run as used (see prune_unused)
        for reads in _READS:  # open recording_reads blocks (none, mostly)
            reads[_where(path)] = _stamp(marker)
        return Run(path=path, config=json.loads((path / "config.json").read_text()),
                   samples=pd.read_parquet(path / "samples.parquet"),
                   metrics=json.loads((path / "metrics.json").read_text()), computed=False)

    def run(self, config: StageConfig, items: Sequence[Mapping[str, Any]],
            compute: Callable[[list[Mapping[str, Any]]], Iterable[Mapping[str, Any]]], *,
            key: str = "item_id", metrics: Callable[[pd.DataFrame], Mapping[str, Any]] = lambda _: {},
            chunk_size: int = 16, fresh: bool = False) -> Run:
        """Return the finished run for ``config``, computing only the items not yet stored.

        ``items`` are the units of work (each has a unique ``key`` value); ``compute`` turns a chunk of items into
        per-sample rows, each carrying the ``key`` of its item (an item may yield several rows, e.g. one per
        sample). Rows are stored one chunk at a time, so an interruption loses at most the chunk in flight.
        ``metrics`` derives the aggregates from the whole table. ``fresh=True`` discards what is stored first.
        """
        path = self.path(config)
        if fresh and path.exists():
            shutil.rmtree(path)
        finished = self.finished(config, metrics)
        if finished is not None:
            return finished
        keys = [item[key] for item in items]
        if len(set(keys)) != len(keys):
            raise ValueError(f"items must have unique {key!r} values; got duplicates in {keys[:10]}...")
        parts = path / "parts"
        parts.mkdir(parents=True, exist_ok=True)
        self._write_config(path, config, finished=False)
        done = self._stored_keys(parts, key)
        todo = [item for item in items if item[key] not in done]
        start = self._next_part(parts)
        try:
            for offset in range(0, len(todo), chunk_size):
                chunk = todo[offset:offset + chunk_size]
                rows = pd.DataFrame(list(compute(chunk)))
                missing = {item[key] for item in chunk} - set(rows.get(key, pd.Series(dtype=object)))
                if missing:
                    raise ValueError(f"compute() returned no rows for {key} {sorted(missing)[:5]}")
                write_part(parts / f"part-{start + offset // chunk_size:05d}.parquet", rows)
        except BaseException:
            if not any(parts.glob("part-*.parquet")):  # nothing finished: leave no unfinished folder behind
                shutil.rmtree(path, ignore_errors=True)
            raise
        samples = self._read_parts(parts)
        lacking = [k for k in keys if k not in set(samples.get(key, ()))]
        if lacking:  # a part was lost while the run was unfinished: never mark a run complete without every item
            raise RuntimeError(f"{_where(path)}: {len(lacking)} of {len(keys)} items have no stored rows "
                               f"({key} {lacking[:5]}{' …' if len(lacking) > 5 else ''}) although none is left to "
                               f"compute; run it again to compute them")
        order = {k: i for i, k in enumerate(keys)}
        samples = (samples[samples[key].isin(order)]
                   .sort_values(key, key=lambda s: s.map(order), kind="stable").reset_index(drop=True))
        run = self.put(config, samples, metrics(samples), metrics_code=metrics_code(metrics))
        shutil.rmtree(parts)  # consolidated; kept only while a run is unfinished
        return Run(run.path, run.config, run.samples, run.metrics, computed=bool(todo))

    def put(self, config: StageConfig, samples: pd.DataFrame, metrics: Mapping[str, Any] | None = None, *,
            metrics_code: str | None = None) -> Run:
        """Store ``samples`` (computed in one piece) as the finished run of ``config``: table, aggregates (and the
        digest of the code that computed them), config, and the completion marker last."""
        path = self.path(config)
        path.mkdir(parents=True, exist_ok=True)
        atomic_write_parquet(path / "samples.parquet", samples)
        atomic_write_json(path / "metrics.json", dict(metrics or {}))
        self._write_config(path, config, finished=True)
        marker = {"finished_at": _now(), "n_rows": len(samples), "id": uuid.uuid4().hex, "files": seal(path)}
        atomic_write_json(path / MARKER, {**marker, "metrics_code": metrics_code} if metrics_code else marker)
        return self.load(config)

    def touch(self, config: StageConfig) -> None:
        """Mark a stored run as used without reading it, so ``prune_unused`` keeps it: the input of a finished
        run that is read on its own (the generation an evaluation graded is needed again if grading changes)."""
        mark_used(self.path(config))

    def finished(self, config: StageConfig, metrics: Callable[[pd.DataFrame], Mapping[str, Any]] | None = None
                 ) -> Run | None:
        """The finished run of ``config`` read back (its aggregates refreshed by ``metrics`` when their code
        changed), or None when it is not finished; reads nothing else (an evaluation is readable without the
        generation run it graded)."""
        if not self.is_complete(config):
            return None
        run = self.load(config)
        return run if metrics is None else self._refresh_metrics(run, metrics)

    @staticmethod
    def _refresh_metrics(run: Run, metrics: Callable[[pd.DataFrame], Mapping[str, Any]]) -> Run:
        """Aggregates are derived data: when the code that computes them changed since they were stored (the
        marker records its digest), recompute them from the stored samples and rewrite metrics.json (the samples
        themselves are never recomputed). Unchanged code: read as stored, so a re-render costs no bootstrap."""
        code = metrics_code(metrics)
        marker = read_marker(run.path)
        if marker.get("metrics_code") == code:
            return run
        current = json.loads(json.dumps(dict(metrics(run.samples)), default=str))
        if current != run.metrics:
            atomic_write_json(run.path / "metrics.json", current)
        atomic_write_json(run.path / MARKER, {**marker, "metrics_code": code, "files": seal(run.path)})
        return Run(run.path, run.config, run.samples, current, computed=False)

    def runs(self, stage: str) -> list[dict[str, Any]]:
        """The configs of every finished run of ``stage`` (for listing what the store holds)."""
        found = []
        for marker in sorted((self.root / stage).glob(f"*/{MARKER}")):
            found.append(json.loads((marker.parent / "config.json").read_text()))
        return found

    def prune_unused(self, since: float, *, dry_run: bool = False) -> list[Path]:
        """Delete finished runs not read since ``since`` (a time stamp; reading a run touches its marker).

        After a full build of the book, every run the book uses was read during the build, so the runs older than
        the build's start are the ones no chapter needs any more (stale configs). Unfinished runs are kept.
        """
        stale = [marker.parent for marker in sorted(self.root.glob(f"*/*/{MARKER}")) if marker.stat().st_mtime < since]
        if not dry_run:
            for path in stale:
                shutil.rmtree(path)
        return stale

    @staticmethod
    def _next_part(parts: Path) -> int:
        """The index after the highest stored part (not their count: a deleted part must not be overwritten)."""
        indices = [int(f.stem.removeprefix("part-")) for f in parts.glob("part-*.parquet")
                   if f.stem.removeprefix("part-").isdigit()]
        return max(indices, default=-1) + 1

    @staticmethod
    def _stored_keys(parts: Path, key: str) -> set[Hashable]:
        frame = RunStore._read_parts(parts)
        return set(frame[key]) if key in frame else set()

    @staticmethod
    def _read_parts(parts: Path) -> pd.DataFrame:
        files = sorted(parts.glob("part-*.parquet"))
        if not files:
            return pd.DataFrame()
        return pd.concat([read_part(f) for f in files], ignore_index=True)

    @staticmethod
    def _write_config(path: Path, config: StageConfig, *, finished: bool) -> None:
        record = {**config.identity(), "config_hash": config.config_hash(), "git_commit": git_commit(),
                  "source_digest": source_digest(PACKAGE_DIR), "libraries": library_versions(), "finished": finished}
        atomic_write_json(path / "config.json", record)


def training_parser(prog: str, description: str | None, profiles: Iterable[str]):
    """The command line every training module shares: ``--profile``, ``--store``, ``--fresh``, ``--threads``."""
    import argparse

    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--profile", default="default", choices=sorted(profiles))
    parser.add_argument("--store", default=None, help="run store folder (default: the book's data/runs)")
    parser.add_argument("--fresh", action="store_true", help="retrain even when a finished run is stored")
    parser.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's own choice)")
    return parser


def training_store(args) -> RunStore:
    """The store a training command writes to, after setting torch's threads when ``--threads`` was given."""
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    return RunStore(args.store) if args.store else RunStore()


def seal_store(root: Path) -> list[Path]:
    """Record file digests in the marker of every finished run under ``root`` that has none (runs stored before
    markers kept them); the marker's id is kept, so nothing built on a run is invalidated. Returns the runs sealed."""
    sealed = []
    for marker_path in sorted(root.glob(f"*/*/{MARKER}")):
        marker = json.loads(marker_path.read_text())
        if not marker.get("files"):
            atomic_write_json(marker_path, {**marker, "files": seal(marker_path.parent)})
            sealed.append(marker_path.parent)
    return sealed


def main(argv: list[str] | None = None) -> None:
    """``python -m lpts_helpers.core.store prune build/default``: delete runs the last full build did not use;
    ``… seal [store]``: record file digests in the markers of runs stored before markers kept them."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m lpts_helpers.core.store", description=main.__doc__)
    parser.add_argument("command", choices=["prune", "seal"])
    parser.add_argument("build_dir", type=Path, nargs="?", help="prune: the folder of a full build (it holds "
                        "last_build.json); seal: the store (default: the book's data/runs)")
    parser.add_argument("--store", type=Path, default=RUNS_DIR)
    parser.add_argument("--dry-run", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "seal":
        for path in seal_store(args.build_dir or args.store):
            print(f"sealed {path}")
        return
    if args.build_dir is None:
        parser.error("prune needs the folder of a full build (e.g. build/default)")
    record = args.build_dir / "last_build.json"
    if not record.is_file():
        raise SystemExit(f"error: {record} not found: run a full build (make book) first")
    build = json.loads(record.read_text())
    if build.get("chapters") != "all":
        raise SystemExit(f"error: the last build in {args.build_dir} ran only {build.get('chapters')}; prune after "
                         f"a build of every chapter, or runs of the others would be deleted")
    for path in RunStore(args.store).prune_unused(build["started"], dry_run=args.dry_run):
        print(f"{'would remove' if args.dry_run else 'removed'} {path}")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


if __name__ == "__main__":
    main()
