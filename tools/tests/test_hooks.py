"""The hook list: golden values on the captured 6.12.117 headers, invariants on the current target."""

from __future__ import annotations

from collections import Counter

from kvmnull.core.cpp import Evaluator
from kvmnull.fetch.packages import KernelTree
from kvmnull.kernel import kconfig
from kvmnull.kernel.hooks import HookClass, HookSet, Table, class_selectors, load_hooks

from .conftest import CAPTURED


def test_counts_for_debian_6_12_117_cloud(captured_hooks: HookSet) -> None:
    counts = Counter((h.table, h.hook_class) for h in captured_hooks.hooks)
    assert len(captured_hooks.table(Table.X86)) == 122
    assert len(captured_hooks.table(Table.PMU)) == 11
    assert counts[(Table.X86, HookClass.MANDATORY)] == 79
    assert counts[(Table.X86, HookClass.OPTIONAL)] == 33
    assert counts[(Table.X86, HookClass.OPTIONAL_RET0)] == 10
    assert counts[(Table.PMU, HookClass.MANDATORY)] == 7
    assert counts[(Table.PMU, HookClass.OPTIONAL)] == 4
    assert len(captured_hooks.table(Table.NESTED)) == 12
    assert all(h.hook_class is HookClass.UNCLASSIFIED for h in captured_hooks.table(Table.NESTED))


def test_guarded_hooks_follow_the_config(captured_hooks: HookSet) -> None:
    smm = captured_hooks.find(Table.X86, "enter_smm")
    hyperv = captured_hooks.find(Table.X86, "flush_remote_tlbs")
    assert smm and smm.guard == "defined(CONFIG_KVM_SMM)" and smm.hook_class is HookClass.MANDATORY
    assert hyperv and hyperv.guard == "IS_ENABLED(CONFIG_HYPERV)"  # HYPERV=m: IS_ENABLED holds


def test_config_without_smm_and_hyperv_drops_their_hooks(captured_config: kconfig.KernelConfig) -> None:
    values = {**captured_config.values, "KVM_SMM": "n", "HYPERV": "n"}
    smaller = load_hooks(CAPTURED / "src", Evaluator(lambda s: values.get(s, "n")))
    assert len(smaller.table(Table.X86)) == 122 - 4 - 2
    assert smaller.find(Table.X86, "enter_smm") is None


def test_header_lines_resolve_upstream_warnings(captured_hooks: HookSet) -> None:
    # upstream's anonymous splat: "WARNING: ... at arch/x86/include/asm/kvm-x86-ops.h:25"
    assert (hook := captured_hooks.at_header_line(Table.X86, 25)) and hook.name == "vcpu_create"
    assert (hook := captured_hooks.at_header("arch/x86/include/asm/kvm-x86-ops.h", 36)) and hook.name == "get_cpl"
    assert (hook := captured_hooks.at_header("kvm-x86-pmu-ops.h", 14)) and hook.name == "rdpmc_ecx_to_pmc"
    assert captured_hooks.at_header("arch/x86/kvm/x86.c", 25) is None


def test_the_stray_semicolon_is_noticed(captured_hooks: HookSet) -> None:
    odd = [h.name for h in captured_hooks.hooks if h.stray_semicolon]
    assert odd == ["vcpu_get_apicv_inhibit_reasons"]


def test_declarations_are_exact(captured_hooks: HookSet) -> None:
    def signature(table: Table, name: str) -> str:
        hook = captured_hooks.find(table, name)
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


def test_class_selectors_cover_every_class() -> None:
    selectors = class_selectors()
    assert selectors["@mandatory"] == (HookClass.MANDATORY,)
    assert selectors["@optional"] == (HookClass.OPTIONAL,)
    assert selectors["@ret0"] == (HookClass.OPTIONAL_RET0,)
    assert set(selectors["@all"]) == {HookClass.MANDATORY, HookClass.OPTIONAL, HookClass.OPTIONAL_RET0}


def test_current_target_lines_point_at_their_hooks(tree: KernelTree, hooks: HookSet) -> None:
    """Whatever the current release is: each classified hook's header line names it."""
    for table in Table:
        header = table.facts.ops_header
        if not (tree.source / header).exists():  # the nested-ops header exists since 7.x
            assert table is Table.NESTED
            assert all(h.hook_class is HookClass.UNCLASSIFIED for h in hooks.table(table))
            continue
        lines = (tree.source / header).read_text().splitlines()
        members = [h for h in hooks.table(table) if h.hook_class is not HookClass.UNCLASSIFIED]
        assert members
        for hook in members:
            assert hook.header_line is not None
            assert f"({hook.name})" in lines[hook.header_line - 1], (header, hook.header_line)


def test_kconfiglib_and_the_plain_config_agree_on_the_hooks(tree: KernelTree, hooks: HookSet) -> None:
    plain = load_hooks(tree.source, kconfig.read_dotconfig(tree.config).evaluator())
    assert [h.key for h in plain.hooks] == [h.key for h in hooks.hooks]


def test_the_derived_target_is_kept_in_the_cache_and_equal_to_a_fresh_one(tree: KernelTree, hooks: HookSet,
                                                                         config: kconfig.KernelConfig) -> None:
    from kvmnull.commands.prepare import derive
    from kvmnull.core.progress import Progress

    first = derive(tree, Progress(quiet=True))
    memos = list((tree.path / "derived").glob("target-*.json"))
    assert memos
    again = derive(tree, Progress(quiet=True))
    assert again.hooks == first.hooks == hooks
    assert again.config.values == first.config.values == config.values
    # a damaged memo is derived again, not trusted
    for memo in memos:
        memo.write_text("{not json")
    assert derive(tree, Progress(quiet=True)).hooks == hooks
