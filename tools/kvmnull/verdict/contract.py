"""The hook contract as one model: what each class of NULL hook must lead to under each policy.

``docs/spec.md`` states the same rules in prose; the tools derive every
expectation from :func:`expected`, classify a scenario's evidence with
:func:`observation_of` and judge it with :func:`judge`, never from per-hook tables.
"""

from __future__ import annotations

import enum
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..evidence import kernel_log as evidence
from ..evidence.kernel_log import (
    Crash,
    HookRefused,
    Load,
    OptionalNull,
    Probe,
    Unadmitted,
    Unload,
    VendorRefused,
    Warn,
    of_type,
)
from ..guest.scenario import Policy, Scenario, ScenarioRun
from ..kernel.hooks import HookSet


class Outcome(enum.Enum):
    """What a scenario did, in the words of the spec."""

    REFUSED = "refused"  # vendor init failed with EINVAL, every NULL mandatory hook named, no WARN
    WARNED = "warned"  # one WARN naming each NULL mandatory hook, registration went ahead
    LOADED = "loaded"  # registered with no refusal and no WARN; the VM lifecycle worked if probed
    LOAD_FAILED = "load_failed"  # the load failed without the contract's refusal
    NOT_ADMITTED = "not_admitted"  # kvm.ko does not export its vendor interface to this vendor (6.19+)
    CRASHED = "crashed"  # the guest kernel oopsed or panicked
    HUNG = "hung"  # the guest stopped answering
    ERROR = "error"  # anything else: evidence inconsistent with every outcome above


def expected(scenario: Scenario) -> Outcome:
    """The contract: NULL mandatory hooks are refused or warned about; anything else loads.

    Upstream's kvm.ko WARNs anonymously for each NULL mandatory hook and registers the vendor
    anyway: the WARN is named through the header line it points at, so it is ``warned`` too.
    Since 6.19 upstream's kvm.ko admits only the vendors it names: any other is ``not_admitted``.
    """
    if not scenario.admitted:
        return Outcome.NOT_ADMITTED
    if scenario.mandatory:
        return Outcome.REFUSED if scenario.policy is Policy.REFUSE else Outcome.WARNED
    return Outcome.LOADED


@dataclass(frozen=True)
class Observation:
    """What the evidence of one scenario says."""

    outcome: Outcome
    named: frozenset[str] = frozenset()  # table.hook keys named by refusal lines or WARNs
    load_status: int | None = None
    detail: str = ""
    evidence: tuple[str, ...] = field(default_factory=tuple)
    seconds: float = 0.0  # how long the scenario took in the guest

    def key(self) -> tuple[object, ...]:
        """What must not depend on the order scenarios run in (evidence lines carry PIDs and times)."""
        return (self.outcome, self.named, self.load_status, self.detail)


@dataclass(frozen=True)
class Verdict:
    scenario: Scenario
    expected: Outcome
    observation: Observation

    @property
    def passed(self) -> bool:
        if self.observation.outcome is not self.expected:
            return False
        if self.expected in (Outcome.REFUSED, Outcome.WARNED):
            # every NULL mandatory hook, and nothing else, must be named
            return self.observation.named == self.scenario.mandatory
        return True


def judge(scenarios: Iterable[tuple[Scenario, Observation]]) -> list[Verdict]:
    return [Verdict(s, expected(s), o) for s, o in scenarios]


def observation_of(run: ScenarioRun, hooks: HookSet, verbose: bool = False) -> Observation:
    """Classify one scenario from its evidence alone.

    A failure of the evidence parser is not hidden: the scenario becomes an
    ``error`` naming the stage (with the traceback when ``verbose``).
    """
    try:
        observation = _observe(run, hooks)
    except Exception as exc:  # a bug: surface it as this scenario's result, naming where it happened
        where = traceback.extract_tb(exc.__traceback__)[-1]
        stage = Path(where.filename).parent.name  # the stage is the package: evidence or verdict
        detail = f"{stage} stage failed in {where.name}(): {type(exc).__name__}: {exc}"
        lines = tuple(traceback.format_exception(exc)) if verbose else ()
        observation = Observation(Outcome.ERROR, detail=detail, evidence=lines)
    return replace(observation, seconds=run.seconds)


def _observe(run: ScenarioRun, hooks: HookSet) -> Observation:
    if run.crash is not None or run.hung:
        records = evidence.parse(evidence.own_output(run.output), hooks)
        crash = next(iter(of_type(records, Crash)), None)
        lines = [r.text for r in records if isinstance(r, (Crash, Warn, HookRefused))][:6]
        if run.hung:
            return Observation(Outcome.HUNG, detail="guest stopped answering", evidence=tuple(lines))
        title = (crash.title if crash else None) or run.crash or "crash"
        return Observation(Outcome.CRASHED, detail=title, evidence=tuple(lines or [title]))

    harness_lines, kernel_log = evidence.split_output(run.output)
    harness_records = evidence.parse(harness_lines, hooks)
    records = evidence.parse(kernel_log, hooks)
    load = evidence.harness_load(harness_records)
    status = load.status if load else None
    refused = {f"{r.table}.{r.hook}" for r in of_type(records, HookRefused)}
    warns = of_type(records, Warn)
    warned = {f"{r.table}.{r.hook}" for r in warns if r.hook}
    crashes = of_type(records, Crash)
    probe = of_type(harness_records, Probe)
    probe_failed = next((r for r in probe if not r.ok), None)

    if load is None or status is None:
        return Observation(Outcome.ERROR, detail="no load status in the output",
                           evidence=tuple(harness_lines.strip().splitlines()[-3:]))
    unadmitted = of_type(records, Unadmitted)
    if unadmitted and status != 0:
        symbols = sorted({r.symbol for r in unadmitted})
        return Observation(Outcome.NOT_ADMITTED, frozenset(), status,
                           f"kvm.ko exports {', '.join(symbols)} only to {unadmitted[0].namespace}",
                           tuple(dict.fromkeys(r.text for r in unadmitted))[:4])
    if crashes:
        return Observation(Outcome.CRASHED, frozenset(refused | warned), status, crashes[0].title,
                           tuple(r.text for r in crashes[:3]))
    if refused and status != 0 and not warns:
        decisive = sorted({r.text for r in records if isinstance(r, (HookRefused, VendorRefused))})
        return Observation(Outcome.REFUSED, frozenset(refused), status, f"insmod status {status}", tuple(decisive))
    if warns and not refused:
        unnamed = [w for w in warns if not w.hook]
        lines = [w.message or w.text for w in warns if w.hook][:4] + [w.text for w in unnamed][:2]
        detail = f"{len(warns)} WARN(s), load status {status}"
        if unnamed:
            detail += f", {len(unnamed)} not naming a hook"
        return Observation(Outcome.WARNED, frozenset(warned), status, detail, tuple(lines))
    if status == 0 and load.present is False:
        return Observation(Outcome.LOAD_FAILED, frozenset(), status,
                           "insmod exited 0, but the module is not loaded (its init returned garbage)",
                           (load.text, *(r.text for r in records[:3])))
    if status == 0 and not refused:
        optional = next(iter(of_type(records, OptionalNull)), None)
        lines = [optional.text] if optional else ["kvmnull-load: status=0, no refusal, no WARN"]
        if probe_failed:
            return Observation(Outcome.ERROR, frozenset(), status,
                               f"loaded, but the lifecycle failed at {probe_failed.step}: {probe_failed.detail}",
                               (*lines, probe_failed.text))
        unload = next(iter(of_type(harness_records, Unload)), None)
        if unload and unload.status:
            return Observation(Outcome.ERROR, frozenset(), status,
                               f"loaded, but rmmod failed with status {unload.status}", (*lines, unload.text))
        run_step = next((r for r in probe if r.step == "run"), None)
        if run_step:
            lines.append(run_step.text)
        return Observation(Outcome.LOADED, frozenset(), status, "registered" + (", lifecycle ok" if probe else ""),
                           tuple(lines))
    errno_name = next((r.errno_name for r in of_type(harness_records, Load) if r.errno_name), None)
    return Observation(Outcome.LOAD_FAILED, frozenset(refused), status,
                       f"insmod status {status} ({errno_name or '?'}) without the contract's refusal",
                       tuple(r.text for r in records[:4]))
