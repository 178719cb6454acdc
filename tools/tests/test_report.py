"""Report formats on verdicts judged from real guests' consoles (the full matrix checks them at scale)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

from kvmnull.evidence import ktap
from kvmnull.guest.scenario import Policy, Scenario, ScenarioRun
from kvmnull.kernel.hooks import HookSet, Table
from kvmnull.report import results as report
from kvmnull.verdict.contract import Verdict, judge, observation_of

from .conftest import log


def verdicts(hooks: HookSet) -> list[Verdict]:
    """A pass and a failure: the warned console judged under warn, and under refuse."""
    vcpu_create = hooks.find(Table.X86, "vcpu_create")
    assert vcpu_create
    warn = Scenario("x86.vcpu_create", Policy.WARN, "kvm-null", (vcpu_create,))
    refuse = Scenario("x86.vcpu_create", Policy.REFUSE, "kvm-null", (vcpu_create,))
    return judge([(warn, observation_of(ScenarioRun(warn, log("warned.log"), 1.5), hooks)),
                  (refuse, observation_of(ScenarioRun(refuse, log("warned.log"), 0.25), hooks))])


def test_junit_times_and_failure_bodies(captured_hooks: HookSet, tmp_path: Path) -> None:
    path = tmp_path / "junit.xml"
    report.write_junit(verdicts(captured_hooks), "suite", str(path))
    suite = ET.parse(path).getroot()
    assert (suite.get("tests"), suite.get("failures"), suite.get("time")) == ("2", "1", "1.750")
    passed, failed = suite.findall("testcase")
    assert (passed.get("name"), passed.get("time"), passed.find("failure")) == ("vcpu_create[warn]", "1.500", None)
    failure = failed.find("failure")
    assert failed.get("time") == "0.250" and failure is not None
    assert failure.get("message") == "expected refused, observed warned"
    assert failure.text and "vendor kvm_null: mandatory kvm_x86_ops.vcpu_create is NULL" in failure.text


def test_ktap_parses_with_the_projects_reader(captured_hooks: HookSet) -> None:
    parsed = ktap.parse(report.ktap(verdicts(captured_hooks), "suite"))
    assert parsed.valid, parsed.problems
    assert [(r.name, r.status) for r in parsed.results] == [
        ("x86.vcpu_create.warn", ktap.Status.PASS), ("x86.vcpu_create.refuse", ktap.Status.FAIL)]
    assert any("expected refused, observed warned" in d for d in parsed.diagnostics)


def test_json_and_table(captured_hooks: HookSet, tmp_path: Path) -> None:
    path = tmp_path / "out.json"
    report.write_json(verdicts(captured_hooks), {"kernel": "k"}, str(path))
    data = json.loads(path.read_text())
    assert data["summary"] == {"total": 2, "passed": 1, "failed": 1}
    assert [(s["policy"], s["pass"], s["seconds"]) for s in data["scenarios"]] == [
        ("warn", True, 1.5), ("refuse", False, 0.25)]
    table = report.table(verdicts(captured_hooks), full=False)
    assert "FAIL" in table and "PASS" not in table  # failures only, then the totals
    assert table.splitlines()[-1].split() == ["x86", "mandatory", "2", "1"]


def test_an_error_outcome_is_a_junit_error(captured_hooks: HookSet) -> None:
    vm_destroy = captured_hooks.find(Table.X86, "vm_destroy")
    assert vm_destroy
    s = Scenario("x86.vm_destroy", Policy.REFUSE, "kvm-null", (vm_destroy,))
    # a console without the harness's load line fits no outcome
    verdict = judge([(s, observation_of(ScenarioRun(s, log("panic.log").split("kvmnull-scenario")[0], 0.5),
                                        captured_hooks))])
    suite = ET.fromstring(report.junit(verdict, "suite"))
    assert (suite.get("failures"), suite.get("errors")) == ("0", "1")
    case = suite.find("testcase")
    assert case is not None and case.find("error") is not None and case.find("failure") is None
