"""How long a reader waits: `make book` from a clean clone, each chapter's re-render, and a rebuild with nothing
changed — measured with one core kept busy by another process, as on a laptop doing other work.

    python3 benchmarks/render_times.py                    # clones HEAD into a temporary folder, ~10 minutes
    python3 benchmarks/render_times.py --no-load --keep   # without the busy core; keep the clone

The clone is made from the last commit (uncommitted work is not measured). The load is one Python process spinning
on one core for the whole measurement (`--no-load` drops it). pip's cache is used as a user's would be after a first
install, so "install included" counts creating the virtual environment and installing from the cache. Every
chapter reads its committed runs (and its committed derived tables: bootstrap fits and the like); a chapter that
had to compute a result would show up here as minutes. Goals (issue 21): every chapter ≤ 60 s, `make book` ≤ 10 min
with the install, a rebuild with nothing changed ≤ 30 s. Not a test: the figures depend on the machine.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
GOALS = {"chapter": 60.0, "book": 600.0, "unchanged": 30.0}
_DONE = re.compile(r"^\[(?P<chapter>[^\]]+)\] done in (?P<seconds>[0-9.]+) s$")


def timed_make(clone: Path, log: Path) -> tuple[float, dict[str, float]]:
    """Run `make book` in ``clone``; return its wall time and each executed chapter's seconds."""
    started = time.perf_counter()
    with log.open("w") as out:
        result = subprocess.run(["make", "book"], cwd=clone, stdout=out, stderr=subprocess.STDOUT, check=False)
    seconds = time.perf_counter() - started
    text = log.read_text()
    if result.returncode != 0:
        raise SystemExit(f"error: make book failed in {clone} (exit {result.returncode}); last lines:\n"
                         + "\n".join(text.splitlines()[-20:]))
    chapters = {m["chapter"]: float(m["seconds"]) for m in map(_DONE.match, text.splitlines()) if m}
    return seconds, chapters


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-load", action="store_true", help="measure without keeping one core busy")
    parser.add_argument("--keep", action="store_true", help="keep the clone (its path is printed)")
    args = parser.parse_args()
    clone = Path(tempfile.mkdtemp(prefix="lpts-render-")) / "lpts"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(clone)], check=True)
    if (REPO.parent / "shared").exists() and not (clone.parent / "shared").exists():
        (clone.parent / "shared").symlink_to(REPO.parent / "shared")
    load = None if args.no_load else subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        first, chapters = timed_make(clone, clone.parent / "first.log")
        again, rerun = timed_make(clone, clone.parent / "again.log")
    finally:
        if load:
            load.kill()
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=clone, capture_output=True, text=True,
                            check=True).stdout.strip()
    print(f"commit {commit}; load: {'none' if args.no_load else 'one core spinning in another process'}")
    print(f"{'chapter':32s} {'seconds':>8s}  goal ≤ {GOALS['chapter']:.0f} s")
    for chapter, seconds in chapters.items():
        print(f"{chapter:32s} {seconds:8.1f}  {'ok' if seconds <= GOALS['chapter'] else 'MISSED'}")
    rendering = first - sum(chapters.values())
    print(f"make book from a clean clone, install included: {first:.0f} s (chapters {sum(chapters.values()):.0f} s, "
          f"install and HTML {rendering:.0f} s)  goal ≤ {GOALS['book']:.0f} s  "
          f"{'ok' if first <= GOALS['book'] else 'MISSED'}")
    print(f"make book again, nothing changed: {again:.1f} s ({len(rerun)} chapters re-executed)  goal ≤ "
          f"{GOALS['unchanged']:.0f} s  {'ok' if again <= GOALS['unchanged'] else 'MISSED'}")
    if args.keep:
        print(f"clone kept: {clone}")
    else:
        shutil.rmtree(clone.parent)


if __name__ == "__main__":
    main()
