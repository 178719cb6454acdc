"""Which hooks a command acts on: one grammar for every option that chooses hooks.

A selection is a comma list of items, each one of

* ``table.hook`` (``x86.vcpu_create``, ``pmu.refresh``, ``nested.check_events``);
* ``hook``, a bare name, when exactly one classified table of the kernel has it;
* ``@class`` or ``table.@class``, with the classes ``@mandatory``, ``@optional``,
  ``@ret0`` (the ``KVM_X86_OP_OPTIONAL_RET0`` hooks) and ``@all``.

The text is parsed once (:meth:`HookSelection.parse`, which rejects what no
kernel could satisfy: an unknown table or class) and then resolved against
each kernel's :class:`~.hooks.HookSet`.  Only classified hooks can be chosen:
kvm-null and kvm-amd's ``knockout=`` leave NULL what an ops header lists.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..core.errors import UsageError
from ..fetch import packages
from .hooks import Hook, HookClass, HookSet, Table, class_selectors

_NAME = re.compile(r"[A-Za-z_]\w*")
TABLES = tuple(t.value for t in Table)


@dataclass(frozen=True)
class Item:
    """One item of a selection, as written, and what it asks for."""

    text: str
    table: Table | None  # None: every table
    name: str | None = None  # a hook's name; None for a class
    classes: tuple[HookClass, ...] = ()  # the classes of an ``@class`` item

    @property
    def named(self) -> bool:
        return self.name is not None


@dataclass(frozen=True)
class Miss:
    """An item that chose nothing on one kernel, and why."""

    item: Item
    why: str
    unknown: bool  # the kernel has no hook of that name at all (a typo, or another series' name)
    unclassified: Table | None = None  # the table the kernel does not classify, when that is the reason


@dataclass(frozen=True)
class Resolution:
    """A selection resolved against one kernel: the hooks (in the kernel's order) and the items that missed."""

    release: str
    hooks: tuple[Hook, ...]
    misses: tuple[Miss, ...]


def _unclassified_why(table: Table, release: str) -> str:
    header = table.facts.ops_header_file
    return (f"{release}'s ops headers do not classify {table.struct} (it has no {header}), "
            f"so its hooks cannot be chosen")


def _hint(word: str, candidates: Sequence[str], fallback: str) -> str:
    close = difflib.get_close_matches(word, list(candidates), n=3, cutoff=0.6)
    return f"did you mean {', '.join(close)}?" if close else fallback


@dataclass(frozen=True)
class HookSelection:
    """A parsed hook selection: the option it came from (for messages) and its items."""

    option: str
    text: str
    items: tuple[Item, ...]

    @staticmethod
    def parse(text: str, option: str) -> HookSelection:
        """``x86.vcpu_create,pmu.@optional,@ret0``; an unknown table or class is an error here."""
        selectors = class_selectors()
        items = []
        for raw in text.split(","):
            token = raw.strip()
            if not token:
                raise UsageError(f"{option} {text!r}: an empty item", "a comma list such as x86.vcpu_create,@ret0")
            table_name, dot, rest = token.rpartition(".")
            table: Table | None = None
            if dot:
                if table_name not in TABLES:
                    raise UsageError(f"{option}: {token!r}: no table {table_name!r}; "
                                     f"{_hint(table_name, TABLES, 'tables: ' + ', '.join(TABLES))}",
                                     f"tables: {', '.join(TABLES)}; e.g. x86.{rest}")
                table = Table(table_name)
            if rest.startswith("@"):
                if rest not in selectors:
                    raise UsageError(f"{option}: {token!r}: no class {rest!r}; "
                                     f"{_hint(rest, list(selectors), 'classes: ' + ', '.join(selectors))}",
                                     f"classes: {', '.join(selectors)}")
                items.append(Item(token, table, classes=selectors[rest]))
            elif _NAME.fullmatch(rest):
                items.append(Item(token, table, name=rest))
            else:
                raise UsageError(f"{option}: {token!r} is not a hook name, table.hook or @class",
                                 f"e.g. x86.vcpu_create, vcpu_create, pmu.@optional, @all ({', '.join(selectors)})")
        return HookSelection(option, text, tuple(items))

    def resolve(self, hooks: HookSet, release: str) -> Resolution:
        """The hooks of this kernel the items name.  A bare name two tables have is an error (name the table)."""
        chosen: set[Hook] = set()
        misses = []
        for item in self.items:
            found, miss = self._resolve_item(item, hooks, release)
            chosen.update(found)
            if miss is not None:
                misses.append(miss)
        return Resolution(release, tuple(h for h in hooks.hooks if h in chosen), tuple(misses))

    def _resolve_item(self, item: Item, hooks: HookSet, release: str) -> tuple[list[Hook], Miss | None]:
        tables = [item.table] if item.table else list(Table)
        classified = [h for t in tables for h in hooks.table(t) if h.hook_class is not HookClass.UNCLASSIFIED]
        if not item.named:
            found = [h for h in classified if h.hook_class in item.classes]
            if found:
                return found, None
            cls = item.text.rpartition(".")[2]
            if item.table and not classified:
                return [], Miss(item, _unclassified_why(item.table, release), False, item.table)
            where = f"the {item.table.label} table" if item.table else "this kernel"
            return [], Miss(item, f"{item.text}: {where} has no {cls[1:]} hooks", False)
        found = [h for h in classified if h.name == item.name]
        if len(found) > 1:
            raise UsageError(f"{self.option}: {item.name!r} is a hook of {len(found)} tables of {release}: "
                             f"{', '.join(h.key for h in found)}", f"name one: {', '.join(h.key for h in found)}")
        if found:
            return found, None
        unclassified = [h for t in tables for h in hooks.table(t)
                        if h.name == item.name and h.hook_class is HookClass.UNCLASSIFIED]
        if unclassified:
            table = unclassified[0].table
            return [], Miss(item, f"{unclassified[0].key}: {_unclassified_why(table, release)}", False, table)
        if item.table:
            names = [h.name for h in classified]
            what = f"not a {item.table.struct} hook of {release}"
        else:
            names = [h.name for h in classified] + list(class_selectors())
            what = f"not a hook of {release}"
        fallback = (f"{item.name} is a table: {item.name}.@all chooses its hooks" if item.name in TABLES
                    else f"classes: {', '.join(class_selectors())}")
        return [], Miss(item, f"{item.text!r} is {what}; {_hint(item.name or '', names, fallback)}", True)


def classified_in(trees: Sequence[packages.KernelTree]) -> dict[Table, list[str]]:
    """The releases among ``trees`` whose ops headers classify each table, oldest first."""
    found: dict[Table, list[str]] = {}
    for tree in sorted(trees, key=lambda t: tuple(int(x) for x in t.series.split("."))):
        for table in Table:
            if (tree.source / table.facts.ops_header).exists():
                found.setdefault(table, []).append(tree.release)
    return found


def _where_classified(misses: Sequence[Miss], elsewhere: Mapping[Table, Sequence[str]]) -> str:
    """A remedy naming the kernels that classify the tables the misses need."""
    tables = list(dict.fromkeys(m.unclassified for m in misses if m.unclassified is not None))
    parts = []
    for table in tables:
        releases = elsewhere.get(table, [])
        parts.append(f"{table.struct} is classified on {', '.join(releases)}" if releases else
                     f"no cached kernel classifies {table.struct} (it needs {table.facts.ops_header_file})")
    return "; ".join(parts)


def choose(selection: HookSelection, hooks: HookSet, release: str,
           elsewhere: Mapping[Table, Sequence[str]] | None = None) -> tuple[Hook, ...]:
    """The hooks ``selection`` names on one kernel.  An item that chooses nothing (a hook the kernel lacks,
    a table it does not classify, a class a table has no hook of) is an error that says why, and for an
    unclassified table which kernels classify it."""
    resolution = selection.resolve(hooks, release)
    failing = list(resolution.misses)
    if failing:
        lead = "" if resolution.hooks or any(m.unknown for m in failing) else f"chooses no hook of {release}: "
        remedy = _where_classified(failing, elsewhere or {}) or "`kvmnull build --list-hooks` lists them"
        raise UsageError(f"{selection.option} {selection.text}: {lead}{'; '.join(m.why for m in failing)}", remedy)
    return resolution.hooks


def choose_each(selection: HookSelection, kernels: Sequence[tuple[str, HookSet]]) -> tuple[list[tuple[Hook, ...]],
                                                                                          list[str]]:
    """The hooks ``selection`` names on each of several kernels, and notes on the kernels where some or all
    of it chooses nothing.  An error only when it chooses nothing on every kernel, or names a hook none has."""
    resolutions = [selection.resolve(hooks, release) for release, hooks in kernels]
    if not any(r.hooks for r in resolutions):
        raise UsageError(f"{selection.option} {selection.text}: chooses no hook of any of "
                         f"{', '.join(r.release for r in resolutions)}",
                         "; ".join(m.why for r in resolutions for m in r.misses) or "choose other hooks")
    for item in selection.items:
        if item.named and all(any(m.item == item and m.unknown for m in r.misses) for r in resolutions):
            whys = [m.why for r in resolutions for m in r.misses if m.item == item]
            raise UsageError(f"{selection.option}: {item.text!r} is a hook of none of "
                             f"{', '.join(r.release for r in resolutions)}", whys[0])
    notes = []
    for r in resolutions:
        if not r.hooks:
            notes.append(f"{selection.option} {selection.text} chooses no hook of {r.release}, which runs none of "
                         f"them: {'; '.join(m.why for m in r.misses)}")
        elif any(m.item.named for m in r.misses):
            notes.append(f"{selection.option} on {r.release}: "
                         f"{'; '.join(m.why for m in r.misses if m.item.named)}")
    return [r.hooks for r in resolutions], notes
