"""`kvmnull bitemap` end to end: kvm-amd with hooks knocked out in real guests, and the walkthrough's rows."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvmnull.build.kbuild import BuildResult
from kvmnull.commands.main import main
from kvmnull.fetch.packages import KernelTree

from .test_integration import REPO, doc_section


def table_cells(section: str) -> dict[tuple[str, str], list[str]]:
    """A generated markdown table's rows by (table, hook), cells stripped."""
    rows = {}
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) > 2 and line.startswith("|") and not set(cells[0]) <= {"-"}:
            rows[(cells[0], cells[1])] = cells
    return rows


@pytest.mark.guest
def test_vendor_bitemap_knockouts_of_kvm_amd_and_the_teaching_doc(built: BuildResult, tree: KernelTree,
                                                                   tmp_path: Path) -> None:
    # a few hooks, each biting its own way (and one that does not), through the real command
    committed = (REPO / "docs" / "teaching.md").read_text()
    doc = tmp_path / "teaching.md"
    doc.write_text(committed)
    out = tmp_path / "bitemap.json"
    hooks = "x86.handle_exit,x86.get_msr,x86.inject_irq,x86.is_valid_cr0,x86.get_cpl,pmu.refresh,x86.vm_destroy"
    assert main(["bitemap", "-q", "--offline", "--accel", "tcg", "--log-dir", str(tmp_path), "--hooks", hooks,
                 "--json", str(out), "--update-doc", str(doc)]) == 0
    data = json.loads(out.read_text())
    assert [s["result"] for s in data["control"]] == ["ok"] * len(data["control"])
    bites = {b["hook"]: b for b in data["bites"]}
    assert sorted(bites) == sorted(h.split(".")[1] for h in hooks.split(","))
    assert (bites["handle_exit"]["divergence"], bites["handle_exit"]["step"]) == ("wrong", "port_out")
    assert (bites["get_msr"]["divergence"], bites["get_msr"]["step"]) == ("wrong", "get_msrs")
    assert (bites["inject_irq"]["divergence"], bites["inject_irq"]["step"]) == ("wrong", "interrupt")
    assert (bites["is_valid_cr0"]["divergence"], bites["is_valid_cr0"]["step"]) == ("errno", "set_sregs")
    assert bites["get_cpl"]["divergence"] == "none" and bites["get_cpl"]["flags"]
    assert all(b["warned"] for b in bites.values() if b["class"] == "mandatory")
    # the committed walkthrough's rows for these hooks are what the command makes today
    if doc_section(committed, "vendor-bitemap-release") != f"Linux {tree.release}":
        pytest.skip("docs/teaching.md's kvm-amd bite map is of another release: regenerate it as it says")
    new = table_cells(doc_section(doc.read_text(), "vendor-bitemap"))
    old = table_cells(doc_section(committed, "vendor-bitemap"))
    assert new and all(old[key] == cells for key, cells in new.items()), [
        (old.get(key), cells) for key, cells in new.items() if old.get(key) != cells]
