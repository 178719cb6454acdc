"""Figures the documents share agree with each other and with the data they come from.

Hook and scenario counts are facts of a kernel's headers: they are checked against the
captured headers of each series.  What a bite map found is a figure of one run: it is
generated into docs/teaching.md (``bitemap --update-doc``), checked there against the rows
it summarises, and any other document that states it must state the same.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kvmnull.commands.matrix import build_scenarios
from kvmnull.guest.scenario import Policy
from kvmnull.kernel import kconfig
from kvmnull.kernel.hooks import HookClass, HookSet, Table, load_hooks

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parent / "test_data" / "kernels"
DOCUMENTS = ("README.md", "docs/spec.md", "docs/teaching.md", "docs/performance.md")
# the captured release of each series the documents speak of
SERIES = {"6.1": "6.1.0-56-cloud-amd64", "6.12": "6.12.117+deb12-cloud-amd64",
          "7.2": "7.2.13+deb14-cloud-amd64", "7.3": "7.3.4+deb13-cloud-amd64"}


def text(name: str) -> str:
    return (REPO / name).read_text()


def captured(series: str) -> HookSet:
    folder = DATA / SERIES[series]
    return load_hooks(folder / "src", kconfig.read_dotconfig(folder / "config", SERIES[series]).evaluator())


def classified(hooks: HookSet, table: Table, hook_class: HookClass | None = None) -> int:
    return sum(1 for h in hooks.table(table) if h.hook_class is not HookClass.UNCLASSIFIED
               and (hook_class is None or h.hook_class is hook_class))


def matrix_size(hooks: HookSet) -> int:
    """The default matrix: both policies of the patched kvm.ko, controls (kvm-null and kvm-amd), bulk cases."""
    return len(build_scenarios(hooks, [Policy.REFUSE, Policy.WARN], None, controls=True, bulk=True, amd=True))


def section(document: str, name: str) -> str:
    match = re.search(rf"<!-- kvmnull:{name} -->\n(.*?)<!-- /kvmnull:{name} -->", document, re.S)
    assert match, f"no generated section {name}"
    return match.group(1)


def without_generated(document: str) -> str:
    return re.sub(r"<!-- kvmnull:([\w-]+) -->\n.*?<!-- /kvmnull:\1 -->", "", document, flags=re.S)


@pytest.mark.parametrize("series", sorted(SERIES))
def test_the_series_table_counts_each_series_hooks(series: str) -> None:
    hooks = captured(series)
    row = next(line for line in text("README.md").splitlines() if line.startswith(f"| {series} "))
    match = re.search(r"(\d+) x86 \+ (\d+) PMU(?: \+ (\d+) nested)? hooks", row)
    assert match, row
    stated = tuple(int(g) if g else 0 for g in match.groups())
    assert stated == (classified(hooks, Table.X86), classified(hooks, Table.PMU), classified(hooks, Table.NESTED))


def test_6_12s_hook_counts_agree_everywhere() -> None:
    hooks = captured("6.12")
    x86, pmu = classified(hooks, Table.X86), classified(hooks, Table.PMU)
    spec = " ".join(text("docs/spec.md").split())
    by_class = (f"**{x86} x86 hooks** ({classified(hooks, Table.X86, HookClass.MANDATORY)} mandatory, "
                f"{classified(hooks, Table.X86, HookClass.OPTIONAL)} optional, "
                f"{classified(hooks, Table.X86, HookClass.OPTIONAL_RET0)} optional_ret0) and **{pmu} PMU hooks** "
                f"({classified(hooks, Table.PMU, HookClass.MANDATORY)} mandatory, "
                f"{classified(hooks, Table.PMU, HookClass.OPTIONAL)} optional)")
    assert by_class in spec
    assert f"{x86} x86 hooks and {pmu} PMU hooks" in " ".join(text("docs/teaching.md").split())
    assert f"{SERIES['6.12']}: {x86} x86 hooks, {pmu} PMU hooks" in text("README.md")


def test_matrix_sizes_agree_with_the_hook_tables() -> None:
    sizes = {series: matrix_size(captured(series)) for series in SERIES}
    readme, spec, performance = text("README.md"), " ".join(text("docs/spec.md").split()), text("docs/performance.md")
    assert f"the {sizes['6.12']} scenarios" in " ".join(readme.split())
    assert f"{sizes['6.12']} passed, 0 failed" in readme
    assert f"{sizes['6.12']} scenarios on 6.12" in spec
    # the three-series matrix in the README: its 'all' row, one column per series in --kernel's order
    all_row = next(line for line in readme.splitlines() if line.startswith("all "))
    assert re.findall(r"(\d+)/\1", all_row) == [str(sizes[s]) for s in ("6.1", "6.12", "7.3")]
    for series, size in sizes.items():
        prefix = "" if series == "6.12" else f"{series}: "
        rows = re.findall(rf"^\| {re.escape(prefix)}warm full matrix \((\d+) scenarios", performance, re.M)
        assert rows in ([], [str(size)]), series  # a series bench measured states its own matrix


def bite_figures(document: str) -> set[tuple[str, str, str]]:
    """Every 'N of M bite' and 'WARN named N of M' a document states, by kind."""
    found = {("bite", n, m) for n, m in re.findall(r"(\d+) of (\d+) bite", document)}
    found |= {("named", n, m) for n, m in re.findall(r"WARN named (\d+) of (\d+)", document)}
    return found


def test_the_bite_map_summary_is_what_its_rows_say() -> None:
    rows = section(text("docs/teaching.md"), "vendor-bitemap")
    mandatory = [line.split("|") for line in rows.splitlines() if re.match(r"\| \w+ +\| \w+ +\| mandatory ", line)]
    bites = sum(1 for cells in mandatory if cells[4].strip() != "-")
    assert f"mandatory: {bites} of {len(mandatory)} bite" in rows


def test_no_document_states_another_bite_map_figure() -> None:
    teaching = text("docs/teaching.md")
    generated = bite_figures(section(teaching, "vendor-bitemap"))
    assert generated  # the run's figures are there to compare with
    for name in DOCUMENTS:
        stated = bite_figures(without_generated(text(name)))
        # kvm-null's lifecycle map (section 7) is another run; its figures are generated there too
        kvm_null = bite_figures(section(teaching, "bitemap")) if name == "docs/teaching.md" else set()
        for kind, count, of in stated - kvm_null:
            same_kind = {(k, m) for k, _, m in generated}
            if (kind, of) in same_kind:
                assert (kind, count, of) in generated, f"{name} says {count} of {of} ({kind})"
