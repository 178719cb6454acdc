"""Each table's facts: checked against the captured kernels' own headers, and against kvm_null_abi.h."""

from __future__ import annotations

import re

import pytest

from kvmnull.core import abi, paths
from kvmnull.core.cpp import Evaluator
from kvmnull.core.errors import ParseError
from kvmnull.kernel.hooks import parse_ops_header
from kvmnull.kernel.tables import MACROS, HookClass, Table

from .conftest import DATA

KERNELS = DATA / "kernels"
SERIES = sorted(KERNELS.iterdir())
NEWEST = KERNELS / "7.3.4+deb13-cloud-amd64" / "src"


def test_the_abi_header_names_the_same_tables_in_the_same_order() -> None:
    tables = abi.load().tables
    assert [t.name for t in tables] == [t.value for t in Table]
    assert [t.struct for t in tables] == [t.struct for t in Table]
    # user-visible parameter names: a change here is a change of kvm-null's interface
    assert [t.param for t in tables] == ["null", "null_pmu", "null_nested"]
    assert [t.param for t in Table] == ["null", "null_pmu", "null_nested"]


def test_each_ops_header_guards_exactly_the_macros_of_its_table() -> None:
    for table in Table:
        text = (NEWEST / table.facts.ops_header).read_text()
        guard = text.split("#error", 1)[0]
        assert set(re.findall(r"defined\((\w+)\)", guard)) == set(table.facts.macros), table


def test_every_macro_a_captured_ops_header_uses_is_known() -> None:
    seen = set()
    for kernel in SERIES:
        for table in Table:
            path = kernel / "src" / table.facts.ops_header
            if not path.exists():
                assert not table.facts.always_classified, path
                continue
            used = set(re.findall(r"^(KVM_X86_\w+)\(\w+\)", path.read_text(), re.M))
            assert used and used <= set(table.facts.macros), (path, used - set(table.facts.macros))
            seen |= used
    assert seen == set(MACROS)  # every class of every table occurs in some kernel


def test_the_struct_headers_declare_the_structs_and_kvm_keeps_its_copies_by_those_names() -> None:
    for table in Table:
        assert re.search(rf"^struct {table.struct} {{", (NEWEST / table.facts.struct_header).read_text(), re.M)
    host = (NEWEST / Table.X86.facts.struct_header).read_text()
    # the names a WARN_ON(!kvm_x86_ops.vcpu_create) condition prints
    assert "extern struct kvm_x86_ops kvm_x86_ops;" in host
    assert "extern struct kvm_x86_nested_ops kvm_nested_ops __read_mostly;" in host
    assert (Table.X86.facts.variable, Table.NESTED.facts.variable) == ("kvm_x86_ops", "kvm_nested_ops")


def test_only_the_nested_header_is_recent() -> None:
    oldest = KERNELS / "6.1.0-56-cloud-amd64" / "src"
    assert [t for t in Table if not (oldest / t.facts.ops_header).exists()] == [Table.NESTED]
    assert [t for t in Table if not t.facts.always_classified] == [Table.NESTED]


def test_macro_names_and_labels() -> None:
    assert Table.PMU.facts.macro_of(HookClass.OPTIONAL_RET0) == "KVM_X86_PMU_OP_OPTIONAL_RET0"
    assert Table.NESTED.facts.macro_of(HookClass.MANDATORY) == "KVM_X86_NESTED_OP"
    assert Table.X86.facts.macro_of(HookClass.UNCLASSIFIED) is None
    assert [t.label for t in Table] == ["x86", "PMU", "nested"]
    assert Table.PMU.facts.ops_header_file == "kvm-x86-pmu-ops.h"


def test_a_misspelt_class_macro_is_refused() -> None:
    with pytest.raises(ParseError, match="unknown hook macro KVM_X86_PMU_OP_OPTINAL"):
        parse_ops_header("KVM_X86_PMU_OP(refresh)\nKVM_X86_PMU_OP_OPTINAL(reset)\n", Evaluator(lambda _: "n"))


def _abi_text(param_line: str) -> str:
    header = (paths.module_dir() / abi.HEADER).read_text()
    return re.sub(r"^#define KVM_NULL_PMU_PARAM\s.*$", param_line, header, count=1, flags=re.M)


def test_a_parameter_name_must_be_its_identifier_stringified() -> None:
    probe = (paths.selftests_dir() / abi.PROBE).read_text()
    workload = (paths.selftests_dir() / abi.WORKLOAD).read_text()
    good = abi.parse(_abi_text("#define KVM_NULL_PMU_PARAM\tKVM_NULL_NAME(KVM_NULL_PMU_PARAM_ID)"), probe, workload)
    assert good.null_params["pmu"] == "null_pmu"
    with pytest.raises(ParseError, match="KVM_NULL_PMU_PARAM is not KVM_NULL_NAME"):
        abi.parse(_abi_text('#define KVM_NULL_PMU_PARAM\t"null_pmu"'), probe, workload)
