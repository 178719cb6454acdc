"""Regenerate tools/tests/test_data/apt-*.txt from the archive, through the machine's apt.

    python tools/tests/capture_apt.py SERIES...

For each series: ``apt-pkgnames-linux.txt`` (every linux-* package name apt
knows) and ``apt-show-SERIES.txt`` (``apt-cache show`` of what resolution
reads for that series), the input of ``packages.choose_set``.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from kvmnull import packages

DATA = Path(__file__).resolve().parent / "test_data"


def apt(*argv: str) -> str:
    return subprocess.run(["apt-cache", *argv], capture_output=True, text=True, check=True).stdout


def main(argv: list[str]) -> int:
    names = apt("pkgnames", "linux-")
    (DATA / "apt-pkgnames-linux.txt").write_text("\n".join(sorted(names.split())) + "\n")
    known = set(names.split())
    for series in argv:
        target = packages.Target(series=series)
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


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
