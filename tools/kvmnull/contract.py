"""The hook contract as one model: what each class of NULL hook must lead to under each policy.

``docs/spec.md`` states the same rules in prose; the tools derive every
expectation from :func:`expected` and judge every observation with
:func:`judge`, never from per-hook tables.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

from .hooks import Hook, HookClass


class Policy(enum.Enum):
    """kvm.ko's ``missing_hook`` parameter."""

    REFUSE = "refuse"
    WARN = "warn"


class Outcome(enum.Enum):
    """What a scenario did, in the words of the spec."""

    REFUSED = "refused"  # vendor init failed with EINVAL, every NULL mandatory hook named, no WARN
    WARNED = "warned"  # one WARN naming each NULL mandatory hook, registration went ahead
    LOADED = "loaded"  # registered with no refusal and no WARN; the VM lifecycle worked if probed
    LOAD_FAILED = "load_failed"  # the load failed without the contract's refusal
    CRASHED = "crashed"  # the guest kernel oopsed or panicked
    HUNG = "hung"  # the guest stopped answering
    ERROR = "error"  # anything else: evidence inconsistent with every outcome above


@dataclass(frozen=True)
class Scenario:
    """One negative test: a vendor, the hooks it leaves NULL, and kvm.ko's policy."""

    name: str
    policy: Policy
    vendor: str = "kvm-null"  # or "kvm-amd", the real-vendor control
    nulled: tuple[Hook, ...] = ()
    probe: bool = True  # run the VM lifecycle probe when the vendor registers
    # kvm-null's null= / null_pmu= as given; by default the names of the NULL hooks
    # (a charp parameter holds at most 1024 bytes: bulk cases pass class selectors)
    params: tuple[tuple[str, str], ...] = ()

    @property
    def mandatory(self) -> frozenset[str]:
        """``table.hook`` keys of the NULL mandatory hooks."""
        return frozenset(h.key for h in self.nulled if h.hook_class is HookClass.MANDATORY)

    def null_param(self, table: str) -> str:
        given = dict(self.params)
        if table in given:
            return given[table]
        return ",".join(h.name for h in self.nulled if h.table.value == table)


def expected(scenario: Scenario) -> Outcome:
    """The contract: NULL mandatory hooks are refused or warned about; anything else loads."""
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
