"""Console or dmesg text in, typed records out.

Each line is cleaned of ANSI sequences, carriage returns, printk levels
(``<4>``), timestamps (``[   2.10]``) and caller ids (``[  T153]``) before
matching, and every pattern is searched for anywhere in the line, so kernel
output interleaved with user output is still found.

``parse`` cannot raise on any text by construction: every pattern is a
compiled regular expression whose numeric groups match at most nine digits
(``int()`` of them cannot fail), and no record refers to another except
through indexes it has just checked.  A bug
that raises anyway is not hidden: callers let it surface.

The harness's console (see :mod:`harness`) is read here too: which part of an
excerpt belongs to a scenario, and its kernel log.
"""

from __future__ import annotations

import enum
import errno
import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from typing import ClassVar, TypeVar

from ..guest import harness
from ..kernel.hooks import HookSet, Table

_ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_]|c)")
_PREFIX = re.compile(r"^\s*(?:<\d+>)?\s*(?:\[\s*\d+\.\d+\])?\s*(?:\[\s*[TC]\d+\])?\s*")
_STAMP = re.compile(r"\[\s*\d+\.\d+\](?:\[\s*[TC]\d+\])?\s?")

_TABLE_STRUCTS = "|".join(t.struct for t in Table)
_REFUSED_HOOK = re.compile(
    rf"vendor (?P<vendor>\S+): mandatory (?P<table>{_TABLE_STRUCTS})\.(?P<hook>\w+) is NULL")
_REFUSED = re.compile(r"vendor (?P<vendor>\S+) refused: (?P<count>\d{1,9}) mandatory hooks? NULL")
_OPTIONAL = re.compile(r"vendor (?P<vendor>\S+): (?P<count>\d{1,9}) optional hooks NULL:(?P<hooks>[\w .]*)")
# __warn()'s first line, one grammar per era; each names cpu, pid, file, line, function and module
_WARNINGS = (
    # up to 6.18: "WARNING: CPU: 0 PID: 153 at arch/x86/kvm/x86.c:9311 kvm_check_hook+0xa3/0xd0 [kvm]"
    re.compile(
        r"WARNING: CPU: (?P<cpu>\d+) PID: (?P<pid>\d+) at (?P<file>\S+?):(?P<line>\d{1,9}) "
        r"(?P<function>[\w.]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?P<module>[\w-]+)\])?"
    ),
    # 6.19 on: "WARNING: x86.c:7035 at kvm_check_hook+0xc4/0x110 [kvm], CPU#0: insmod/681"; the file
    # may be absent ("WARNING: at FUNC+..."), and some architectures print the WARN_ON() condition
    # in brackets first ("WARNING: [!ptr] file.c:12 at ...")
    re.compile(
        r"WARNING: (?:\[(?P<cond>[^\]\r\n]{1,200})\] )?(?:(?P<file>\S+?):(?P<line>\d{1,9}) )?"
        r"at (?P<function>[\w.]+)\+0x[0-9a-f]+/0x[0-9a-f]+"
        r"(?: \[(?P<module>[\w-]+)\])?, CPU#(?P<cpu>\d+): .{0,32}?/(?P<pid>\d{1,9})"
    ),
)
# a WARN_ON() condition that tests a hook: "!kvm_x86_ops.vcpu_create" (x86 prints it after "cut here")
_CONDITION_HOOK = re.compile(r"^!\s*\(?\s*(?P<ops>kvm_x86_ops|kvm_pmu_ops|kvm_nested_ops)\.(?P<hook>\w+)\s*\)?\s*$")
_CONDITION_TABLES = {"kvm_x86_ops": "x86", "kvm_pmu_ops": "pmu", "kvm_nested_ops": "nested"}
_TAINTED = re.compile(r"\bTainted: (?P<flags>[A-Z ]+?)(?=\s+\d+\.\d+|\s*$|\s+#)")
_RIP = re.compile(r"RIP: [0-9a-f]{4}:(?P<function>[\w.]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?P<module>[\w-]+)\])?")
# a call-trace frame; "? " marks one the unwinder is unsure of
_FRAME = re.compile(r"^\s*(?P<unsure>\? )?(?P<function>[\w.]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?P<module>[\w-]+)\])?$")
_END_OF_REPORT = re.compile(r"---\[ end trace|</TASK>|^={40,}$")
# where a report is written, not what caused it: the guilty function is the first frame outside these
_MACHINERY = re.compile(
    r"^(?:dump_stack\w*|show_stack|sched_show_task|(?:__)?warn\w*|warn_slowpath\w*|report_bug|handle_bug|"
    r"exc_\w+|asm_exc_\w+|panic|__schedule\w*|schedule\w*|io_schedule\w*|msleep\w*|usleep\w*|"
    r"__delay|delay_tsc|delay_loop|__const_udelay|__udelay|"
    r"(?:__)?ubsan_\w+|(?:__)?kasan_\w+|__asan_\w+|(?:__)?kfence_\w+|print_report|"
    r"lockdep_\w+|(?:__)?lock_acquire|(?:__)?mutex_lock\w*|down\w*|wait_for_completion\w*|"
    r"(?:__)?rcu_\w+|watchdog_\w+|\w+_timer_fn|(?:__)?hrtimer_\w+|(?:__)?sysvec_\w+|asm_sysvec_\w+|"
    r"__pfx_\w+)$")


def _symbol(function: str) -> str:
    """The function a compiler clone belongs to: ``f.cold``, ``f.constprop.0``, ``f.isra.0`` are ``f``."""
    return function.split(".", 1)[0]


class ReportKind(enum.Enum):
    """The kinds of report a kernel writes about itself."""

    OOPS = "oops"
    PAGE_FAULT = "page fault"
    GPF = "general protection fault"
    KERNEL_BUG = "kernel BUG"
    PANIC = "panic"
    MEMORY = "memory error"  # KASAN, KFENCE, KMSAN
    UBSAN = "ubsan"
    LOCKDEP = "lockdep"
    HUNG_TASK = "hung task"
    RCU_STALL = "rcu stall"
    SOFT_LOCKUP = "soft lockup"
    HARD_LOCKUP = "hard lockup"
    OTHER = "other"  # a "BUG: ..." the parser has no grammar of its own for

    @property
    def fatal(self) -> bool:
        """The reporting task dies (a crash); the others report and go on."""
        return self in (ReportKind.OOPS, ReportKind.PAGE_FAULT, ReportKind.GPF, ReportKind.KERNEL_BUG,
                        ReportKind.PANIC)


class Blame(enum.Enum):
    """Where a report's guilty function comes from."""

    HEADER = "header"  # the report's first line names it
    RIP = "rip"  # the faulting instruction, else the stack
    STACK = "stack"  # the first reliable frame outside the reporting machinery
    NONE = "none"


@dataclass(frozen=True)
class Grammar:
    """One report kind's first line in one kernel era, and how its title is made."""

    kind: ReportKind
    pattern: re.Pattern[str]
    headline: str  # the title before " in FUNC", with the pattern's groups
    blame: Blame


def _g(kind: ReportKind, pattern: str, headline: str, blame: Blame) -> Grammar:
    return Grammar(kind, re.compile(pattern), headline, blame)


# the first line of each report (any era the parser knows; the pattern says which it covers)
_REPORTS = (
    # all eras; 6.9+ prefixes "Oops: " to the general protection fault line
    _g(ReportKind.GPF, r"(?:Oops: )?general protection fault\b", "general protection fault", Blame.RIP),
    _g(ReportKind.PAGE_FAULT, r"BUG: kernel NULL pointer dereference, address: \w+",
       "BUG: kernel NULL pointer dereference", Blame.RIP),
    _g(ReportKind.PAGE_FAULT, r"BUG: unable to handle page fault for address: \w+",
       "BUG: unable to handle page fault", Blame.RIP),
    # before 4.17
    _g(ReportKind.PAGE_FAULT, r"BUG: unable to handle kernel (?P<what>NULL pointer dereference|paging request) at",
       "BUG: unable to handle kernel {what}", Blame.RIP),
    _g(ReportKind.KERNEL_BUG, r"kernel BUG at (?P<file>[^\s:]+):(?P<line>\d{1,9})!", "kernel BUG", Blame.RIP),
    _g(ReportKind.MEMORY, r"BUG: (?P<tool>KASAN|KFENCE|KMSAN): (?P<what>[\w -]+?) in (?P<function>[\w.]+)"
       r"(?:\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?P<module>[\w-]+)\])?)?",
       "{tool}: {what}", Blame.HEADER),
    _g(ReportKind.SOFT_LOCKUP, r"watchdog: BUG: soft lockup - CPU#\d{1,6} stuck for \d{1,9}s!",
       "BUG: soft lockup", Blame.RIP),
    _g(ReportKind.HARD_LOCKUP, r"Watchdog detected hard LOCKUP on cpu \d{1,6}", "BUG: hard lockup", Blame.RIP),
    _g(ReportKind.PANIC, r"Kernel panic - not syncing: (?P<reason>[^\r\n]*)",
       "Kernel panic - not syncing: {reason}", Blame.NONE),
    _g(ReportKind.OOPS, r"Oops: (?P<what>[^\r\n]*?)(?:: [0-9a-f]{4} \[#\d{1,9}\].*)?$", "Oops: {what}", Blame.RIP),
    _g(ReportKind.UBSAN, r"UBSAN: (?P<what>[\w-]+) in (?P<file>\S+?):\d{1,9}", "UBSAN: {what}", Blame.STACK),
    _g(ReportKind.HUNG_TASK, r"INFO: task .{1,16}:\d{1,9} blocked for more than \d{1,9} seconds",
       "INFO: task hung", Blame.STACK),
    _g(ReportKind.RCU_STALL, r"INFO: \w+ (?:detected stalls? on CPUs/tasks|self-detected stall on CPU)",
       "INFO: rcu detected stall", Blame.STACK),
    # lockdep (not built into Debian's kernels: no real log yet); its reports open with a line of '='
    _g(ReportKind.LOCKDEP, r"WARNING: possible circular locking dependency detected", "possible deadlock",
       Blame.STACK),
    _g(ReportKind.LOCKDEP, r"WARNING: possible recursive locking detected", "possible deadlock", Blame.STACK),
    _g(ReportKind.LOCKDEP, r"WARNING: (?P<what>inconsistent lock state|lock held when returning to user space|"
       r"held lock freed|bad unlock balance detected|suspicious RCU usage)", "{what}", Blame.STACK),
    # last: any other "BUG: WHAT[: details]" ("scheduling while atomic", "Bad page state", ...) is kept,
    # titled by what precedes its first colon
    _g(ReportKind.OTHER, r"\bBUG: (?P<what>[^:\r\n]{1,80})", "BUG: {what}", Blame.STACK),
)
_BLAMES = {g.kind: g.blame for g in _REPORTS}
_REPORT_WORDS = "general protection|BUG|Oops|panic|UBSAN|INFO: |LOCKUP|WARNING: "

_INSMOD_FAIL = re.compile(
    r"(?:insmod|modprobe): (?:can't insert '(?P<bb>[^']+)'|ERROR: could not insert '?(?P<kmod>[^':]+)'?): "
    r"(?P<reason>[^\r\n]+)"
)
_LOAD_MARK = re.compile(rf"{harness.LOAD} (?P<module>\S+) status=(?P<status>\d{{1,9}})(?: loaded=(?P<loaded>yes|no))?")
_UNLOAD_MARK = re.compile(rf"{harness.UNLOAD} (?P<module>\S+) status=(?P<status>\d{{1,9}})")
_PARAM = re.compile(r"(?:invalid (?P<param>missing_hook) '(?P<value>[^']*)'|"
                    r"(?P<param2>null(?:_pmu|_nested)?)=: unknown \w+ hook or class '(?P<value2>[^']*)')")
_UNADMITTED = re.compile(r"(?P<module>[\w-]+): module uses symbol \((?P<symbol>\w+)\) from namespace "
                         r"(?P<namespace>module:[\w,*-]+), but does not import it")
_PROBE = re.compile(rf"(?P<program>{harness.PROBE}|{harness.WORKLOAD}): step (?P<step>\w+) "
                    r"(?P<result>ok|fail|wrong|skip)\s*(?P<detail>[^\r\n]*)")
_ERRNO_WORD = re.compile(r"\b(E[A-Z]{2,})\b")
_CUT = "------------[ cut here ]------------"
# every pattern above needs one of these words: a line with none of them is passed over at once
_ANY = re.compile(rf"cut here|WARNING:|vendor |Tainted:|{_REPORT_WORDS}"
                  rf"|RIP: |{harness.LOAD}|{harness.UNLOAD}|insmod|modprobe|missing_hook|=: unknown|from namespace"
                  rf"|{harness.PROBE}|{harness.WORKLOAD}")

def _warning(line: str) -> re.Match[str] | None:
    return next((m for grammar in _WARNINGS if (m := grammar.search(line))), None)


_STRERROR = {os.strerror(code): name for name, code in errno.__dict__.items()
             if name.startswith("E") and isinstance(code, int)}


class Kind(enum.Enum):
    LOAD = "load"
    UNLOAD = "unload"
    HOOK_REFUSED = "hook_refused"
    VENDOR_REFUSED = "vendor_refused"
    OPTIONAL_NULL = "optional_null"
    WARN = "warn"
    CRASH = "crash"
    REPORT = "report"
    TAINT = "taint"
    PARAM_REJECTED = "param_rejected"
    UNADMITTED = "unadmitted"
    PROBE = "probe"


@dataclass(frozen=True)
class Record:
    """Where a piece of evidence is (1-based line) and the cleaned line; each kind adds its fields."""

    kind: ClassVar[Kind]
    line: int
    text: str

    def summary(self) -> str:
        """One line saying what the record is."""
        return self.text

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"kind": self.kind.value}
        for key, value in asdict(self).items():
            if value is not None and value != ():
                data[key] = list(value) if isinstance(value, tuple) else value
        return data


@dataclass(frozen=True)
class Load(Record):
    """A module load: the harness's own line (status, present) or insmod's error message (errno)."""

    kind: ClassVar[Kind] = Kind.LOAD
    module: str
    status: int | None = None  # insmod's exit status, from the harness line
    errno_name: str | None = None
    present: bool | None = None  # the harness checked /sys/module afterwards
    reason: str | None = None  # insmod's own words

    def summary(self) -> str:
        status = "" if self.status is None else f" status {self.status}"
        state = {True: ", loaded", False: ", not loaded", None: ""}[self.present]
        return f"{self.module}:{status} {self.errno_name or ''}".rstrip() + state


@dataclass(frozen=True)
class Unload(Record):
    """The harness's rmmod of the scenario's vendor, and its status."""

    kind: ClassVar[Kind] = Kind.UNLOAD
    module: str
    status: int

    def summary(self) -> str:
        return f"{self.module}: unloaded" if not self.status else f"{self.module}: rmmod status {self.status}"


@dataclass(frozen=True)
class HookRefused(Record):
    kind: ClassVar[Kind] = Kind.HOOK_REFUSED
    vendor: str
    table: str  # Table value
    hook: str

    def summary(self) -> str:
        return f"{self.vendor}: {self.table}.{self.hook} refused"


@dataclass(frozen=True)
class VendorRefused(Record):
    kind: ClassVar[Kind] = Kind.VENDOR_REFUSED
    vendor: str
    count: int

    def summary(self) -> str:
        return f"{self.vendor} refused ({self.count} hooks)"


@dataclass(frozen=True)
class OptionalNull(Record):
    kind: ClassVar[Kind] = Kind.OPTIONAL_NULL
    vendor: str
    count: int
    hooks: tuple[str, ...]

    def summary(self) -> str:
        return f"{self.vendor}: {self.count} optional NULL"


@dataclass(frozen=True)
class Warn(Record):
    """A WARN splat; ``table``/``hook`` when its message or its header line names one."""

    kind: ClassVar[Kind] = Kind.WARN
    file: str | None  # None: a 6.19+ WARN printed without its file ("WARNING: at FUNC+...")
    source_line: int | None
    function: str
    module: str | None = None
    message: str | None = None  # the WARN() text printed before the splat
    table: str | None = None
    hook: str | None = None
    taint: str | None = None
    condition: str | None = None  # the WARN_ON() condition, where the kernel prints it (6.19+, DETAILED)

    @property
    def title(self) -> str:
        """As kernel developers name it: ``WARNING in FUNC``."""
        return f"WARNING in {self.function}"

    def summary(self) -> str:
        module = f" [{self.module}]" if self.module else ""
        hook = f"{self.table}.{self.hook}" if self.hook else "?"
        taint = f" taint {self.taint}" if self.taint else ""
        where = f"{self.file}:{self.source_line} " if self.file else ""
        return f"WARN at {where}{self.function}{module} -> hook {hook}{taint}"


@dataclass(frozen=True)
class KernelReport(Record):
    """A report the kernel writes (oops, BUG, KASAN, UBSAN, hung task, ...), titled as kernel developers
    title them: the kernel's headline, then ``in FUNC`` for the guilty function."""

    report: ReportKind
    headline: str
    function: str | None = None
    module: str | None = None  # the guilty function's module
    complete: bool = False  # False: the log ended, or the report did, before the guilty function showed

    @property
    def title(self) -> str:
        return f"{self.headline} in {self.function}" if self.function else self.headline

    def summary(self) -> str:
        module = f" [{self.module}]" if self.module else ""
        return self.title + module + ("" if self.complete else " (report incomplete)")

    def to_json(self) -> dict[str, object]:
        data = super().to_json()
        data["report"] = self.report.value
        data["title"] = self.title
        return data


@dataclass(frozen=True)
class Crash(KernelReport):
    """A report whose task dies: oops, BUG, general protection fault, panic."""

    kind: ClassVar[Kind] = Kind.CRASH


@dataclass(frozen=True)
class Report(KernelReport):
    """A report after which the kernel goes on: KASAN/KFENCE, UBSAN, lockdep, hung task, RCU stall,
    soft or hard lockup."""

    kind: ClassVar[Kind] = Kind.REPORT


@dataclass(frozen=True)
class Taint(Record):
    kind: ClassVar[Kind] = Kind.TAINT
    flags: str

    def summary(self) -> str:
        return f"tainted {self.flags}"


@dataclass(frozen=True)
class ParamRejected(Record):
    kind: ClassVar[Kind] = Kind.PARAM_REJECTED
    param: str
    value: str

    def summary(self) -> str:
        return f"{self.param}={self.value!r} rejected"


@dataclass(frozen=True)
class Unadmitted(Record):
    """The module loader refused a symbol: its export is limited to modules the importer is not (6.19+)."""

    kind: ClassVar[Kind] = Kind.UNADMITTED
    module: str
    symbol: str
    namespace: str  # "module:kvm-amd,kvm-intel"

    def summary(self) -> str:
        return f"{self.module} may not use {self.symbol}: exported to {self.namespace}"


@dataclass(frozen=True)
class Probe(Record):
    """One step line of the probe or the workload."""

    kind: ClassVar[Kind] = Kind.PROBE
    step: str
    result: str  # ok, fail (an ioctl failed), wrong (a wrong exit or value: the workload) or skip
    detail: str | None = None
    errno_name: str | None = None
    program: str = harness.PROBE

    @property
    def ok(self) -> bool:
        return self.result == "ok"

    def summary(self) -> str:
        return f"probe {self.step}: {self.result} {self.detail or ''}".rstrip()


R = TypeVar("R", bound=Record)


def of_type(records: Iterable[Record], cls: type[R]) -> list[R]:
    return [r for r in records if isinstance(r, cls)]


def clean(line: str) -> str:
    """A console line without ANSI noise, CR, printk level, timestamp or caller id."""
    line = _ANSI.sub("", line).replace("\r", "")
    line = _PREFIX.sub("", line, count=1)
    return line.rstrip()


def _table(struct: str) -> str:
    return next(t.value for t in Table if t.struct == struct)


def _errno_from(reason: str) -> str | None:
    reason = reason.strip()
    if reason in _STRERROR:
        return _STRERROR[reason]
    match = _ERRNO_WORD.search(reason)
    return match.group(1) if match else None


def parse(text: str, hooks: HookSet | None = None) -> list[Record]:
    """All records in ``text``; upstream anonymous splats are resolved through ``hooks``."""
    state = _State(hooks)
    # serial consoles end lines with \r\r\n: count lines as a reader sees them
    for number, raw in enumerate(re.sub(r"\r+\n", "\n", text).split("\n"), start=1):
        line = clean(raw)
        # a line may carry a second kernel message after user output: look at both parts
        parts = [clean(p) for p in _STAMP.split(line)] if _STAMP.search(line) else [line]
        for part in parts:
            if part:
                state.feed(part, number)
    return state.records


class _State:
    """The records so far, and what a multi-line report has shown of itself."""

    def __init__(self, hooks: HookSet | None) -> None:
        self.hooks = hooks
        self.records: list[Record] = []
        self.message: str | None = None  # None: outside a splat; "": after "cut here"
        self.last_warn: int | None = None
        self.open_report: int | None = None  # a report whose guilty function is still to come

    def add(self, record: Record) -> None:
        self.records.append(record)

    def feed(self, line: str, number: int) -> None:
        if self.open_report is not None and self._report_body(line):
            return
        if self.message != "" and not _ANY.search(line):
            return
        if _CUT in line:
            self.message = ""
            return
        if self._report_header(line, number):
            self.message = None
            return
        if m := _warning(line):
            self.last_warn = len(self.records)
            self.add(self._warn(m, line, number))
            self.message = None
            return
        if self.message == "" and not line.startswith("Modules linked in"):
            self.message = line  # the WARN() message printed between "cut here" and "WARNING:"
            return
        if m := _REFUSED_HOOK.search(line):
            self.add(HookRefused(number, line, m.group("vendor"), _table(m.group("table")), m.group("hook")))
        elif m := _REFUSED.search(line):
            self.add(VendorRefused(number, line, m.group("vendor"), int(m.group("count"))))
        elif m := _OPTIONAL.search(line):
            self.add(OptionalNull(number, line, m.group("vendor"), int(m.group("count")),
                                  tuple(m.group("hooks").split())))
        elif m := _TAINTED.search(line):
            flags = "".join(m.group("flags").split())
            self._attach_taint(flags)
            self.add(Taint(number, line, flags))
        elif m := _LOAD_MARK.search(line):
            status = int(m.group("status"))
            present = {"yes": True, "no": False}.get(m.group("loaded") or "")
            self.add(Load(number, line, m.group("module"), status=status,
                          errno_name=errno.errorcode.get(status) if status else None, present=present))
        elif m := _UNLOAD_MARK.search(line):
            self.add(Unload(number, line, m.group("module"), int(m.group("status"))))
        elif m := _INSMOD_FAIL.search(line):
            module = m.group("bb") or m.group("kmod") or ""
            reason = m.group("reason").strip()
            self.add(Load(number, line, os.path.basename(module), errno_name=_errno_from(reason), reason=reason))
        elif m := _UNADMITTED.search(line):
            self.add(Unadmitted(number, line, m.group("module"), m.group("symbol"), m.group("namespace")))
        elif m := _PARAM.search(line):
            value = m.group("value") if m.group("value") is not None else m.group("value2")
            self.add(ParamRejected(number, line, m.group("param") or m.group("param2"), value))
        elif m := _PROBE.search(line):
            result, detail = m.group("result"), m.group("detail").strip()
            words = detail.split()
            self.add(Probe(number, line, m.group("step"), result, detail or None,
                           words[0] if result == "fail" and words else None, m.group("program")))

    def _warn(self, m: re.Match[str], line: str, number: int) -> Warn:
        table = hook = None
        message = self.message or None
        file = m.group("file")
        source_line = int(m.group("line")) if m.group("line") else None
        condition = m.groupdict().get("cond")
        if message and _CONDITION_HOOK.match(message.strip()):
            condition, message = message.strip(), None  # x86 prints the condition as its own line
        if message and (r := _REFUSED_HOOK.search(message)):
            table, hook = _table(r.group("table")), r.group("hook")
        elif condition and (c := _CONDITION_HOOK.match(condition.strip())):
            table, hook = _CONDITION_TABLES[c.group("ops")], c.group("hook")
        elif self.hooks and file and source_line is not None:
            found = self.hooks.at_header(file, source_line)
            if found:
                table, hook = found.table.value, found.name
        return Warn(number, line, file, source_line, m.group("function"), module=m.group("module"),
                    message=message, table=table, hook=hook, condition=condition)

    def _attach_taint(self, flags: str) -> None:
        index = self.last_warn
        if index is not None:
            warn = self.records[index]
            if isinstance(warn, Warn) and warn.taint is None:
                self.records[index] = replace(warn, taint=flags)

    # ---- kernel reports ----

    def _report_header(self, line: str, number: int) -> bool:
        """Open a report if ``line`` is the first line of one (or the Oops line of one already open)."""
        grammar, m = next(((g, m) for g in _REPORTS if (m := g.pattern.search(line))), (None, None))
        if grammar is None or m is None:
            return False
        groups = {k: (v or "").strip() for k, v in m.groupdict().items()}
        headline = grammar.headline.format(**groups)
        cls = Crash if grammar.kind.fatal else Report
        function = _symbol(groups["function"]) if groups.get("function") else None
        complete = grammar.blame in (Blame.HEADER, Blame.NONE)
        self.add(cls(number, line, grammar.kind, headline, function, groups.get("module") or None, complete))
        self.open_report = None if complete else len(self.records) - 1
        return True

    def _report_body(self, line: str) -> bool:
        """Read one line of the open report for its guilty function; True if the line was its."""
        index = self.open_report
        assert index is not None
        report = self.records[index]
        assert isinstance(report, KernelReport)
        header = next((g for g in _REPORTS if g.pattern.search(line)), None)
        if header is not None:
            if header.kind is ReportKind.OOPS and report.report.fatal:
                return True  # "Oops: 0000 [#1]" under "BUG: kernel NULL pointer dereference": one report
            self.open_report = None  # the next report begins: this one stays incomplete
            return False
        rip = _RIP.search(line)
        frame = _FRAME.match(line)
        if rip and _BLAMES[report.report] is Blame.RIP:
            # a crash is where its instruction faulted; a lockup's RIP is only where it spun
            if report.report.fatal or not _MACHINERY.match(_symbol(rip.group("function"))):
                self._blame(index, _symbol(rip.group("function")), rip.group("module"))
            return True
        if frame and not frame.group("unsure") and not _MACHINERY.match(_symbol(frame.group("function"))):
            self._blame(index, _symbol(frame.group("function")), frame.group("module"))
            return True
        if _END_OF_REPORT.search(line):
            self.open_report = None
        return bool(frame)

    def _blame(self, index: int, function: str, module: str | None) -> None:
        report = self.records[index]
        assert isinstance(report, KernelReport)
        self.records[index] = replace(report, function=function, module=module, complete=True)
        self.open_report = None


# ---- which kernel wrote the log ----

_RELEASE = (
    re.compile(r"\bLinux version (?P<release>\d+\.\d+\S*)"),
    # the "CPU: 0 UID: 0 PID: 153 Comm: insmod Tainted: G  W  OE  N 6.12.117+deb12-cloud-amd64 #1" line
    re.compile(r"\bCPU: \d{1,6} (?:UID: \d{1,9} )?PID: \d{1,9} Comm: .{1,20}? "
               r"(?:Tainted: [A-Z ]{1,40}?|Not tainted) (?P<release>\d+\.\d+\S*) #"),
)


def release_in(text: str) -> str | None:
    """The kernel release (``uname -r``) the log names, from its banner or a report's CPU line."""
    for line in text.splitlines():
        for pattern in _RELEASE:
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
