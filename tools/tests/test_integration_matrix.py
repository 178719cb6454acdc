"""`kvmnull matrix` end to end, in real guests: every format, any order, and Debian's stock kvm.ko."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from kvmnull.build.kbuild import BuildResult
from kvmnull.commands.main import main
from kvmnull.evidence import ktap
from kvmnull.guest.scenario import Policy
from kvmnull.kernel.hooks import HookSet


def observations(path: Path) -> dict[tuple[str, str], tuple[object, ...]]:
    """Per scenario, what must not depend on the order scenarios ran in."""
    data = json.loads(path.read_text())
    return {(s["name"], s["policy"]): (s["observed"], tuple(s["named"]), s["load_status"], s["detail"])
            for s in data["scenarios"]}


@pytest.mark.guest
def test_full_matrix_in_every_format_and_in_any_order(built: BuildResult, hooks: HookSet, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    ordered, shuffled = tmp_path / "ordered.json", tmp_path / "shuffled.json"
    junit = tmp_path / "matrix.xml"
    common = ["matrix", "-q", "--offline", "--accel", "tcg", "--log-dir", str(tmp_path)]
    status = main([*common, "--json", str(ordered), "--junit", str(junit), "--ktap", "-"])
    printed = capsys.readouterr().out
    data = json.loads(ordered.read_text())
    failed = [s for s in data["scenarios"] if not s["pass"]]
    assert status == 0 and not failed, printed
    assert data["kernel"] and data["accel"] == "tcg" and data["shuffle"] is None
    # every classified hook alone under both policies, plus two controls per policy (kvm-amd: TCG offers SVM)
    singles = [s for s in data["scenarios"] if s["table"] in ("x86", "pmu")]
    assert sorted((s["table"], s["hook"], s["policy"]) for s in singles) == sorted(
        (h.table.value, h.name, p.value) for h in hooks.classified() for p in Policy if p.patched)
    controls = [(s["vendor"], s["policy"]) for s in data["scenarios"] if s["table"] == "control"]
    assert sorted(controls) == sorted((v, p.value) for v in ("kvm-null", "kvm-amd") for p in Policy if p.patched)
    for s in singles:
        if s["class"] == "mandatory":
            assert s["observed"] == ("refused" if s["policy"] == "refuse" else "warned")
            assert s["named"] == [f"{s['table']}.{s['hook']}"]
        else:
            assert s["observed"] == "loaded"
    assert all(s["seconds"] > 0 for s in data["scenarios"])

    # KTAP on stdout, read back with the project's reader
    report = ktap.parse(printed)
    assert report.valid, report.problems
    assert report.plan == len(data["scenarios"]) == report.count(ktap.Status.PASS)

    # JUnit, read with a real XML parser: one timed case per scenario
    suite = ET.parse(junit).getroot()
    cases = suite.findall("testcase")
    assert suite.tag == "testsuite" and int(suite.get("tests", "-1")) == len(cases) == len(data["scenarios"])
    assert suite.get("failures") == "0" and not suite.findall("testcase/failure")
    assert all(float(case.get("time", "0")) > 0 for case in cases)
    assert float(suite.get("time", "0")) > 0

    # the same matrix in another order observes exactly the same
    status = main([*common, "--shuffle", "1", "--json", str(shuffled), "--failures-only"])
    table = capsys.readouterr().out
    assert status == 0, table
    assert json.loads(shuffled.read_text())["shuffle"] == 1
    assert observations(shuffled) == observations(ordered)
    # the runs really came in another order, on both guests
    runs: dict[str, list[tuple[str, str]]] = {}
    for label, path in (("ordered", ordered), ("shuffled", shuffled)):
        records = json.loads(path.read_text())["runs"]
        assert sorted(r["order"] for r in records) == list(range(len(records)))
        assert {r["guest"] for r in records} == {0, 1}
        runs[label] = [(r["name"], r["policy"]) for r in sorted(records, key=lambda r: r["order"])]
    assert runs["ordered"] != runs["shuffled"]
    # the table ends with a total per table and class
    assert "table    class            scenarios    passed" in table
    assert f"{len(data['scenarios'])} passed, 0 failed" in table


@pytest.mark.guest
def test_stock_kvm_matrix_conforms_to_upstream(built: BuildResult, hooks: HookSet, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """Debian's own kvm.ko: each NULL mandatory hook draws an anonymous WARN, named through the header line,
    and the vendor registers anyway; optional hooks load as with the patched kvm.ko."""
    out = tmp_path / "stock.json"
    status = main(["matrix", "-q", "--offline", "--accel", "tcg", "--log-dir", str(tmp_path), "--kvm", "stock",
                   "--json", str(out), "--failures-only"])
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert status == 0 and data["policies"] == ["upstream"], printed
    singles = [s for s in data["scenarios"] if s["table"] in ("x86", "pmu")]
    assert len(singles) == len(hooks.classified())
    for s in singles:
        assert s["policy"] == "upstream"
        if s["class"] == "mandatory":
            assert s["observed"] == "warned" and s["named"] == [f"{s['table']}.{s['hook']}"], s
            assert any("kvm-x86-" in line and "ops.h:" in line for line in s["evidence"]), s
        else:
            assert s["observed"] == "loaded", s
    assert all("matrix-stock-" in log for log in data["logs"])
