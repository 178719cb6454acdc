"""Generate kvm-null's counting stubs from the target's own hook declarations.

The output, ``kvm_null_hooks.h``, is written into the build folder and included
by ``module/kvm_null.c``.  For every hook it holds:

* ``KVM_NULL_<TABLE>_<hook>``: the hook's index in its table;
* ``kvm_null_<table>_<hook>()``: a stub with the hook's exact signature that
  counts the call and returns 0 / NULL, or calls
  ``KVM_NULL_IMPL_<table>_<hook>()`` when kvm_null.c defines that macro;
* ``kvm_null_<table>_hooks[]``: name, class and ``offsetof()`` of every hook,
  which is how ``null=`` clears a hook chosen by name at run time;
* ``KVM_NULL_<TABLE>_OPS``: designated initializers for the ops table.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..core import paths
from ..core.cpp import Evaluator, logical_lines, preprocess
from ..core.errors import BuildError
from ..kernel.hooks import (
    CLASS_NAMES,
    SELECT_ALL,
    Declaration,
    Hook,
    HookClass,
    HookSet,
    Param,
    Table,
    class_selectors,
    struct_members,
)

GENERATED_HEADER = "kvm_null_hooks.h"
FACTS_HEADER = "kvm_null_facts.h"
# the hand-written part of kvm-null, whose overrides the generator checks


def module_source() -> Path:
    """kvm-null's C source, whose KVM_NULL_IMPL_ overrides the generated stubs."""
    return paths.module_dir() / "kvm_null.c"

# any KVM_NULL_IMPL_ / KVM_NULL_INPUTS_ macro: a misspelt table or hook must fail, not be ignored
_OVERRIDE = re.compile(r"^\s*#\s*define\s+KVM_NULL_(?P<what>IMPL|INPUTS)_(?P<name>\w+)", re.M)
# pointers to the objects kvm.ko hands every hook, not outputs
_CONTEXT_TYPES = ("struct kvm_vcpu *", "struct kvm *")


@dataclass(frozen=True)
class Overrides:
    """What kvm_null.c says about hooks, as ``table.hook`` keys.

    ``KVM_NULL_IMPL_<table>_<hook>``: a hand-written implementation replaces the
    stub's default.  ``KVM_NULL_INPUTS_<table>_<hook>``: the hook's pointer
    parameters are inputs, so the default stub, which writes nothing, is right.
    """

    implemented: frozenset[str]
    inputs: frozenset[str]


def read_overrides(text: str, facts: dict[str, int] | None = None) -> Overrides:
    """The overrides kvm_null.c makes for a target, whose facts decide its ``#ifdef``s."""
    found: dict[str, set[str]] = {"IMPL": set(), "INPUTS": set()}
    lines = preprocess(logical_lines(text), Evaluator(lambda _: "n", facts or {}), keep_directives=True)
    active = "\n".join(g.line.text for g in lines)
    for m in _OVERRIDE.finditer(active):
        table, _, hook = m.group("name").partition("_")
        found[m.group("what")].add(f"{table}.{hook}")
    return Overrides(frozenset(found["IMPL"]), frozenset(found["INPUTS"]))


@dataclass(frozen=True)
class Facts:
    """What kvm_null.c needs to know of the target beyond its hooks, read from its source."""

    x86_ops_members: tuple[str, ...]  # every member of struct kvm_x86_ops, hooks or not
    init_ops_members: tuple[str, ...]  # struct kvm_x86_init_ops
    kvm_init_takes_opaque: bool  # kvm_init(void *opaque, ...) before 6.3's rework
    # the module loader reports an init's -EEXIST as -EBUSY (EEXIST means "already loaded" to user space)
    loader_eexist_is_ebusy: bool = False

    def defines(self, hooks: HookSet) -> dict[str, int]:
        """The macros ``kvm_null_facts.h`` defines, each to 1."""
        names = [f"KVM_NULL_HAVE_{h.table.value}_{h.name}" for h in hooks.hooks]
        names += [f"KVM_NULL_HAVE_X86_OPS_{m}" for m in self.x86_ops_members]
        names += [f"KVM_NULL_HAVE_INIT_OPS_{m}" for m in self.init_ops_members]
        # a table the target's ops headers classify (nested ops: 7.x), whose hooks null_<table>= may clear
        names += [f"KVM_NULL_CLASSIFIED_{t.value}" for t in Table
                  if any(h.hook_class is not HookClass.UNCLASSIFIED for h in hooks.table(t))]
        if self.kvm_init_takes_opaque:
            names.append("KVM_NULL_KVM_INIT_OPAQUE")
        if self.loader_eexist_is_ebusy:
            names.append("KVM_NULL_LOADER_EEXIST_IS_EBUSY")
        return dict.fromkeys(names, 1)


# do_init_module(): "if (ret == -EEXIST) ret = -EBUSY;" (6.19+)
_EEXIST_TO_EBUSY = re.compile(r"if\s*\(\s*ret\s*==\s*-EEXIST\s*\)\s*ret\s*=\s*-EBUSY\s*;")
_KVM_INIT = re.compile(r"^int\s+kvm_init\s*\((?P<params>[^)]*)\)", re.M)


def read_facts(source: Path, evaluator: Evaluator) -> Facts:
    """The target's struct members and kvm_init() signature."""
    host = (source / Table.X86.facts.struct_header).read_text()
    main = (source / "virt" / "kvm" / "kvm_main.c").read_text()
    init = _KVM_INIT.search(main)
    if init is None:
        raise BuildError("virt/kvm/kvm_main.c defines no kvm_init()", "the target's source changed shape")
    loader = source / "kernel" / "module" / "main.c"
    if not loader.exists():
        raise BuildError(f"{loader} is missing", "refetch the kernel: kvmnull fetch --kernel <series>")
    return Facts(tuple(struct_members(host, "kvm_x86_ops", evaluator)),
                 tuple(struct_members(host, "kvm_x86_init_ops", evaluator)),
                 init.group("params").replace(" ", "").startswith("void*opaque"),
                 bool(_EEXIST_TO_EBUSY.search(loader.read_text())))


def generate_facts(hooks: HookSet, facts: Facts, kernel: str) -> str:
    """The text of ``kvm_null_facts.h``: one ``#define`` per fact, included before any override."""
    return "\n".join([
        "/* SPDX-License-Identifier: GPL-2.0 */",
        f"/* Generated by kvmnull from the source of Linux {kernel}: do not edit. */",
        "#ifndef KVM_NULL_FACTS_H",
        "#define KVM_NULL_FACTS_H",
        "",
        *(f"#define {name} 1" for name in facts.defines(hooks)),
        "",
        "#endif /* KVM_NULL_FACTS_H */",
        "",
    ])


def writable_pointers(decl: Declaration) -> tuple[Param, ...]:
    """Parameters through which a hook may hand results back: non-const pointers other than the context."""
    return tuple(p for p in decl.params
                 if p.type.endswith("*") and not p.type.startswith("const ") and p.type not in _CONTEXT_TYPES)


def check_overrides(hooks: HookSet, overrides: Overrides) -> list[str]:
    """Fail on an override for a hook the target lacks; warn on stubs that may leave outputs unwritten."""
    known = {h.key for h in hooks.hooks}
    unknown = sorted((overrides.implemented | overrides.inputs) - known)
    if unknown:
        raise BuildError(f"kvm_null.c overrides hooks this kernel does not have: {', '.join(unknown)}",
                         "remove those #defines, or rename them after the target's hooks (kvmnull build --list-hooks)")
    warnings = []
    for hook in hooks.hooks:
        if not hook.declaration.returns_void or hook.key in overrides.implemented | overrides.inputs:
            continue
        pointers = writable_pointers(hook.declaration)
        if pointers:
            warnings.append(f"{hook.key} is void and may return results through "
                            f"{', '.join(p.c for p in pointers)}, but its stub writes nothing: define "
                            f"KVM_NULL_IMPL_{hook.table.value}_{hook.name} (or KVM_NULL_INPUTS_... if they are inputs)")
    return warnings

_CLASS_ENUM = {
    HookClass.MANDATORY: "KVM_NULL_MANDATORY",
    HookClass.OPTIONAL: "KVM_NULL_OPTIONAL",
    HookClass.OPTIONAL_RET0: "KVM_NULL_OPTIONAL_RET0",
    HookClass.UNCLASSIFIED: "KVM_NULL_UNCLASSIFIED",
}


def stub(hook: Hook) -> list[str]:
    """kvm-null's stub of one hook: it counts its calls, then runs an implementation if one is given."""
    decl: Declaration = hook.declaration
    table = hook.table.value
    params = ", ".join(p.c for p in decl.params) or "void"
    args = ", ".join(p.name for p in decl.params)
    sep = "" if decl.return_type.endswith("*") else " "
    impl = f"KVM_NULL_IMPL_{table}_{hook.name}"
    default = "" if decl.returns_void else ("NULL" if decl.returns_pointer else "0")
    ret = "" if decl.returns_void else "return "
    lines = [
        f"static {decl.return_type}{sep}kvm_null_{table}_{hook.name}({params})",
        "{",
        f"\tatomic64_inc(&kvm_null_{table}_calls[KVM_NULL_{table.upper()}_{hook.name}]);",
        f"#ifdef {impl}",
        f"\t{ret}{impl}({args});",
    ]
    if default:
        lines += ["#else", f"\treturn {default};"]
    lines += ["#endif", "}", ""]
    return lines


def generate(hooks: HookSet, kernel: str) -> str:
    """The text of ``kvm_null_hooks.h`` for this target."""
    out = [
        "/* SPDX-License-Identifier: GPL-2.0 */",
        f"/* Generated by kvmnull from the headers of Linux {kernel}: do not edit. */",
        "#ifndef KVM_NULL_HOOKS_H",
        "#define KVM_NULL_HOOKS_H",
        "",
        "enum kvm_null_class {",
        *(f"\t{name}," for name in _CLASS_ENUM.values()),
        "};",
        "",
        "static const char * const kvm_null_class_names[] = {",
        *(f"\t[{_CLASS_ENUM[c]}] = \"{CLASS_NAMES[c]}\"," for c in HookClass),
        "};",
        "",
        "/* null=@<class name> selects a class, null=@KVM_NULL_SELECT_ALL every classified hook */",
        f"#define KVM_NULL_SELECT_ALL \"{SELECT_ALL}\"",
        f"#define KVM_NULL_SELECTORS \"{''.join(' ' + s for s in class_selectors())}\"",
        "",
        "struct kvm_null_hook {",
        "\tconst char *name;",
        "\tenum kvm_null_class class;",
        "\tsize_t offset;",
        "};",
        "",
    ]
    for table in Table:
        members = hooks.table(table)
        upper = table.value.upper()
        out += ["enum {"]
        out += [f"\tKVM_NULL_{upper}_{h.name}," for h in members]
        out += [f"\tKVM_NULL_NR_{upper}", "};", ""]
        out += [f"static atomic64_t kvm_null_{table.value}_calls[KVM_NULL_NR_{upper}];", ""]
        out += [f"static const struct kvm_null_hook kvm_null_{table.value}_hooks[KVM_NULL_NR_{upper}] = {{"]
        out += [
            f"\t[KVM_NULL_{upper}_{h.name}] = {{ \"{h.name}\", {_CLASS_ENUM[h.hook_class]}, "
            f"offsetof(struct {table.struct}, {h.name}) }},"
            for h in members
        ]
        out += ["};", ""]
        for hook in members:
            out += stub(hook)
        out += [f"#define KVM_NULL_{upper}_OPS \\"]
        out += [f"\t.{h.name} = kvm_null_{table.value}_{h.name}, \\" for h in members]
        out += ["", ""]
    out += ["#endif /* KVM_NULL_HOOKS_H */", ""]
    return "\n".join(out)


def write_header(hooks: HookSet, facts: Facts, kernel: str, folder: Path,
                 source: Path | None = None) -> list[str]:
    """Check kvm_null.c's overrides against the target, write the generated headers; the warnings."""
    warnings = check_overrides(hooks, read_overrides((source or module_source()).read_text(), facts.defines(hooks)))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / FACTS_HEADER).write_text(generate_facts(hooks, facts, kernel))
    (folder / GENERATED_HEADER).write_text(generate(hooks, kernel))
    return warnings
