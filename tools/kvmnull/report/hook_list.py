"""A target's hook table as rows, JSON and a one-line summary per table."""

from __future__ import annotations

from ..kernel.hooks import HookClass, HookSet, Table


def hook_rows(hooks: HookSet) -> list[list[str]]:
    return [[h.table.value, h.name, h.hook_class.value, str(h.header_line or ""), h.guard or ""]
            for h in hooks.hooks]


def hooks_json(hooks: HookSet, target: dict[str, object]) -> dict[str, object]:
    """``target``: the kernel (and patches) as outputs record it."""
    return {
        **target,
        "hooks": [
            {"table": h.table.value, "hook": h.name, "class": h.hook_class.value, "header_line": h.header_line,
             "guard": h.guard, "return_type": h.declaration.return_type,
             "params": [p.c for p in h.declaration.params]}
            for h in hooks.hooks
        ],
    }


def hook_summary(hooks: HookSet) -> str:
    """``122 x86 hooks, 11 PMU hooks (+12 nested-ops function pointers, unclassified)``, per table."""
    parts, unclassified = [], []
    for table in Table:
        classified = sum(1 for h in hooks.table(table) if h.hook_class is not HookClass.UNCLASSIFIED)
        if classified:
            parts.append(f"{classified} {table.label} hooks")
        others = sum(1 for h in hooks.table(table) if h.hook_class is HookClass.UNCLASSIFIED)
        if others:
            unclassified.append(f"{others} {table.label}-ops function pointer{'s' if others > 1 else ''}")
    return ", ".join(parts) + (f" (+{', '.join(unclassified)}, unclassified)" if unclassified else "")
