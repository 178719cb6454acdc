"""One scenario's facts, read from the consoles of real guests: what each says, and its words for what went wrong."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kvmnull.evidence.facts import Finding, ScenarioFacts, Symptom
from kvmnull.evidence.kernel_log import HookRefused, Seen
from kvmnull.guest import harness
from kvmnull.guest.harness import BEGIN
from kvmnull.guest.scenario import Policy, Scenario, ScenarioRun
from kvmnull.kernel.hooks import HookSet

from .conftest import DATA, log


def scenarios(text: str) -> dict[str, str]:
    """Each bite-map scenario's console in bitemap.log, by the hook it leaves NULL."""
    return {part.split("null=", 1)[1].split(" ", 1)[0]: BEGIN + part for part in text.split(BEGIN)[1:]}


@pytest.fixture(scope="module")
def vendor_runs() -> dict[str, dict[str, Any]]:
    return {run["scenario"]: run for run in json.loads((DATA / "vendor-bitemap-6.12.json").read_text())["runs"]}


def test_a_refusal(captured_hooks: HookSet) -> None:
    facts = ScenarioFacts.read(log("refused.log"), captured_hooks)
    assert facts.load and (facts.load.status, facts.load.present) == (22, None)  # a log from before loaded=
    assert facts.load_errno == "EINVAL"  # insmod: can't insert ...: Invalid argument
    assert facts.refused == {"x86.vcpu_create", "x86.vcpu_free"}
    assert facts.refusal == ("kvm: vendor kvm_null refused: 2 mandatory hooks NULL (missing_hook=refuse)",
                             "kvm: vendor kvm_null: mandatory kvm_x86_ops.vcpu_create is NULL",
                             "kvm: vendor kvm_null: mandatory kvm_x86_ops.vcpu_free is NULL")
    assert facts.warns == () and facts.steps == () and facts.unload is None
    # each refusal line is on the console and in the harness's dump: one record, in the kernel log
    assert {r.seen for r in facts.records if isinstance(r, HookRefused)} == {Seen.BOTH}
    assert facts.load_failure() == Finding(Symptom.LOAD_FAILED, "load", "load fails with EINVAL",
                                           "kvmnull-load: kvm-null status=22")
    assert facts.death() is None and not facts.died


def test_a_patched_warn_and_the_step_it_breaks(captured_hooks: HookSet) -> None:
    facts = ScenarioFacts.read(log("warned.log"), captured_hooks)
    assert facts.warned == {"x86.vcpu_create"} and facts.unnamed_warns == ()
    assert [w.seen for w in facts.warns] == [Seen.DMESG]  # the console's log level hides it
    assert facts.load_failure() is None
    assert [s.step for s in facts.steps] == ["open", "api_version", "create_vm", "set_memory", "create_vcpu",
                                             "mmap_run"]
    assert facts.step_failure() == Finding(Symptom.STEP_FAILED, "mmap_run", "fails with EBADF",
                                           "kvmnull-probe: step mmap_run fail EBADF Bad file descriptor")
    assert facts.unload and facts.unload.status == 0 and facts.unload_failure() is None
    assert facts.complaint() is None  # the one WARN names its hook


def test_upstream_warns_are_named_through_the_header(captured_hooks: HookSet) -> None:
    facts = ScenarioFacts.read(log("upstream-warn.log"), captured_hooks)
    # kvm-x86-ops.h lines 25 and 36 of 6.12
    assert facts.warned == {"x86.vcpu_create", "x86.get_cpl"}
    assert facts.kernel == ()  # this console has no dump of the harness's: every record is the console's
    assert facts.complaint() is None
    # without the header, the same WARNs name nothing: the kernel complained, and nothing says of what
    anonymous = ScenarioFacts.read(log("upstream-warn.log"))
    assert anonymous.warned == frozenset() and len(anonymous.unnamed_warns) == 2
    complaint = anonymous.complaint()
    assert complaint and complaint.symptom is Symptom.KERNEL_COMPLAINT and complaint.step is None
    assert complaint.how == "every step passed; WARNING in kvm_x86_vendor_init"


def test_a_hang_is_the_step_after_the_last_one_reported(captured_hooks: HookSet) -> None:
    hung = ScenarioFacts.read(log("hang.log"), captured_hooks, hung=True)
    assert hung.death() == Finding(Symptom.HANG, "run", "hang: never returned (last done: set_sregs)",
                                   "kvmnull-probe: step set_sregs ok")
    # the same console, if QEMU had gone without a word from the kernel
    gone = ScenarioFacts.read(log("hang.log"), captured_hooks, crashed="QEMU exited")
    assert gone.death() == Finding(Symptom.CRASH, "run", "guest died without a kernel report: QEMU exited",
                                   "QEMU exited")
    assert ScenarioFacts.read(log("hang.log"), captured_hooks).death() is None


def test_a_hang_after_a_failed_step_is_in_the_unload(captured_hooks: HookSet) -> None:
    # the probe stops at its first failure: what can still hang is the rmmod after it
    facts = ScenarioFacts.read(scenarios(log("bitemap.log"))["is_valid_cr0"], captured_hooks, hung=True)
    assert (facts.last_done, facts.running_step) == ("set_sregs", "unload")


def test_a_crash_with_its_kernel_report(captured_hooks: HookSet) -> None:
    facts = ScenarioFacts.read(log("panic.log"), captured_hooks,
                               crashed="Kernel panic - not syncing: sysrq triggered crash")
    death = facts.death()
    assert death and death.symptom is Symptom.CRASH
    assert death.step == "load"  # no harness ran: nothing came back, not even a load
    assert death.evidence == "Kernel panic - not syncing: sysrq triggered crash"
    assert death.how == f"crash: {facts.crashes[0].title}"


def test_a_module_that_is_not_loaded_after_insmod_exits_0(captured_hooks: HookSet) -> None:
    facts = ScenarioFacts.read(scenarios(log("bitemap.log"))["check_processor_compatibility"], captured_hooks)
    assert facts.load and (facts.load.status, facts.load.present) == (0, False)
    assert facts.warned == {"x86.check_processor_compatibility"}
    assert facts.load_failure() == Finding(Symptom.NOT_LOADED, "load",
                                           "insmod exits 0, but no module is loaded: vendor init returned garbage",
                                           "kvmnull-load: kvm-null status=0 loaded=no")


def test_only_the_last_scenario_of_an_excerpt_counts(captured_hooks: HookSet) -> None:
    # bitemap.log holds six scenarios; the last (handle_exit) hung after set_sregs, before any run step
    facts = ScenarioFacts.read(log("bitemap.log"), captured_hooks)
    assert facts.steps[-1].step == "set_sregs" and facts.step("run") is None
    # its WARN would have come with the dump the hang cut short; the earlier scenarios' WARNs are not its own
    assert facts.warns == () and facts.kernel == ()


def test_the_workload_of_a_real_vendor(captured_hooks: HookSet, vendor_runs: dict[str, dict[str, Any]]) -> None:
    run = vendor_runs["x86.inject_exception"]
    facts = ScenarioFacts.read(run["output"], captured_hooks, run["crash"], run["hung"], harness.WORKLOAD)
    assert facts.program == harness.WORKLOAD and facts.steps[-1].step == "set_msrs"
    assert facts.death() == Finding(Symptom.HANG, "exception", "hang: never returned (last done: set_msrs)",
                                    "kvmnull-workload: step set_msrs ok")
    # the load's kernel log, printed before the workload, names the hook: it is the console's
    assert facts.warned == {"x86.inject_exception"} and [w.seen for w in facts.warns] == [Seen.CONSOLE]
    run = vendor_runs["x86.enable_virtualization_cpu"]
    facts = ScenarioFacts.read(run["output"], captured_hooks, run["crash"], run["hung"], harness.WORKLOAD)
    death = facts.death()
    assert death and (death.symptom, death.step) == (Symptom.CRASH, "port_out")
    assert death.evidence == "kernel BUG at arch/x86/kvm/x86.c:717!"


def test_a_wrong_step_is_worded_as_the_workload_says_it(vendor_runs: dict[str, dict[str, Any]]) -> None:
    run = vendor_runs["x86.get_msr"]
    facts = ScenarioFacts.read(run["output"], program=harness.WORKLOAD)
    assert facts.step_failure() == Finding(
        Symptom.STEP_WRONG, "get_msrs", "wrong: MSR 0x174: expected 0x1234, got 0x0 (1 read)",
        "kvmnull-workload: step get_msrs wrong MSR 0x174: expected 0x1234, got 0x0 (1 read)")


def test_a_scenario_run_says_which_program_ran(captured_hooks: HookSet,
                                                vendor_runs: dict[str, dict[str, Any]]) -> None:
    run = vendor_runs["control"]
    workload = Scenario("control", Policy.WARN, "kvm-amd", (), probe=False, workload=True)
    facts = ScenarioFacts.of(ScenarioRun(workload, run["output"], 1.0), captured_hooks)
    assert facts.program == harness.WORKLOAD and len(facts.steps) == 26
    assert all(s.ok for s in facts.steps) and facts.step_failure() is None
    # read as a probe's, the same console has no step at all
    probe = ScenarioFacts.of(ScenarioRun(Scenario("control", Policy.WARN, "kvm-amd"), run["output"], 1.0))
    assert probe.steps == ()
