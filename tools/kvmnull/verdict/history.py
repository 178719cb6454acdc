"""How the hook contract moved across kernel series: hook lineages, and what else changed for a vendor.

Each series' own source is read (its ops headers, its structs, the vendors' static tables, as the
static census does).  Hooks of neighbouring series are joined into lineages:

* the same table and name: the same hook (its class, config guard or declaration may change);
* the same name in another table: moved;
* a name that disappears beside one that appears in the same table is a rename only when more
  than the name says so: the vendors' implementing functions (the same function, or bodies that
  are mostly the same text), the declaration (same return and parameter types) and the position
  in the header (between the same surviving neighbours).  A rename needs the implementation and
  one more kind of evidence, and must be the single best match both ways; a pair with two kinds
  of evidence that is not decided is shown as an undecided rename, never guessed.
"""

from __future__ import annotations

import difflib
import enum
import functools
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..build.stubgen import Facts
from ..kernel.hooks import Hook, HookClass, HookSet, Table
from .census import VENDOR_DIRS, VENDORS, Bite, Census, CensusRow, Implementation

# bodies at least this alike (difflib's ratio over their lines) count as the same implementation
SAME_BODY = 0.75
_VENDOR_NAMES = {"vmx": "VMX", "svm": "SVM"}


class ChangeKind(enum.Enum):
    ADDED = "added"
    REMOVED = "removed"
    RENAMED = "renamed"
    RENAME_UNDECIDED = "rename undecided"
    MOVED = "moved"
    CLASSIFIED = "classified"  # an unclassified struct member (nested ops before 7.x) got a class
    RECLASSIFIED = "reclassified"
    GUARD_CHANGED = "guard changed"
    DECLARATION_CHANGED = "declaration changed"


class Evidence(enum.Enum):
    IMPLEMENTATION = "implementation"
    DECLARATION = "declaration"
    POSITION = "position"


@dataclass(frozen=True)
class SeriesSource:
    """What one series' source says: its hooks, its static census (every table) and its vendor API."""

    series: str
    release: str
    source: Path
    hooks: HookSet
    census: Census
    facts: Facts
    vendor_modules: tuple[str, ...] | None  # whom kvm.ko exports its vendor interface to; None: anyone

    def row(self, hook: Hook) -> CensusRow:
        return next(r for r in self.census.rows if r.hook.key == hook.key)


@dataclass(frozen=True)
class Presence:
    """A lineage's hook in one series."""

    table: Table
    name: str
    hook_class: HookClass
    guard: str | None
    implementations: dict[str, str | None]  # vendor -> function, None when its static table lacks it

    def implemented_by(self) -> str:
        names = [_VENDOR_NAMES[v] for v, f in self.implementations.items() if f is not None]
        return "+".join(names) or "none"


@dataclass(frozen=True)
class Change:
    kind: ChangeKind
    before: str  # series
    after: str
    detail: str
    evidence: tuple[str, ...] = ()


@dataclass(frozen=True)
class Lineage:
    presence: tuple[Presence | None, ...]  # one per series, None where absent
    changes: tuple[Change, ...]

    @property
    def last(self) -> Presence:
        return next(p for p in reversed(self.presence) if p is not None)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p.name for p in self.presence if p is not None))


@dataclass(frozen=True)
class VendorApi:
    """What a vendor module meets in one series, besides the hooks."""

    series: str
    registration: str
    exports_to: str
    nested_ops_via: str | None
    classified_tables: tuple[str, ...]  # the tables an ops header classifies
    oddities: tuple[str, ...]
    flags: tuple[str, ...]


@dataclass(frozen=True)
class History:
    series: tuple[str, ...]
    releases: tuple[str, ...]
    lineages: tuple[Lineage, ...]
    vendor_api: tuple[VendorApi, ...]


# ---- evidence ----

def signature(hook: Hook) -> str:
    decl = hook.declaration
    return f"{decl.return_type} ({', '.join(p.type for p in decl.params)})"


_FUNCTION_START = r"^[A-Za-z_][^;{{}}=]*\b{name}\s*\([^;]*?\)\s*\n\{{\n"


@functools.cache
def _texts(folder: Path) -> tuple[str, ...]:
    """The C files of a vendor's folder, then of kvm's own, read once per history (rename candidates
    look up many functions in the same files)."""
    return tuple(p.read_text() for p in [*sorted(folder.glob("*.[ch]")), *sorted(folder.parent.glob("*.[ch]"))])


def function_body(source: Path, vendor: str, function: str) -> str | None:
    """The text of ``function``'s definition in the vendor's folder or in kvm's own (kernel style:
    braces in column 0)."""
    pattern = re.compile(_FUNCTION_START.format(name=re.escape(function)), re.M | re.S)
    for text in _texts(source / VENDOR_DIRS[vendor]):
        match = pattern.search(text)
        if match:
            end = text.find("\n}\n", match.end())
            return text[match.end():end if end >= 0 else len(text)]
    return None


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.splitlines(), b.splitlines(), autojunk=False).ratio()


def _impl(row: CensusRow, vendor: str) -> str | None:
    impl: Implementation | None = row.vendors.get(vendor)
    return impl.value if impl is not None and impl.active else None


def _functions(row: CensusRow, vendor: str) -> list[str]:
    """The functions the vendor puts in the hook: its static entry, then what vendor code sets at run time."""
    found = [f] if (f := _impl(row, vendor)) else []
    return found + [c.value for c in row.runtime if c.vendor == vendor and not c.clears and c.value not in found]


def _in_order(hooks: HookSet, table: Table) -> list[Hook]:
    """A table's hooks in header order (struct order for unclassified ones)."""
    return sorted(hooks.table(table), key=lambda h: (h.header_line is None, h.header_line or h.declaration.line))


def implementation_evidence(a: SeriesSource, old: Hook, b: SeriesSource, new: Hook) -> str | None:
    """What the vendors' functions say: the same function in both, or bodies mostly the same lines."""
    same = []
    for vendor in VENDORS:
        for was in _functions(a.row(old), vendor):
            for now in _functions(b.row(new), vendor):
                if was == now:
                    same.append(f"{_VENDOR_NAMES[vendor]} implements both with {now}")
                    continue
                body_a, body_b = function_body(a.source, vendor, was), function_body(b.source, vendor, now)
                if body_a is not None and body_b is not None and \
                        (ratio := _similarity(body_a, body_b)) >= SAME_BODY:
                    same.append(f"{_VENDOR_NAMES[vendor]}'s {was} and {now} are {ratio:.0%} the same lines")
    return "; ".join(same) or None


# ---- lineages ----

def _presence(s: SeriesSource, hook: Hook) -> Presence:
    return Presence(hook.table, hook.name, hook.hook_class, hook.guard,
                    {vendor: _impl(s.row(hook), vendor) for vendor in VENDORS})


def _same_hook_changes(a: SeriesSource, old: Hook, b: SeriesSource, new: Hook) -> list[Change]:
    changes = []
    if old.table is not new.table:
        changes.append(Change(ChangeKind.MOVED, a.series, b.series, f"{old.table.struct} -> {new.table.struct}"))
    if old.hook_class is HookClass.UNCLASSIFIED and new.hook_class is not HookClass.UNCLASSIFIED:
        changes.append(Change(ChangeKind.CLASSIFIED, a.series, b.series,
                              f"a struct member before, {new.hook_class.value} in the ops header now"))
    elif old.hook_class is not new.hook_class:
        changes.append(Change(ChangeKind.RECLASSIFIED, a.series, b.series,
                              f"{old.hook_class.value} -> {new.hook_class.value}"))
    if old.guard != new.guard and HookClass.UNCLASSIFIED not in (old.hook_class, new.hook_class):
        changes.append(Change(ChangeKind.GUARD_CHANGED, a.series, b.series,
                              f"{old.guard or 'none'} -> {new.guard or 'none'}"))
    if signature(old) != signature(new):
        changes.append(Change(ChangeKind.DECLARATION_CHANGED, a.series, b.series,
                              f"{signature(old)} -> {signature(new)}"))
    return changes


@dataclass(frozen=True)
class Join:
    """How one series' hooks continue into the next."""

    continued: dict[str, tuple[str, tuple[Change, ...]]]  # new key -> (old key, changes)
    ended: dict[str, tuple[Change, ...]]  # old key -> why its lineage ends here
    started: dict[str, tuple[Change, ...]]  # new key -> why a lineage starts here


def join(a: SeriesSource, b: SeriesSource) -> Join:
    """Join ``a``'s hooks to those of the next series ``b``."""
    continued: dict[str, tuple[str, tuple[Change, ...]]] = {}
    old_by_name = {(h.table, h.name): h for h in a.hooks.hooks}
    new_by_name = {(h.table, h.name): h for h in b.hooks.hooks}
    for key, new in new_by_name.items():
        if key in old_by_name:
            old = old_by_name[key]
            continued[new.key] = (old.key, tuple(_same_hook_changes(a, old, b, new)))
    gone = [h for k, h in old_by_name.items() if k not in new_by_name]
    came = [h for k, h in new_by_name.items() if k not in old_by_name]
    for new in list(came):  # the same name in another table: moved
        moved = next((h for h in gone if h.name == new.name), None)
        if moved is not None:
            continued[new.key] = (moved.key, tuple(_same_hook_changes(a, moved, b, new)))
            gone.remove(moved)
            came.remove(new)

    pairs = [(old, new) for old in gone for new in came if old.table is new.table]
    implementation = {(o.key, n.key): implementation_evidence(a, o, b, n) for o, n in pairs}
    renamed: dict[str, str] = {}  # b's name -> a's name, per table key
    while True:  # a decided rename makes its pair an anchor, which may decide the next
        anchors = _gaps(a, b, renamed)
        evidence = {}
        for old, new in pairs:
            found: dict[Evidence, str] = {}
            if text := implementation[(old.key, new.key)]:
                found[Evidence.IMPLEMENTATION] = text
            if signature(old) == signature(new):
                found[Evidence.DECLARATION] = f"both {signature(new)}"
            gap = anchors[(a.series, old.key)]
            if gap == anchors[(b.series, new.key)] and gap != (None, None):
                found[Evidence.POSITION] = f"both between {gap[0] or 'the start'} and {gap[1] or 'the end'}"
            evidence[(old.key, new.key)] = found
        decided = _decide(gone, came, evidence, renamed)
        if not decided:
            break
        renamed.update({n.key: o.key for o, n in decided})

    def described(old: Hook, new: Hook) -> tuple[str, ...]:
        return tuple(f"{kind.value}: {text}" for kind, text in evidence[(old.key, new.key)].items())

    def candidates(old: Hook) -> list[Hook]:
        """Pairs with two kinds of evidence, or the only hook gone and the only one come in one gap."""
        found = []
        gap = anchors[(a.series, old.key)]
        for new in (n for n in came if n.key not in renamed and n.table is old.table):
            kinds = evidence[(old.key, new.key)]
            alone = (Evidence.POSITION in kinds and
                     sum(anchors[(a.series, o.key)] == gap for o in gone if o.key not in renamed.values()) == 1 and
                     sum(anchors[(b.series, n.key)] == gap for n in came if n.key not in renamed) == 1)
            if len(kinds) >= 2 or alone:
                found.append(new)
        return found

    by_key = {h.key: h for h in came}
    for new_key, old_key in renamed.items():
        old, new = next(h for h in gone if h.key == old_key), by_key[new_key]
        change = Change(ChangeKind.RENAMED, a.series, b.series, f"{old.name} -> {new.name}", described(old, new))
        continued[new_key] = (old_key, (change, *_same_hook_changes(a, old, b, new)))
    ended: dict[str, tuple[Change, ...]] = {}
    started: dict[str, list[Change]] = {}
    for old in (o for o in gone if o.key not in renamed.values()):
        maybe = candidates(old)
        if not maybe:
            ended[old.key] = (Change(ChangeKind.REMOVED, a.series, b.series, ""),)
            continue
        ended[old.key] = (Change(ChangeKind.RENAME_UNDECIDED, a.series, b.series,
                                 f"gone; renamed to {' or '.join(n.name for n in maybe)}?",
                                 tuple(f"{n.name}: " + "; ".join(described(old, n)) for n in maybe)),)
        for new in maybe:
            started.setdefault(new.key, []).append(
                Change(ChangeKind.RENAME_UNDECIDED, a.series, b.series, f"renamed from {old.name}?",
                       described(old, new)))
    for new in came:
        if new.key not in continued and new.key not in started:
            started[new.key] = [Change(ChangeKind.ADDED, a.series, b.series, "")]
    return Join(continued, ended, {k: tuple(v) for k, v in started.items()})


Gaps = dict[tuple[str, str], tuple[str | None, str | None]]


def _gaps(a: SeriesSource, b: SeriesSource, renamed: dict[str, str]) -> Gaps:
    """(series, key) -> the nearest hooks before and after it that both series have, by ``a``'s names."""
    gaps: Gaps = {}
    for table in Table:
        a_names = {h.name for h in a.hooks.table(table)}
        b_as_a = {h.key: h.name for h in b.hooks.table(table)}
        b_as_a.update({k: v.split(".", 1)[1] for k, v in renamed.items() if k in b_as_a})
        shared = a_names & set(b_as_a.values())
        for s, name_of in ((a, {h.key: h.name for h in a.hooks.table(table)}), (b, b_as_a)):
            ordered = [name_of[h.key] for h in _in_order(s.hooks, table)]
            for index, hook in enumerate(_in_order(s.hooks, table)):
                before = next((n for n in reversed(ordered[:index]) if n in shared), None)
                after = next((n for n in ordered[index + 1:] if n in shared), None)
                gaps[(s.series, hook.key)] = (before, after)
    return gaps


def _decide(gone: Sequence[Hook], came: Sequence[Hook], evidence: dict[tuple[str, str], dict[Evidence, str]],
            renamed: dict[str, str]) -> list[tuple[Hook, Hook]]:
    """New renames: the implementation and one more kind of evidence, the single best match both ways."""
    def score(old: Hook, new: Hook) -> int:
        return len(evidence.get((old.key, new.key), {}))

    olds = [o for o in gone if o.key not in renamed.values()]
    news = [n for n in came if n.key not in renamed]
    decided = []
    for old in olds:
        best = max((score(old, n) for n in news), default=0)
        top = [n for n in news if score(old, n) == best]
        if best < 2 or len(top) != 1:
            continue
        new = top[0]
        if Evidence.IMPLEMENTATION in evidence[(old.key, new.key)] and \
                not any(o is not old and score(o, new) >= best for o in olds):
            decided.append((old, new))
    return decided


def history(sources: Sequence[SeriesSource]) -> History:
    """The lineages of every hook of every series, oldest series first."""
    if len(sources) < 2:
        raise ValueError("a history needs at least two series")
    first = sources[0]
    # open lineages by the key of their hook in the latest series seen
    lineages: list[tuple[list[Presence | None], list[Change]]] = []
    open_by_key: dict[str, int] = {}
    for hook in first.hooks.hooks:
        open_by_key[hook.key] = len(lineages)
        lineages.append(([_presence(first, hook)], []))
    for index, (a, b) in enumerate(itertools.pairwise(sources), start=1):
        step = join(a, b)
        next_open: dict[str, int] = {}
        for hook in b.hooks.hooks:
            if hook.key in step.continued:
                old_key, changes = step.continued[hook.key]
                number = open_by_key[old_key]
                lineages[number][1].extend(changes)
            else:
                number = len(lineages)
                lineages.append(([None] * index, list(step.started.get(hook.key, ()))))
            lineages[number][0].append(_presence(b, hook))
            next_open[hook.key] = number
        for old_key, changes in step.ended.items():
            number = open_by_key[old_key]
            lineages[number][1].extend(changes)
        for presence, _ in lineages:
            if len(presence) < index + 1:
                presence.append(None)
        open_by_key = next_open
    def order(item: tuple[list[Presence | None], list[Change]]) -> tuple[int, int, int]:
        """Table, then where the hook stands in the last series that has it."""
        index = max(i for i, p in enumerate(item[0]) if p is not None)
        last = item[0][index]
        assert last is not None
        hook = sources[index].hooks.find(last.table, last.name)
        assert hook is not None
        place = hook.header_line if hook.header_line is not None else 10_000 + hook.declaration.line
        return list(Table).index(last.table), place, index

    return History(tuple(s.series for s in sources), tuple(s.release for s in sources),
                   tuple(Lineage(tuple(p), tuple(c)) for p, c in sorted(lineages, key=order)),
                   tuple(vendor_api(s) for s in sources))


# ---- beyond the hooks ----

def vendor_api(s: SeriesSource) -> VendorApi:
    if s.facts.kvm_init_takes_opaque:
        registration = "kvm_init(&init_ops, vcpu_size, vcpu_align, module): one call, init_ops as its opaque"
    else:
        registration = "kvm_x86_vendor_init(&init_ops), then kvm_init(vcpu_size, vcpu_align, module)"
    exports = (f"only to {', '.join(s.vendor_modules)} (EXPORT_SYMBOL_FOR_KVM_INTERNAL)"
               if s.vendor_modules is not None else "to any module (EXPORT_SYMBOL_GPL)")
    if "nested_ops" in s.facts.init_ops_members:
        nested = "kvm_x86_init_ops.nested_ops"
    elif "nested_ops" in s.facts.x86_ops_members:
        nested = "kvm_x86_ops.nested_ops"
    else:
        nested = None
    flags = tuple(f"{row.hook.key}: {flag}" for row in s.census.rows for flag in row.flags)
    classified = tuple(t.struct for t in Table if any(h.hook_class is not HookClass.UNCLASSIFIED
                                                      for h in s.hooks.table(t)))
    return VendorApi(s.series, registration, exports, nested, classified, s.census.oddities, flags)


# ---- presentation ----

# per series: table.hook -> first lifecycle phase (``--dynamic``), and kvm-null's bite (``--bitemap``)
Phases = dict[str, dict[str, str | None]]
Bites = dict[str, dict[str, Bite]]
Lints = dict[str, dict[str, str]]  # series -> table.hook -> the lint's verdict in words


def _key(p: Presence) -> str:
    return f"{p.table.value}.{p.name}"


def _class_cell(p: Presence | None) -> str:
    return "-" if p is None else p.hook_class.value


def _changes_cell(lineage: Lineage) -> str:
    return "; ".join(f"{c.before}->{c.after}: {c.kind.value}{' ' + c.detail if c.detail else ''}"
                     for c in lineage.changes)


def _bite_cell(bite: Bite | None) -> str:
    if bite is None:
        return ""
    return f"{bite.step}: {bite.how}" if bite.step else bite.how


def rows(h: History, phases: Phases | None = None, bites: Bites | None = None,
         lints: Lints | None = None) -> list[list[str]]:
    phases, bites, lints = phases or {}, bites or {}, lints or {}
    out = []
    for lineage in h.lineages:
        pairs = list(zip(h.series, lineage.presence, strict=True))
        out.append([lineage.last.table.value, " -> ".join(lineage.names),
                    *(_class_cell(p) for p in lineage.presence),
                    *("-" if p is None else p.implemented_by() for p in lineage.presence),
                    *((phases[s].get(_key(p)) or "") if p else "" for s, p in pairs if s in phases),
                    *(_bite_cell(bites[s].get(_key(p))) if p else "" for s, p in pairs if s in bites),
                    *((lints[s].get(_key(p)) or "") if p else "" for s, p in pairs if s in lints),
                    _changes_cell(lineage)])
    return out


def headers(h: History, phases: Phases | None = None, bites: Bites | None = None,
            lints: Lints | None = None) -> list[str]:
    return ["table", "hook", *(f"class {s}" for s in h.series), *(f"vendors {s}" for s in h.series),
            *(f"first phase {s}" for s in h.series if s in (phases or {})),
            *(f"kvm-null bite {s}" for s in h.series if s in (bites or {})),
            *(f"lint {s}" for s in h.series if s in (lints or {})), "changes"]


API_HEADERS = ["series", "kernel", "vendor registers with", "kvm.ko exports its vendor interface",
               "classified tables", "nested ops handed over in", "static census flags", "oddities"]


def api_rows(h: History) -> list[list[str]]:
    return [[v.series, release, v.registration, v.exports_to, ", ".join(v.classified_tables), v.nested_ops_via or "-",
             f"{len(v.flags)}: " + "; ".join(v.flags) if v.flags else "0", "; ".join(v.oddities)]
            for v, release in zip(h.vendor_api, h.releases, strict=True)]


def summary(h: History) -> list[str]:
    """One line per kind of change between each pair of neighbours, with the hooks it concerns."""
    lines = []
    for before, after in itertools.pairwise(h.series):
        by_kind: dict[ChangeKind, list[str]] = {}
        for lineage in h.lineages:
            for change in lineage.changes:
                if change.before == before and change.after == after:
                    name = " -> ".join(lineage.names)
                    by_kind.setdefault(change.kind, []).append(name)
        for kind in ChangeKind:
            names = list(dict.fromkeys(by_kind.get(kind, [])))
            if names:
                lines.append(f"{before} -> {after}: {kind.value} ({len(names)}): {', '.join(names)}")
    return lines


def to_json(h: History, phases: Phases | None = None, bites: Bites | None = None,
            lints: Lints | None = None) -> dict[str, object]:
    phases, bites, lints = phases or {}, bites or {}, lints or {}

    def series(s: str, p: Presence | None) -> dict[str, object] | None:
        if p is None:
            return None
        return {"table": p.table.value, "name": p.name, "class": p.hook_class.value, "guard": p.guard,
                "implementations": p.implementations,
                **({"first_phase": phases[s].get(_key(p))} if s in phases else {}),
                **({"kvm_null_bite": bite.to_json() if (bite := bites[s].get(_key(p))) else None}
                   if s in bites else {}),
                **({"lint": lints[s].get(_key(p))} if s in lints else {})}

    return {
        "series": [{"series": s, "kernel": r} for s, r in zip(h.series, h.releases, strict=True)],
        "lineages": [{"table": lineage.last.table.value, "names": list(lineage.names),
                      "series": {s: series(s, p) for s, p in zip(h.series, lineage.presence, strict=True)},
                      "changes": [{"kind": c.kind.value, "from": c.before, "to": c.after, "detail": c.detail,
                                   "evidence": list(c.evidence)} for c in lineage.changes]}
                     for lineage in h.lineages],
        "vendor_api": [{"series": v.series, "registration": v.registration, "exports_to": v.exports_to,
                        "nested_ops_via": v.nested_ops_via, "classified_tables": list(v.classified_tables),
                        "oddities": list(v.oddities),
                        "flags": list(v.flags)} for v in h.vendor_api],
    }
