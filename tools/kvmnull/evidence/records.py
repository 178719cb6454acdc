"""The typed records a kernel log is read into: one frozen dataclass per kind of evidence.

Every record says where it is (the 1-based line of its first sighting), the
cleaned line, the printk timestamp of that line when it has one, and where the
message was seen: on the console as it was written, in the harness's dmesg dump
of the scenario, or both (one message seen twice is one record).
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import ClassVar, TypeVar

from ..guest import harness


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


class Seen(enum.Enum):
    """Where a record's message was seen."""

    CONSOLE = "console"  # as the kernel (or a guest program) wrote it to the console
    DMESG = "dmesg"  # in the harness's dump of the kernel log (between its dmesg markers)
    BOTH = "both"  # the same message (same printk time, same text) in both

    def __add__(self, other: Seen) -> Seen:
        return self if self is other else Seen.BOTH


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


class HookFrom(enum.Enum):
    """How a WARN's hook was found."""

    MESSAGE = "message"  # the WARN() text names it (the patched kvm.ko)
    CONDITION = "condition"  # the WARN_ON() condition tests it
    HEADER = "header"  # the line of the ops header the WARN points at (an upstream kvm.ko)


@dataclass(frozen=True)
class Record:
    """Where a piece of evidence is (1-based line) and the cleaned line; each kind adds its fields."""

    kind: ClassVar[Kind]
    line: int
    text: str
    stamp: str | None = field(default=None, kw_only=True)  # the printk time ("2.298539"), if the line has one
    seen: Seen = field(default=Seen.CONSOLE, kw_only=True)

    def summary(self) -> str:
        """One line saying what the record is."""
        return self.text

    def to_json(self) -> dict[str, object]:
        data: dict[str, object] = {"kind": self.kind.value}
        for key, value in asdict(self).items():
            if isinstance(value, enum.Enum):
                value = value.value
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
    hook_from: HookFrom | None = None
    # the hook was read from the header of this release, not of the log's own (``kvmnull evidence --nearest``)
    nearer_release: str | None = None
    # as syzbot titles it: the kind of WARNING ("WARNING", or a checker's: "WARNING: refcount bug") and the
    # guilty function (the faulting frame past the checker's own, else the stack's); None: not yet read
    headline: str = "WARNING"
    guilty: str | None = None

    @property
    def title(self) -> str:
        """As kernel developers and syzbot name it: ``WARNING in FUNC`` (``FUNC``: the guilty function)."""
        return f"{self.headline} in {self.guilty or self.function}"

    def summary(self) -> str:
        module = f" [{self.module}]" if self.module else ""
        hook = f"{self.table}.{self.hook}" if self.hook else "?"
        taint = f" taint {self.taint}" if self.taint else ""
        where = f"{self.file}:{self.source_line} " if self.file else ""
        nearer = f" (resolved against the nearer {self.nearer_release})" if self.nearer_release else ""
        return f"WARN at {where}{self.function}{module} -> hook {hook}{taint}{nearer}"


@dataclass(frozen=True)
class KernelReport(Record):
    """A report the kernel writes (oops, BUG, KASAN, UBSAN, hung task, ...), titled as kernel developers
    title them: the kernel's headline, then ``in FUNC`` for the guilty function."""

    report: ReportKind
    headline: str
    function: str | None = None
    module: str | None = None  # the guilty function's module
    complete: bool = False  # False: the log ended, or the report did, before the guilty function showed

    blamed: bool = True  # the kind is titled by a function; False: by its headline alone

    @property
    def title(self) -> str:
        """As syzbot titles it: ``HEADLINE in FUNC``; ``in corrupted`` when the report was cut short of it."""
        if not self.blamed:
            return self.headline
        return f"{self.headline} in {self.function or 'corrupted'}"

    def summary(self) -> str:
        module = f" [{self.module}]" if self.module else ""
        return self.title + module + ("" if self.complete else " (report incomplete)")

    def to_json(self) -> dict[str, object]:
        data = super().to_json()
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
