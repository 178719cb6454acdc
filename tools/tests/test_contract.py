"""The contract model, and observations made from real guests' console logs."""

from __future__ import annotations

from dataclasses import replace

import pytest

from kvmnull.guest.scenario import Policy, Scenario, ScenarioRun, scenario_command
from kvmnull.kernel.hooks import HookClass, HookSet, Table
from kvmnull.verdict.contract import Outcome, expected, judge, observation_of

from .conftest import log


def scenario(hooks: HookSet, policy: Policy, *names: str) -> Scenario:
    nulled = tuple(h for n in names if (h := hooks.find(Table.X86, n)))
    return Scenario(",".join(names) or "control", policy, "kvm-null", nulled)


@pytest.mark.parametrize(("hook_class", "policy", "outcome"), [
    (HookClass.MANDATORY, Policy.REFUSE, Outcome.REFUSED),
    (HookClass.MANDATORY, Policy.WARN, Outcome.WARNED),
    (HookClass.OPTIONAL, Policy.REFUSE, Outcome.LOADED),
    (HookClass.OPTIONAL, Policy.WARN, Outcome.LOADED),
    (HookClass.OPTIONAL_RET0, Policy.REFUSE, Outcome.LOADED),
    (HookClass.OPTIONAL_RET0, Policy.WARN, Outcome.LOADED),
])
def test_expected_follows_class_and_policy(captured_hooks: HookSet, hook_class: HookClass, policy: Policy,
                                           outcome: Outcome) -> None:
    for hook in captured_hooks.classified():
        if hook.hook_class is hook_class:
            assert expected(Scenario(hook.key, policy, "kvm-null", (hook,))) is outcome


def test_controls_must_load(captured_hooks: HookSet) -> None:
    assert expected(Scenario("control", Policy.REFUSE)) is Outcome.LOADED
    assert expected(Scenario("control", Policy.WARN, "kvm-amd")) is Outcome.LOADED


def test_observed_refusal(captured_hooks: HookSet) -> None:
    s = scenario(captured_hooks, Policy.REFUSE, "vcpu_create", "vcpu_free")
    verdict = judge([(s, observation_of(ScenarioRun(s, log("refused.log"), 1.0), captured_hooks))])[0]
    assert verdict.observation.outcome is Outcome.REFUSED
    assert verdict.observation.named == {"x86.vcpu_create", "x86.vcpu_free"}
    assert verdict.observation.load_status == 22
    assert verdict.passed


def test_refusal_that_misses_a_hook_fails(captured_hooks: HookSet) -> None:
    # the same evidence cannot pass for a scenario that nulled a third hook
    s = scenario(captured_hooks, Policy.REFUSE, "vcpu_create", "vcpu_free", "vcpu_reset")
    verdict = judge([(s, observation_of(ScenarioRun(s, log("refused.log"), 1.0), captured_hooks))])[0]
    assert verdict.observation.outcome is Outcome.REFUSED and not verdict.passed


def test_observed_warning(captured_hooks: HookSet) -> None:
    s = scenario(captured_hooks, Policy.WARN, "vcpu_create")
    verdict = judge([(s, observation_of(ScenarioRun(s, log("warned.log"), 1.0), captured_hooks))])[0]
    assert verdict.observation.outcome is Outcome.WARNED
    assert verdict.observation.named == {"x86.vcpu_create"}
    assert verdict.passed
    # a refusal was expected under the other policy: the same evidence fails there
    refuse = scenario(captured_hooks, Policy.REFUSE, "vcpu_create")
    assert not judge([(refuse, observation_of(ScenarioRun(refuse, log("warned.log"), 1.0), captured_hooks))])[0].passed


def test_observed_clean_load(captured_hooks: HookSet) -> None:
    s = scenario(captured_hooks, Policy.REFUSE, "vm_destroy")
    verdict = judge([(s, observation_of(ScenarioRun(s, log("clean.log"), 1.0), captured_hooks))])[0]
    assert verdict.observation.outcome is Outcome.LOADED and verdict.passed
    assert any("hardware_exit_reason=0x6b766d6e756c6c" in e for e in verdict.observation.evidence)


def test_crash_and_hang(captured_hooks: HookSet) -> None:
    s = scenario(captured_hooks, Policy.WARN, "handle_exit")
    crashed = observation_of(ScenarioRun(s, log("panic.log"), 1.0, crash="Kernel panic - not syncing: x"),
                             captured_hooks)
    assert crashed.outcome is Outcome.CRASHED and "sysrq triggered crash" in crashed.detail
    hung = observation_of(ScenarioRun(s, log("hang.log"), 15.0, hung=True), captured_hooks)
    assert hung.outcome is Outcome.HUNG


def test_scenario_command_names_every_parameter(captured_hooks: HookSet) -> None:
    s = scenario(captured_hooks, Policy.WARN, "vcpu_create", "get_cpl")
    empty = "null_pmu= null_nested= knockout="
    assert scenario_command(s) == f"kvmnull-scenario warn kvm-null 1 null=vcpu_create,get_cpl {empty}"
    # a real vendor gets them as its knockout=, table.hook
    amd = replace(s, vendor="kvm-amd")
    assert scenario_command(amd) == ("kvmnull-scenario warn kvm-amd 1 null= null_pmu= null_nested= "
                                     "knockout=x86.vcpu_create,x86.get_cpl")
    bulk = Scenario("all", Policy.REFUSE, "kvm-null", s.nulled, params=(("x86", "@mandatory"),))
    assert scenario_command(bulk) == f"kvmnull-scenario refuse kvm-null 1 null=@mandatory {empty}"
    # a value the shell would split is quoted
    spaced = Scenario("odd", Policy.REFUSE, "kvm-null", s.nulled, params=(("x86", "a b"),))
    assert scenario_command(spaced) == f"kvmnull-scenario refuse kvm-null 1 'null=a b' {empty}"


def test_observed_oops_names_title_and_place(captured_hooks: HookSet) -> None:
    s = scenario(captured_hooks, Policy.WARN, "get_l2_tsc_multiplier")
    crashed = observation_of(ScenarioRun(s, log("oops.log"), 1.0, crash="Kernel panic - not syncing: Fatal exception"),
                      captured_hooks)
    assert crashed.outcome is Outcome.CRASHED
    assert crashed.detail == "crash: Oops: int3 in __schedule"


def test_a_parser_failure_is_an_error_naming_the_stage(captured_hooks: HookSet,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from kvmnull.evidence import kernel_log as evidence

    monkeypatch.setattr(evidence, "_ANSI", None)  # a bug inside the parser: clean() raises
    s = scenario(captured_hooks, Policy.REFUSE, "vcpu_create", "vcpu_free")
    observation = observation_of(ScenarioRun(s, log("refused.log"), 2.5), captured_hooks)
    assert observation.outcome is Outcome.ERROR
    assert observation.detail.startswith("evidence stage failed in clean(): AttributeError")
    assert observation.seconds == 2.5
    verbose = observation_of(ScenarioRun(s, log("refused.log"), 2.5), captured_hooks, verbose=True)
    assert any("Traceback" in line for line in verbose.evidence)


def test_observation_carries_the_scenario_time(captured_hooks: HookSet) -> None:
    s = scenario(captured_hooks, Policy.REFUSE, "vcpu_create", "vcpu_free")
    assert observation_of(ScenarioRun(s, log("refused.log"), 1.25), captured_hooks).seconds == 1.25


def test_a_7_3_warn_names_a_hook_of_each_of_the_three_tables() -> None:
    from kvmnull.kernel import kconfig
    from kvmnull.kernel.hooks import load_hooks

    from .conftest import DATA

    captured = DATA / "kernels" / "7.3.4+deb13-cloud-amd64"
    hooks = load_hooks(captured / "src", kconfig.read_dotconfig(captured / "config").evaluator())
    nulled = tuple(h for t, n in ((Table.X86, "vcpu_create"), (Table.PMU, "refresh"), (Table.NESTED, "get_state"))
                   if (h := hooks.find(t, n)))
    s = Scenario("warned", Policy.WARN, "kvm-null", nulled, probe=False)
    verdict = judge([(s, observation_of(ScenarioRun(s, log("warned-7.3.log"), 1.0), hooks))])[0]
    assert verdict.observation.outcome is Outcome.WARNED
    assert verdict.observation.named == {"x86.vcpu_create", "pmu.refresh", "nested.get_state"}
    assert verdict.passed


def test_a_vendor_the_stock_kvm_ko_does_not_export_to_is_expected_not_admitted(captured_hooks: HookSet) -> None:
    s = scenario(captured_hooks, Policy.UPSTREAM, "vcpu_create")
    assert expected(s) is Outcome.WARNED
    assert expected(replace(s, admitted=False)) is Outcome.NOT_ADMITTED
