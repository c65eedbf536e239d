"""Publish the book: one self-contained folder of HTML ready to upload as a static site (GitHub Pages, any host).

    python -m lpts_helpers.book.publish build/default build/publish     # after `make book`; `make publish` does both

The folder is the rendered book (the claims table ``claims.csv`` included, the summary page's download) plus
``.nojekyll`` (GitHub Pages must serve ``_static/`` as is). Before copying, the build must have rendered every
chapter of the table of contents with the claims table beside them, and no page may load a script or style sheet
from another host: the charts' vega bundle is local, so the published book draws offline too (``make publish``
then runs the browser check on the published folder, exactly as a reader's browser would load it).
"""

from __future__ import annotations

import argparse
import re
import shutil
from pathlib import Path

from .build import toc_chapters

# a <script src> or <link href> that leaves the folder: the page would need the network to draw
_REMOTE_ASSET = re.compile(r'<(?:script[^>]*\bsrc|link[^>]*\bhref)="(https?:)?//[^"]+"', re.IGNORECASE)


def remote_assets(html_dir: Path) -> dict[str, list[str]]:
    """Per page (relative path), the scripts and style sheets it loads from another host."""
    found = {}
    for page in sorted(html_dir.rglob("*.html")):
        hits = [m.group(0) for m in _REMOTE_ASSET.finditer(page.read_text(errors="replace"))]
        if hits:
            found[page.relative_to(html_dir).as_posix()] = hits
    return found


def publish(build_dir: Path, dest: Path) -> Path:
    """Copy ``build_dir``'s rendered book to ``dest`` (replaced) as a site; return ``dest``."""
    html = build_dir / "_build" / "html"
    if not (html / "index.html").is_file():
        raise SystemExit(f"error: no rendered book in {build_dir} ({html / 'index.html'} is missing); "
                         f"run `make book` first")
    missing = [c.stem for c in toc_chapters() if not (html / "notebooks" / f"{c.stem}.html").is_file()]
    if missing:
        raise SystemExit(f"error: the build in {build_dir} lacks chapters {missing}; publish a build of every "
                         f"chapter (`make book` without --chapters)")
    remote = remote_assets(html)
    if remote:
        page, hits = next(iter(remote.items()))
        raise SystemExit(f"error: {len(remote)} page(s) load assets from another host, e.g. {page}: {hits[0]}")
    if not (html / "claims.csv").is_file():
        raise SystemExit(f"error: {html / 'claims.csv'} is missing: the summary chapter writes the claims table "
                         f"beside the run store and the build copies it (make book)")
    if dest.exists():
        shutil.rmtree(dest)
    shutil.copytree(html, dest, ignore=shutil.ignore_patterns(".buildinfo"))
    (dest / ".nojekyll").touch()
    return dest


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m lpts_helpers.book.publish", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("build_dir", type=Path, help="a full build (e.g. build/default)")
    parser.add_argument("dest", type=Path, help="the folder to write (replaced if it exists)")
    args = parser.parse_args(argv)
    dest = publish(args.build_dir, args.dest)
    size = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file()) / 2 ** 20
    print(f"published: {dest} ({size:.1f} MiB); upload the folder as it is")


if __name__ == "__main__":
    main()
