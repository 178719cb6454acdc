"""One scenario's facts, read once: what the harness, the probe or workload and the kernel said.

The verdicts (the contract, kvm-null's bite map, the real-vendor bite map) decide
on a :class:`ScenarioFacts`, never on the text.  What went wrong is worded here
too, once: every verdict that reports a hang, a crash, a failed load or step, or
a kernel that complained says it with the same :class:`Finding`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..core import abi
from ..guest import harness
from ..guest.scenario import ScenarioRun
from ..kernel.hooks import HookSet
from .kernel_log import (
    Crash,
    HookRefused,
    KernelReport,
    Load,
    OptionalNull,
    Probe,
    Record,
    Seen,
    Unadmitted,
    Unload,
    VendorRefused,
    Warn,
    harness_load,
    of_type,
    own_output,
    parse,
    split_output,
)


class Symptom(enum.Enum):
    """What went wrong in a scenario, in the order the harness goes."""

    HANG = "hang"  # the guest stopped answering
    CRASH = "crash"  # the guest died
    NO_LOAD_STATUS = "no load status"  # the harness never said how the load went
    LOAD_FAILED = "load failed"
    NOT_LOADED = "not loaded"  # insmod exited 0, but the module is not there
    NO_KVM = "no /dev/kvm"
    STEP_FAILED = "step failed"  # a step's ioctl failed
    STEP_WRONG = "step wrong"  # a step saw a wrong exit or value (or differs otherwise)
    STOPPED = "stopped"  # the program's steps end before a step, without a failure
    UNLOAD_FAILED = "unload failed"
    KERNEL_COMPLAINT = "kernel complaint"  # every step passed, but the kernel WARNed or reported


@dataclass(frozen=True)
class Finding:
    """One thing that went wrong: where (the step, ``None`` for none in particular), in words, and the line."""

    symptom: Symptom
    step: str | None
    how: str
    evidence: str


# a step after which its program goes on: the probe and the workload stop at the first fail or wrong,
# and without /dev/kvm at once
def _goes_on(step: Probe) -> bool:
    return step.ok or (step.result == "skip" and step.step != "open")


@dataclass(frozen=True)
class ScenarioFacts:
    """What one scenario's console excerpt says, read once.

    ``records`` are those of the scenario's own part of the excerpt (from the
    harness's begin line); ``kernel`` those of them in its kernel log (the
    harness's dmesg dump).  ``crashed`` and ``hung`` are how the guest side saw
    the guest end.
    """

    records: tuple[Record, ...]
    kernel: tuple[Record, ...]
    harness_tail: tuple[str, ...]  # the last lines the harness printed before its dmesg dump
    crashed: str | None
    hung: bool
    load: Load | None  # the harness's load line
    load_errno: str | None  # insmod's own errno if it said one, else the errno of its exit status
    unload: Unload | None
    program: str  # harness.PROBE or harness.WORKLOAD: whose step lines ``steps`` are
    steps: tuple[Probe, ...]
    refused: frozenset[str]  # table.hook keys the patched kvm.ko refused
    refusal: tuple[str, ...]  # its refusal lines, each once, sorted
    warns: tuple[Warn, ...]
    crashes: tuple[Crash, ...]
    reports: tuple[KernelReport, ...]  # every kernel report, crashes included
    unadmitted: tuple[Unadmitted, ...]
    optional_null: OptionalNull | None

    @staticmethod
    def read(output: str, hooks: HookSet | None = None, crashed: str | None = None, hung: bool = False,
             program: str = harness.PROBE) -> ScenarioFacts:
        """The facts of the last scenario started in ``output``, whose ``program`` ran the steps (the probe, or
        ``harness.WORKLOAD``); anonymous WARNs are named through ``hooks``."""
        text = own_output(output)
        records = tuple(parse(text, hooks))
        load = harness_load(records)
        loads = of_type(records, Load)
        insmod_errno = next((r.errno_name for r in loads if r.status is None and r.errno_name), None)
        return ScenarioFacts(
            records=records,
            kernel=tuple(r for r in records if r.seen in (Seen.DMESG, Seen.BOTH)),
            harness_tail=tuple(split_output(text)[0].strip().splitlines()[-3:]),
            crashed=crashed,
            hung=hung,
            load=load,
            load_errno=insmod_errno or (load.errno_name if load else None),
            unload=next(iter(of_type(records, Unload)), None),
            program=program,
            steps=tuple(r for r in of_type(records, Probe) if r.program == program),
            refused=frozenset(f"{r.table}.{r.hook}" for r in of_type(records, HookRefused)),
            refusal=tuple(sorted({r.text for r in records if isinstance(r, (HookRefused, VendorRefused))})),
            warns=tuple(of_type(records, Warn)),
            crashes=tuple(of_type(records, Crash)),
            reports=tuple(of_type(records, KernelReport)),
            unadmitted=tuple(of_type(records, Unadmitted)),
            optional_null=next(iter(of_type(records, OptionalNull)), None),
        )

    @staticmethod
    def of(run: ScenarioRun, hooks: HookSet | None = None) -> ScenarioFacts:
        program = harness.WORKLOAD if run.scenario.workload else harness.PROBE
        return ScenarioFacts.read(run.output, hooks, run.crash, run.hung, program)

    # ---- facts derived from the records ----

    @property
    def died(self) -> bool:
        return self.crashed is not None or self.hung

    @property
    def warned(self) -> frozenset[str]:
        """table.hook keys named by WARNs."""
        return frozenset(f"{w.table}.{w.hook}" for w in self.warns if w.hook)

    @property
    def unnamed_warns(self) -> tuple[Warn, ...]:
        return tuple(w for w in self.warns if not w.hook)

    @property
    def order(self) -> tuple[str, ...]:
        """The steps ``program`` reports, in its order."""
        contract = abi.load()
        return contract.workload_steps if self.program == harness.WORKLOAD else contract.probe_steps

    def step(self, name: str) -> Probe | None:
        return next((s for s in self.steps if s.step == name), None)

    @property
    def last_done(self) -> str:
        """The last step reported, ``load`` when the load came back and no step was, else ``nothing``."""
        return self.steps[-1].step if self.steps else "load" if self.load else "nothing"

    @property
    def running_step(self) -> str:
        """The step that was running when the guest died: the one after the last reported, ``load`` if the
        load never came back, ``unload`` if the program was done (or stopped at a failure)."""
        if self.load is None:
            return "load"
        reported = [s for s in self.steps if s.step in self.order]
        if reported and not _goes_on(reported[-1]):
            return "unload"
        following = self.order.index(reported[-1].step) + 1 if reported else 0
        return self.order[following] if following < len(self.order) else "unload"

    # ---- what went wrong, each worded once ----

    def death(self) -> Finding | None:
        """How the guest died, at the step that was running."""
        if self.hung:
            return Finding(Symptom.HANG, self.running_step, f"hang: never returned (last done: {self.last_done})",
                           self.steps[-1].text if self.steps else "")
        if self.crashed is None:
            return None
        if not self.crashes:  # e.g. the machine reset itself: no kernel report at all
            return Finding(Symptom.CRASH, self.running_step,
                           f"guest died without a kernel report: {self.crashed}", self.crashed)
        return self.crash(self.crashes[0], self.running_step)

    @staticmethod
    def crash(record: Crash, step: str | None = None) -> Finding:
        return Finding(Symptom.CRASH, step, f"crash: {record.title}", record.text)

    def load_failure(self) -> Finding | None:
        """No load line, a failed load, or insmod's 0 with no module loaded."""
        if self.load is None or self.load.status is None:
            return Finding(Symptom.NO_LOAD_STATUS, "load", "no load status in the output",
                           self.harness_tail[-1] if self.harness_tail else "")
        if self.load.status:
            return Finding(Symptom.LOAD_FAILED, "load", f"load fails with {self.load_errno or self.load.status}",
                           self.load.text)
        if self.load.present is False:
            return Finding(Symptom.NOT_LOADED, "load",
                           "insmod exits 0, but no module is loaded: vendor init returned garbage", self.load.text)
        return None

    @staticmethod
    def step_result(step: Probe) -> Finding:
        """A step that did not pass (or differs from a control's), in words."""
        if step.result == "skip" and step.step == "open":
            return Finding(Symptom.NO_KVM, step.step, "no /dev/kvm after a successful load", step.text)
        if step.result == "fail":
            return Finding(Symptom.STEP_FAILED, step.step, f"fails with {step.errno_name or '?'}", step.text)
        return Finding(Symptom.STEP_WRONG, step.step, f"{step.result}: {step.detail or ''}".rstrip(), step.text)

    def step_failure(self) -> Finding | None:
        """The first step that did not pass."""
        failed = next((s for s in self.steps if not s.ok), None)
        return self.step_result(failed) if failed else None

    def stopped_before(self, step: str) -> Finding:
        """The program's step lines end before ``step``, with no failure."""
        return Finding(Symptom.STOPPED, step, f"{self.program} stopped before this step",
                       f"last step: {self.steps[-1].step}" if self.steps else "")

    def unload_failure(self) -> Finding | None:
        if self.unload and self.unload.status:
            return Finding(Symptom.UNLOAD_FAILED, "unload", f"rmmod fails (status {self.unload.status})",
                           self.unload.text)
        return None

    def complaint(self) -> Finding | None:
        """A WARN that names no hook, else a kernel report: the kernel complained though every step passed."""
        complaints: tuple[Warn | KernelReport, ...] = (*self.unnamed_warns, *self.reports)
        first = next(iter(complaints), None)
        if first is None:
            return None
        return Finding(Symptom.KERNEL_COMPLAINT, None, f"every step passed; {first.title}", first.text)
