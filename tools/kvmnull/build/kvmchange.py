"""kvmnull's change to kvm.ko and kvm-amd.ko, generated at anchors in the target's own source.

A series with ``kbuild/patches/<series>/`` gets those patches.  Any other
kernel gets the same change made here: the check of
``kbuild/check/kvm_check_vendor_ops.c``, with one X-macro block per table the
target's headers classify, inserted before ``kvm_ops_update()``; the
anonymous ``WARN_ON(!...func)`` of each table's update macro dropped; the
check called right after the vendor's ``hardware_setup()``, failing as that
call fails; kvm-null admitted where kvm.ko restricts its exports
(``KVM_SUB_MODULES``, 6.19+); and kvm-amd's ``knockout=`` called at the end
of ``svm_hardware_setup()``.  An anchor that is not found is an error naming
it: a kvm.ko that could not be changed is never built silently unchanged.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..core import paths
from ..core.errors import BuildError
from ..kernel.hooks import HookClass, HookSet
from ..kernel.tables import Table

REMEDY = "write kbuild/patches/<series>/ for this kernel by hand (see kbuild/patches/ for the others)"
MARKER = "/* KVMNULL: one X-macro block per table the target classifies */\n"
_HOST = "arch/x86/include/asm/kvm_host.h"


@dataclass(frozen=True)
class Edit:
    """One change, for the build log: which file, at which anchor."""

    file: str
    anchor: str


def _fail(file: str, anchor: str) -> BuildError:
    return BuildError(f"cannot place kvmnull's change: {file} has no {anchor}", REMEDY)


def _struct_body(text: str, struct: str) -> str:
    match = re.search(rf"^struct {struct} \{{(.*?)^\}};", text, re.M | re.S)
    return match.group(1) if match else ""


def table_pointer(host: str, table: Table) -> str:
    """How kvm_x86_vendor_init()'s ``ops`` reaches ``table``'s vendor copy: a member of struct
    kvm_x86_init_ops, else of the runtime ops (nested ops before 7.3), read from kvm_host.h."""
    if table is Table.X86:
        return "ops->runtime_ops"
    pattern = re.compile(rf"struct {table.facts.struct}\s*\*\s*(\w+)\s*;")
    for struct, prefix in (("kvm_x86_init_ops", "ops->"), ("kvm_x86_ops", "ops->runtime_ops->")):
        if match := pattern.search(_struct_body(host, struct)):
            return prefix + match.group(1)
    raise _fail(_HOST, f"member of struct kvm_x86_init_ops or kvm_x86_ops pointing to struct {table.facts.struct}")


def table_block(table: Table, pointer: str, ret0: bool = True) -> str:
    """The check's X-macro block of one table: every hook of its ops header, mandatory or not.
    ``ret0``: the header knows the _OPTIONAL_RET0 class (the PMU's only since 6.x's later series)."""
    macro, struct = table.facts.macro, table.facts.struct

    def define(name: str, mandatory: bool) -> str:
        return (f"#define {name}(func) \\\n"
                f"\t{{ kvm_check_hook(&check, \"{struct}\", {pointer}, \\\n"
                f"\t\t\t offsetof(struct {struct}, func), #func, {'true' if mandatory else 'false'}); }}\n")
    alias = f"#define {macro}_OPTIONAL_RET0 {macro}_OPTIONAL\n" if ret0 else ""
    return (define(macro, True) + define(f"{macro}_OPTIONAL", False) + alias
            + f"#include <asm/{table.facts.ops_header_file}>\n\n")


def check_source(host: str, headers: dict[Table, str], hooks: HookSet, prefixed: bool = True) -> str:
    """The check's C, for the tables this target classifies.  ``prefixed``: x86.c defines pr_fmt (6.2+),
    which puts "kvm: " before each message; before that, the messages carry it themselves.
    ``headers``: each table's ops header, as the target has it."""
    template = paths.data("kbuild", "check", "kvm_check_vendor_ops.c").read_text()
    body = template.split("\n */\n\n", 1)[1]  # past the file's own header comment
    tables = [t for t in Table if any(h.table is t and h.hook_class is not HookClass.UNCLASSIFIED
                                      for h in hooks.hooks)]
    blocks = "".join(table_block(t, table_pointer(host, t), f"{t.facts.macro}_OPTIONAL_RET0" in headers.get(t, ""))
                     for t in tables)
    if MARKER not in body:
        raise BuildError("kbuild/check/kvm_check_vendor_ops.c lacks its marker line", "restore it from git")
    body = body.replace(MARKER, blocks)
    return body if prefixed else re.sub(r'\b(pr_err|pr_info)\("', r'\1("kvm: ', body)


_UPDATE = r"#define (?P<macro>{macro})\(func\)[ \t]*\\\n[ \t]*WARN_ON\(![^;\n]+\);[ \t]*__(?P=macro)\(func\)\n"
_SETUP = re.compile(r"\n(?P<indent>[ \t]+)r = ops->hardware_setup\(\);\n[ \t]+if \(r(?: != 0)?\)\n[ \t]+"
                    r"(?P<fail>goto \w+|return r);\n")
_OPS_UPDATE = re.compile(r"^static (?:inline )?void kvm_ops_update\(", re.M)
_SUB_MODULES = "__stringify(KVM_SUB_MODULES))"
_SVM_SETUP = re.compile(r"^static __init int svm_hardware_setup\(void\)\n\{\n", re.M)
_SVM_END = re.compile(r"\n\treturn 0;\n\nerr:\n")


def change_kvm(src: Path, source: Path, hooks: HookSet) -> list[Edit]:
    """Make kvmnull's change in the copy ``src`` (mirroring the kernel layout) of the target's KVM code;
    ``source``: the target's source, whose kvm_host.h and kvm_types.h are read (the latter copied into
    ``src`` when it restricts kvm.ko's exports)."""
    edits = []
    x86 = src / "arch/x86/kvm/x86.c"
    pmu = src / "arch/x86/kvm/pmu.c"
    host = (src / _HOST) if (src / _HOST).is_file() else source / _HOST
    if not host.is_file():
        raise _fail(_HOST, "struct kvm_x86_init_ops (the file is missing)")
    text = x86.read_text()
    pmu_text = pmu.read_text()
    # 1. the update macros' anonymous WARN_ON(), per classified table
    for table in dict.fromkeys(h.table for h in hooks.classified()):
        pattern = re.compile(_UPDATE.format(macro=table.facts.macro))
        plain = (f"/* Mandatory hooks were checked by kvm_check_vendor_ops(). */\n"
                 f"#define {table.facts.macro} __{table.facts.macro}\n")
        where = "pmu.c" if table is Table.PMU else "x86.c"
        if where == "pmu.c":
            pmu_text, count = pattern.subn(plain, pmu_text)
        else:
            text, count = pattern.subn(plain, text)
        if count != 1:
            raise _fail(f"arch/x86/kvm/{where}", f"'#define {table.facts.macro}(func) WARN_ON(!...func); "
                        f"__{table.facts.macro}(func)' (found {count})")
        edits.append(Edit(f"arch/x86/kvm/{where}", f"{table.facts.macro}'s WARN_ON()"))
    # 2. the check, before kvm_ops_update()
    match = _OPS_UPDATE.search(text)
    if match is None:
        raise _fail("arch/x86/kvm/x86.c", "'static inline void kvm_ops_update(' to place the check before")
    prefixed = re.search(r"^#define pr_fmt\(", text, re.M) is not None
    headers = {}
    for table in Table:
        header = src / table.facts.ops_header if (src / table.facts.ops_header).is_file() else \
            source / table.facts.ops_header
        headers[table] = header.read_text() if header.is_file() else ""
    text = text[:match.start()] + check_source(host.read_text(), headers, hooks, prefixed) + "\n" + text[match.start():]
    edits.append(Edit("arch/x86/kvm/x86.c", "before kvm_ops_update()"))
    # 3. the call, right after the vendor's hardware_setup(), failing as it fails
    setups = list(_SETUP.finditer(text))
    if len(setups) != 1:
        raise _fail("arch/x86/kvm/x86.c", f"single 'r = ops->hardware_setup(); if (r) goto/return' (found "
                    f"{len(setups)})")
    setup = setups[0]
    indent, fail = setup.group("indent"), setup.group("fail")
    call = (f"\n{indent}r = kvm_check_vendor_ops(ops);\n{indent}if (r) {{\n"
            f"{indent}\t/* Nothing is installed yet: undo the vendor's own setup. */\n"
            f"{indent}\tif (ops->runtime_ops->hardware_unsetup)\n{indent}\t\tops->runtime_ops->hardware_unsetup();\n"
            f"{indent}\t{fail};\n{indent}}}\n")
    text = text[:setup.end()] + call + text[setup.end():]
    edits.append(Edit("arch/x86/kvm/x86.c", "after ops->hardware_setup()"))
    x86.write_text(text)
    pmu.write_text(pmu_text)
    # 4. kvm-null among the modules kvm.ko exports its vendor interface to (6.19+)
    types = src / "include/linux/kvm_types.h"
    origin = types if types.is_file() else source / "include/linux/kvm_types.h"
    if origin.is_file() and "KVM_SUB_MODULES" in origin.read_text():
        body = origin.read_text()
        types.parent.mkdir(parents=True, exist_ok=True)
        internal = re.search(r"#define EXPORT_SYMBOL_FOR_KVM_INTERNAL\(symbol\)[ \t]*\\\n[^\n]*"
                             + re.escape(_SUB_MODULES), body)
        if internal is None:
            raise _fail("include/linux/kvm_types.h", f"EXPORT_SYMBOL_FOR_KVM_INTERNAL(symbol) ... {_SUB_MODULES}")
        close = internal.end() - 1  # the ')' that ends EXPORT_SYMBOL_FOR_MODULES(
        types.write_text(body[:close] + ' ",kvm-null"' + body[close:])
        edits.append(Edit("include/linux/kvm_types.h", "EXPORT_SYMBOL_FOR_KVM_INTERNAL"))
    # 5. kvm-amd's knockout=, at the end of svm_hardware_setup()
    svm = src / "arch/x86/kvm/svm/svm.c"
    svm_text = svm.read_text()
    start = _SVM_SETUP.search(svm_text)
    includes = list(re.finditer(r'^#include "[^"\n]+"\n', svm_text[:start.start()] if start else "", re.M))
    ending = _SVM_END.search(svm_text, start.end()) if start else None
    if not includes or start is None or ending is None:
        raise _fail("arch/x86/kvm/svm/svm.c", "svm_hardware_setup() ending in 'return 0;' then 'err:'")
    knock = ("\n\t/* kvmnull, test only: leave the hooks knockout= names NULL */\n"
             "\tr = kvmnull_knockout(&svm_x86_ops, &amd_pmu_ops, &svm_nested_ops);\n\tif (r)\n\t\tgoto err;\n")
    svm_text = svm_text[:ending.start()] + knock + svm_text[ending.start():]
    last = includes[-1]
    svm_text = svm_text[:last.end()] + '#include "knockout.h"\n' + svm_text[last.end():]
    svm.write_text(svm_text)
    edits.append(Edit("arch/x86/kvm/svm/svm.c", "end of svm_hardware_setup()"))
    return edits
