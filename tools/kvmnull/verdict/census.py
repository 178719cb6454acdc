"""The hook census: what the target's own source says about each hook, and what a real lifecycle calls.

Static part (source only): for each x86 and PMU hook, its class and config
guard, whether VMX (``vmx/main.c``, ``vmx/pmu_intel.c``) and SVM
(``svm/svm.c``, ``svm/pmu.c``) fill it in their static tables, and where
vendor code changes it at run time (with the condition as written).

Dynamic part: kvm-null's call counters over one standard lifecycle, giving
the first phase that calls each hook.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core import abi
from ..core.cpp import Evaluator, Line, braced_body, logical_lines, preprocess
from ..core.errors import ParseError
from ..evidence.facts import ScenarioFacts
from ..guest import harness
from ..kernel.hooks import Hook, HookClass, HookSet, Table

VENDOR_DIRS = {"vmx": "arch/x86/kvm/vmx", "svm": "arch/x86/kvm/svm"}
VENDORS = tuple(VENDOR_DIRS)
# ``vt_op(name)``-style members (vmx/main.c, 6.16+): a one-parameter macro pasting a prefix, or NULL
_PASTING_MACRO = re.compile(r"^\s*#\s*define\s+(?P<name>\w+)\((?P<arg>\w+)\)\s+(?P<body>\w*##\s*(?P=arg)|NULL)\s*$")
_MACRO_USE = re.compile(r"^(?P<name>\w+)\((?P<arg>\w+)\)$")

_INIT = re.compile(r"^\s*\.(?P<member>\w+)\s*=\s*(?P<value>[^,]+?)\s*,?\s*$")
_FUNCTION = re.compile(r"^(?:static\s+)?(?:__init\s+)?[\w\s\*]+?\b(?P<name>\w+)\s*\([^;]*$")
_CONDITION = re.compile(r"^\s*(?:\}\s*)?(?:else\s+)?if\s*\((?P<cond>.*)\)\s*\{?\s*$")


@dataclass(frozen=True)
class Implementation:
    """A vendor's static entry for a hook: the function, and the #if around it if any."""

    value: str
    guard: str | None
    active: bool  # present in this configuration


@dataclass(frozen=True)
class RuntimeChange:
    """``<vendor table>.<hook> = VALUE;`` in vendor code, with its enclosing function and condition."""

    vendor: str
    table: Table
    member: str
    file: str
    line: int
    function: str
    condition: str | None
    value: str

    @property
    def clears(self) -> bool:
        return self.value == "NULL"

    def describe(self) -> str:
        what = "cleared" if self.clears else f"set to {self.value}"
        cond = f" if ({self.condition})" if self.condition else ""
        return f"{self.vendor}: {what} in {self.function}(){cond}"


@dataclass(frozen=True)
class CensusRow:
    hook: Hook
    vendors: dict[str, Implementation | None]
    runtime: tuple[RuntimeChange, ...]
    flags: tuple[str, ...]
    first_phase: str | None = None  # dynamic part: the majority of phase_runs
    phase_runs: tuple[str, ...] = ()  # dynamic part: the first phase in each lifecycle observed

    def to_json(self) -> dict[str, object]:
        return {
            "table": self.hook.table.value, "hook": self.hook.name, "class": self.hook.hook_class.value,
            "guard": self.hook.guard, "header_line": self.hook.header_line,
            **{name: (impl is not None and impl.active) for name, impl in self.vendors.items()},
            "implementations": {name: impl.value if impl else None for name, impl in self.vendors.items()},
            "runtime": [{"vendor": c.vendor, "table": c.table.value, "file": c.file, "line": c.line,
                         "function": c.function,
                         "condition": c.condition, "value": c.value} for c in self.runtime],
            "flags": list(self.flags),
            "first_phase": self.first_phase,
            "phase_runs": list(self.phase_runs),
        }


@dataclass(frozen=True)
class Census:
    rows: tuple[CensusRow, ...]
    oddities: tuple[str, ...] = field(default_factory=tuple)
    phases: tuple[str, ...] = ()


def _read(source: Path, relative: str) -> str:
    try:
        return (source / relative).read_text()
    except OSError as exc:
        raise ParseError(f"cannot read {relative}: {exc.strerror}", "refetch the kernel cache entry") from exc


def locate_table(source: Path, vendor: str, table: Table) -> tuple[str, str]:
    """The file and variable of the vendor's static ``struct <table>`` (its home moved between series:
    VMX's x86 table is ``vmx_x86_ops`` in ``vmx.c`` on 6.1, ``vt_x86_ops`` in ``main.c`` since 6.9)."""
    pattern = re.compile(rf"^(?:static\s+)?struct\s+{table.struct}\s+(?P<variable>\w+)\b[^;(]*=\s*\{{", re.M)
    folder = source / VENDOR_DIRS[vendor]
    for path in sorted(folder.glob("*.c")):
        match = pattern.search(path.read_text())
        if match:
            return str(path.relative_to(source)), match.group("variable")
    raise ParseError(f"no static struct {table.struct} in {VENDOR_DIRS[vendor]}/*.c",
                     "refetch the kernel cache entry, or the vendor's source changed shape")


def _pasting_macros(lines: list[Line], evaluator: Evaluator) -> dict[str, str]:
    """``NAME`` -> its body with the argument as ``{}``, for the one-parameter pasting macros active here."""
    macros = {}
    for guarded in preprocess(lines, evaluator, keep_directives=True):
        if match := _PASTING_MACRO.match(guarded.line.text):
            body = match.group("body")
            macros[match.group("name")] = "NULL" if body == "NULL" else body.split("##")[0].strip() + "{}"
    return macros


def static_table(text: str, variable: str, evaluator: Evaluator) -> dict[str, Implementation]:
    """Designated initializers of ``... <variable> ... = { ... };``, every #if branch kept and judged."""
    lines = list(logical_lines(text))
    body = braced_body(lines, re.compile(rf"\b{variable}\b[^;]*=\s*\{{"), f"static table {variable}")
    macros = _pasting_macros(lines, evaluator)
    active = {g.line.number for g in preprocess(body, evaluator)}
    everything = preprocess(body, Evaluator(lambda _s: "y", {}))
    table: dict[str, Implementation] = {}
    for guarded in everything:
        match = _INIT.match(guarded.line.text)
        if not match or match.group("value") == "NULL":  # an explicit NULL implements nothing
            continue
        value, guard = match.group("value"), " && ".join(guarded.guards) or None
        use = _MACRO_USE.match(value)
        if use and use.group("name") in macros:
            expanded = macros[use.group("name")].format(use.group("arg"))
            if expanded == "NULL":  # e.g. vt_op_tdx_only() without CONFIG_KVM_INTEL_TDX
                table[match.group("member")] = Implementation(f"{value}, NULL here", guard, False)
                continue
            value = expanded
        table[match.group("member")] = Implementation(value, guard, guarded.line.number in active)
    return table


def _condition_of(lines: Sequence[str], index: int) -> tuple[str | None, str]:
    """The nearest enclosing ``if (...)`` of ``lines[index]`` and the enclosing function."""
    indent = len(lines[index]) - len(lines[index].lstrip("\t"))
    condition = None
    function = "?"
    for back in range(index - 1, -1, -1):
        text = lines[back]
        if not text.strip():
            continue
        level = len(text) - len(text.lstrip("\t"))
        if condition is None and level < indent:
            # a condition written over several lines: find its first line, then its last
            joined, first = text.strip(), back
            while joined.count(")") > joined.count("(") and first > 0:
                first -= 1
                joined = lines[first].strip() + " " + joined
            last = back
            while joined.count("(") > joined.count(")") and last + 1 < index:
                last += 1
                joined += " " + lines[last].strip()
            match = _CONDITION.match(joined)
            if match:
                condition = " ".join(match.group("cond").split())
            indent = level
        if level == 0 and text.startswith("{"):
            header = lines[back - 1] if back else ""
            match = _FUNCTION.match(header)
            if match:
                function = match.group("name")
            break
    return condition, function


def runtime_changes(source: Path, vendor: str, table: Table, variable: str) -> list[RuntimeChange]:
    """Every assignment to ``<variable>.<member>`` in the vendor's source files."""
    changes = []
    pattern = re.compile(rf"^\s*{variable}\.(?P<member>\w+)\s*=\s*(?P<value>[^;]+);")
    folder = source / VENDOR_DIRS[vendor]
    for path in sorted([*folder.glob("*.c"), *folder.glob("*.h")]):
        text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), path.read_text(), flags=re.S)
        lines = text.split("\n")
        for index, line in enumerate(lines):
            statement = line
            for more in lines[index + 1:index + 4]:  # an assignment continued on the next lines
                if ";" in statement:
                    break
                statement += " " + more.strip()
            match = pattern.match(statement)
            if match:
                condition, function = _condition_of(lines, index)
                changes.append(RuntimeChange(vendor, table, match.group("member"), str(path.relative_to(source)),
                                             index + 1, function, condition, match.group("value").strip()))
    return changes


def take(source: Path, hooks: HookSet, evaluator: Evaluator, unclassified: bool = False) -> Census:
    """The static census of the target: its classified hooks, and with ``unclassified`` the rest too
    (nested ops before 7.x)."""
    chosen = hooks.hooks if unclassified else hooks.classified()
    tables: dict[tuple[str, Table], dict[str, Implementation]] = {}
    changes: list[RuntimeChange] = []
    for vendor in VENDORS:
        for table in dict.fromkeys(hook.table for hook in chosen):
            relative, variable = locate_table(source, vendor, table)
            tables[(vendor, table)] = static_table(_read(source, relative), variable, evaluator)
            changes += runtime_changes(source, vendor, table, variable)
    rows = []
    for hook in chosen:
        vendors = {vendor: tables[(vendor, hook.table)].get(hook.name) for vendor in VENDORS}
        runtime = tuple(c for c in changes if c.table is hook.table and c.member == hook.name)
        rows.append(CensusRow(hook, vendors, runtime, _flags(hook, vendors, runtime)))
    oddities = [f"{h.table.struct} header line {h.header_line}: stray ';' after "
                f"{h.table.facts.macro}...({h.name})"
                for h in hooks.hooks if h.stray_semicolon]
    return Census(tuple(rows), tuple(oddities))


def _flags(hook: Hook, vendors: dict[str, Implementation | None], runtime: Iterable[RuntimeChange]) -> tuple[str, ...]:
    present = {v: impl is not None and impl.active for v, impl in vendors.items()}
    cleared = {c.vendor for c in runtime if c.clears}
    flags = []
    if hook.hook_class in (HookClass.OPTIONAL, HookClass.OPTIONAL_RET0) and all(present.values()) and not cleared:
        flags.append("optional, yet every in-tree vendor always implements it: candidate for mandatory")
    if hook.hook_class is HookClass.MANDATORY:
        lacking = sorted(v for v, ok in present.items() if not ok)
        if lacking:
            flags.append(f"mandatory, but missing from the static table of {', '.join(lacking)}")
        if cleared:
            flags.append(f"mandatory, but cleared at run time by {', '.join(sorted(cleared))}")
    return tuple(flags)


# ---- dynamic part: which lifecycle phase first calls each hook ----

# the probe's steps, between loading and unloading kvm-null
PHASES = ("load", *abi.load().probe_steps, "unload")
LIFECYCLE = (
    f"dmesg -c > /dev/null; echo refuse > {harness.MISSING_HOOK}; "
    f"insmod {harness.MODULES_DIR}/kvm-null.ko log_calls_at_exit=1 && {harness.PROBE} --counts; "
    f"echo 0 > {abi.load().calls_path}; rmmod kvm_null; dmesg"
)
_PROBE_CALLS = re.compile(rf"{harness.PROBE}: calls (?P<phase>\w+) (?P<key>\w+\.\w+) (?P<calls>\d+)")
_UNLOAD_CALLS = re.compile(r"kvm_null: unload called (?P<key>\w+\.\w+) (?P<calls>\d+)")


def first_phases(output: str) -> dict[str, str]:
    """``table.hook`` -> the first phase whose counters show a call, from one LIFECYCLE run."""
    first: dict[str, str] = {}
    for match in _PROBE_CALLS.finditer(output):
        phase = "load" if match.group("phase") == "before" else match.group("phase")
        first.setdefault(match.group("key"), phase)
    for match in _UNLOAD_CALLS.finditer(output):
        first.setdefault(match.group("key"), "unload")
    return first


# Lifecycles the dynamic census observes.  A few hooks are timing-dependent: they run
# only when KVM abandons a guest entry for pending work (kvm_vcpu_exit_request()).
LIFECYCLE_RUNS = 5


def majority_phase(runs: Sequence[str]) -> str:
    """The phase most runs agree on; a tie goes to the earliest phase."""
    order = {phase: i for i, phase in enumerate((*PHASES, "never"))}
    return min(set(runs), key=lambda phase: (-runs.count(phase), order.get(phase, len(order))))


def with_phases(census: Census, runs: Sequence[dict[str, str]]) -> Census:
    """The census with each hook's first phase in every observed lifecycle, and their majority."""
    rows = []
    for row in census.rows:
        seen = tuple(run.get(row.hook.key, "never") for run in runs)
        rows.append(CensusRow(row.hook, row.vendors, row.runtime, row.flags, majority_phase(seen), seen))
    return Census(tuple(rows), census.oddities, PHASES)


# ---- bite map: what a NULL mandatory hook breaks, under missing_hook=warn ----

@dataclass(frozen=True)
class Bite:
    hook: Hook
    step: str | None  # the first lifecycle step that misbehaved, None if none did
    how: str
    evidence: str

    def to_json(self) -> dict[str, object]:
        return {"table": self.hook.table.value, "hook": self.hook.name, "step": self.step, "how": self.how,
                "evidence": self.evidence}


def bite(hook: Hook, output: str, crashed: str | None, hung: bool, hooks: HookSet) -> Bite:
    """Classify one warn-mode lifecycle with ``hook`` NULL (pure: unit-tested on real output)."""
    facts = ScenarioFacts.read(output, hooks, crashed, hung, harness.PROBE)
    if found := facts.death() or facts.load_failure() or facts.step_failure():
        return Bite(hook, found.step, found.how, found.evidence)
    # kvm-null's run exit is its own: any other was made up by a NULL hook
    run = facts.step("run")
    if run and run.detail and f"hardware_exit_reason={abi.load().exit_reason:#x}" not in run.detail:
        return Bite(hook, "run", f"returns a wrong exit ({run.detail})", run.text)
    if found := facts.unload_failure() or facts.complaint():
        return Bite(hook, found.step, found.how, found.evidence)
    return Bite(hook, None, "nothing observed in this lifecycle", "")


# ---- presentation ----

def _impl(impl: Implementation | None) -> str:
    if impl is None:
        return "-"
    if impl.guard:
        return f"yes if {impl.guard}" + ("" if impl.active else " (off here)")
    return "yes"


def census_rows(census: Census, dynamic: bool) -> list[list[str]]:
    rows = []
    for row in census.rows:
        cells = [row.hook.table.value, row.hook.name, row.hook.hook_class.value, row.hook.guard or "",
                 _impl(row.vendors["vmx"]), _impl(row.vendors["svm"]),
                 "; ".join(c.describe() for c in row.runtime)]
        if dynamic:
            cells.append(row.first_phase or "")
        cells.append("; ".join(row.flags))
        rows.append(cells)
    return rows


def census_headers(dynamic: bool) -> list[str]:
    return ["table", "hook", "class", "guard", "VMX", "SVM", "run-time changes",
            *([f"first called in (most of {LIFECYCLE_RUNS} runs)"] if dynamic else []), "flags"]


def bite_rows(bites: Sequence[Bite]) -> list[list[str]]:
    return [[b.hook.table.value, b.hook.name, b.step or "-", b.how] for b in bites]


BITE_HEADERS = ["table", "hook", "first step that misbehaves", "how"]
