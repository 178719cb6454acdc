"""The hook contract as one model: what each class of NULL hook must lead to under each policy.

``docs/spec.md`` states the same rules in prose; the tools derive every
expectation from :func:`expected`, classify a scenario's evidence with
:func:`observation_of` (its facts read once, then :func:`decide`) and judge it
with :func:`judge`, never from per-hook tables.
"""

from __future__ import annotations

import enum
import traceback
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..evidence.facts import ScenarioFacts, Symptom
from ..evidence.kernel_log import Crash, HookRefused, Warn
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
        observation = decide(ScenarioFacts.of(run, hooks))
    except Exception as exc:  # a bug: surface it as this scenario's result, naming where it happened
        where = traceback.extract_tb(exc.__traceback__)[-1]
        stage = Path(where.filename).parent.name  # the stage is the package: evidence or verdict
        detail = f"{stage} stage failed in {where.name}(): {type(exc).__name__}: {exc}"
        lines = tuple(traceback.format_exception(exc)) if verbose else ()
        observation = Observation(Outcome.ERROR, detail=detail, evidence=lines)
    return replace(observation, seconds=run.seconds)


def decide(facts: ScenarioFacts) -> Observation:
    """The outcome the facts of one scenario show."""
    if death := facts.death():
        shown = tuple(r.text for r in facts.records if isinstance(r, (Crash, Warn, HookRefused)))[:6]
        if death.symptom is Symptom.HANG:
            return Observation(Outcome.HUNG, detail=death.how, evidence=shown)
        return Observation(Outcome.CRASHED, detail=death.how, evidence=shown or (death.evidence,))
    load, failure, warns, refused = facts.load, facts.load_failure(), facts.warns, facts.refused
    if load is None or load.status is None:
        return Observation(Outcome.ERROR, detail=failure.how if failure else "", evidence=facts.harness_tail)
    status = load.status
    if facts.unadmitted and status != 0:
        symbols = sorted({r.symbol for r in facts.unadmitted})
        return Observation(Outcome.NOT_ADMITTED, frozenset(), status,
                           f"kvm.ko exports {', '.join(symbols)} only to {facts.unadmitted[0].namespace}",
                           tuple(dict.fromkeys(r.text for r in facts.unadmitted))[:4])
    if facts.crashes:
        return Observation(Outcome.CRASHED, refused | facts.warned, status, ScenarioFacts.crash(facts.crashes[0]).how,
                           tuple(r.text for r in facts.crashes[:3]))
    if refused and status != 0 and not warns:
        return Observation(Outcome.REFUSED, refused, status, f"insmod status {status}", facts.refusal)
    if warns and not refused:
        unnamed = facts.unnamed_warns
        lines = [w.message or w.text for w in warns if w.hook][:4] + [w.text for w in unnamed][:2]
        detail = f"{len(warns)} WARN(s), load status {status}"
        if unnamed:
            detail += f", {len(unnamed)} not naming a hook"
        return Observation(Outcome.WARNED, facts.warned, status, detail, tuple(lines))
    if failure and failure.symptom is Symptom.NOT_LOADED:
        return Observation(Outcome.LOAD_FAILED, frozenset(), status, failure.how,
                           (load.text, *(r.text for r in facts.kernel[:3])))
    if status == 0 and not refused:
        lines = [facts.optional_null.text if facts.optional_null else "kvmnull-load: status=0, no refusal, no WARN"]
        if step := facts.step_failure():
            return Observation(Outcome.ERROR, frozenset(), status, f"loaded, but at {step.step}: {step.how}",
                               (*lines, step.evidence))
        if unload := facts.unload_failure():
            return Observation(Outcome.ERROR, frozenset(), status, f"loaded, but {unload.how}",
                               (*lines, unload.evidence))
        if run_step := facts.step("run"):
            lines.append(run_step.text)
        return Observation(Outcome.LOADED, frozenset(), status,
                           "registered" + (", lifecycle ok" if facts.steps else ""), tuple(lines))
    how = failure.how if failure else f"insmod status {status}"
    return Observation(Outcome.LOAD_FAILED, refused, status, f"{how}, without the contract's refusal",
                       tuple(r.text for r in facts.kernel[:4]))
