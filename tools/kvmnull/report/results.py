"""Verdicts as a table (tabulate), JSON, JUnit XML and KTAP."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

from tabulate import tabulate

from ..kernel.hooks import Table
from ..verdict.contract import Outcome, Verdict


def _class(verdict: Verdict) -> str | None:
    nulled = verdict.scenario.nulled
    if len(nulled) == 1:
        return nulled[0].hook_class.value
    return None


def _table(verdict: Verdict) -> str:
    nulled = verdict.scenario.nulled
    if verdict.scenario.name.startswith("control"):
        return "control"
    tables = [t.value for t in Table if any(h.table is t for h in nulled)]
    return "+".join(tables)  # a bulk case: every table it clears hooks of


def _hook(verdict: Verdict) -> str:
    nulled = verdict.scenario.nulled
    return nulled[0].name if len(nulled) == 1 else verdict.scenario.name


def scenario_json(verdict: Verdict) -> dict[str, object]:
    obs = verdict.observation
    return {
        "name": verdict.scenario.name,
        "table": _table(verdict),
        "hook": _hook(verdict),
        "class": _class(verdict),
        "policy": verdict.scenario.policy.value,
        "vendor": verdict.scenario.vendor,
        "nulled": [h.key for h in verdict.scenario.nulled],
        "expected": verdict.expected.value,
        "observed": obs.outcome.value,
        "pass": verdict.passed,
        "named": sorted(obs.named),
        "load_status": obs.load_status,
        "detail": obs.detail,
        "evidence": list(obs.evidence),
        "seconds": round(obs.seconds, 3),
    }


def to_json(verdicts: Sequence[Verdict], meta: dict[str, object]) -> dict[str, object]:
    return {**meta, "scenarios": [scenario_json(v) for v in verdicts],
            "summary": summary_counts(verdicts)}


def summary_counts(verdicts: Sequence[Verdict]) -> dict[str, int]:
    passed = sum(v.passed for v in verdicts)
    return {"total": len(verdicts), "passed": passed, "failed": len(verdicts) - passed}


def summary_line(verdicts: Sequence[Verdict]) -> str:
    counts = summary_counts(verdicts)
    return f"{counts['passed']} passed, {counts['failed']} failed"


def _short(text: str, width: int = 70) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def group_counts(verdicts: Sequence[Verdict]) -> dict[tuple[str, str], tuple[int, int]]:
    """(table, class) -> (scenarios, passed), in the order groups first appear."""
    counts: dict[tuple[str, str], tuple[int, int]] = {}
    for verdict in verdicts:
        key = (_table(verdict), _class(verdict) or "-")
        total, passed = counts.get(key, (0, 0))
        counts[key] = (total + 1, passed + verdict.passed)
    return counts


def by_policy(verdicts: Sequence[Verdict]) -> str:
    """Per table and class, each policy side by side: what was observed (and how many passed)."""
    policies = list(dict.fromkeys(v.scenario.policy.value for v in verdicts))
    cells: dict[tuple[str, str], dict[str, list[Verdict]]] = {}
    for verdict in verdicts:
        key = (_table(verdict), _class(verdict) or "-")
        cells.setdefault(key, {}).setdefault(verdict.scenario.policy.value, []).append(verdict)
    rows = []
    for (tbl, cls), by in cells.items():
        row = [tbl, cls]
        for policy in policies:
            members = by.get(policy, [])
            seen = sorted({v.observation.outcome.value for v in members})
            row.append(f"{'/'.join(seen) or '-'} ({sum(v.passed for v in members)}/{len(members)})")
        rows.append(row)
    headers = ["table", "class", *(f"{p} (kvm.ko without kvmnull's change)" if p == "upstream" else f"patched, {p}"
                                   for p in policies)]
    return tabulate(rows, headers=headers, disable_numparse=True)


def table(verdicts: Sequence[Verdict], full: bool = True) -> str:
    """Grouped by table and class; with ``full=False`` only failures and groups' totals."""
    groups: dict[tuple[str, str], list[Verdict]] = {}
    for verdict in verdicts:
        groups.setdefault((_table(verdict), _class(verdict) or "-"), []).append(verdict)
    rows = []
    for (tbl, cls), members in groups.items():
        for verdict in members:
            if not full and verdict.passed:
                continue
            obs = verdict.observation
            rows.append([tbl, cls, _hook(verdict), verdict.scenario.policy.value, verdict.expected.value,
                         obs.outcome.value, "PASS" if verdict.passed else "FAIL",
                         _short(obs.evidence[0] if obs.evidence else obs.detail)])
    out = tabulate(rows, headers=["table", "class", "hook", "policy", "expected", "observed", "verdict", "evidence"])
    totals = [[tbl, cls, total, passed] for (tbl, cls), (total, passed) in group_counts(verdicts).items()]
    out += "\n\n" + tabulate(totals, headers=["table", "class", "scenarios", "passed"])
    return out


def write_json(verdicts: Sequence[Verdict], meta: dict[str, object], path: str) -> None:
    Path(path).write_text(json.dumps(to_json(verdicts, meta), indent=2) + "\n")


def junit(verdicts: Sequence[Verdict], suite: str) -> str:
    """A JUnit XML document: one testcase per scenario, timed, with a failure body for each failure."""
    return ET.tostring(_suite(verdicts, suite), encoding="unicode", xml_declaration=True) + "\n"


def junit_suites(suites: Sequence[tuple[str, Sequence[Verdict]]]) -> str:
    """One ``testsuite`` per kernel (a bare ``testsuite`` document when there is one)."""
    if len(suites) == 1:
        return junit(suites[0][1], suites[0][0])
    root = ET.Element("testsuites")
    for name, verdicts in suites:
        root.append(_suite(verdicts, name))
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _suite(verdicts: Sequence[Verdict], suite: str) -> ET.Element:
    total = sum(v.observation.seconds for v in verdicts)
    # a scenario whose evidence fits no outcome (or broke the parser) is an error, not a failure
    errors = [v for v in verdicts if not v.passed and v.observation.outcome is Outcome.ERROR]
    failures = [v for v in verdicts if not v.passed and v.observation.outcome is not Outcome.ERROR]
    root = ET.Element("testsuite", name=suite, tests=str(len(verdicts)), failures=str(len(failures)),
                      errors=str(len(errors)), time=f"{total:.3f}")
    for verdict in verdicts:
        case = ET.SubElement(root, "testcase", classname=f"kvmnull.{_table(verdict)}",
                             name=f"{_hook(verdict)}[{verdict.scenario.policy.value}]",
                             time=f"{verdict.observation.seconds:.3f}")
        if not verdict.passed:
            kind = "error" if verdict.observation.outcome is Outcome.ERROR else "failure"
            failure = ET.SubElement(case, kind, message=(
                f"expected {verdict.expected.value}, observed {verdict.observation.outcome.value}"))
            failure.text = "\n".join([verdict.observation.detail, *verdict.observation.evidence])
    return root


def write_junit(verdicts: Sequence[Verdict], suite: str, path: str) -> None:
    Path(path).write_text(junit(verdicts, suite))


def ktap(verdicts: Sequence[Verdict], suite: str) -> str:
    lines = ["KTAP version 1", f"# {suite}", f"1..{len(verdicts)}"]
    for number, verdict in enumerate(verdicts, start=1):
        status = "ok" if verdict.passed else "not ok"
        name = f"{_table(verdict)}.{_hook(verdict)}.{verdict.scenario.policy.value}"
        lines.append(f"# {name}: expected {verdict.expected.value}, observed "
                     f"{verdict.observation.outcome.value} ({verdict.observation.detail}) "
                     f"in {verdict.observation.seconds:.2f}s")
        lines.append(f"{status} {number} {name}")
    counts = summary_counts(verdicts)
    lines.append(f"# totals: pass:{counts['passed']} fail:{counts['failed']} xfail:0 xpass:0 skip:0 error:0")
    return "\n".join(lines) + "\n"
