"""The generated kvm_null_hooks.h and the override checks, on the captured 6.12.117 headers.

Expected texts are written out by hand from the header declarations, not
re-derived with the generator's own helpers; compiling the result is the
build tests' job.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from kvmnull.build.stubgen import check_overrides, generate, module_source, read_facts, read_overrides, write_header
from kvmnull.core.errors import BuildError
from kvmnull.kernel.hooks import HookSet, Table
from kvmnull.kernel.kconfig import KernelConfig

from .conftest import CAPTURED


def stub(text: str, name: str) -> str:
    match = re.search(rf"^static [^\n]*\b{name}\(.*?\n\}}\n", text, re.S | re.M)
    assert match, name
    return match.group(0)


def test_stubs_have_the_exact_signatures(captured_hooks: HookSet) -> None:
    text = generate(captured_hooks, "test")
    assert stub(text, "kvm_null_x86_get_exit_info").startswith(
        "static void kvm_null_x86_get_exit_info(struct kvm_vcpu *vcpu, u32 *reason, u64 *info1, u64 *info2, "
        "u32 *exit_int_info, u32 *exit_int_info_err_code)\n{\n"
        "\tatomic64_inc(&kvm_null_x86_calls[KVM_NULL_X86_get_exit_info]);\n")
    assert stub(text, "kvm_null_x86_has_wbinvd_exit").startswith("static bool kvm_null_x86_has_wbinvd_exit(void)\n")
    assert stub(text, "kvm_null_pmu_rdpmc_ecx_to_pmc").startswith(
        "static struct kvm_pmc *kvm_null_pmu_rdpmc_ecx_to_pmc(struct kvm_vcpu *vcpu, unsigned int idx, u64 *mask)")
    assert stub(text, "kvm_null_nested_get_state").startswith(
        "static int kvm_null_nested_get_state(struct kvm_vcpu *vcpu, "
        "struct kvm_nested_state __user *user_kvm_nested_state, unsigned user_data_size)")
    assert "\t.vcpu_create = kvm_null_x86_vcpu_create, \\" in text


def test_hook_table_carries_class_and_offset(captured_hooks: HookSet) -> None:
    text = generate(captured_hooks, "test")
    assert ('[KVM_NULL_X86_vm_destroy] = { "vm_destroy", KVM_NULL_OPTIONAL, '
            "offsetof(struct kvm_x86_ops, vm_destroy) },") in text
    assert ('[KVM_NULL_PMU_refresh] = { "refresh", KVM_NULL_MANDATORY, '
            "offsetof(struct kvm_pmu_ops, refresh) },") in text
    assert len(re.findall(r"\[KVM_NULL_X86_\w+\] = \{", text)) == 122
    assert len(re.findall(r"\[KVM_NULL_PMU_\w+\] = \{", text)) == 11


def test_default_returns_match_the_return_type(captured_hooks: HookSet) -> None:
    text = generate(captured_hooks, "test")
    assert "return NULL;" in stub(text, "kvm_null_x86_alloc_apic_backing_page")
    void = stub(text, "kvm_null_x86_vcpu_free")
    assert "return" not in void.replace("#ifdef", "")
    assert "#else\n\treturn 0;\n#endif" in stub(text, "kvm_null_x86_vcpu_create")


def test_implementation_hook_is_used_when_defined(captured_hooks: HookSet) -> None:
    text = generate(captured_hooks, "test")
    assert ("#ifdef KVM_NULL_IMPL_x86_handle_exit\n\treturn KVM_NULL_IMPL_x86_handle_exit(vcpu, exit_fastpath);"
            in text)


def test_the_module_overrides_fit_the_captured_kernel(captured_hooks: HookSet,
                                                     captured_config: KernelConfig) -> None:
    facts = read_facts(CAPTURED / "src", captured_config.evaluator())
    assert not facts.kvm_init_takes_opaque and "emergency_disable_virtualization_cpu" in facts.x86_ops_members
    overrides = read_overrides(module_source().read_text(), facts.defines(captured_hooks))
    assert "x86.handle_exit" in overrides.implemented and "x86.get_exit_info" in overrides.implemented
    assert "x86.set_segment" in overrides.inputs
    assert check_overrides(captured_hooks, overrides) == []


@pytest.mark.parametrize(("line", "named"), [
    ("#define KVM_NULL_IMPL_x86_get_exit_inf0 kvm_null_get_exit_info", "x86.get_exit_inf0"),
    ("# define KVM_NULL_INPUTS_X86_set_segment", "X86.set_segment"),  # the table is spelt x86
    ("#define KVM_NULL_IMPL_x86get_msr kvm_null_get_msr", "x86get.msr"),
])
def test_override_of_an_unknown_hook_fails_the_build(captured_hooks: HookSet, captured_config: KernelConfig,
                                                     tmp_path: Path, line: str, named: str) -> None:
    source = tmp_path / "kvm_null.c"
    source.write_text(module_source().read_text() + f"\n{line}\n")
    facts = read_facts(CAPTURED / "src", captured_config.evaluator())
    with pytest.raises(BuildError, match=re.escape(named)):
        write_header(captured_hooks, facts, "test", tmp_path / "gen", source)
    assert not (tmp_path / "gen").exists()


def test_void_hook_with_outputs_and_no_override_is_named(captured_hooks: HookSet,
                                                        captured_config: KernelConfig) -> None:
    facts = read_facts(CAPTURED / "src", captured_config.evaluator())
    text = module_source().read_text().replace("#define KVM_NULL_IMPL_x86_get_exit_info",
                                               "#define UNUSED_get_exit_info")
    warnings = check_overrides(captured_hooks, read_overrides(text, facts.defines(captured_hooks)))
    assert len(warnings) == 1 and warnings[0].startswith("x86.get_exit_info is void")
    assert "u32 *reason" in warnings[0]
    get_exit_info = captured_hooks.find(Table.X86, "get_exit_info")
    assert get_exit_info is not None and get_exit_info.declaration.returns_void


def test_the_module_declares_every_table_of_the_abi_header_once_in_order() -> None:
    """kvm_null.c's descriptors and parameters use kvm_null_abi.h's names: no table is left out or spelt out."""
    source = module_source().read_text()
    body = re.search(r"kvm_null_tables\[\] __refconst = \{(.*?)\n\};", source, re.S)
    assert body
    prefixes = [t.value.upper() for t in Table]
    assert re.findall(r"\.name = KVM_NULL_(\w+)_TABLE,", body.group(1)) == prefixes
    assert re.findall(r"\.param = KVM_NULL_(\w+)_PARAM,", body.group(1)) == prefixes
    assert re.findall(r"^module_param_named\(KVM_NULL_(\w+)_PARAM_ID,", source, re.M) == prefixes
    # the table and parameter names appear only in kvm_null_abi.h
    assert not re.search(r'"(?:x86|pmu|nested|null_pmu|null_nested)"|module_param_named\(null', source)
