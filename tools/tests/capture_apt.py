"""Regenerate tools/tests/test_data/apt-*.txt from the archive, through the machine's apt.

    python tools/tests/capture_apt.py SERIES...
    python tools/tests/capture_apt.py --madison   # apt-madison.txt, through the host's and the private view

For each series: ``apt-pkgnames-linux.txt`` (every linux-* package name apt
knows) and ``apt-show-SERIES.txt`` (``apt-cache show`` of what resolution
reads for that series), the input of ``packages.choose_set``.  ``--madison``:
which suite the image of each cached kernel comes from, as apt says it.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from kvmnull.fetch import packages

DATA = Path(__file__).resolve().parent / "test_data"


def apt(*argv: str) -> str:
    return subprocess.run(["apt-cache", *argv], capture_output=True, text=True, check=True).stdout


def main(argv: list[str]) -> int:
    names = apt("pkgnames", "linux-")
    (DATA / "apt-pkgnames-linux.txt").write_text("\n".join(sorted(names.split())) + "\n")
    known = set(names.split())
    for series in argv:
        target = packages.KernelSpec(series=series)
        wanted = {f"linux-source-{series}"}
        for release in packages.image_releases(target, sorted(known)):
            wanted |= {f"linux-image-{release}", f"linux-image-{release}-unsigned", f"linux-headers-{release}"}
        text, seen = "", set()
        while wanted := {n for n in wanted if n in known and n not in seen}:
            seen |= wanted
            shown = apt("show", *sorted(wanted))
            text += shown
            wanted = set(re.findall(r"\b(linux-[\w.+-]+)", "\n".join(
                line for line in shown.splitlines() if line.startswith("Depends:"))))
        (DATA / f"apt-show-{series}.txt").write_text(text)
    return 0


def madison() -> int:
    from kvmnull.core.progress import Progress
    from kvmnull.fetch.apt import HOST, extra_view

    cache = packages.cache_root()
    views = (HOST, extra_view(cache, Progress(quiet=True)))
    text = ""
    for tree in packages.cached_trees(cache):
        for view in views:
            for name in (f"linux-image-{tree.release}-unsigned", f"linux-image-{tree.release}"):
                text += subprocess.run(view.argv("apt-cache", "madison", name), capture_output=True,
                                       text=True, check=True).stdout
    (DATA / "apt-madison.txt").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(madison() if sys.argv[1:] == ["--madison"] else main(sys.argv[1:]))
