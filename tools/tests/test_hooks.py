"""The hook list of the real 6.12 target, read from its headers and config."""

from __future__ import annotations

from collections import Counter

from kvmnull import kconfig
from kvmnull.cpp import Evaluator
from kvmnull.hooks import HookClass, HookSet, Table, load_hooks
from kvmnull.packages import KernelTree


def test_counts_for_debian_6_12_cloud(hooks: HookSet) -> None:
    counts = Counter((h.table, h.hook_class) for h in hooks.hooks)
    assert len(hooks.table(Table.X86)) == 122
    assert len(hooks.table(Table.PMU)) == 11
    assert counts[(Table.X86, HookClass.MANDATORY)] == 79
    assert counts[(Table.X86, HookClass.OPTIONAL)] == 33
    assert counts[(Table.X86, HookClass.OPTIONAL_RET0)] == 10
    assert counts[(Table.PMU, HookClass.MANDATORY)] == 7
    assert counts[(Table.PMU, HookClass.OPTIONAL)] == 4
    assert all(h.hook_class is HookClass.UNCLASSIFIED for h in hooks.table(Table.NESTED))


def test_guarded_hooks_follow_the_config(hooks: HookSet) -> None:
    smm = hooks.find(Table.X86, "enter_smm")
    hyperv = hooks.find(Table.X86, "flush_remote_tlbs")
    assert smm and smm.guard == "defined(CONFIG_KVM_SMM)" and smm.hook_class is HookClass.MANDATORY
    assert hyperv and hyperv.guard == "IS_ENABLED(CONFIG_HYPERV)"  # HYPERV=m: IS_ENABLED holds


def test_config_without_smm_and_hyperv_drops_their_hooks(tree: KernelTree,
                                                         config: kconfig.KernelConfig) -> None:
    values = {**config.values, "KVM_SMM": "n", "HYPERV": "n"}
    smaller = load_hooks(tree.source, Evaluator(lambda s: values.get(s, "n")))
    assert len(smaller.table(Table.X86)) == 122 - 4 - 2
    assert smaller.find(Table.X86, "enter_smm") is None


def test_header_lines_resolve_upstream_warnings(hooks: HookSet) -> None:
    # upstream's anonymous splat: "WARNING: ... at arch/x86/include/asm/kvm-x86-ops.h:25"
    assert (hook := hooks.at_header_line(Table.X86, 25)) and hook.name == "vcpu_create"
    assert (hook := hooks.at_header_line(Table.PMU, 14)) and hook.name == "rdpmc_ecx_to_pmc"


def test_the_stray_semicolon_is_noticed(hooks: HookSet) -> None:
    odd = [h.name for h in hooks.hooks if h.stray_semicolon]
    assert odd == ["vcpu_get_apicv_inhibit_reasons"]


def test_declarations_are_exact(hooks: HookSet) -> None:
    def signature(table: Table, name: str) -> str:
        hook = hooks.find(table, name)
        assert hook is not None
        decl = hook.declaration
        return f"{decl.return_type} ({', '.join(p.c for p in decl.params) or 'void'})"

    assert signature(Table.X86, "vcpu_run") == "enum exit_fastpath_completion (struct kvm_vcpu *vcpu, u64 run_flags)"
    assert signature(Table.X86, "alloc_apic_backing_page") == "void * (struct kvm_vcpu *vcpu)"
    assert signature(Table.X86, "mem_enc_ioctl") == "int (struct kvm *kvm, void __user *argp)"
    assert signature(Table.X86, "has_wbinvd_exit") == "bool (void)"
    assert signature(Table.PMU, "rdpmc_ecx_to_pmc") == (
        "struct kvm_pmc * (struct kvm_vcpu *vcpu, unsigned int idx, u64 *mask)")
    assert signature(Table.NESTED, "get_state") == (
        "int (struct kvm_vcpu *vcpu, struct kvm_nested_state __user *user_kvm_nested_state, "
        "unsigned user_data_size)")
