"""The hook-selection grammar, on real headers.

One kernel: the captured 6.12.117 headers (122 x86 hooks: 79 mandatory, 33 optional, 10 optional_ret0;
11 PMU hooks: 7 mandatory, 4 optional; nested ops unclassified).  Several kernels: the cached 6.1,
6.12 and 7.3 sources (7.3 classifies the nested table: 9 mandatory, 1 optional, 3 optional_ret0).
"""

from __future__ import annotations

import pytest

from kvmnull.core.errors import UsageError
from kvmnull.core.progress import Progress
from kvmnull.fetch import packages
from kvmnull.kernel.facts import derive
from kvmnull.kernel.hooks import HookClass, HookSet, Table
from kvmnull.kernel.selection import HookSelection, choose, choose_each, classified_in

from .conftest import CAPTURED_RELEASE, reads_cache

R = CAPTURED_RELEASE


def keys(selection: str, hooks: HookSet) -> list[str]:
    return [h.key for h in choose(HookSelection.parse(selection, "--hooks"), hooks, R)]


def failure(selection: str, hooks: HookSet, release: str = R) -> UsageError:
    with pytest.raises(UsageError) as info:
        choose(HookSelection.parse(selection, "--hooks"), hooks, release, {Table.NESTED: ["7.3.4+deb13-cloud-amd64"]})
    return info.value


def test_parse_types_each_item() -> None:
    items = HookSelection.parse("x86.vcpu_create, get_cpl,@ret0,pmu.@all", "--null").items
    assert [(i.table, i.name) for i in items] == [(Table.X86, "vcpu_create"), (None, "get_cpl"), (None, None),
                                                  (Table.PMU, None)]
    assert items[2].classes == (HookClass.OPTIONAL_RET0,)
    assert set(items[3].classes) == {HookClass.MANDATORY, HookClass.OPTIONAL, HookClass.OPTIONAL_RET0}


@pytest.mark.parametrize(("text", "said"), [
    ("kvm.vcpu_create", "no table 'kvm'"),
    ("x86.@optinal", "did you mean @optional?"),
    ("@manditory", "did you mean @mandatory?"),
    ("vcpu_create,,get_cpl", "an empty item"),
    ("x86.vcpu-create", "is not a hook name"),
])
def test_parse_rejects_what_no_kernel_has(text: str, said: str) -> None:
    with pytest.raises(UsageError) as info:
        HookSelection.parse(text, "--hooks")
    assert said in info.value.message and info.value.message.startswith("--hooks")


def test_names_and_keys(captured_hooks: HookSet) -> None:
    assert keys("x86.vcpu_create", captured_hooks) == ["x86.vcpu_create"]
    assert keys("vcpu_create", captured_hooks) == ["x86.vcpu_create"]
    assert keys("pmu.refresh,vcpu_create", captured_hooks) == ["x86.vcpu_create", "pmu.refresh"]  # the kernel's order
    assert keys("x86.get_msr", captured_hooks) == ["x86.get_msr"]
    assert keys("pmu.get_msr", captured_hooks) == ["pmu.get_msr"]


def test_classes(captured_hooks: HookSet) -> None:
    assert len(keys("@mandatory", captured_hooks)) == 79 + 7
    assert len(keys("x86.@optional", captured_hooks)) == 33
    assert all(k.startswith("x86.") for k in keys("x86.@optional", captured_hooks))
    assert len(keys("@ret0", captured_hooks)) == 10
    assert len(keys("pmu.@all", captured_hooks)) == 11
    assert len(keys("@all", captured_hooks)) == 122 + 11
    assert len(keys("@all,vcpu_create", captured_hooks)) == 133  # no repeats


def test_a_bare_name_of_two_tables_is_an_error_naming_both(captured_hooks: HookSet) -> None:
    error = failure("get_msr", captured_hooks)
    assert "x86.get_msr, pmu.get_msr" in error.message and "x86.get_msr" in error.remedy


def test_a_typo_gets_suggestions(captured_hooks: HookSet) -> None:
    error = failure("vcpu_creat", captured_hooks)
    assert f"'vcpu_creat' is not a hook of {R}; did you mean vcpu_create" in error.message
    assert "did you mean refresh" in failure("pmu.refesh", captured_hooks).message
    assert "pmu.@all chooses its hooks" in failure("pmu", captured_hooks).message


def test_an_unclassified_table_says_why_and_where_it_is(captured_hooks: HookSet) -> None:
    for text in ("nested.get_state", "get_state", "nested.@all", "nested.@all,vcpu_create"):
        error = failure(text, captured_hooks)
        assert "do not classify kvm_x86_nested_ops (it has no kvm-x86-nested-ops.h)" in error.message, text
        assert "kvm_x86_nested_ops is classified on 7.3.4+deb13-cloud-amd64" in error.remedy


def test_a_class_with_no_hook_of_the_table_is_an_error(captured_hooks: HookSet) -> None:
    assert "pmu.@ret0: the PMU table has no ret0 hooks" in failure("pmu.@ret0", captured_hooks).message
    assert "pmu.@ret0" in failure("x86.vcpu_create,pmu.@ret0", captured_hooks).message


@pytest.fixture(scope="module")
@reads_cache
def series() -> dict[str, tuple[str, HookSet]]:
    """(release, hooks) of the cached 6.1, 6.12 and 7.3."""
    found = {}
    cache = packages.cache_root()
    for name in ("6.1", "6.12", "7.3"):
        try:
            tree = packages.fetch(packages.KernelSpec.parse(name), cache, Progress(quiet=True), offline=True)
        except packages.PackageError:
            pytest.skip(f"{name} is not cached (kvmnull fetch --kernel {name})")
        found[name] = (tree.release, derive(tree, Progress(quiet=True)).hooks)
    return found


def test_several_kernels_note_where_it_chooses_nothing(series: dict[str, tuple[str, HookSet]]) -> None:
    kernels = [series["6.1"], series["6.12"], series["7.3"]]
    chosen, notes = choose_each(HookSelection.parse("nested.get_state", "--hooks"), kernels)
    assert [[h.key for h in c] for c in chosen] == [[], [], ["nested.get_state"]]
    assert len(notes) == 2 and series["6.1"][0] in notes[0] and series["6.12"][0] in notes[1]
    assert "do not classify kvm_x86_nested_ops" in notes[1]
    # 7.3 classifies nested ops: 9 mandatory, 1 optional, 3 optional_ret0
    chosen, _ = choose_each(HookSelection.parse("nested.@all", "--hooks"), kernels)
    assert [len(c) for c in chosen] == [0, 0, 13]


def test_several_kernels_a_renamed_hook(series: dict[str, tuple[str, HookSet]]) -> None:
    # 6.1's hardware_enable is enable_virtualization_cpu from 6.12 on
    chosen, notes = choose_each(HookSelection.parse("hardware_enable,vcpu_create", "--hooks"),
                                [series["6.1"], series["6.12"]])
    assert [[h.key for h in c] for c in chosen] == [["x86.hardware_enable", "x86.vcpu_create"], ["x86.vcpu_create"]]
    assert len(notes) == 1 and notes[0].startswith(f"--hooks on {series['6.12'][0]}: 'hardware_enable' is not a "
                                                   f"hook of {series['6.12'][0]}")


def test_several_kernels_errors(series: dict[str, tuple[str, HookSet]]) -> None:
    kernels = [series["6.1"], series["6.12"]]
    with pytest.raises(UsageError, match="chooses no hook of any of"):
        choose_each(HookSelection.parse("nested.get_state", "--hooks"), kernels)
    with pytest.raises(UsageError, match="'vcpu_creat' is a hook of none of"):
        choose_each(HookSelection.parse("vcpu_creat,vcpu_create", "--hooks"), kernels)


def test_classified_in_the_cache(series: dict[str, tuple[str, HookSet]]) -> None:
    where = classified_in(packages.cached_trees(packages.cache_root()))
    assert series["7.3"][0] in where[Table.NESTED]
    assert series["6.12"][0] not in where[Table.NESTED] and series["6.12"][0] in where[Table.X86]
