"""The real-vendor bite map, classified from the consoles of real kvm-amd knockouts (capture_logs.py
--vendor-bitemap 6.12): what each scenario's output says, against the control's."""

from __future__ import annotations

import json
from typing import Any

import pytest

from kvmnull.core import abi
from kvmnull.fetch.packages import KernelTree
from kvmnull.guest import harness
from kvmnull.kernel.hooks import HookSet
from kvmnull.verdict import bitemap as bm

from .conftest import DATA

CAPTURED = DATA / "vendor-bitemap-6.12.json"


@pytest.fixture(scope="module")
def captured() -> dict[str, dict[str, Any]]:
    data = json.loads(CAPTURED.read_text())
    return {run["scenario"]: run for run in data["runs"]}


@pytest.fixture(scope="module")
def control(captured: dict[str, dict[str, Any]]) -> list[bm.StepResult]:
    run = captured["control"]
    return bm.check_control(run["output"], run["crash"], run["hung"])


def classify(captured: dict[str, dict[str, Any]], control: list[bm.StepResult], hooks: HookSet,
             key: str) -> bm.VendorBite:
    run = captured[key]
    table, name = key.split(".")
    hook = next(h for h in hooks.hooks if h.table.value == table and h.name == name)
    return bm.classify(hook, run["output"], run["crash"], run["hung"], control, hooks)


def test_the_control_passes_every_workload_step(control: list[bm.StepResult]) -> None:
    assert [s.step for s in control] == list(abi.load().workload_steps)
    assert all(s.result == "ok" for s in control)


def test_a_control_that_fails_a_step_is_refused(captured: dict[str, dict[str, Any]]) -> None:
    # a knockout's console as if it were the control: the bite map must not be measured against it
    run = captured["x86.handle_exit"]
    with pytest.raises(bm.ControlFailed, match="step port_out: wrong"):
        bm.check_control(run["output"], run["crash"], run["hung"])
    with pytest.raises(bm.ControlFailed, match="hung"):
        bm.check_control("", None, True)


@pytest.mark.parametrize(("key", "divergence", "step", "how"), [
    # KVM_RUN comes back with an exit the guest never asked for
    ("x86.handle_exit", bm.Divergence.WRONG, "port_out", "exit unknown"),
    # the host reads an MSR the guest wrote, and gets what the NULL hook left
    ("x86.get_msr", bm.Divergence.WRONG, "get_msrs", "MSR 0x174: expected 0x1234"),
    ("x86.is_valid_cr0", bm.Divergence.ERRNO, "set_sregs", "fails with EINVAL"),
    # the #UD is never delivered: the guest never reaches its handler
    ("x86.inject_exception", bm.Divergence.HANG, "exception", "hang"),
    # VMRUN without SVM enabled
    ("x86.enable_virtualization_cpu", bm.Divergence.CRASH, "port_out", "crash: kernel BUG in kvm_spurious_fault"),
    ("x86.check_processor_compatibility", bm.Divergence.NOT_LOADED, "load",
     "insmod exits 0, but no module is loaded"),
    # a garbage return taken for a file descriptor
    ("x86.vcpu_create", bm.Divergence.WRONG, "create_vcpu", "is not open"),
    ("x86.get_cpl", bm.Divergence.NONE, None, "every step as in the control"),
])
def test_knockouts_are_classified_by_their_first_divergence(captured: dict[str, dict[str, Any]],
                                                            control: list[bm.StepResult], captured_hooks: HookSet,
                                                            key: str, divergence: bm.Divergence, step: str | None,
                                                            how: str) -> None:
    bite = classify(captured, control, captured_hooks, key)
    assert (bite.divergence, bite.step) == (divergence, step)
    assert how in bite.how
    # the patched kvm.ko under warn names the mandatory hook it finds NULL, in the kernel log the harness
    # prints right after the load: crashed and hung runs keep it too
    assert bite.warned


def test_a_knockout_that_spends_the_guest_says_so(captured: dict[str, dict[str, Any]]) -> None:
    # without disable_virtualization_cpu, SVM stays on when kvm-amd goes, and kvm-amd cannot load again
    # in that guest: the next scenario gets a fresh one
    assert harness.SPENT in captured["x86.disable_virtualization_cpu"]["output"]
    assert harness.SPENT not in captured["x86.get_cpl"]["output"]


def test_flags_name_what_would_exercise_a_hook_that_never_bites(
        captured: dict[str, dict[str, Any]], control: list[bm.StepResult], captured_hooks: HookSet,
        tree: KernelTree) -> None:
    keys = ("x86.get_cpl", "x86.handle_exit")
    bites = bm.with_flags([classify(captured, control, captured_hooks, k) for k in keys], tree.source)
    # in 6.12, kvm.ko calls get_cpl from kvm_hv_hypercall (hyperv.c), kvm_pmu_rdpmc and cpl_is_matched
    # (pmu.c), kvm_require_cpl and a dozen more (x86.c) and kvm_xen_hypercall (xen.c): the flag names
    # the first four, in the source's order, and cuts the rest
    flag = bites[0].flags[0]
    assert flag.startswith("mandatory, never bites in this workload; kvm.ko calls it from "
                           "kvm_hv_hypercall(), kvm_pmu_rdpmc(), cpl_is_matched(), kvm_require_cpl()")
    assert flag.endswith(" ...")
    found = bm.callers(tree.source, [bites[0].hook])[bites[0].hook.key]
    assert {"kvm_require_cpl", "kvm_xen_hypercall", "emulator_get_cpl"} <= set(found)
    assert bites[1].flags == ()
