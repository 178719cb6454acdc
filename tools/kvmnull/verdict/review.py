"""What a patch does to the hook contract: the change per table, and the lint findings it introduces.

Both sides come from the same kernel's source, before and after the patch:
the hook tables as :func:`kernel.hooks.load_hooks` reads them, and the lint of
kvm.ko's calls.  Findings are matched by what they are (hook, file, function,
spelling, kind), not by line, since a patch moves lines.
"""

from __future__ import annotations

import enum
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..kernel.hooks import Hook, HookSet
from .lint import CallSite, Lint, Remark, Severity


class Change(enum.Enum):
    ADDED = "added"
    REMOVED = "removed"
    RENAMED = "renamed"
    RECLASSIFIED = "reclassified"
    DECLARATION = "declaration changed"


@dataclass(frozen=True)
class ContractChange:
    """One hook's change: ``before`` and ``after`` as the patch leaves them (None where it has none)."""

    change: Change
    before: Hook | None
    after: Hook | None

    @property
    def hook(self) -> Hook:
        hook = self.after or self.before
        assert hook is not None
        return hook

    @property
    def text(self) -> str:
        before, after = self.before, self.after
        if self.change is Change.ADDED and after is not None:
            return f"{after.key}: added, {after.hook_class.value}, {signature(after)}"
        if self.change is Change.REMOVED and before is not None:
            return f"{before.key}: removed (was {before.hook_class.value})"
        if self.change is Change.RENAMED and before is not None and after is not None:
            return f"{before.key} -> {after.name}: renamed (the same declaration and class)"
        if self.change is Change.RECLASSIFIED and before is not None and after is not None:
            return f"{after.key}: {before.hook_class.value} -> {after.hook_class.value}"
        if before is not None and after is not None:
            return f"{after.key}: {signature(before)} -> {signature(after)}"
        return self.hook.key

    def to_json(self) -> dict[str, object]:
        def side(hook: Hook | None) -> dict[str, object] | None:
            return None if hook is None else {"hook": hook.name, "class": hook.hook_class.value,
                                              "declaration": signature(hook), "header_line": hook.header_line}
        return {"change": self.change.value, "table": self.hook.table.value, "before": side(self.before),
                "after": side(self.after), "text": self.text}


def signature(hook: Hook) -> str:
    """The hook's declaration as C: ``int (*)(struct kvm_vcpu *vcpu)``."""
    decl = hook.declaration
    return f"{decl.return_type} (*)({', '.join(p.c for p in decl.params) or 'void'})"


def _shape(hook: Hook) -> tuple[object, ...]:
    """What a rename keeps: the table, the class and the declaration's types."""
    return (hook.table, hook.hook_class, hook.declaration.return_type,
            tuple(p.type for p in hook.declaration.params))


def contract_changes(before: HookSet, after: HookSet) -> tuple[ContractChange, ...]:
    """Every hook the patch adds, removes, renames, reclassifies or redeclares, in the tables' order.
    A rename is a removed and an added hook of one table with the same class and declaration types,
    when exactly one pair matches."""
    old = {h.key: h for h in before.hooks}
    new = {h.key: h for h in after.hooks}
    changes: list[ContractChange] = []
    added = [h for k, h in new.items() if k not in old]
    removed = [h for k, h in old.items() if k not in new]
    for hook in list(added):
        twins = [r for r in removed if _shape(r) == _shape(hook)]
        if len(twins) == 1 and sum(1 for a in added if _shape(a) == _shape(hook)) == 1:
            changes.append(ContractChange(Change.RENAMED, twins[0], hook))
            added.remove(hook)
            removed.remove(twins[0])
    changes += [ContractChange(Change.ADDED, None, h) for h in added]
    changes += [ContractChange(Change.REMOVED, h, None) for h in removed]
    for key, hook in new.items():
        if key not in old:
            continue
        was = old[key]
        if was.hook_class is not hook.hook_class:
            changes.append(ContractChange(Change.RECLASSIFIED, was, hook))
        if signature(was) != signature(hook):
            changes.append(ContractChange(Change.DECLARATION, was, hook))
    order = {h.key: i for i, h in enumerate((*after.hooks, *before.hooks))}
    return tuple(sorted(changes, key=lambda c: order.get(c.hook.key, len(order))))


def _site_key(site: CallSite) -> tuple[str, str, str, str, str]:
    return (site.hook.key, site.file, site.function, site.spelling.value, site.kind.value)


def _remark_key(remark: Remark) -> tuple[str, str, str, str | None]:
    return (remark.severity.value, remark.key, remark.text, remark.file)


@dataclass(frozen=True)
class LintChange:
    """The lint's findings the patch introduces and the ones it resolves (not fine ones)."""

    introduced: tuple[CallSite, ...]
    resolved: tuple[CallSite, ...]
    introduced_remarks: tuple[Remark, ...]

    def worst(self) -> Severity:
        found = [s.severity for s in self.introduced] + [r.severity for r in self.introduced_remarks]
        return max(found, key=lambda s: s.rank, default=Severity.FINE)


def _minus(sites: Sequence[CallSite], other: Sequence[CallSite]) -> tuple[CallSite, ...]:
    left = Counter(_site_key(s) for s in other)
    kept = []
    for site in sites:
        key = _site_key(site)
        if left[key]:
            left[key] -= 1
        else:
            kept.append(site)
    return tuple(kept)


def lint_change(before: Lint, after: Lint) -> LintChange:
    """Findings (warnings and errors) in ``after`` that ``before`` lacks, and the other way round."""
    def findings(lint: Lint) -> list[CallSite]:
        return [s for s in lint.sites if s.severity is not Severity.FINE]
    old_remarks = Counter(_remark_key(r) for r in before.remarks)
    remarks = []
    for remark in after.remarks:
        key = _remark_key(remark)
        if old_remarks[key]:
            old_remarks[key] -= 1
        elif remark.severity is not Severity.FINE and remark.severity is not Severity.NOTE:
            remarks.append(remark)
    return LintChange(_minus(findings(after), findings(before)), _minus(findings(before), findings(after)),
                      tuple(remarks))


def touched(changes: Sequence[ContractChange], lint: LintChange, after: HookSet) -> tuple[Hook, ...]:
    """The hooks of the patched kernel a reviewer looks at: every changed hook that is still there,
    and every hook with a finding the patch introduces or resolves, in the tables' order."""
    keys = {c.after.key for c in changes if c.after is not None}
    keys |= {s.hook.key for s in (*lint.introduced, *lint.resolved)}
    return tuple(h for h in after.hooks if h.key in keys)
