"""Check the built book as a reader sees it: open pages in headless Chromium with the network off.

    python -m lpts_helpers.book.browser build/default/_build/html     # every chapter page must draw its charts

Each page is loaded from disk by Debian's ``chromium`` inside a fresh network namespace (``unshare -n``; where
that is not permitted, with every host name made unresolvable), and the DOM is read after the page's scripts
ran. A chart counts as drawn when vega-embed took over its ``<div class="lpts-chart">`` and drew an SVG with
marks in it: the static SVG fallback inside the same div does not count. Used by the tests and ``make check-book``.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--host-resolver-rules=MAP * ~NOTFOUND")


_VOID_ELEMENTS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                  "wbr"}


@dataclass(frozen=True)
class ChartReport:
    page: Path
    charts: int  # <div class="lpts-chart"> elements on the page
    drawn: int  # of those, how many vega-embed drew (an SVG with marks inside)


class _ChartCounter(HTMLParser):
    """Count lpts chart divs, and those that vega-embed turned into a drawn SVG with at least one mark."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []  # (tag, is an embedded chart div)
        self.charts = 0
        self.drawn_ids: set[int] = set()
        self.current: int | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = (dict(attrs).get("class") or "").split()
        is_chart = tag == "div" and "lpts-chart" in classes
        if is_chart:
            self.charts += 1
            self.current = self.charts if "vega-embed" in classes else None
        if self.current is not None and tag == "g" and any(c.startswith("mark-") for c in classes) \
                and not any(c.startswith("mark-group") for c in classes):
            self.drawn_ids.add(self.current)
        if tag not in _VOID_ELEMENTS:
            self.stack.append((tag, is_chart))

    def handle_endtag(self, tag: str) -> None:
        while self.stack:
            open_tag, was_chart = self.stack.pop()
            if was_chart:
                self.current = None
            if open_tag == tag:
                break


def chromium_binary() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    raise FileNotFoundError("no Chromium found: install Debian's package (apt-get install chromium), "
                            "which `make test` does when run as root")


def rendered_dom(page: Path, *, wait_ms: int = 20000) -> str:
    """The page's DOM after its scripts ran, loaded from disk by headless Chromium with no network."""
    with tempfile.TemporaryDirectory() as profile:
        command = [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
                   f"--virtual-time-budget={wait_ms}", "--dump-dom", page.resolve().as_uri()]
        isolated = ["unshare", "--net", *command]
        if shutil.which("unshare") and subprocess.run(["unshare", "--net", "true"],
                                                      capture_output=True, check=False).returncode == 0:
            command = isolated
        result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(f"chromium failed on {page} (exit {result.returncode}): {result.stderr[-2000:]}")
    return result.stdout


def chart_report(page: Path) -> ChartReport:
    counter = _ChartCounter()
    counter.feed(rendered_dom(page))
    return ChartReport(page=page, charts=counter.charts, drawn=len(counter.drawn_ids))


def chapter_pages(html_dir: Path) -> list[Path]:
    return sorted((html_dir / "notebooks").glob("[0-9][0-9]-*.html"))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lpts_helpers.book.browser", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("html_dir", type=Path, help="the book's HTML folder, e.g. build/default/_build/html")
    args = parser.parse_args(argv)
    pages = chapter_pages(args.html_dir)
    if not pages:
        raise SystemExit(f"error: no chapter pages under {args.html_dir / 'notebooks'}")
    failed = False
    for report in map(chart_report, pages):
        ok = report.charts > 0 and report.drawn == report.charts
        failed |= not ok
        print(f"{'ok  ' if ok else 'FAIL'} {report.page.name}: {report.drawn}/{report.charts} charts drawn offline")
    if failed:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
