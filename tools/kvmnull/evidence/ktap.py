"""A KTAP / TAP 13 reader for selftest output, tolerant of console noise between its lines."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field

_VERSION = re.compile(r"^(?:KTAP version 1|TAP version 1[34])\s*$")
_PLAN = re.compile(r"^1\.\.(\d+)\s*(?:#\s*SKIP\b\s*(.*?))?\s*$", re.I)
_RESULT = re.compile(r"^(not ok|ok) (\d+)(?: -)? ?([^#]*?)\s*(?:#\s*(\w+)\s*(.*))?$")
_DIAG = re.compile(r"^#\s?(.*)$")
_BAIL = re.compile(r"^Bail out!\s*(.*)$")
_STAMP = re.compile(r"^\s*\[\s*\d+\.\d+\]")


class Status(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    SKIP = "skip"
    XFAIL = "xfail"
    ERROR = "error"


@dataclass(frozen=True)
class Result:
    number: int
    name: str
    status: Status
    reason: str = ""


@dataclass
class Report:
    """One program's KTAP: version, plan, results, diagnostics, and what is wrong with it."""

    version: str | None = None
    plan: int | None = None
    results: list[Result] = field(default_factory=list)
    diagnostics: list[str] = field(default_factory=list)
    bail_out: str | None = None
    skip_all: str | None = None  # "1..0 # SKIP reason": the whole program skipped
    problems: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.problems

    def count(self, status: Status) -> int:
        return sum(r.status is status for r in self.results)


def parse(text: str) -> Report:
    """Read KTAP from ``text``, ignoring lines that are not KTAP (e.g. kernel messages)."""
    report = Report()
    for raw in re.sub(r"\r+\n", "\n", text).split("\n"):
        line = raw.rstrip()
        if not line or _STAMP.match(line):
            continue
        if _VERSION.match(line):
            report.version = line
        elif (m := _PLAN.match(line)) and report.plan is None:
            report.plan = int(m.group(1))
            if m.group(2) is not None:
                report.skip_all = m.group(2)
        elif m := _RESULT.match(line):
            directive = (m.group(4) or "").upper()
            status = Status.PASS if m.group(1) == "ok" else Status.FAIL
            if directive == "SKIP":
                status = Status.SKIP
            elif directive == "XFAIL":
                status = Status.XFAIL
            elif directive in ("ERROR", "TODO") and m.group(1) == "not ok":
                status = Status.ERROR
            report.results.append(Result(int(m.group(2)), m.group(3).strip(), status, (m.group(5) or "").strip()))
        elif m := _BAIL.match(line):
            report.bail_out = m.group(1)
        elif m := _DIAG.match(line):
            report.diagnostics.append(m.group(1))
    if report.version is None:
        report.problems.append("no version line (KTAP version 1 or TAP version 13)")
    if report.plan is None and report.bail_out is None:
        report.problems.append("no plan line (1..N)")
    numbers = [r.number for r in report.results]
    if numbers != list(range(1, len(numbers) + 1)):
        report.problems.append(f"results are not numbered 1..{len(numbers)}: {numbers}")
    if report.plan is not None and report.bail_out is None and report.plan != len(report.results):
        report.problems.append(f"plan says {report.plan} results, found {len(report.results)}")
    return report


def parse_all(text: str) -> list[Report]:
    """One report per version line, for the output of several programs in a row."""
    lines = re.sub(r"\r+\n", "\n", text).split("\n")
    starts = [i for i, line in enumerate(lines) if _VERSION.match(line.rstrip())]
    return [parse("\n".join(lines[a:b])) for a, b in zip(starts, [*starts[1:], len(lines)], strict=True)]
