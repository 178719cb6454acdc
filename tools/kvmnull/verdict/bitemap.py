"""The real-vendor bite map: what a real guest workload shows when one hook of kvm-amd is knocked out.

kvm-amd (built from the target's source, with the test-only ``knockout=``) runs
``kvmnull-workload`` (``selftests/workload.c``) in the TCG guest, whose CPU has
SVM.  A control run (nothing knocked out) must pass every step; then each hook
of every classified table is knocked out alone, and the first workload step
whose result differs from the control's says where, and how, the missing hook
bites.  The classification here is pure: it reads a scenario's console.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core import abi
from ..evidence.facts import Finding, ScenarioFacts, Symptom
from ..evidence.kernel_log import Probe
from ..guest import harness
from ..kernel.hooks import Hook, HookClass, HookSet, Table
from .census import VENDOR_DIRS


class Divergence(enum.Enum):
    """How a knocked-out run first differs from the control."""

    NONE = "none"
    LOAD_FAILED = "load failed"
    NOT_LOADED = "not loaded"  # insmod exited 0, but the module is not there
    NO_KVM = "no /dev/kvm"
    ERRNO = "errno"  # a step's ioctl failed
    WRONG = "wrong"  # a step saw a wrong exit or value
    STOPPED = "stopped"  # the workload ended before a step, without a report
    HANG = "hang"
    CRASH = "crash"
    UNLOAD_FAILED = "unload failed"
    KERNEL_REPORT = "kernel report"  # every step passed, but the kernel reported something

    @property
    def bites(self) -> bool:
        return self is not Divergence.NONE


@dataclass(frozen=True)
class StepResult:
    step: str
    result: str  # ok, fail, wrong, skip
    detail: str

    @staticmethod
    def of(record: Probe) -> StepResult:
        return StepResult(record.step, record.result, record.detail or "")


@dataclass(frozen=True)
class VendorBite:
    """One knockout's result against the control."""

    hook: Hook
    divergence: Divergence
    step: str | None  # the first workload step that differs (or was running), None if none
    how: str
    evidence: str
    warned: bool  # the kernel named the hook (patched warn, or upstream's WARN resolved through the header)
    flags: tuple[str, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {"table": self.hook.table.value, "hook": self.hook.name, "class": self.hook.hook_class.value,
                "divergence": self.divergence.value, "step": self.step, "how": self.how,
                "evidence": self.evidence, "warned": self.warned, "flags": list(self.flags)}


class ControlFailed(Exception):
    """The control run did not pass every step: a bite map measured against it would mean nothing."""


def check_control(output: str, crashed: str | None, hung: bool) -> list[StepResult]:
    """The control's steps, every one ``ok``; else :class:`ControlFailed` naming the first that is not."""
    facts = ScenarioFacts.read(output, None, crashed, hung, harness.WORKLOAD)
    if hung:
        raise ControlFailed("the control run hung")
    if crashed:
        raise ControlFailed(f"the control run crashed: {crashed}")
    steps = [StepResult.of(s) for s in facts.steps]
    names = [s.step for s in steps]
    if names != list(abi.load().workload_steps) or any(s.result != "ok" for s in steps):
        bad = next((s for s in steps if s.result != "ok"), None)
        raise ControlFailed(f"step {bad.step}: {bad.result} {bad.detail}" if bad else
                            f"the control reported steps {names}, expected {list(abi.load().workload_steps)}")
    return steps


# how each symptom of the facts shows against the control
_DIVERGENCE = {
    Symptom.HANG: Divergence.HANG, Symptom.CRASH: Divergence.CRASH, Symptom.NO_LOAD_STATUS: Divergence.STOPPED,
    Symptom.LOAD_FAILED: Divergence.LOAD_FAILED, Symptom.NOT_LOADED: Divergence.NOT_LOADED,
    Symptom.NO_KVM: Divergence.NO_KVM, Symptom.STEP_FAILED: Divergence.ERRNO, Symptom.STEP_WRONG: Divergence.WRONG,
    Symptom.STOPPED: Divergence.STOPPED, Symptom.UNLOAD_FAILED: Divergence.UNLOAD_FAILED,
    Symptom.KERNEL_COMPLAINT: Divergence.KERNEL_REPORT,
}


def _first_difference(facts: ScenarioFacts, control: Sequence[StepResult]) -> Finding | None:
    """The first workload step whose result is not the control's, or that never came."""
    for index, expected in enumerate(control):
        if index >= len(facts.steps):
            return facts.stopped_before(expected.step)
        seen = facts.steps[index]
        if (seen.step, seen.result, seen.detail or "") != (expected.step, expected.result, expected.detail):
            return facts.step_result(seen)
    return None


def classify(hook: Hook, output: str, crashed: str | None, hung: bool, control: Sequence[StepResult],
             hooks: HookSet) -> VendorBite:
    """Where and how the run with ``hook`` knocked out first differs from ``control``."""
    # the whole excerpt: the harness's lines, the load's kernel log (printed before the workload) and
    # the rest of the kernel log after it
    facts = ScenarioFacts.read(output, hooks, crashed, hung, harness.WORKLOAD)
    warned = hook.key in facts.warned
    found = (facts.death() or facts.load_failure() or _first_difference(facts, control)
             or facts.unload_failure() or facts.complaint())
    if found is None:
        return VendorBite(hook, Divergence.NONE, None, "every step as in the control", "", warned)
    return VendorBite(hook, _DIVERGENCE[found.symptom], found.step, found.how, found.evidence, warned)


# ---- what would exercise a hook that never bites ----

_CALL = "|".join((
    r"(?:kvm_x86_call|kvm_pmu_call|kvm_nested_call)\(\s*{name}\s*\)",  # 6.12+
    r"static_call\w*\(\s*kvm_x86_(?:pmu_)?{name}\s*\)",  # up to 6.11
    r"(?:kvm_x86_ops|kvm_pmu_ops|nested_ops)(?:\.|->){name}\b",
))
_DEFINITION = re.compile(r"^(?:static\s+)?(?:inline\s+)?(?:__always_inline\s+)?[\w\s\*]+?\b(?P<name>\w+)\(")


def callers(source: Path, hooks: Sequence[Hook]) -> dict[str, tuple[str, ...]]:
    """``table.hook`` -> the functions of kvm.ko's own source (not the vendors') that call or test it,
    for every hook of ``hooks``, reading each source file once."""
    patterns = {h.key: re.compile(_CALL.format(name=re.escape(h.name))) for h in hooks}
    vendor_dirs = {source / d for d in VENDOR_DIRS.values()}
    found: dict[str, dict[str, None]] = {key: {} for key in patterns}
    for path in sorted((source / "arch" / "x86" / "kvm").rglob("*.[ch]")):
        if path.parent in vendor_dirs:
            continue
        function = None
        for line in path.read_text(errors="replace").splitlines():
            if (line[:1].isalpha() or line.startswith("_")) and (m := _DEFINITION.match(line)):
                function = m.group("name")
            if function:
                for key, pattern in patterns.items():
                    if pattern.search(line):
                        found[key][function] = None
    return {key: tuple(functions) for key, functions in found.items()}


def with_flags(bites: Sequence[VendorBite], source: Path) -> list[VendorBite]:
    """Flag optional hooks the workload needs, and mandatory hooks it never reached (with their callers)."""
    quiet = callers(source, [b.hook for b in bites
                             if not b.divergence.bites and b.hook.hook_class is HookClass.MANDATORY])
    flagged = []
    for b in bites:
        flags: list[str] = []
        if b.divergence.bites and b.hook.hook_class in (HookClass.OPTIONAL, HookClass.OPTIONAL_RET0):
            flags.append("optional in the header, required by SVM for this workload")
        if not b.divergence.bites and b.hook.hook_class is HookClass.MANDATORY:
            called = quiet[b.hook.key]
            flags.append("mandatory, never bites in this workload" +
                         (f"; kvm.ko calls it from {', '.join(f + '()' for f in called[:4])}"
                          + (" ..." if len(called) > 4 else "") if called else ""))
        flagged.append(VendorBite(b.hook, b.divergence, b.step, b.how, b.evidence, b.warned, tuple(flags)))
    return flagged


def knockout_hooks(hooks: HookSet) -> list[Hook]:
    """Every hook of every classified table, in table order."""
    return [h for t in Table for h in hooks.table(t) if h.hook_class is not HookClass.UNCLASSIFIED]


# ---- presentation ----

HEADERS = ["table", "hook", "class", "first step that differs", "how", "flags"]


def rows(bites: Sequence[VendorBite]) -> list[list[str]]:
    return [[b.hook.table.value, b.hook.name, b.hook.hook_class.value, b.step or "-", b.how, "; ".join(b.flags)]
            for b in bites]


def summary(bites: Sequence[VendorBite]) -> list[str]:
    """Per class: how many bite; for mandatory hooks also how many the kernel named, and how they bite."""
    lines = []
    for hook_class in (HookClass.MANDATORY, HookClass.OPTIONAL, HookClass.OPTIONAL_RET0):
        chosen = [b for b in bites if b.hook.hook_class is hook_class]
        if not chosen:
            continue
        biting = sum(b.divergence.bites for b in chosen)
        line = f"{hook_class.value}: {biting} of {len(chosen)} bite"
        if hook_class is HookClass.MANDATORY:
            kinds = {d: sum(b.divergence is d for b in chosen) for d in Divergence if d.bites}
            line += (" (" + ", ".join(f"{d.value} {n}" for d, n in kinds.items() if n) + ")" if biting else "")
            line += f"; the kernel's WARN named {sum(b.warned for b in chosen)} of {len(chosen)}"
        lines.append(line)
    return lines
