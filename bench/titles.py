"""Measure how kvmnull's report titles agree with the ones syzbot gives, and record it in docs/performance.md.

    python bench/titles.py [--corpus DIR] [--out docs/performance.md] [--show N] [--no-write]

The corpus is syzkaller's labelled Linux report corpus (or part of it): one
file per console log, opening with header lines (``TITLE: ...`` for each report
syzkaller finds in it, in order; none when it finds none), a blank line, then
the log.  Each log goes through kvmnull's evidence parser; it agrees when the
first report title kvmnull gives is exactly the first ``TITLE:`` (or, for a file
with no ``TITLE:``, when kvmnull gives no report title).  The corpus is read,
never copied.

Run alone, this rewrites only its own section of the output file; ``bench.py``
writes the same section when it rewrites the whole file.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
from kvmnull.evidence.kernel_log import KernelReport, Warn, parse  # noqa: E402

CORPUS = REPO.parent / "shared" / "peer-corpus" / "syzkaller"
HEADING = "## Report titles against syzbot's"
GOAL = 0.85


@dataclass(frozen=True)
class Case:
    name: str
    expected: str | None  # the first TITLE, None: no report expected
    got: str | None

    @property
    def agrees(self) -> bool:
        return self.expected == self.got


def split(data: bytes) -> tuple[list[str], str]:
    """(the header lines, the log) of one corpus file."""
    head, _, body = data.partition(b"\n\n")
    return head.decode("utf-8", "replace").splitlines(), body.decode("utf-8", "replace")


def first_title(log: str) -> str | None:
    """The first report title kvmnull gives a log, by line."""
    titled = [r for r in parse(log) if isinstance(r, (Warn, KernelReport))]
    return min(titled, key=lambda r: r.line).title if titled else None


def cases(corpus: Path) -> list[Case]:
    found = []
    for path in sorted(p for p in corpus.iterdir() if p.is_file() and p.name not in ("README.md", "LICENSE")):
        header, log = split(path.read_bytes())
        titles = [line[len("TITLE:"):].strip() for line in header if line.startswith("TITLE:")]
        found.append(Case(path.name, titles[0] if titles else None, first_title(log)))
    return found


def _shape(title: str | None) -> str:
    """A title's kind, without its function: what a disagreement is grouped by."""
    if title is None:
        return "(none)"
    return re.sub(r" in \S+.*$", " in FUNC", title)


def disagreements(found: list[Case]) -> Counter[tuple[str, str]]:
    """How the wrong ones differ: expected kind against kvmnull's (same kind: the function differs)."""
    return Counter((_shape(c.expected), _shape(c.got)) for c in found if not c.agrees)


def corpus_commit(corpus: Path) -> str:
    readme = corpus / "README.md"
    match = re.search(r"\b[0-9a-f]{40}\b", readme.read_text()) if readme.exists() else None
    return match.group(0) if match else "unknown"


def section(corpus: Path = CORPUS) -> list[str]:
    """The lines of docs/performance.md's titles section (empty when the corpus is absent)."""
    if not corpus.is_dir():
        return []
    found = cases(corpus)
    titled = [c for c in found if c.expected is not None]
    untitled = [c for c in found if c.expected is None]
    agree = sum(c.agrees for c in titled)
    quiet = sum(c.agrees for c in untitled)
    untitled_got = sum(c.got is None for c in titled)
    total = sum(c.agrees for c in found)
    return [
        HEADING,
        "",
        "Produced by `bench/titles.py` (also run by `make bench`). Exact agreement of the first report",
        "title `kvmnull evidence` gives each log of syzkaller's labelled Linux report corpus (the half of",
        f"`pkg/report/testdata/linux/report` at syzkaller commit `{corpus_commit(corpus)}` the project",
        "was given) with the first title syzkaller's `pkg/report` gives it.",
        "",
        "| measure | figure |",
        "| --- | --- |",
        f"| logs with a title that agree | {agree} of {len(titled)} ({agree / max(len(titled), 1):.1%}) |",
        f"| logs with a title that get no titled record | {untitled_got} |",
        f"| logs with no report that get no title | {quiet} of {len(untitled)} |",
        f"| all logs that agree | {total} of {len(found)} ({total / max(len(found), 1):.1%}) |",
        f"| measured | {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} |",
        "",
        f"Goal: at least {GOAL:.0%} of the logs with a title.",
        "",
    ]


def write(out: Path, lines: list[str]) -> None:
    """Replace (or add) the section ``lines`` make (its heading is their first line) in ``out``, leaving
    the rest of it as it is; bench/patches.py writes its own section with it too."""
    heading = lines[0]
    text = out.read_text() if out.exists() else "# Performance\n"
    start = text.find(heading)
    if start >= 0:
        end = text.find("\n## ", start + len(heading))
        text = text[:start] + text[end + 1:] if end >= 0 else text[:start]
    out.write_text(text.rstrip("\n") + "\n\n" + "\n".join(lines))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--corpus", default=str(CORPUS), help="the corpus folder (default: %(default)s)")
    parser.add_argument("--out", default=str(REPO / "docs" / "performance.md"))
    parser.add_argument("--show", type=int, default=15, help="how many kinds of disagreement to print")
    parser.add_argument("--list", action="store_true", help="print every disagreeing file")
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    corpus = Path(args.corpus)
    if not corpus.is_dir():
        sys.exit(f"titles: no corpus at {corpus}: pass --corpus DIR")
    found = cases(corpus)
    if args.list:
        for c in found:
            if not c.agrees:
                print(f"{c.name}: expected {c.expected!r} got {c.got!r}")
    print("most common disagreements (expected kind -> kvmnull's):")
    for (expected, got), count in disagreements(found).most_common(args.show):
        print(f"{count:5d}  {expected!r} -> {got!r}")
    lines = section(corpus)
    print("\n".join(lines))
    if not args.no_write:
        write(Path(args.out), lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
