"""Console or dmesg text in, typed records out.

Each line is cleaned of ANSI sequences, carriage returns, printk levels
(``<4>``), timestamps (``[   2.10]``) and caller ids (``[  T153]``) before
matching, and every pattern is searched for anywhere in the line, so kernel
output interleaved with user output is still found.  The records are in
:mod:`records`, the patterns in :mod:`grammar`, the reading of files in
:mod:`reading`.

One message seen twice, on the console as it was written and in the harness's
dmesg dump (the same printk time and text, in one boot), is one record, seen
``both``.

``parse`` cannot raise on any text by construction: every pattern is a
compiled regular expression whose numeric groups match at most nine digits
(``int()`` of them cannot fail), and no record refers to another except
through indexes it has just checked.  A bug
that raises anyway is not hidden: callers let it surface.

The harness's console (see :mod:`harness`) is read here too: which part of an
excerpt belongs to a scenario, and its kernel log.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Sequence
from dataclasses import asdict, replace

from ..guest import harness
from ..initramfs.archive import READY
from ..kernel.hooks import HookSet, Table
from . import grammar as g
from .grammar import Blame, Grammar
from .records import (
    Crash,
    HookFrom,
    HookRefused,
    KernelReport,
    Kind,
    Load,
    OptionalNull,
    ParamRejected,
    Probe,
    R,
    Record,
    Report,
    ReportKind,
    Seen,
    Taint,
    Unadmitted,
    Unload,
    VendorRefused,
    Warn,
    of_type,
)

# the names importers take from here
__all__ = [
    "Blame", "Crash", "Grammar", "HookFrom", "HookRefused", "KernelReport", "Kind", "Load", "OptionalNull",
    "ParamRejected", "Probe", "R", "Record", "Report", "ReportKind", "Seen", "Taint", "Unadmitted", "Unload",
    "VendorRefused", "Warn", "against_nearer", "clean", "harness_load", "of_type", "own_output", "parse",
    "release_in", "split_output",
]

# a WARN_ON() condition that tests a hook: "!kvm_x86_ops.vcpu_create" (x86 prints it after "cut here")
_CONDITION_TABLES = {t.facts.variable: t.value for t in Table}  # kvm.ko's copy of each table
_CONDITION_HOOK = re.compile(rf"^!\s*\(?\s*(?P<ops>{'|'.join(_CONDITION_TABLES)})\.(?P<hook>\w+)\s*\)?\s*$")


def _warning(line: str) -> re.Match[str] | None:
    return next((m for pattern in g.WARNINGS if (m := pattern.search(line))), None)


_STRERROR = {os.strerror(code): name for name, code in errno.__dict__.items()
             if name.startswith("E") and isinstance(code, int)}


_ANSI = g.ANSI


def clean(line: str, prefix: bool = True) -> str:
    """A console line without ANSI noise, CR, printk level, timestamp or caller id (``prefix``)."""
    line = _ANSI.sub("", line).replace("\r", "")
    if prefix:
        line = g.PREFIX.sub("", line, count=1)
    return line.rstrip()


def _messages(raw: str) -> list[tuple[str | None, str]]:
    """The messages of one console line, each with its printk time: a line may carry a second
    kernel message after user output."""
    line = clean(raw, prefix=False)
    stamps = list(g.STAMP.finditer(line))
    if not stamps:
        return [(None, clean(line))]
    parts: list[tuple[str | None, str]] = [(None, line[: stamps[0].start()])]
    for index, stamp in enumerate(stamps):
        end = stamps[index + 1].start() if index + 1 < len(stamps) else len(line)
        parts.append((stamp.group("time"), line[stamp.end(): end]))
    return [(time, clean(text)) for time, text in parts]


def _table(struct: str) -> str:
    return next(t.value for t in Table if t.struct == struct)


def _errno_from(reason: str) -> str | None:
    reason = reason.strip()
    if reason in _STRERROR:
        return _STRERROR[reason]
    match = g.ERRNO_WORD.search(reason)
    return match.group(1) if match else None


def parse(text: str, hooks: HookSet | None = None) -> list[Record]:
    """All records in ``text``; upstream anonymous splats are resolved through ``hooks``."""
    state = _State(hooks)
    # serial consoles end lines with \r\r\n: count lines as a reader sees them
    for number, raw in enumerate(re.sub(r"\r+\n", "\n", text).split("\n"), start=1):
        for stamp, part in _messages(raw):
            if not part:
                continue
            if part.startswith(harness.DMESG_BEGIN) or part.startswith(harness.DMESG_END):
                state.section(Seen.DMESG if part.startswith(harness.DMESG_BEGIN) else Seen.CONSOLE)
                continue
            if state.seen is Seen.CONSOLE and (g.BANNER.search(part) or READY in part):
                state.boots.append(len(state.records))  # a new boot: its printk times start again
            state.stamp = stamp
            state.feed(part, number)
    state.close()
    return _one_per_message(state.records, state.boots)


def _one_per_message(records: list[Record], boots: list[int]) -> list[Record]:
    """Records of the same message (same boot, kind, printk time and text) merged into the first, seen by
    both sources when they differ; the fuller of the two (a report complete, a WARN with its taint) is kept.
    A boot begins at the kernel's banner or the guest's ready line on the console."""
    merged: list[Record] = []
    first: dict[tuple[int, type[Record], str, str], int] = {}
    boot = 0
    for index, record in enumerate(records):
        while boot < len(boots) and boots[boot] <= index:
            boot += 1
        if record.stamp is None:
            merged.append(record)
            continue
        key = (boot, type(record), record.stamp, record.text)
        at = first.setdefault(key, len(merged))
        if at == len(merged):
            merged.append(record)
            continue
        kept = merged[at]
        fuller = record if _known(record) > _known(kept) else kept
        merged[at] = replace(fuller, line=kept.line, seen=kept.seen + record.seen)
    return merged


def _known(record: Record) -> int:
    """How much a record says: its fields that are set (a complete report counts one more)."""
    return sum(v is not None and v != () and v is not False for v in asdict(record).values())


def against_nearer(records: Sequence[Record], release: str) -> list[Record]:
    """``records`` with every WARN whose hook was read from a header marked as read from ``release``'s:
    a release of the same series near the log's own, not the log's own (``kvmnull evidence --nearest``)."""
    return [replace(r, nearer_release=release) if isinstance(r, Warn) and r.hook_from is HookFrom.HEADER else r
            for r in records]


class _State:
    """The records so far, and the body of the report (or WARN) being read for its guilty function."""

    def __init__(self, hooks: HookSet | None) -> None:
        self.hooks = hooks
        self.records: list[Record] = []
        self.message: str | None = None  # None: outside a splat; "": after "cut here"
        self.last_warn: int | None = None
        self.open_report: int | None = None  # the record whose body is being read
        self.body: list[str] = []  # the lines after its first
        self.grammar: Grammar | None = None  # its grammar (None: a WARN)
        self.stamp: str | None = None  # the printk time of the message being read
        self.seen = Seen.CONSOLE  # inside the harness's dmesg markers, or not
        self.boots: list[int] = []  # the record count at each kernel banner on the console

    def section(self, seen: Seen) -> None:
        """A harness dmesg marker: what was open on one side does not go on on the other."""
        self.close()
        self.seen = seen
        self.message = self.last_warn = None

    def add(self, record: Record) -> None:
        self.records.append(replace(record, stamp=self.stamp, seen=self.seen))

    def feed(self, line: str, number: int) -> None:
        if self.open_report is not None:
            if len(self.body) >= _MAX_BODY:
                self.close()
            else:
                self.body.append(line)
                if g.END_OF_REPORT.search(line):
                    self.close()
                    return
                if g.FRAME.match(line) or g.RIP.search(line):
                    return  # a frame of the open report: nothing else to read in it
        if self.message != "" and not g.PREFILTER.search(line):
            return
        if g.CUT in line:
            self.message = ""
            return
        if self._report_header(line, number):
            self.message = None
            return
        if m := _warning(line):
            self.close()
            self.last_warn = len(self.records)
            self.add(self._warn(m, line, number))
            self._open(None)
            self.message = None
            return
        if self.message == "" and not line.startswith("Modules linked in"):
            self.message = line  # the WARN() message printed between "cut here" and "WARNING:"
            return
        if m := g.REFUSED_HOOK.search(line):
            self.add(HookRefused(number, line, m.group("vendor"), _table(m.group("table")), m.group("hook")))
        elif m := g.REFUSED.search(line):
            self.add(VendorRefused(number, line, m.group("vendor"), int(m.group("count"))))
        elif m := g.OPTIONAL.search(line):
            self.add(OptionalNull(number, line, m.group("vendor"), int(m.group("count")),
                                  tuple(m.group("hooks").split())))
        elif m := g.TAINTED.search(line):
            flags = "".join(m.group("flags").split())
            self._attach_taint(flags)
            self.add(Taint(number, line, flags))
        elif m := g.LOAD_MARK.search(line):
            status = int(m.group("status"))
            present = {"yes": True, "no": False}.get(m.group("loaded") or "")
            self.add(Load(number, line, m.group("module"), status=status,
                          errno_name=errno.errorcode.get(status) if status else None, present=present))
        elif m := g.UNLOAD_MARK.search(line):
            self.add(Unload(number, line, m.group("module"), int(m.group("status"))))
        elif m := g.INSMOD_FAIL.search(line):
            module = m.group("bb") or m.group("kmod") or ""
            reason = m.group("reason").strip()
            self.add(Load(number, line, os.path.basename(module), errno_name=_errno_from(reason), reason=reason))
        elif m := g.UNADMITTED.search(line):
            self.add(Unadmitted(number, line, m.group("module"), m.group("symbol"), m.group("namespace")))
        elif m := g.PARAM.search(line):
            value = m.group("value") if m.group("value") is not None else m.group("value2")
            self.add(ParamRejected(number, line, m.group("param") or m.group("param2"), value))
        elif m := g.PROBE.search(line):
            result, detail = m.group("result"), m.group("detail").strip()
            words = detail.split()
            self.add(Probe(number, line, m.group("step"), result, detail or None,
                           words[0] if result == "fail" and words else None, m.group("program")))

    def _warn(self, m: re.Match[str], line: str, number: int) -> Warn:
        table = hook = None
        hook_from = None
        message = self.message or None
        file = m.group("file")
        source_line = int(m.group("line")) if m.group("line") else None
        condition = m.groupdict().get("cond")
        if message and _CONDITION_HOOK.match(message.strip()):
            condition, message = message.strip(), None  # x86 prints the condition as its own line
        if message and (r := g.REFUSED_HOOK.search(message)):
            table, hook, hook_from = _table(r.group("table")), r.group("hook"), HookFrom.MESSAGE
        elif condition and (c := _CONDITION_HOOK.match(condition.strip())):
            table, hook, hook_from = _CONDITION_TABLES[c.group("ops")], c.group("hook"), HookFrom.CONDITION
        elif self.hooks and file and source_line is not None:
            found = self.hooks.at_header(file, source_line)
            if found:
                table, hook, hook_from = found.table.value, found.name, HookFrom.HEADER
        family = next((f for f in g.WARNING_FAMILIES if f[0].match(file or "") and f[1].search(m.group("function"))),
                      None)
        return Warn(number, line, file, source_line, m.group("function"), module=m.group("module"),
                    message=message, table=table, hook=hook, condition=condition, hook_from=hook_from,
                    headline=family[2] if family else "WARNING")

    def _attach_taint(self, flags: str) -> None:
        index = self.last_warn
        if index is not None:
            warn = self.records[index]
            if isinstance(warn, Warn) and warn.taint is None:
                self.records[index] = replace(warn, taint=flags)

    # ---- kernel reports ----

    def _open(self, grammar: Grammar | None) -> None:
        self.open_report, self.body, self.grammar = len(self.records) - 1, [], grammar

    def close(self) -> None:
        """The open report's body is read: blame its guilty function."""
        index, self.open_report = self.open_report, None
        if index is None:
            return
        record = self.records[index]
        if isinstance(record, Warn):
            family = next((f for f in g.WARNING_FAMILIES if f[2] == record.headline), None)
            guilty = _first(_rip_then_stack(self.body), family[3] if family else None)
            if guilty:
                self.records[index] = replace(record, guilty=guilty)
        elif isinstance(record, KernelReport) and self.grammar is not None:
            self.records[index] = _blamed(record, self.grammar, self.body)

    def _report_header(self, line: str, number: int) -> bool:
        """Open a report if ``line`` is the first line of one; True if the line was a report's."""
        grammar, m = next(((r, m) for r in g.REPORTS if (m := r.pattern.search(line))), (None, None))
        if grammar is None or m is None:
            return False
        open_record = self.records[self.open_report] if self.open_report is not None else None
        if (grammar.kind is ReportKind.OOPS and isinstance(open_record, KernelReport) and open_record.report.fatal
                and len(self.body) <= _SUBORDINATE):
            return True  # "Oops: 0000 [#1]" (or "invalid opcode: 0000") under the crash it reports: one report
        groups = {k: (v or "").strip() for k, v in m.groupdict().items()}
        headline = grammar.headline.format(**groups)
        cls = Crash if grammar.kind.fatal else Report
        function = g.symbol(groups["function"]) if groups.get("function") else None
        blamed = grammar.blame is not Blame.NONE
        if grammar.kind is ReportKind.PANIC and open_record is not None:
            # a panic inside another report is its consequence (panic_on_warn, oops=panic): the report goes on
            self.add(cls(number, line, grammar.kind, _plain(headline), function, None, True, blamed=False))
            return True
        self.close()
        self.add(cls(number, line, grammar.kind, _plain(headline), function, groups.get("module") or None,
                     not blamed, blamed=blamed))
        if blamed:
            self._open(grammar)
        return True


_MAX_BODY = 400  # the lines of a report read for its guilty function
_SUBORDINATE = 6  # within this many lines of a crash's first, an "Oops:" line is the same crash's
_STACK_START = re.compile(r"Call Trace:|[^k] backtrace:|^backtrace:")
_STACK_END = re.compile(r"Allocated by task|Freed by task|The buggy address|Memory state around|^Allocated:|^Freed:")
_APIC = re.compile(r"apic_timer_interrupt")
_AT_FUNCTION = re.compile(r"(?<![\w.])(?P<function>[A-Za-z_][\w.]*)\+0x[0-9a-f]+/0x[0-9a-f]+")
_ACCESS = re.compile(r"\b(Read|Write) (?:of size \d|at addr )")
_ADDRESS = re.compile(r"\b0x[0-9a-f]+\b|\b[0-9a-f]{8,}\b")
_NUMBER = re.compile(r"(?<![\w.])-?\d+(?![\w.])")


def _plain(headline: str) -> str:
    """A headline without what changes from one report of the same bug to the next: addresses, numbers."""
    return _NUMBER.sub("NUM", _ADDRESS.sub("ADDR", headline))


def _frames(lines: Sequence[str]) -> list[str]:
    """The reliable frames of ``lines``, as functions, up to the next stack of another kind."""
    found = []
    for line in lines:
        if _STACK_END.search(line):
            break
        if (m := g.FRAME.match(line)) and not m.group("unsure"):
            found.append(g.symbol(m.group("function")))
    return found


def _stack(lines: Sequence[str]) -> list[str]:
    """The frames after the first call trace's start (all frames when there is none)."""
    start = next((i for i, line in enumerate(lines) if _STACK_START.search(line)), -1)
    return _frames(lines[start + 1:])


def _rip_then_stack(lines: Sequence[str]) -> list[str]:
    """The faulting function, then the frames printed after it; the call trace when no RIP names one."""
    for index, line in enumerate(lines):
        if (m := g.RIP.search(line)) and not line.lstrip().startswith("?"):
            return [g.symbol(m.group("function")), *_frames(lines[index + 1:])]
    return _stack(lines)


def _first(frames: Sequence[str], skip: re.Pattern[str] | None) -> str | None:
    kept = _kept(frames, skip)
    return kept[0] if kept else None


def _kept(frames: Sequence[str], skip: re.Pattern[str] | None) -> list[str]:
    """The frames past the machinery; none when a fault-injection stack is mixed in (the report is corrupted)."""
    if any(g.INJECTED.search(f) for f in frames):
        return []
    return [f for f in frames if not g.MACHINERY.search(f) and not (skip and skip.search(f))]


def _stalled(frames: Sequence[str]) -> str | None:
    """A stall's guilty frame: the one above the first frame that dispatches work (a syscall, a work item,
    a timer), since where a looping CPU was caught is only where it happened to be."""
    if any(g.CROSS_CALL.search(f) for f in frames):
        return "smp_call_function"
    previous = frames[0] if frames else None
    for frame in frames:
        if g.STALL_ANCHORS.search(frame):
            return g.SYSCALL_PREFIX.sub("", previous) if previous else None
        previous = frame
    return frames[0] if frames else None


def _hung(frames: Sequence[str]) -> str | None:
    """A hung task's guilty frame: the lock or RCU wait it blocks in, else the first frame that is not waiting."""
    for frame in frames:
        for anchor, title in g.HUNG_ANCHORS:
            if frame.startswith(anchor):
                return title or frame
    return next((f for f in frames if not g.HUNG_MACHINERY.search(f)), None)


def _blamed(report: KernelReport, grammar: Grammar, body: Sequence[str]) -> KernelReport:
    """``report`` with its guilty function read from its body, as the grammar says where."""
    function: str | None = None
    blame, skip = grammar.blame, grammar.skip
    if blame is Blame.HEADER:
        function = _first([report.function or "", *_stack(body)] if report.function else _stack(body), skip)
    elif blame is Blame.RIP:
        function = _first(_rip_then_stack(body), skip)
    elif blame is Blame.STACK:
        function = _first(_stack(body), skip)
    elif blame is Blame.HUNG:
        function = _hung(_kept(_stack(body), skip))
    elif blame is Blame.STALL:
        start = next((i for i, line in enumerate(body) if _APIC.search(line) and g.FRAME.match(line)), None)
        frames = _rip_then_stack(body[start + 1:]) if start is not None else _rip_then_stack(body)
        function = _stalled(_kept(frames, skip))
    elif blame is Blame.ACQUIRE and grammar.cue is not None:
        text = [report.text, *body]
        start = next((i for i, line in enumerate(text) if grammar.cue.search(line)), None)
        if start is not None:
            function = next((g.symbol(m.group("function")) for line in text[start:]
                             if (m := _AT_FUNCTION.search(line.split(" at: ", 1)[-1]))
                             and not g.MACHINERY.search(g.symbol(m.group("function")))), None)
    headline = report.headline
    if grammar.access and (access := next((m.group(1) for line in body if (m := _ACCESS.search(line))), None)):
        headline = f"{headline} {access}"
    module = report.module if function == report.function else None
    if function is not None:
        frame = next((m for line in body if (m := g.FRAME.match(line) or g.RIP.search(line))
                      and g.symbol(m.group("function")) == function), None)
        module = frame.group("module") if frame else module
    return replace(report, headline=headline, function=function, module=module, complete=function is not None)


# ---- which kernel wrote the log ----

def release_in(text: str) -> str | None:
    """The kernel release (``uname -r``) the log names, from its banner or a report's CPU line."""
    for line in text.splitlines():
        for pattern in g.RELEASE:
            if m := pattern.search(line):
                return m.group("release")
    return None


# ---- the harness's console ----

def harness_load(records: Sequence[Record]) -> Load | None:
    """The harness's own load line of the scenario's vendor."""
    return next((r for r in of_type(records, Load) if r.status is not None), None)


def split_output(output: str) -> tuple[str, str]:
    """(harness lines, the scenario's kernel log)."""
    match = re.search(rf"{harness.DMESG_BEGIN}\r*\n(.*?){harness.DMESG_END}", output, re.S)
    if not match:
        return output, ""
    return output[: match.start()], match.group(1)


def own_output(output: str) -> str:
    """The part of a console excerpt that belongs to the last scenario started in it."""
    start = output.rfind(harness.BEGIN)
    return output[start:] if start >= 0 else output
