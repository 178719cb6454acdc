"""Console or dmesg text in, typed records out.

Each line is cleaned of ANSI sequences, carriage returns, printk levels
(``<4>``), timestamps (``[   2.10]``) and caller ids (``[  T153]``) before
matching, and every pattern is searched for anywhere in the line, so kernel
output interleaved with user output is still found.  ``parse`` never raises
on any input.
"""

from __future__ import annotations

import enum
import errno
import os
import re
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field

from .hooks import HookSet, Table

_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_]|c)")
_PREFIX = re.compile(r"^\s*(?:<\d+>)?\s*(?:\[\s*\d+\.\d+\])?\s*(?:\[\s*[TC]\d+\])?\s?")
_STAMP = re.compile(r"\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])?\s?")

_REFUSED_HOOK = re.compile(
    r"vendor (?P<vendor>\S+): mandatory (?P<table>kvm_x86_ops|kvm_pmu_ops)\.(?P<hook>\w+) is NULL")
_REFUSED = re.compile(r"vendor (?P<vendor>\S+) refused: (?P<count>\d+) mandatory hooks? NULL")
_OPTIONAL = re.compile(r"vendor (?P<vendor>\S+): (?P<count>\d+) optional hooks NULL:(?P<hooks>[\w .]*)")
_WARNING = re.compile(
    r"WARNING: CPU: (?P<cpu>\d+) PID: (?P<pid>\d+) at (?P<file>\S+?):(?P<line>\d+) "
    r"(?P<function>[\w.]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?P<module>[\w-]+)\])?"
)
_TAINTED = re.compile(r"\bTainted: (?P<flags>[A-Z ]+?)(?=\s+\d+\.\d+|\s*$|\s+#)")
_CRASH = re.compile(
    r"(?P<title>BUG: [^\r\n]+|Oops: [^\r\n]+|general protection fault[^\r\n]*|"
    r"Kernel panic - not syncing[^\r\n]*|kernel BUG at [^\r\n]+|"
    r"Unable to handle kernel[^\r\n]*|watchdog: BUG: soft lockup[^\r\n]*)"
)
_RIP = re.compile(r"RIP: [0-9a-f]{4}:(?P<where>\S+)")
_INSMOD_FAIL = re.compile(
    r"(?:insmod|modprobe): (?:can't insert '(?P<bb>[^']+)'|ERROR: could not insert '?(?P<kmod>[^':]+)'?): "
    r"(?P<reason>[^\r\n]+)"
)
_LOAD_MARK = re.compile(r"kvmnull-load: (?P<module>\S+) status=(?P<status>\d+)(?: loaded=(?P<loaded>yes|no))?")
_PARAM = re.compile(r"(?:invalid (?P<param>missing_hook) '(?P<value>[^']*)'|"
                    r"(?P<param2>null(?:_pmu)?)=: unknown \w+ hook or class '(?P<value2>[^']*)')")
_PROBE = re.compile(r"kvmnull-probe: step (?P<step>\w+) (?P<result>ok|fail|skip)\s*(?P<detail>[^\r\n]*)")
_CUT = "------------[ cut here ]------------"

_STRERROR = {os.strerror(code): name for name, code in errno.__dict__.items()
             if name.startswith("E") and isinstance(code, int)}


class Kind(enum.Enum):
    LOAD = "load"
    HOOK_REFUSED = "hook_refused"
    VENDOR_REFUSED = "vendor_refused"
    OPTIONAL_NULL = "optional_null"
    WARN = "warn"
    CRASH = "crash"
    TAINT = "taint"
    PARAM_REJECTED = "param_rejected"
    PROBE = "probe"


@dataclass(frozen=True)
class Record:
    """One piece of evidence: what kind, where (1-based line), the cleaned line, and typed fields."""

    kind: Kind
    line: int
    text: str
    module: str | None = None
    status: int | None = None
    errno_name: str | None = None
    vendor: str | None = None
    table: str | None = None  # "x86" or "pmu"
    hook: str | None = None
    file: str | None = None
    source_line: int | None = None
    function: str | None = None
    taint: str | None = None
    title: str | None = None
    detail: str | None = None
    hooks: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, object]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["hooks"] = list(self.hooks)
        return {k: v for k, v in data.items() if v not in (None, [], ())}


def clean(line: str) -> str:
    """A console line without ANSI noise, CR, printk level, timestamp or caller id."""
    line = _ANSI.sub("", line).replace("\r", "")
    line = _PREFIX.sub("", line, count=1)
    return line.rstrip()


def _table(name: str) -> str:
    return "pmu" if name == "kvm_pmu_ops" else "x86"


def _errno_from(reason: str) -> str | None:
    reason = reason.strip()
    if reason in _STRERROR:
        return _STRERROR[reason]
    match = re.search(r"\b(E[A-Z]{2,})\b", reason)
    return match.group(1) if match else None


def parse(text: str, hooks: HookSet | None = None) -> list[Record]:
    """All records in ``text``; upstream anonymous splats are resolved through ``hooks``."""
    try:
        return list(_parse(text, hooks))
    except Exception:
        return []


def _parse(text: str, hooks: HookSet | None) -> Iterable[Record]:
    pending_message: str | None = None
    last_warn: int | None = None
    records: list[Record] = []
    # serial consoles end lines with \r\r\n: count lines as a reader sees them
    for number, raw in enumerate(re.sub(r"\r+\n", "\n", text).split("\n"), start=1):
        line = clean(raw)
        # a line may carry a second kernel message after user output: look at both parts
        if _STAMP.search(line):
            parts = [clean(p) for p in _STAMP.split(line)]
        else:
            parts = [line]
        for part in parts:
            if not part:
                continue
            record, pending_message, last_warn = _one(part, number, hooks, pending_message, last_warn, records)
            if record:
                records.append(record)
    return records


def _one(line: str, number: int, hooks: HookSet | None, pending: str | None, last_warn: int | None,
         records: list[Record]) -> tuple[Record | None, str | None, int | None]:
    if _CUT in line:
        return None, "", last_warn
    if (m := _WARNING.search(line)):
        hook = table = None
        message = pending or None
        if message and (r := _REFUSED_HOOK.search(message)):
            table, hook = _table(r.group("table")), r.group("hook")
        elif hooks and m.group("file").endswith(("kvm-x86-ops.h", "kvm-x86-pmu-ops.h")):
            which = Table.PMU if "pmu" in m.group("file") else Table.X86
            found = hooks.at_header_line(which, int(m.group("line")))
            if found:
                table, hook = which.value, found.name
        record = Record(Kind.WARN, number, line, module=m.group("module"), file=m.group("file"),
                        source_line=int(m.group("line")), function=m.group("function"),
                        table=table, hook=hook, detail=message)
        return record, None, len(records)
    if pending == "" and line and not line.startswith("Modules linked in"):
        # the WARN() message printed between "cut here" and "WARNING:"
        return None, line, last_warn
    if (m := _REFUSED_HOOK.search(line)):
        return Record(Kind.HOOK_REFUSED, number, line, vendor=m.group("vendor"), table=_table(m.group("table")),
                      hook=m.group("hook")), pending, last_warn
    if (m := _REFUSED.search(line)):
        return Record(Kind.VENDOR_REFUSED, number, line, vendor=m.group("vendor"),
                      status=int(m.group("count"))), pending, last_warn
    if (m := _OPTIONAL.search(line)):
        return Record(Kind.OPTIONAL_NULL, number, line, vendor=m.group("vendor"), status=int(m.group("count")),
                      hooks=tuple(m.group("hooks").split())), pending, last_warn
    if (m := _TAINTED.search(line)):
        flags = "".join(m.group("flags").split())
        if last_warn is not None and last_warn < len(records) and records[last_warn].taint is None:
            warn = records[last_warn]
            records[last_warn] = Record(**{**warn.__dict__, "taint": flags})
        return Record(Kind.TAINT, number, line, taint=flags), pending, last_warn
    if (m := _CRASH.search(line)):
        return Record(Kind.CRASH, number, line, title=m.group("title").strip()), pending, last_warn
    if m := _RIP.search(line):
        # the first RIP after a crash title says where it happened (a taint line may come between)
        index = next((i for i in range(len(records) - 1, -1, -1) if records[i].kind is Kind.CRASH), None)
        if index is not None and records[index].function is None and not (
                records[index].title or "").startswith("Kernel panic"):
            records[index] = Record(**{**records[index].__dict__, "function": m.group("where")})
        return None, pending, last_warn
    if (m := _LOAD_MARK.search(line)):
        status = int(m.group("status"))
        name = errno.errorcode.get(status) if status else None
        present = {"yes": "loaded", "no": "absent"}.get(m.group("loaded") or "")
        return Record(Kind.LOAD, number, line, module=m.group("module"), status=status,
                      errno_name=name, detail=present), pending, last_warn
    if (m := _INSMOD_FAIL.search(line)):
        module = m.group("bb") or m.group("kmod") or ""
        return Record(Kind.LOAD, number, line, module=os.path.basename(module), status=None,
                      errno_name=_errno_from(m.group("reason")), detail=m.group("reason").strip()), pending, last_warn
    if (m := _PARAM.search(line)):
        value = m.group("value") if m.group("value") is not None else m.group("value2")
        return Record(Kind.PARAM_REJECTED, number, line, module=m.group("param") or m.group("param2"),
                      detail=value), pending, last_warn
    if (m := _PROBE.search(line)):
        # status as the probe's exit code would say it: 0 ok, 1 fail, 4 skip (no /dev/kvm)
        result = m.group("result")
        detail = m.group("detail").strip()
        return Record(Kind.PROBE, number, line, title=m.group("step"), status={"ok": 0, "fail": 1, "skip": 4}[result],
                      detail=detail or None, errno_name=(detail.split() or [None])[0] if result == "fail" else None,
                      ), pending, last_warn
    return None, pending, last_warn


def of_kind(records: Iterable[Record], kind: Kind) -> list[Record]:
    return [r for r in records if r.kind is kind]
