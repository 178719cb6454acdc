"""The census across series (``census --kernel 6.1,6.12,7.3``), on the real sources of the three series.

The expected values come from reading those sources: the ops headers, the vendors' static tables,
``kvm_init()`` and ``kvm_types.h`` of each.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from kvmnull.commands.main import main
from kvmnull.commands.prepare import derive
from kvmnull.core.progress import Progress
from kvmnull.fetch import packages

from .conftest import reads_cache
from .test_integration import REPO, doc_section

SERIES = ("6.1", "6.12", "7.3")


@pytest.fixture(scope="module")
@reads_cache
def trees() -> dict[str, packages.KernelTree]:
    """The three series' cache entries (fetched on first use)."""
    return {s: packages.fetch(packages.KernelSpec.parse(s), packages.cache_root(), Progress(quiet=True))
            for s in SERIES}


@pytest.fixture(scope="module")
def history(trees: dict[str, packages.KernelTree], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("history") / "history.json"
    assert main(["census", "-q", "--offline", "--kernel", ",".join(SERIES), "--json", str(out)]) == 0
    data: dict[str, Any] = json.loads(out.read_text())
    return data


def lineage(history: dict[str, Any], name: str) -> dict[str, Any]:
    found = [item for item in history["lineages"] if name in item["names"]]
    assert len(found) == 1, [item["names"] for item in found]
    return found[0]


def test_every_hook_of_every_series_is_in_exactly_one_lineage(history: dict[str, Any],
                                                              trees: dict[str, packages.KernelTree]) -> None:
    assert [s["kernel"] for s in history["series"]] == [trees[s].release for s in SERIES]
    for series, tree in trees.items():
        hooks = derive(tree, Progress(quiet=True)).hooks
        listed = [(item["series"][series]["table"], item["series"][series]["name"], item["series"][series]["class"])
                  for item in history["lineages"] if item["series"][series] is not None]
        assert sorted(listed) == sorted((h.table.value, h.name, h.hook_class.value) for h in hooks.hooks)


def test_hardware_enable_was_renamed_on_the_evidence_of_its_implementations(history: dict[str, Any]) -> None:
    item = lineage(history, "hardware_enable")
    assert item["names"] == ["hardware_enable", "enable_virtualization_cpu"]
    assert [s and s["name"] for s in item["series"].values()] == ["hardware_enable", "enable_virtualization_cpu",
                                                                  "enable_virtualization_cpu"]
    assert all(s["class"] == "mandatory" for s in item["series"].values())
    renamed = [c for c in item["changes"] if c["kind"] == "renamed"]
    assert [(c["from"], c["to"]) for c in renamed] == [("6.1", "6.12")]
    evidence = " ".join(renamed[0]["evidence"])
    assert "svm_hardware_enable and svm_enable_virtualization_cpu" in evidence
    assert "vmx_hardware_enable and vmx_enable_virtualization_cpu" in evidence
    assert "declaration: both int ()" in evidence


def test_get_entry_info_is_added_in_7_3(history: dict[str, Any]) -> None:
    item = lineage(history, "get_entry_info")
    assert item["series"]["6.1"] is None and item["series"]["6.12"] is None
    assert item["series"]["7.3"]["class"] == "mandatory"
    assert item["series"]["7.3"]["implementations"] == {"vmx": "vmx_get_entry_info", "svm": "svm_get_entry_info"}
    assert [(c["kind"], c["from"], c["to"]) for c in item["changes"]] == [("added", "6.12", "7.3")]


def test_the_nested_table_is_classified_only_in_7_3(history: dict[str, Any]) -> None:
    classified = {v["series"]: v["classified_tables"] for v in history["vendor_api"]}
    assert ["kvm_x86_nested_ops" in classified[s] for s in SERIES] == [False, False, True]
    check_events = lineage(history, "check_events")
    assert [s["class"] for s in check_events["series"].values()] == ["unclassified", "unclassified", "mandatory"]
    assert [c["kind"] for c in check_events["changes"]] == ["classified"]
    nested = [item for item in history["lineages"] if item["table"] == "nested"]
    assert all(item["series"][s] is None or item["series"][s]["class"] == "unclassified"
               for item in nested for s in ("6.1", "6.12"))


def test_reclassifications_both_ways(history: dict[str, Any]) -> None:
    reset = next(i for i in history["lineages"] if i["table"] == "pmu" and i["names"] == ["reset"])
    assert [s["class"] for s in reset["series"].values()] == ["mandatory", "optional", "optional"]
    pi = lineage(history, "pi_update_irte")
    assert [c["detail"] for c in pi["changes"] if c["kind"] == "reclassified"] == ["optional -> mandatory"]
    flags = {v["series"]: " ".join(v["flags"]) for v in history["vendor_api"]}
    assert "x86.pi_update_irte: optional, yet every in-tree vendor" in flags["6.12"]  # flagged before it moved


def test_a_rename_the_source_cannot_decide_is_shown_as_such(history: dict[str, Any]) -> None:
    old, new = lineage(history, "msr_filter_changed"), lineage(history, "recalc_intercepts")
    assert old is not new
    assert [c["kind"] for c in old["changes"]] == ["rename undecided"]
    assert "recalc_intercepts" in old["changes"][0]["detail"]
    assert [c["kind"] for c in new["changes"]] == ["rename undecided"]


def test_what_changed_for_a_vendor_beyond_the_hooks(history: dict[str, Any]) -> None:
    api = {v["series"]: v for v in history["vendor_api"]}
    assert api["6.1"]["registration"].startswith("kvm_init(&init_ops")
    assert all(api[s]["registration"].startswith("kvm_x86_vendor_init") for s in ("6.12", "7.3"))
    assert [api[s]["exports_to"].startswith("to any module") for s in SERIES] == [True, True, False]
    assert "kvm-amd, kvm-intel" in api["7.3"]["exports_to"]
    assert [api[s]["nested_ops_via"] for s in SERIES] == ["kvm_x86_ops.nested_ops", "kvm_x86_ops.nested_ops",
                                                          "kvm_x86_init_ops.nested_ops"]
    assert all("stray ';'" in " ".join(api[s]["oddities"]) for s in SERIES)


def test_the_teaching_history_is_what_the_stated_command_makes(trees: dict[str, packages.KernelTree],
                                                               tmp_path: Path) -> None:
    committed = (REPO / "docs" / "teaching.md").read_text()
    assert "kvmnull census --kernel 6.1,6.12,7.3 --update-doc docs/teaching.md" in committed
    doc = tmp_path / "teaching.md"
    doc.write_text(committed)
    assert main(["census", "-q", "--offline", "--kernel", ",".join(SERIES), "--update-doc", str(doc)]) == 0
    regenerated = doc.read_text()
    if doc_section(regenerated, "history-releases") != doc_section(committed, "history-releases"):
        pytest.skip(f"docs/teaching.md compares {doc_section(committed, 'history-releases')}, the cache holds "
                    f"{doc_section(regenerated, 'history-releases')}: regenerate it with the command it states")
    assert regenerated == committed


@pytest.mark.parametrize(("kernels", "message"), [
    ("6.12,6.1", "is not oldest first"),
    ("6.1,6.1", "names a series twice"),
    ("6.1,", "at least two kernels"),
    ("5.4,6.1", "series 5.4 is older than 6.1"),
    # a series without its own patches is a target (the nearest series' are used); offline, it must be cached
    ("6.1,6.5", "--offline: no cached kernel 6.5.*-cloud-amd64"),
])
def test_bad_kernel_lists_are_named(kernels: str, message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["census", "-q", "--offline", "--kernel", kernels]) == 2
    assert message in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("spatch") is None, reason="Coccinelle's spatch is not installed")
def test_the_lint_verdict_of_each_series_beside_its_class(trees: dict[str, packages.KernelTree],
                                                          tmp_path: Path) -> None:
    # pi_update_irte: optional through 6.12, its three callers in x86.c (kvm_arch_irq_bypass_add_producer,
    # _del_producer, kvm_arch_update_irqfd_routing) use its value with nothing in front; mandatory in 7.3
    out = tmp_path / "history.json"
    assert main(["census", "-q", "--offline", "--kernel", ",".join(SERIES), "--lint", "--json", str(out)]) == 0
    series = lineage(json.loads(out.read_text()), "pi_update_irte")["series"]
    assert [(series[s]["class"], series[s]["lint"]) for s in SERIES] == [
        ("optional", "error: nothing 3"), ("optional", "error: nothing 3"), ("mandatory", "fine")]


def test_lint_needs_several_kernels(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["census", "-q", "--offline", "--lint"]) == 2
    assert "for one kernel, run `kvmnull lint`" in capsys.readouterr().err
