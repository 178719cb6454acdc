"""The census of the captured 6.12.117 source, and bite-map classification on a real guest's console."""

from __future__ import annotations

import pytest

from kvmnull.fetch.packages import KernelTree
from kvmnull.guest.harness import BEGIN
from kvmnull.kernel.hooks import HookSet, Table
from kvmnull.kernel.kconfig import KernelConfig
from kvmnull.verdict import census as cz

from .conftest import CAPTURED, log


@pytest.fixture(scope="module")
def census(captured_hooks: HookSet, captured_config: KernelConfig) -> cz.Census:
    return cz.take(CAPTURED / "src", captured_hooks, captured_config.evaluator())


def row(census: cz.Census, table: Table, name: str) -> cz.CensusRow:
    return next(r for r in census.rows if r.hook.table is table and r.hook.name == name)


def present(r: cz.CensusRow, vendor: str) -> bool:
    impl = r.vendors[vendor]
    return impl is not None and impl.active


def test_vendor_columns_match_the_source(census: cz.Census) -> None:
    vm_destroy = row(census, Table.X86, "vm_destroy")
    assert vm_destroy.hook.hook_class.value == "optional"
    assert present(vm_destroy, "vmx") and present(vm_destroy, "svm")
    assert vm_destroy.vendors["vmx"] and vm_destroy.vendors["vmx"].value == "vmx_vm_destroy"
    precreate = row(census, Table.X86, "vcpu_precreate")
    assert present(precreate, "vmx") and not present(precreate, "svm")
    post_set_cr3 = row(census, Table.X86, "post_set_cr3")
    assert not present(post_set_cr3, "vmx") and present(post_set_cr3, "svm")
    # an explicit ".update_emulated_instruction = NULL" in svm.c implements nothing
    assert not present(row(census, Table.X86, "update_emulated_instruction"), "svm")
    assert len([r for r in census.rows if r.hook.table is Table.X86]) == 122
    assert len([r for r in census.rows if r.hook.table is Table.PMU]) == 11


def test_config_guarded_entries(census: cz.Census) -> None:
    sev = row(census, Table.X86, "mem_enc_ioctl").vendors["svm"]
    assert sev and sev.guard == "defined(CONFIG_KVM_AMD_SEV)" and not sev.active  # KVM_AMD_SEV=n here
    smm = row(census, Table.X86, "enter_smm").vendors["svm"]
    assert smm and smm.guard == "defined(CONFIG_KVM_SMM)" and smm.active


def test_run_time_changes_with_their_conditions(census: cz.Census) -> None:
    vnmi = row(census, Table.X86, "is_vnmi_pending").runtime
    assert [(c.vendor, c.function, c.condition, c.value) for c in vnmi] == [
        ("svm", "svm_hardware_setup", "!vnmi", "NULL")]
    flush = [c.describe() for c in row(census, Table.X86, "flush_remote_tlbs").runtime]
    assert ("vmx: set to hv_flush_remote_tlbs in vmx_hardware_setup() if "
            "(ms_hyperv.nested_features & HV_X64_NESTED_GUEST_MAPPING_FLUSH && enable_ept)") in flush
    assert any(c.startswith("svm: set to") for c in flush)  # from svm_onhyperv.h


def test_flags(census: cz.Census) -> None:
    candidates = [r.hook.name for r in census.rows if any("candidate for mandatory" in f for f in r.flags)]
    assert "vm_destroy" in candidates
    # a hook a vendor clears at run time is no candidate
    assert "update_cr8_intercept" not in candidates
    lacking = [r.hook.name for r in census.rows if any(f.startswith("mandatory, but") for f in r.flags)]
    assert lacking == []  # in 6.12 both vendors fill every mandatory hook
    assert census.oddities == (
        "kvm_x86_ops header line 136: stray ';' after KVM_X86_OP...(vcpu_get_apicv_inhibit_reasons)",)


def test_first_phases_from_a_real_lifecycle() -> None:
    first = cz.first_phases(log("bitemap.log"))
    assert first["x86.vm_init"] == "create_vm"
    assert first["x86.vcpu_create"] == "create_vcpu"
    assert first["x86.vcpu_run"] == "run" and first["x86.handle_exit"] == "run"
    assert first["x86.vcpu_free"] == "close_vm"
    assert first["x86.hardware_unsetup"] == "unload"
    assert first["x86.check_processor_compatibility"] == "load"
    assert set(first.values()) <= set(cz.PHASES)


def scenarios(text: str) -> dict[str, str]:
    """Each bite-map scenario's console, from its begin marker to the next one."""
    return {part.split("null=", 1)[1].split(" ", 1)[0]: BEGIN + part for part in text.split(BEGIN)[1:]}


@pytest.mark.parametrize(("name", "step", "how"), [
    ("check_processor_compatibility", "load", "insmod exits 0, but no module is loaded"),
    ("vcpu_create", "create_vcpu", "fails with EBADF"),
    ("is_valid_cr0", "set_sregs", "fails with EINVAL"),
    ("vcpu_pre_run", "run", "returns a wrong exit"),
    ("get_cpl", None, "nothing observed in this lifecycle"),
])
def test_bites_of_real_runs(captured_hooks: HookSet, name: str, step: str | None, how: str) -> None:
    hook = captured_hooks.find(Table.X86, name)
    assert hook
    bite = cz.bite(hook, scenarios(log("bitemap.log"))[name], None, False, captured_hooks)
    assert bite.step == step and bite.how.startswith(how), bite


def test_a_hang_is_attributed_to_the_step_that_never_returned(captured_hooks: HookSet) -> None:
    hook = captured_hooks.find(Table.X86, "handle_exit")
    assert hook
    bite = cz.bite(hook, scenarios(log("bitemap.log"))["handle_exit"], None, True, captured_hooks)
    assert (bite.step, bite.how) == ("run", "hang: never returned (last done: set_sregs)")


def test_majority_phase() -> None:
    assert cz.majority_phase(["run", "run", "never", "never", "run"]) == "run"
    assert cz.majority_phase(["never", "never", "run"]) == "never"
    assert cz.majority_phase(["run", "never"]) == "run"  # a tie goes to the earlier phase
    assert cz.majority_phase(["never"] * 5) == "never"


def test_the_current_target_has_a_census_row_per_classified_hook(tree: KernelTree, hooks: HookSet,
                                                                  config: KernelConfig) -> None:
    current = cz.take(tree.source, hooks, config.evaluator())
    assert [r.hook.key for r in current.rows] == [h.key for h in hooks.classified()]
    # both vendors fill most of the table in every release
    for vendor in ("vmx", "svm"):
        filled = sum(1 for r in current.rows if r.vendors[vendor] is not None)
        assert filled > len(current.rows) // 2, vendor
