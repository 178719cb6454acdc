"""The target's vendor hooks, read from its own headers and evaluated against its config.

Sources, per table (:mod:`.tables` names them):

* the ops header (``arch/x86/include/asm/kvm-x86-ops.h``, ``kvm-x86-pmu-ops.h``
  and, since 7.x, ``kvm-x86-nested-ops.h``) classifies each hook: ``KVM_X86_OP``
  (mandatory), ``KVM_X86_OP_OPTIONAL``, ``KVM_X86_OP_OPTIONAL_RET0`` and the
  PMU and nested twins;
* the ops struct (``struct kvm_x86_ops``, ``kvm_pmu_ops``, ``kvm_x86_nested_ops``)
  gives each hook's exact C declaration.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core.cpp import Evaluator, braced_body, logical_lines, preprocess
from ..core.errors import ParseError

# Table and HookClass live in .tables; importers may take them from here too
from .tables import MACROS
from .tables import HookClass as HookClass
from .tables import Table as Table

# The ops headers BUILD_BUG_ON() unless their includer defines these.
_INCLUDER_DEFINES = dict.fromkeys(MACROS, 1)

# any macro that begins like a table's: a misspelt class must fail, not be skipped
_OP_LINE = re.compile(rf"^\s*(?P<macro>(?:{'|'.join(t.facts.macro for t in Table)})\w*)"
                      r"\s*\(\s*(?P<name>\w+)\s*\)\s*(?P<tail>.*?)\s*$")
_FN_POINTER = re.compile(r"^(?P<ret>[^()]*?)\s*\(\s*\*\s*(?P<name>\w+)\s*\)\s*\((?P<params>.*)\)$", re.S)
_TYPE_WORDS = {
    "void", "char", "short", "int", "long", "unsigned", "signed", "bool", "float", "double",
    "const", "volatile", "struct", "union", "enum", "__user",
}


@dataclass(frozen=True)
class Param:
    """One parameter of a hook: its type and the name the generator uses."""

    type: str
    name: str

    @property
    def c(self) -> str:
        sep = "" if self.type.endswith("*") else " "
        return f"{self.type}{sep}{self.name}"


@dataclass(frozen=True)
class Declaration:
    """A function-pointer member of an ops struct."""

    table: Table
    name: str
    return_type: str
    params: tuple[Param, ...]
    line: int

    @property
    def returns_void(self) -> bool:
        return self.return_type == "void"

    @property
    def returns_pointer(self) -> bool:
        return self.return_type.endswith("*")


@dataclass(frozen=True)
class Hook:
    """One vendor hook of the target: table, name, class and where it is declared."""

    table: Table
    name: str
    hook_class: HookClass
    declaration: Declaration
    header_line: int | None  # line in the ops header, None for unclassified hooks
    guard: str | None  # the #if conditions around it in the ops header, as written
    stray_semicolon: bool = False

    @property
    def key(self) -> str:
        """``table.name``, unique across tables."""
        return f"{self.table.value}.{self.name}"


@dataclass(frozen=True)
class HookSet:
    """All hooks of one target kernel."""

    hooks: tuple[Hook, ...]

    def to_json(self) -> list[dict[str, object]]:
        return [{"table": h.table.value, "name": h.name, "class": h.hook_class.value,
                 "return_type": h.declaration.return_type, "params": [[p.type, p.name] for p in h.declaration.params],
                 "declaration_line": h.declaration.line, "header_line": h.header_line, "guard": h.guard,
                 "stray_semicolon": h.stray_semicolon} for h in self.hooks]

    @staticmethod
    def from_json(data: list[dict[str, Any]]) -> HookSet:
        hooks = []
        for item in data:
            table = Table(item["table"])
            params = tuple(Param(str(t), str(n)) for t, n in item["params"])
            decl = Declaration(table, item["name"], item["return_type"], params, item["declaration_line"])
            hooks.append(Hook(table, item["name"], HookClass(item["class"]), decl, item["header_line"],
                              item["guard"], item["stray_semicolon"]))
        return HookSet(tuple(hooks))

    def table(self, table: Table) -> tuple[Hook, ...]:
        return tuple(h for h in self.hooks if h.table is table)

    def classified(self) -> tuple[Hook, ...]:
        return tuple(h for h in self.hooks if h.hook_class is not HookClass.UNCLASSIFIED)

    def find(self, table: Table, name: str) -> Hook | None:
        for hook in self.hooks:
            if hook.table is table and hook.name == name:
                return hook
        return None

    def at_header_line(self, table: Table, line: int) -> Hook | None:
        """The hook on line ``line`` of ``table``'s ops header."""
        for hook in self.hooks:
            if hook.table is table and hook.header_line == line:
                return hook
        return None

    def at_header(self, file: str, line: int) -> Hook | None:
        """The hook an upstream ``WARNING: ... at arch/x86/include/asm/kvm-x86-ops.h:LINE`` points at."""
        for table in Table:
            if file.rsplit("/", 1)[-1] == table.facts.ops_header_file:
                return self.at_header_line(table, line)
        return None


# The class selectors of kvm-null's null= parameters (without their '@'); the
# module gets them, and their names for HookClass values, from the generated header.
CLASS_NAMES = {
    HookClass.MANDATORY: "mandatory",
    HookClass.OPTIONAL: "optional",
    HookClass.OPTIONAL_RET0: "ret0",
    HookClass.UNCLASSIFIED: "unclassified",  # a name, not a selector
}
SELECT_ALL = "all"


def class_selectors() -> dict[str, tuple[HookClass, ...]]:
    """``@class`` selectors of kvm-null's ``null=`` parameters."""
    classified = tuple(c for c in HookClass if c is not HookClass.UNCLASSIFIED)
    selectors: dict[str, tuple[HookClass, ...]] = {f"@{CLASS_NAMES[c]}": (c,) for c in classified}
    selectors[f"@{SELECT_ALL}"] = classified
    return selectors


@dataclass(frozen=True)
class OpsEntry:
    """One ``KVM_X86_*OP*(name)`` line of an ops header."""

    table: Table
    name: str
    hook_class: HookClass
    line: int
    guard: str | None
    stray_semicolon: bool


def parse_ops_header(text: str, evaluator: Evaluator) -> list[OpsEntry]:
    """The active hook entries of an ops header, in order."""
    scoped = Evaluator(lambda s: evaluator._config(s), _INCLUDER_DEFINES)
    entries: list[OpsEntry] = []
    for guarded in preprocess(logical_lines(text), scoped):
        match = _OP_LINE.match(guarded.line.text)
        if not match:
            continue
        macro = match.group("macro")
        if macro not in MACROS:
            raise ParseError(
                f"line {guarded.line.number}: unknown hook macro {macro}",
                f"kvmnull knows {', '.join(sorted(MACROS))}",
            )
        table, hook_class = MACROS[macro]
        tail = match.group("tail")
        if tail not in ("", ";"):
            raise ParseError(f"line {guarded.line.number}: unexpected text after {macro}(): {tail!r}")
        # the BUILD_BUG_ON guard at the top is not a hook condition
        guards = tuple(g for g in guarded.guards if "KVM_X86" not in g)
        entries.append(
            OpsEntry(table, match.group("name"), hook_class, guarded.line.number,
                     " && ".join(guards) or None, tail == ";")
        )
    return entries


def _split_params(params: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    current = ""
    for char in params:
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
            continue
        depth += (char == "(") - (char == ")")
        current += char
    parts.append(current)
    return [" ".join(p.split()) for p in parts if p.strip()]


def _pointer_spacing(type_text: str) -> str:
    """``struct kvm_vcpu  * *`` -> ``struct kvm_vcpu **``."""
    return re.sub(r"\s*((?:\*\s*)+)", lambda m: " " + m.group(1).replace(" ", ""), type_text).strip()


def _param(text: str, index: int) -> Param:
    """Split a parameter into type and name; an unnamed one is called ``arg<index>``."""
    words = text.replace("*", " * ").split()
    named = (len(words) > 1 and words[-1] not in _TYPE_WORDS and words[-1] != "*"
             and words[-2] not in ("struct", "union", "enum"))
    type_words, name = (words[:-1], words[-1]) if named else (words, f"arg{index}")
    return Param(_pointer_spacing(" ".join(type_words)), name)


def parse_struct(text: str, struct: str, table: Table, evaluator: Evaluator) -> list[Declaration]:
    """Function-pointer members of ``struct <struct>`` that are active in the config."""
    lines = list(logical_lines(text))
    body = braced_body(lines, re.compile(rf"^\s*struct\s+{struct}\s*\{{"), f"struct {struct}")
    declarations: list[Declaration] = []
    statement = ""
    statement_line = 0
    for guarded in preprocess(body, evaluator):
        for piece in re.split(r"(;)", guarded.line.text):
            if piece == ";":
                decl = _declaration(statement, table, statement_line)
                if decl:
                    declarations.append(decl)
                statement = ""
                continue
            if piece.strip() and not statement.strip():
                statement_line = guarded.line.number
            statement += " " + piece
    return declarations


def struct_members(text: str, struct: str, evaluator: Evaluator) -> list[str]:
    """Names of every member of ``struct <struct>`` active in the config: function pointers and data."""
    body = braced_body(list(logical_lines(text)), re.compile(rf"^\s*struct\s+{struct}\s*\{{"), f"struct {struct}")
    joined = " ".join(g.line.text for g in preprocess(body, evaluator))
    names = []
    for statement in (s.strip() for s in joined.split(";")):
        pointer = re.search(r"\(\s*\*\s*(\w+)\s*\)", statement)
        plain = re.search(r"(\w+)\s*(?:\[[^\]]*\])?\s*(?::\s*\d+)?$", statement)
        if pointer or plain:
            names.append((pointer or plain).group(1))  # type: ignore[union-attr]
    return names


def _declaration(statement: str, table: Table, line: int) -> Declaration | None:
    match = _FN_POINTER.match(" ".join(statement.split()))
    if not match:
        return None
    ret = _pointer_spacing(match.group("ret"))
    raw = _split_params(match.group("params"))
    params = () if raw == ["void"] else tuple(_param(p, i) for i, p in enumerate(raw))
    return Declaration(table, match.group("name"), ret, params, line)


def load_hooks(source: Path, evaluator: Evaluator) -> HookSet:
    """Read the target's hooks from its source tree, evaluated for its configuration."""
    def read(relative: str) -> str:
        path = source / relative
        try:
            return path.read_text()
        except OSError as exc:
            raise ParseError(f"cannot read {relative}: {exc.strerror}", "rebuild the kernel cache entry") from exc

    hooks: list[Hook] = []
    for table in Table:
        facts = table.facts
        declarations = parse_struct(read(facts.struct_header), facts.struct, table, evaluator)
        by_name = {d.name: d for d in declarations}
        classified = facts.always_classified or (source / facts.ops_header).exists()
        entries = parse_ops_header(read(facts.ops_header), evaluator) if classified else []
        listed = set()
        for entry in entries:
            decl = by_name.get(entry.name)
            if decl is None:
                raise ParseError(
                    f"{facts.ops_header}:{entry.line} lists {entry.name}, "
                    f"but struct {table.struct} has no such function pointer for this config",
                    "check the #if guards of the header against the struct",
                )
            listed.add(entry.name)
            hooks.append(Hook(table, entry.name, entry.hook_class, decl, entry.line, entry.guard,
                              entry.stray_semicolon))
        for decl in declarations:
            if decl.name not in listed:
                hooks.append(Hook(table, decl.name, HookClass.UNCLASSIFIED, decl, None, None))
    return HookSet(tuple(hooks))


# Since 6.19 kvm.ko exports its vendor interface (kvm_x86_vendor_init(), ...) only to the modules
# KVM_SUB_MODULES names: a third vendor such as kvm-null cannot link against the kernel's own kvm.ko.
SUB_MODULES_HEADER = "arch/x86/include/asm/kvm_types.h"
_SUB_MODULES = re.compile(r"^\s*#\s*define\s+KVM_SUB_MODULES\s+(?P<names>[\w,-]+)\s*$")


def vendor_modules(source: Path, evaluator: Evaluator) -> tuple[str, ...] | None:
    """The modules the target's own kvm.ko exports its vendor interface to; None: to any module."""
    path = source / SUB_MODULES_HEADER
    if not path.exists():
        return None
    for guarded in preprocess(logical_lines(path.read_text()), evaluator, keep_directives=True):
        if m := _SUB_MODULES.match(guarded.line.text):
            return tuple(m.group("names").split(","))
    return None
