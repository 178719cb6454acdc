"""The generated kvm_null_hooks.h for the real target (compiling it is test_build's job)."""

from __future__ import annotations

import re

from kvmnull.hooks import HookClass, HookSet, Table
from kvmnull.stubgen import generate


def test_every_hook_has_a_counting_stub_with_its_exact_signature(hooks: HookSet) -> None:
    text = generate(hooks, "test")
    for hook in hooks.hooks:
        table = hook.table.value
        params = ", ".join(p.c for p in hook.declaration.params) or "void"
        assert f"kvm_null_{table}_{hook.name}({params})\n{{" in text, hook.key
        assert f"atomic64_inc(&kvm_null_{table}_calls[KVM_NULL_{table.upper()}_{hook.name}]);" in text
        assert f"\t.{hook.name} = kvm_null_{table}_{hook.name}, \\" in text


def test_hook_table_carries_class_and_offset(hooks: HookSet) -> None:
    text = generate(hooks, "test")
    assert ('[KVM_NULL_X86_vm_destroy] = { "vm_destroy", KVM_NULL_OPTIONAL, '
            "offsetof(struct kvm_x86_ops, vm_destroy) },") in text
    assert ('[KVM_NULL_PMU_refresh] = { "refresh", KVM_NULL_MANDATORY, '
            "offsetof(struct kvm_pmu_ops, refresh) },") in text
    entries = re.findall(r"\[KVM_NULL_X86_\w+\] = \{", text)
    assert len(entries) == len(hooks.table(Table.X86))


def test_default_returns_match_the_return_type(hooks: HookSet) -> None:
    text = generate(hooks, "test")
    pointer = re.search(r"kvm_null_x86_alloc_apic_backing_page\(.*?\n\}", text, re.S)
    void = re.search(r"kvm_null_x86_vcpu_free\(.*?\n\}", text, re.S)
    number = re.search(r"kvm_null_x86_vcpu_create\(.*?\n\}", text, re.S)
    assert pointer and "return NULL;" in pointer.group(0)
    assert void and "return 0" not in void.group(0) and "return NULL" not in void.group(0)
    assert number and "return 0;" in number.group(0)


def test_implementation_hook_is_used_when_defined(hooks: HookSet) -> None:
    text = generate(hooks, "test")
    assert "#ifdef KVM_NULL_IMPL_x86_handle_exit\n\treturn KVM_NULL_IMPL_x86_handle_exit(vcpu, exit_fastpath);" in text
    assert sum(1 for h in hooks.hooks if h.hook_class is HookClass.UNCLASSIFIED) == 12
