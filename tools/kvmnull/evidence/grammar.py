"""The lines a kernel log's records are read from: compiled patterns, per report kind and kernel era.

Every pattern that the parser tries on an ordinary line is declared with the
words every line it matches contains (:func:`_screened`); :data:`PREFILTER` is
made of exactly those words, so a line the prefilter passes over cannot match
any of them.  Numeric groups match at most nine digits: ``int()`` of them
cannot fail.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from ..guest import harness
from ..kernel.hooks import Table
from .records import ReportKind

# every pattern tried on a screened line, with the words one of which each line it matches holds
_SCREENED: list[tuple[re.Pattern[str], tuple[str, ...]]] = []


def _screened(pattern: str, *words: str) -> re.Pattern[str]:
    compiled = re.compile(pattern)
    _SCREENED.append((compiled, words))
    return compiled


# ---- the line around a message ----

ANSI = re.compile(r"\x1b(?:\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_]|c)")
PREFIX = re.compile(r"^\s*(?:<\d+>)?\s*(?:\[\s*\d+\.\d+\])?\s*(?:\[\s*[TC]\d+\])?\s*")
# a printk timestamp and caller id anywhere in a line: where a kernel message begins
STAMP = re.compile(r"\[\s*(?P<time>\d+\.\d+)\](?:\[\s*[TC]\d+\])?\s?")

# ---- kvm.ko's and the harness's own lines ----

_TABLE_STRUCTS = "|".join(t.struct for t in Table)
REFUSED_HOOK = _screened(
    rf"vendor (?P<vendor>\S+): mandatory (?P<table>{_TABLE_STRUCTS})\.(?P<hook>\w+) is NULL", "vendor ")
REFUSED = _screened(r"vendor (?P<vendor>\S+) refused: (?P<count>\d{1,9}) mandatory hooks? NULL", "vendor ")
OPTIONAL = _screened(r"vendor (?P<vendor>\S+): (?P<count>\d{1,9}) optional hooks NULL:(?P<hooks>[\w .]*)",
                     "vendor ")
INSMOD_FAIL = _screened(
    r"(?:insmod|modprobe): (?:can't insert '(?P<bb>[^']+)'|ERROR: could not insert '?(?P<kmod>[^':]+)'?): "
    r"(?P<reason>[^\r\n]+)", "insmod: ", "modprobe: ")
LOAD_MARK = _screened(
    rf"{harness.LOAD} (?P<module>\S+) status=(?P<status>\d{{1,9}})(?: loaded=(?P<loaded>yes|no))?", harness.LOAD)
UNLOAD_MARK = _screened(rf"{harness.UNLOAD} (?P<module>\S+) status=(?P<status>\d{{1,9}})", harness.UNLOAD)
PARAM = _screened(r"(?:invalid (?P<param>missing_hook) '(?P<value>[^']*)'|"
                  r"(?P<param2>null(?:_pmu|_nested)?)=: unknown \w+ hook or class '(?P<value2>[^']*)')",
                  "missing_hook", "=: unknown")
UNADMITTED = _screened(r"(?P<module>[\w-]+): module uses symbol \((?P<symbol>\w+)\) from namespace "
                       r"(?P<namespace>module:[\w,*-]+), but does not import it", "from namespace")
PROBE = _screened(rf"(?P<program>{harness.PROBE}|{harness.WORKLOAD}): step (?P<step>\w+) "
                  r"(?P<result>ok|fail|wrong|skip)\s*(?P<detail>[^\r\n]*)", harness.PROBE, harness.WORKLOAD)
ERRNO_WORD = re.compile(r"\b(E[A-Z]{2,})\b")

# ---- WARN splats ----

CUT = "------------[ cut here ]------------"
_screened(re.escape(CUT), "cut here")
# __warn()'s first line, one grammar per era; each names cpu, pid, file, line, function and module
WARNINGS = (
    # up to 6.18: "WARNING: CPU: 0 PID: 153 at arch/x86/kvm/x86.c:9311 kvm_check_hook+0xa3/0xd0 [kvm]"
    _screened(
        r"WARNING: CPU: (?P<cpu>\d+) PID: (?P<pid>\d+) at (?P<file>\S+?):(?P<line>\d{1,9}) "
        r"(?P<function>[\w.]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?P<module>[\w-]+)\])?",
        "WARNING: "),
    # 6.19 on: "WARNING: x86.c:7035 at kvm_check_hook+0xc4/0x110 [kvm], CPU#0: insmod/681"; the file
    # may be absent ("WARNING: at FUNC+..."), and some architectures print the WARN_ON() condition
    # in brackets first ("WARNING: [!ptr] file.c:12 at ...")
    _screened(
        r"WARNING: (?:\[(?P<cond>[^\]\r\n]{1,200})\] )?(?:(?P<file>\S+?):(?P<line>\d{1,9}) )?"
        r"at (?P<function>[\w.]+)\+0x[0-9a-f]+/0x[0-9a-f]+"
        r"(?: \[(?P<module>[\w-]+)\])?, CPU#(?P<cpu>\d+): .{0,32}?/(?P<pid>\d{1,9})",
        "WARNING: "),
)
TAINTED = _screened(r"\bTainted: (?P<flags>[A-Z ]+?)(?=\s+\d+\.\d+|\s*$|\s+#)", "Tainted: ")

# ---- the body of a report (read only while one is open: not screened) ----

RIP = re.compile(r"RIP: [0-9a-f]{4}:(?P<function>[\w.]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?P<module>[\w-]+)\])?")
# a call-trace frame; "? " marks one the unwinder is unsure of
FRAME = re.compile(r"^\s*(?P<unsure>\? )?(?P<function>[\w.]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?P<module>[\w-]+)\])?$")
END_OF_REPORT = re.compile(r"---\[ end trace|</TASK>|^={40,}$")
# where a report is written, not what caused it: the guilty function is the first frame outside these
MACHINERY = re.compile(
    r"^(?:dump_stack\w*|show_stack|sched_show_task|(?:__)?warn\w*|warn_slowpath\w*|report_bug|handle_bug|"
    r"exc_\w+|asm_exc_\w+|panic|__schedule\w*|schedule\w*|io_schedule\w*|msleep\w*|usleep\w*|"
    r"__delay|delay_tsc|delay_loop|__const_udelay|__udelay|"
    r"(?:__)?ubsan_\w+|(?:__)?kasan_\w+|__asan_\w+|(?:__)?kfence_\w+|print_report|"
    r"lockdep_\w+|(?:__)?lock_acquire|(?:__)?mutex_lock\w*|down\w*|wait_for_completion\w*|"
    r"(?:__)?rcu_\w+|watchdog_\w+|\w+_timer_fn|(?:__)?hrtimer_\w+|(?:__)?sysvec_\w+|asm_sysvec_\w+|"
    r"__pfx_\w+)$")


def symbol(function: str) -> str:
    """The function a compiler clone belongs to: ``f.cold``, ``f.constprop.0``, ``f.isra.0`` are ``f``."""
    return function.split(".", 1)[0]


# ---- the first line of each kernel report ----

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


def _g(kind: ReportKind, pattern: str, headline: str, blame: Blame, word: str) -> Grammar:
    return Grammar(kind, _screened(pattern, word), headline, blame)


# any era the parser knows; the pattern says which it covers
REPORTS = (
    # all eras; 6.9+ prefixes "Oops: " to the general protection fault line
    _g(ReportKind.GPF, r"(?:Oops: )?general protection fault\b", "general protection fault", Blame.RIP,
       "general protection fault"),
    _g(ReportKind.PAGE_FAULT, r"BUG: kernel NULL pointer dereference, address: \w+",
       "BUG: kernel NULL pointer dereference", Blame.RIP, "BUG: "),
    _g(ReportKind.PAGE_FAULT, r"BUG: unable to handle page fault for address: \w+",
       "BUG: unable to handle page fault", Blame.RIP, "BUG: "),
    # before 4.17
    _g(ReportKind.PAGE_FAULT, r"BUG: unable to handle kernel (?P<what>NULL pointer dereference|paging request) at",
       "BUG: unable to handle kernel {what}", Blame.RIP, "BUG: "),
    _g(ReportKind.KERNEL_BUG, r"kernel BUG at (?P<file>[^\s:]+):(?P<line>\d{1,9})!", "kernel BUG", Blame.RIP,
       "kernel BUG at "),
    _g(ReportKind.MEMORY, r"BUG: (?P<tool>KASAN|KFENCE|KMSAN): (?P<what>[\w -]+?) in (?P<function>[\w.]+)"
       r"(?:\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?P<module>[\w-]+)\])?)?",
       "{tool}: {what}", Blame.HEADER, "BUG: "),
    _g(ReportKind.SOFT_LOCKUP, r"watchdog: BUG: soft lockup - CPU#\d{1,6} stuck for \d{1,9}s!",
       "BUG: soft lockup", Blame.RIP, "BUG: "),
    _g(ReportKind.HARD_LOCKUP, r"Watchdog detected hard LOCKUP on cpu \d{1,6}", "BUG: hard lockup", Blame.RIP,
       "hard LOCKUP"),
    _g(ReportKind.PANIC, r"Kernel panic - not syncing: (?P<reason>[^\r\n]*)",
       "Kernel panic - not syncing: {reason}", Blame.NONE, "Kernel panic"),
    _g(ReportKind.OOPS, r"Oops: (?P<what>[^\r\n]*?)(?:: [0-9a-f]{4} \[#\d{1,9}\].*)?$", "Oops: {what}", Blame.RIP,
       "Oops: "),
    _g(ReportKind.UBSAN, r"UBSAN: (?P<what>[\w-]+) in (?P<file>\S+?):\d{1,9}", "UBSAN: {what}", Blame.STACK,
       "UBSAN: "),
    _g(ReportKind.HUNG_TASK, r"INFO: task .{1,16}:\d{1,9} blocked for more than \d{1,9} seconds",
       "INFO: task hung", Blame.STACK, "INFO: "),
    _g(ReportKind.RCU_STALL, r"INFO: \w+ (?:detected stalls? on CPUs/tasks|self-detected stall on CPU)",
       "INFO: rcu detected stall", Blame.STACK, "INFO: "),
    # lockdep (not built into Debian's kernels: no real log yet); its reports open with a line of '='
    _g(ReportKind.LOCKDEP, r"WARNING: possible circular locking dependency detected", "possible deadlock",
       Blame.STACK, "WARNING: "),
    _g(ReportKind.LOCKDEP, r"WARNING: possible recursive locking detected", "possible deadlock", Blame.STACK,
       "WARNING: "),
    _g(ReportKind.LOCKDEP, r"WARNING: (?P<what>inconsistent lock state|lock held when returning to user space|"
       r"held lock freed|bad unlock balance detected|suspicious RCU usage)", "{what}", Blame.STACK, "WARNING: "),
    # last: any other "BUG: WHAT[: details]" ("scheduling while atomic", "Bad page state", ...) is kept,
    # titled by what precedes its first colon
    _g(ReportKind.OTHER, r"\bBUG: (?P<what>[^:\r\n]{1,80})", "BUG: {what}", Blame.STACK, "BUG: "),
)
BLAMES = {g.kind: g.blame for g in REPORTS}

# ---- the prefilter: a line with none of these words can match no screened pattern ----

SCREENED: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(_SCREENED)
PREFILTER_WORDS: tuple[str, ...] = tuple(dict.fromkeys(w for _, words in SCREENED for w in words))
PREFILTER = re.compile("|".join(re.escape(w) for w in PREFILTER_WORDS))

# ---- which kernel wrote the log (read by release_in, on every line) ----

RELEASE = (
    re.compile(r"\bLinux version (?P<release>\d+\.\d+\S*)"),
    # the "CPU: 0 UID: 0 PID: 153 Comm: insmod Tainted: G  W  OE  N 6.12.117+deb12-cloud-amd64 #1" line
    re.compile(r"\bCPU: \d{1,6} (?:UID: \d{1,9} )?PID: \d{1,9} Comm: .{1,20}? "
               r"(?:Tainted: [A-Z ]{1,40}?|Not tainted) (?P<release>\d+\.\d+\S*) #"),
)
BANNER = RELEASE[0]
