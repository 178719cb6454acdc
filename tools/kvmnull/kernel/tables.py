"""The vendor ops tables kvm.ko calls through, and what kvmnull knows of each: their one home.

A table's name (debugfs's, the log's and the ``table.hook`` keys') is its
:class:`Table` value; its other facts are one :class:`TableFacts` record in
:data:`FACTS`: its label in prose, its struct and the headers that declare and classify it, the
X-macro prefix its ops header classifies hooks with, and the variable in which
kvm.ko keeps its copy of the vendor's table.  Everything else (the parser of
the ops headers, the census, the kernel-log parser, the stub generator)
derives from these records.

kvm-null's module parameters (``null=``, ``null_pmu=``, ``null_nested=``) are
a fact of kvm-null, not of the kernel: their home is ``module/kvm_null_abi.h``,
read by :mod:`..core.abi`; :attr:`Table.param` reads them from there.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ..core import abi
from ..core.errors import ParseError


class HookClass(enum.Enum):
    """How the ops header classifies a hook."""

    MANDATORY = "mandatory"
    OPTIONAL = "optional"
    OPTIONAL_RET0 = "optional_ret0"
    # function pointers kvm.ko uses that no ops header lists (nested ops before 7.x)
    UNCLASSIFIED = "unclassified"

    @property
    def macro_suffix(self) -> str | None:
        """What the ops headers append to a table's X-macro for this class; None: no macro names it."""
        return _MACRO_SUFFIXES.get(self)


_MACRO_SUFFIXES = {HookClass.MANDATORY: "", HookClass.OPTIONAL: "_OPTIONAL",
                   HookClass.OPTIONAL_RET0: "_OPTIONAL_RET0"}


@dataclass(frozen=True)
class TableFacts:
    """What kvmnull knows of one ops table (paths relative to the kernel source root)."""

    label: str  # the name in prose: "the PMU table", "12 nested hooks"
    struct: str  # the ops struct: kvm.ko's "mandatory kvm_x86_ops.vcpu_create is NULL" names it
    variable: str  # kvm.ko's copy of the vendor's table, as a WARN_ON() condition prints it
    ops_header: str  # the X-macro list that classifies the hooks
    struct_header: str  # the struct's declaration: each hook's exact signature
    macro: str  # the X-macro prefix of the ops header: KVM_X86_OP, KVM_X86_OP_OPTIONAL, ...
    # False: the ops header is recent (nested ops: 7.x); a kernel without it does not classify the table
    always_classified: bool = True

    @property
    def ops_header_file(self) -> str:
        """The ops header's file name, as an upstream ``WARNING: ... at kvm-x86-ops.h:LINE`` gives it."""
        return self.ops_header.rsplit("/", 1)[-1]

    def macro_of(self, hook_class: HookClass) -> str | None:
        """The ops header's macro for ``hook_class``: ``KVM_X86_PMU_OP_OPTIONAL``; None for unclassified."""
        suffix = hook_class.macro_suffix
        return None if suffix is None else self.macro + suffix

    @property
    def macros(self) -> dict[str, HookClass]:
        """Every macro of the ops header, with the class it gives a hook."""
        return {name: c for c in HookClass if (name := self.macro_of(c)) is not None}


class Table(enum.Enum):
    """A vendor ops table that kvm.ko calls through; its value is kvmnull's name for it."""

    X86 = "x86"
    PMU = "pmu"
    NESTED = "nested"

    @property
    def facts(self) -> TableFacts:
        return FACTS[self]

    # the two facts prose names everywhere
    @property
    def struct(self) -> str:
        return self.facts.struct

    @property
    def label(self) -> str:
        """The table's name in prose: ``x86``, ``PMU``, ``nested``."""
        return self.facts.label

    @property
    def param(self) -> str:
        """kvm-null's module parameter that leaves hooks of this table NULL, from kvm_null_abi.h."""
        params = abi.load().null_params
        if self.value not in params:
            raise ParseError(f"{abi.HEADER} has no KVM_NULL_<T>_TABLE \"{self.value}\"",
                             f"it names {', '.join(params)}; restore it from version control")
        return params[self.value]


_ASM = "arch/x86/include/asm"

FACTS = {
    Table.X86: TableFacts(label="x86", struct="kvm_x86_ops", variable="kvm_x86_ops",
                          ops_header=f"{_ASM}/kvm-x86-ops.h", struct_header=f"{_ASM}/kvm_host.h",
                          macro="KVM_X86_OP"),
    Table.PMU: TableFacts(label="PMU", struct="kvm_pmu_ops", variable="kvm_pmu_ops",
                          ops_header=f"{_ASM}/kvm-x86-pmu-ops.h", struct_header="arch/x86/kvm/pmu.h",
                          macro="KVM_X86_PMU_OP"),
    # before 7.x no header classifies nested ops, and kvm.ko calls them through kvm_x86_ops.nested_ops
    Table.NESTED: TableFacts(label="nested", struct="kvm_x86_nested_ops", variable="kvm_nested_ops",
                             ops_header=f"{_ASM}/kvm-x86-nested-ops.h", struct_header=f"{_ASM}/kvm_host.h",
                             macro="KVM_X86_NESTED_OP", always_classified=False),
}

# every macro of every ops header, with the table and class it gives a hook
MACROS: dict[str, tuple[Table, HookClass]] = {
    name: (table, hook_class) for table in Table for name, hook_class in table.facts.macros.items()}
