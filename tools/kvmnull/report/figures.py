"""The figures the documents share, each computed from the data committed with the repository.

A figure is one fact the prose of README.md, docs/spec.md or docs/teaching.md states, such as how
many hooks a series has or how many mandatory hooks a bite map found biting.  It is written only
inside a span, ``<!-- kvmnull:NAME -->TEXT<!-- /kvmnull:NAME -->`` (:mod:`.documents`), and
computed here from where it comes from:

* a fact of a header (hook counts, the matrix's size): the headers and config of each series
  captured under ``tools/tests/test_data/kernels/<release>/``;
* a figure of a run (what a bite map found): the section that run generated into
  docs/teaching.md (``census --bitemap`` or ``bitemap --update-doc``), read back from its rows.

Timings are figures of a run too; docs/performance.md (written by ``make bench``) is their one
place, and the other documents point there instead of repeating them.

``python -m kvmnull.report.figures`` rewrites every span of the documents from the data;
``--check`` only lists the spans that differ (exit 1).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import DataError, KvmnullError
from ..core.paths import data_root
from ..kernel import kconfig
from ..kernel.hooks import HookClass, HookSet, Table, load_hooks
from .documents import replace_spans, spans

DOCUMENTS = ("README.md", "docs/spec.md", "docs/teaching.md", "docs/performance.md")
TEACHING = "docs/teaching.md"
# the release captured of each series the documents speak of (tools/tests/test_data/kernels/)
CAPTURED = {"6.1": "6.1.0-56-cloud-amd64", "6.12": "6.12.117+deb12-cloud-amd64",
            "7.2": "7.2.13+deb14-cloud-amd64", "7.3": "7.3.4+deb13-cloud-amd64"}
KERNELS = Path("tools", "tests", "test_data", "kernels")
# the series the documents' examples and measured runs are of (the default target)
DEFAULT_SERIES = "6.12"
# the policies and controls of the default matrix (commands/matrix.py builds it; a test ties the two)
MATRIX_POLICIES = 2  # refuse, warn
MATRIX_CONTROLS = 2  # kvm-null and kvm-amd with nothing NULL
MATRIX_BULK = 2      # every optional hook NULL at once, every mandatory hook NULL at once


@dataclass(frozen=True)
class Sources:
    """What the figures are computed from: the captured hook tables and the teaching document."""

    hooks: Mapping[str, HookSet]  # by series
    teaching: str  # its generated sections hold the bite maps of the runs it shows

    @staticmethod
    def read(root: Path) -> Sources:
        hooks = {}
        for series, release in CAPTURED.items():
            folder = root / KERNELS / release
            if not (folder / "config").is_file():
                raise DataError(f"the captured headers of {release} are missing ({folder})",
                                "restore tools/tests/test_data/kernels/ from version control")
            evaluator = kconfig.read_dotconfig(folder / "config", release).evaluator()
            hooks[series] = load_hooks(folder / "src", evaluator)
        return Sources(hooks, (root / TEACHING).read_text())


@dataclass(frozen=True)
class BiteCount:
    """How many mandatory hooks of a bite map bite, of how many it knocked out."""

    biting: int
    of: int

    @property
    def quiet(self) -> int:
        return self.of - self.biting


@dataclass(frozen=True)
class Difference:
    """A span whose text is not what its data says (``expected`` None: no figure has that name)."""

    document: str
    name: str
    stated: str
    expected: str | None

    def describe(self) -> str:
        if self.expected is None:
            return f"{self.document}: span {self.name} is no figure (known: {', '.join(sorted(FIGURES))})"
        return f"{self.document}: {self.name} says {self.stated!r}, its data says {self.expected!r}"


# ---- facts of a header ----

def classified(hooks: HookSet, table: Table, hook_class: HookClass | None = None) -> int:
    """The hooks of ``table`` its ops header classifies (of ``hook_class`` if given)."""
    return sum(1 for h in hooks.table(table) if h.hook_class is not HookClass.UNCLASSIFIED
               and (hook_class is None or h.hook_class is hook_class))


def hook_counts(hooks: HookSet) -> str:
    """``122 x86 + 11 PMU hooks``: the classified hooks of each table that has any."""
    parts = [f"{classified(hooks, t)} {t.label}" for t in Table if classified(hooks, t)]
    return " + ".join(parts) + " hooks"


def hook_classes(hooks: HookSet) -> str:
    """``**122 x86 hooks** (79 mandatory, 33 optional, 10 optional_ret0) and **11 PMU hooks** (...)``."""
    parts = []
    for table in Table:
        if not classified(hooks, table):
            continue
        by_class = [f"{classified(hooks, table, c)} {c.value}" for c in HookClass
                    if c is not HookClass.UNCLASSIFIED and classified(hooks, table, c)]
        parts.append(f"**{classified(hooks, table)} {table.label} hooks** ({', '.join(by_class)})")
    return " and ".join(parts)


def mandatory(hooks: HookSet) -> int:
    """The mandatory hooks of every classified table: what a bite map knocks out, one at a time."""
    return sum(classified(hooks, t, HookClass.MANDATORY) for t in Table)


def matrix_size(hooks: HookSet) -> int:
    """The scenarios of the default matrix: under each policy the controls, every classified hook
    NULL alone and the two bulk cases."""
    return MATRIX_POLICIES * (MATRIX_CONTROLS + len(hooks.classified()) + MATRIX_BULK)


# ---- figures of a run, read back from the section the run generated ----

def generated_section(document: str, name: str) -> str:
    match = re.search(rf"<!-- kvmnull:{re.escape(name)} -->\n(.*?)<!-- /kvmnull:{re.escape(name)} -->",
                      document, re.S)
    if not match:
        raise DataError(f"{TEACHING} has no generated section {name}",
                        f"regenerate it with the command {TEACHING} names for it")
    return match.group(1)


def table_rows(section: str) -> list[dict[str, str]]:
    """The rows of the markdown table of a generated section, by column name."""
    lines = [line for line in section.splitlines() if line.startswith("|")]
    if len(lines) < 2:
        return []
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")), strict=False))
            for line in lines[2:]]


def mandatory_bites(section: str) -> BiteCount:
    """How many mandatory rows of a bite map name a first step (``-``: nothing differed).  A map
    without a class column knocked out mandatory hooks only (``census --bitemap``)."""
    rows = table_rows(section)
    step = next((c for c in (rows[0] if rows else {}) if c.startswith("first step")), None)
    if step is None:
        raise DataError("a bite map section has no 'first step ...' column",
                        f"regenerate the bite maps of {TEACHING}")
    chosen = [r for r in rows if r.get("class", HookClass.MANDATORY.value) == HookClass.MANDATORY.value]
    return BiteCount(sum(1 for r in chosen if r[step] != "-"), len(chosen))


def kvm_null_bites(sources: Sources) -> BiteCount:
    """kvm-null's lifecycle bite map (teaching section 7, ``census --dynamic --bitemap``)."""
    return mandatory_bites(generated_section(sources.teaching, "bitemap"))


def kvm_amd_bites(sources: Sources) -> BiteCount:
    """kvm-amd's bite map with the patched kvm.ko (teaching section 8, ``bitemap --update-doc``)."""
    return mandatory_bites(generated_section(sources.teaching, "vendor-bitemap"))


# ---- the named figures ----

FIGURES: dict[str, Callable[[Sources], str]] = {}


def figure(name: str) -> Callable[[Callable[[Sources], str]], Callable[[Sources], str]]:
    def register(compute: Callable[[Sources], str]) -> Callable[[Sources], str]:
        FIGURES[name] = compute
        return compute
    return register


def _series_hooks(series: str) -> Callable[[Sources], str]:
    def compute(sources: Sources) -> str:
        return hook_counts(sources.hooks[series])
    compute.__doc__ = f"the hooks of {series}'s captured headers, per table"
    return compute


for _series in CAPTURED:
    figure(f"hooks-{_series}")(_series_hooks(_series))


@figure(f"hooks-{DEFAULT_SERIES}-by-class")
def _default_hook_classes(sources: Sources) -> str:
    return hook_classes(sources.hooks[DEFAULT_SERIES])


@figure(f"matrix-{DEFAULT_SERIES}")
def _default_matrix(sources: Sources) -> str:
    return str(matrix_size(sources.hooks[DEFAULT_SERIES]))


@figure("bites-kvm-null")
def _kvm_null_biting(sources: Sources) -> str:
    count = kvm_null_bites(sources)
    return f"{count.biting} of {count.of}"


@figure("bites-kvm-amd")
def _kvm_amd_biting(sources: Sources) -> str:
    return str(kvm_amd_bites(sources).biting)


@figure("quiet-kvm-amd")
def _kvm_amd_quiet(sources: Sources) -> str:
    return str(kvm_amd_bites(sources).quiet)


def figures(sources: Sources) -> dict[str, str]:
    """Every figure's text."""
    return {name: compute(sources) for name, compute in FIGURES.items()}


def differences(documents: Mapping[str, str], values: Mapping[str, str]) -> list[Difference]:
    """Every span of the documents whose text is not its figure's, or that names no figure."""
    found = []
    for document, text in documents.items():
        for name, stated in spans(text):
            expected = values.get(name)
            if stated != expected:
                found.append(Difference(document, name, stated, expected))
    return found


def render(document: str, values: Mapping[str, str]) -> str:
    """The document with every span set to its figure."""
    return replace_spans(document, dict(values))


def checkout() -> Path:
    """The repository's root, which holds the documents and the captured data."""
    root = data_root()
    if not all((root / d).is_file() for d in DOCUMENTS) or not (root / KERNELS).is_dir():
        raise DataError(f"{root} holds no documents and captured data (an installed copy of kvmnull)",
                        "run from a checkout of the repository")
    return root


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m kvmnull.report.figures",
                                     description="set every figure span of the documents from its data")
    parser.add_argument("--check", action="store_true", help="only list the spans that differ (exit 1 if any)")
    args = parser.parse_args(argv)
    try:
        root = checkout()
        values = figures(Sources.read(root))
    except KvmnullError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    documents = {name: (root / name).read_text() for name in DOCUMENTS}
    found = differences(documents, values)
    for difference in found:
        print(difference.describe(), file=sys.stderr)
    if args.check:
        return 1 if found else 0
    if any(d.expected is None for d in found):
        return 2
    for name, text in documents.items():
        updated = render(text, values)
        if updated != text:
            (root / name).write_text(updated)
            print(f"updated {name}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
