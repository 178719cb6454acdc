"""Figures the documents share agree with each other and with the data they come from.

The prose states each figure inside a span that ``kvmnull.report.figures`` computes: hook and
scenario counts from each series' captured headers, what a bite map found from the section its run
generated into docs/teaching.md.  Here the figure functions are pinned to golden values of the
captured data and to the code that really builds the matrix and writes the summaries; the spans
must say what their data says; no prose states such a figure by hand; and the command samples of
the README and bench's docs/performance.md, which cannot hold spans, state the same figures.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from kvmnull.commands.matrix import build_scenarios
from kvmnull.guest.scenario import Policy
from kvmnull.kernel.hooks import HookClass, HookSet, Table
from kvmnull.report import figures as fg
from kvmnull.report.hook_list import hook_summary
from kvmnull.verdict.bitemap import knockout_hooks

REPO = Path(__file__).resolve().parents[2]
PROSE = ("README.md", "docs/spec.md", "docs/teaching.md")  # docs/performance.md is written by bench


@pytest.fixture(scope="module")
def sources() -> fg.Sources:
    return fg.Sources.read(REPO)


@pytest.fixture(scope="module")
def values(sources: fg.Sources) -> dict[str, str]:
    return fg.figures(sources)


def text(name: str) -> str:
    return (REPO / name).read_text()


def prose_only(document: str) -> str:
    """The document without its spans, generated sections and fenced code blocks."""
    document = re.sub(r"<!-- kvmnull:([\w.-]+) -->[^\n]*?<!-- /kvmnull:\1 -->", "", document)
    document = re.sub(r"<!-- kvmnull:([\w-]+) -->\n.*?<!-- /kvmnull:\1 -->", "", document, flags=re.S)
    return re.sub(r"^```.*?^```", "", document, flags=re.S | re.M)


# ---- the figure functions, against golden values of the captured data ----

@pytest.mark.parametrize(("series", "counts"), [
    ("6.1", "115 x86 + 14 PMU hooks"), ("6.12", "122 x86 + 11 PMU hooks"),
    ("7.2", "131 x86 + 15 PMU + 13 nested hooks"), ("7.3", "131 x86 + 15 PMU + 13 nested hooks")])
def test_hook_counts_of_each_captured_series(sources: fg.Sources, series: str, counts: str) -> None:
    assert fg.hook_counts(sources.hooks[series]) == counts


def test_hook_classes_of_6_12(sources: fg.Sources) -> None:
    assert fg.hook_classes(sources.hooks["6.12"]) == ("**122 x86 hooks** (79 mandatory, 33 optional, 10 optional_ret0)"
                                                      " and **11 PMU hooks** (7 mandatory, 4 optional)")
    assert fg.mandatory(sources.hooks["6.12"]) == 86


@pytest.mark.parametrize("series", sorted(fg.CAPTURED))
def test_the_matrix_size_is_the_matrix_commands(sources: fg.Sources, series: str) -> None:
    hooks = sources.hooks[series]
    built = build_scenarios(hooks, [Policy.REFUSE, Policy.WARN], None, controls=True, bulk=True, amd=True)
    assert fg.matrix_size(hooks) == len(built)


def test_the_matrix_size_of_6_12(sources: fg.Sources) -> None:
    assert fg.matrix_size(sources.hooks["6.12"]) == 274


def test_the_bite_counts_are_what_the_generated_maps_say(sources: fg.Sources) -> None:
    vendor = fg.generated_section(sources.teaching, "vendor-bitemap")
    count = fg.kvm_amd_bites(sources)
    # the summary line bitemap --update-doc wrote with the map, from its own bites
    assert f"* mandatory: {count.biting} of {count.of} bite" in vendor
    assert count.of == fg.mandatory(sources.hooks["6.12"])  # the map knocked out every mandatory hook
    assert fg.mandatory_bites(fg.generated_section(sources.teaching, "vendor-bitemap-stock")).of == count.of
    # kvm-null's map has no summary line: count its rows by their cells
    rows = [line.split("|") for line in fg.generated_section(sources.teaching, "bitemap").splitlines()
            if re.match(r"\| (x86|pmu|nested) ", line)]
    assert fg.kvm_null_bites(sources) == fg.BiteCount(sum(1 for cells in rows if cells[3].strip() != "-"),
                                                      len(rows))
    assert len(rows) == fg.mandatory(sources.hooks["6.12"])


def test_a_bite_map_without_its_step_column_is_an_error() -> None:
    with pytest.raises(fg.DataError, match="first step"):
        fg.mandatory_bites("| table | hook | how |\n|---|---|---|\n| x86 | vcpu_create | fails |\n")


# ---- the spans ----

def test_every_span_says_what_its_data_says(values: dict[str, str]) -> None:
    documents = {name: text(name) for name in fg.DOCUMENTS}
    assert [d.describe() for d in fg.differences(documents, values)] == [], \
        "run `python -m kvmnull.report.figures` to regenerate the spans"


def test_every_figure_is_stated_somewhere() -> None:
    stated = {name for document in fg.DOCUMENTS for name, _ in fg.spans(text(document))}
    assert stated == set(fg.FIGURES)


def test_a_changed_or_unknown_span_is_found_and_rendered_back(values: dict[str, str]) -> None:
    readme = text("README.md")
    span = "<!-- kvmnull:hooks-6.1 -->115 x86 + 14 PMU hooks<!-- /kvmnull:hooks-6.1 -->"
    assert span in readme
    unknown = "<!-- kvmnull:hooks-5.10 -->1<!-- /kvmnull:hooks-5.10 -->"
    wrong = readme.replace(span, span.replace("115", "116")) + f"\n{unknown}\n"
    found = fg.differences({"README.md": wrong}, values)
    assert [(d.name, d.stated, d.expected) for d in found] == [
        ("hooks-6.1", "116 x86 + 14 PMU hooks", "115 x86 + 14 PMU hooks"), ("hooks-5.10", "1", None)]
    assert "README.md: hooks-6.1 says '116 x86 + 14 PMU hooks'" in found[0].describe()
    assert "is no figure" in found[1].describe()
    rendered = fg.render(wrong, values)
    assert span in rendered and "116 x86" not in rendered
    assert rendered.endswith(f"{unknown}\n")  # a span no figure names is left alone


def test_the_command_checks_and_rewrites_the_documents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    for name in fg.DOCUMENTS:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    (tmp_path / fg.KERNELS).parent.mkdir(parents=True)
    (tmp_path / fg.KERNELS).symlink_to(REPO / fg.KERNELS)
    monkeypatch.setattr(fg, "checkout", lambda: tmp_path)
    assert fg.main(["--check"]) == 0
    spec = tmp_path / "docs/spec.md"
    spec.write_text(spec.read_text().replace(">274<", ">275<"))
    assert fg.main(["--check"]) == 1
    assert "docs/spec.md: matrix-6.12 says '275', its data says '274'" in capsys.readouterr().err
    assert fg.main([]) == 0
    assert spec.read_text() == text("docs/spec.md")
    assert fg.main(["--check"]) == 0


# ---- no figure by hand ----

SHAPES = {
    "hook counts": r"\b\d+ (x86|PMU|nested) (\+|hooks)",
    "scenario counts": r"\b\d+ scenarios\b(?!/)",
    "bite counts": r"\b\d+ of \d+\b",
    "timings": r"\b\d+(\.\d+)? ?s\b(?! \w+/)",
}


@pytest.mark.parametrize("name", PROSE)
def test_no_prose_states_a_figure_by_hand(name: str) -> None:
    prose = prose_only(text(name))
    stray = [(kind, m.group(0)) for kind, shape in SHAPES.items() for m in re.finditer(shape, prose)]
    assert stray == [], f"{name}: state these in a figure span, or point to where they are generated"


# ---- command samples and bench's document, which hold no spans ----

def readme_sample(command: str) -> str:
    match = re.search(rf"^```\n\$ {re.escape(command)}\n(.*?)^```", text("README.md"), re.S | re.M)
    assert match, command
    return match.group(1)


def classified(hooks: HookSet, table: Table, hook_class: HookClass) -> int:
    return sum(1 for h in hooks.table(table) if h.hook_class is hook_class)


def matrix_rows(hooks: HookSet) -> dict[tuple[str, str], int]:
    """The scenarios of each row of the matrix table: per table and class, and controls and bulk cases."""
    rows = {("control", "-"): 4}
    for table in Table:
        for hook_class in (HookClass.MANDATORY, HookClass.OPTIONAL, HookClass.OPTIONAL_RET0):
            if classified(hooks, table, hook_class):
                rows[(table.value, hook_class.value)] = 2 * classified(hooks, table, hook_class)
    bulk = "+".join(t.value for t in Table if any(h.hook_class is not HookClass.UNCLASSIFIED for h in hooks.table(t)))
    rows[(bulk, "-")] = 4
    return rows


def test_the_list_hooks_sample(sources: fg.Sources) -> None:
    hooks = sources.hooks["6.12"]
    assert f"{fg.CAPTURED['6.12']}: {hook_summary(hooks)}\n" in readme_sample("kvmnull build --list-hooks")


def test_the_matrix_samples(sources: fg.Sources) -> None:
    hooks = sources.hooks["6.12"]
    sample = readme_sample("kvmnull matrix")
    stated = {(t, c): int(n) for t, c, n, p in re.findall(r"^(\S+) +(\S+) +(\d+) +(\d+)$", sample, re.M) if n == p}
    assert stated == matrix_rows(hooks)
    assert f"{fg.matrix_size(hooks)} passed, 0 failed" in sample
    both = readme_sample("kvmnull matrix --kvm both")
    for (table, hook_class), count in matrix_rows(hooks).items():
        row = next(line for line in both.splitlines()
                   if re.match(rf"{re.escape(table)} +{re.escape(hook_class)} ", line))
        assert re.findall(r"\((\d+)/\1\)", row) == [str(count // 2)] * 3, row
    # the three-series matrix: one column per series, in --kernel's order, then the 'all' row
    series = readme_sample("kvmnull matrix --kernel 6.1,6.12,7.3")
    rows = re.findall(r"^(\S+) +(\S+) +(\S+) +(\S+) +(\S+)$", series, re.M)
    all_row = next(line for line in series.splitlines() if line.startswith("all "))
    for column, name in enumerate(("6.1", "6.12", "7.3")):
        stated = {(table, hook_class): int(cells[column].split("/")[0]) for table, hook_class, *cells in rows
                  if re.fullmatch(r"(\d+)/\1", cells[column])}
        assert stated == matrix_rows(sources.hooks[name]), name
    assert re.findall(r"(\d+)/\1", all_row) == [str(fg.matrix_size(sources.hooks[s])) for s in ("6.1", "6.12", "7.3")]


def test_the_bitemap_sample_counts_the_mandatory_hooks(sources: fg.Sources) -> None:
    sample = readme_sample("kvmnull bitemap --vendor kvm-amd [--kvm stock|patched] [--kernel S] [--hooks @mandatory] "
                           "[--json F]")
    of = str(fg.mandatory(sources.hooks["6.12"]))
    assert f"mandatory: N of {of} bite (...); the kernel's WARN named N of {of}" in sample  # the run's: in teaching


def test_bench_states_the_matrix_and_bite_map_sizes(sources: fg.Sources) -> None:
    performance = text("docs/performance.md")
    for series, release in fg.CAPTURED.items():
        prefix = "" if series == fg.DEFAULT_SERIES else f"{series}: "
        size = fg.matrix_size(sources.hooks[series])
        rows = re.findall(rf"^\| {re.escape(prefix)}warm full matrix \((\d+) scenarios", performance, re.M)
        assert rows in ([], [str(size)]), release  # a series bench measured states its own matrix
    knockouts = re.findall(r"kvm-amd bite map, every hook of every table \((\d+) knockouts", performance)
    assert knockouts == [str(len(knockout_hooks(sources.hooks["6.12"])))]


def test_no_document_states_a_bite_map_figure_its_run_did_not(sources: fg.Sources) -> None:
    """'N of M bite' and 'WARN named N of M' belong to the generated summaries alone."""
    for name in fg.DOCUMENTS:
        stated = re.findall(r"\d+ of \d+ bite|WARN named \d+ of \d+", prose_only(text(name)))
        assert stated == [], name
    vendor = fg.generated_section(sources.teaching, "vendor-bitemap")
    named = re.findall(r"WARN named (\d+) of (\d+)", vendor)
    assert named and all(of == str(fg.kvm_amd_bites(sources).of) for _, of in named)
