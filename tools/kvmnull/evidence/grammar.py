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
    rf"{harness.LOAD} (?P<module>\S+) status=(?P<status>\d{{1,9}})(?!\d)(?: loaded=(?P<loaded>yes|no))?", harness.LOAD)
UNLOAD_MARK = _screened(rf"{harness.UNLOAD} (?P<module>\S+) status=(?P<status>\d{{1,9}})(?!\d)", harness.UNLOAD)
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

# "RIP: 0010:f+0x1/0x2 [mod]"; before 4.15 "RIP: 0010:[<ffffffff81>]  [<ffffffff81>] f+0x1/0x2"; 32-bit "IP: f+..."
RIP = re.compile(r"(?:\b(?:R|E|N)?IP: (?:[0-9a-f]{4}:)?(?:\[<[0-9a-f]+>\]\s*){0,2}|^pc : (?:\[<[0-9a-f]+>\]\s*)?|"
                 r"PC is at )(?P<function>[\w.]+)\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?P<module>[\w-]+)\])?")
# a call-trace frame; "? " marks one the unwinder is unsure of; it may carry its address before
# ("[<ffffffff81>] f+0x1/0x2") and its source after ("f+0x1/0x2 mm/slub.c:3867", symbolized logs)
FRAME = re.compile(r"^\s*(?:\[<?[0-9a-f]+>?\]\s*){0,2}(?P<unsure>\? )?(?P<function>[\w.]+)\+0x[0-9a-f]+/0x[0-9a-f]+"
                   r"(?: \[(?P<module>[\w-]+)\])?(?=\s|$)")
END_OF_REPORT = re.compile(r"---\[ end (?:trace|Kernel panic)")
# where a report is written, not what caused it: the guilty function is the first frame outside these.
# Matched anywhere in a name: the reporting machinery (dump_stack, printk, panic, __warn, report_bug),
# the sanitizers and debug checks themselves (kasan, kmsan, ubsan, kfence, lockdep, debug objects),
# locking and waiting primitives, and the small library helpers a bad access only passes through
# (mem*/str* functions, copy to and from user space, list helpers, refcounts, printf-style formatting)
MACHINERY = re.compile(
    r"dump_stack|show_stack|sched_show_task|printk|vprintk|panic|__warn|warn_slowpath|warn_alloc|report_bug|"
    r"handle_bug|fixup_bug|do_error|invalid_op|_trap|exc_invalid_op|asm_exc_\w+|__sanitizer|__asan|kasan|"
    r"__msan|kmsan|^(?:__)?ubsan_|^(?:__)?kfence_|check_memory_region|read_word_at_a_time|print_address_description|print_report|"
    r"lockdep|lock_acquire|lock_release|lock_class|reacquire_held_locks|spin_lock|spin_trylock|spin_unlock|"
    r"raw_read_lock|raw_read_trylock|raw_write_lock|raw_write_trylock|^down|^up_read|^up_write|mutex_lock|"
    r"mutex_trylock|mutex_unlock|mutex_remove_waiter|osq_lock|osq_unlock|__wake_up|refcount_|debug_object|"
    r"timer_is_static_object|work_is_static_object|perf_trace|_indirect_thunk_|"
    r"^(?:__)?mem(?:cpy|cmp|set|chr|move)|^(?:__)?str(?:n?cmp|s?l?n?cpy|n?len|nstr|chr)|"
    r"copy_to_user|copy_from_user|put_user|get_user|might_fault|might_sleep|"
    r"^(?:__)?list_(?:add|del|replace|move|splice)|^string|^pointer|snprintf|scnprintf|kv?asprintf|"
    r"^dev_(?:info|notice|warn|err|alert|crit|emerg)|__pfx_|kcsan|^warn_|dump_backtrace|walk_stackframe|"
    r"arch_stack_walk|program_check_exception|program_check_common|local_bh_enable|"
    # allocation and freeing, and the generic containers (trees, socket buffers) a bad pointer is found in
    r"^kmem_cache_alloc|^kmem_cache_free|^__?kmalloc|^kfree$|^kvfree|^kfree_skb|^__alloc_pages|^slab_|^__slab_|"
    r"^rb_(?:erase|next|prev|insert|first|last)|^skb_(?:put|push|pull|over_panic|under_panic)$|"
    # waiting for work, timers and threads, and the driver model's teardown a freed object is touched in
    r"^del_timer|flush_work|__cancel_work_timer|cancel_work_sync|try_to_grab_pending|flush_workqueue|"
    r"drain_workqueue|destroy_workqueue|queue_work|finish_wait|kthread_stop|wait_for_completion|"
    r"^kobject_|^device_(?:add|del|unregister|destroy|remove_file|for_each_child)$|get_device_parent|"
    r"add_uevent_var|^sysfs_remove|rollback_registered|unregister_netdev|devres_release|tty_unregister_device|"
    r"hwrng_unregister|i2c_del_adapter|__unregister_client|dummy_urb_enqueue|"
    r"^usb_(?:kill_urb|kill_anchored_urbs|control_msg|hcd_submit_urb|submit_urb|start_wait_urb)$")
# a fault-injection stack mixed into a report: its frames are not the report's (the report is corrupted)
INJECTED = re.compile(r"^should_fail")
# where a stalled CPU's work was dispatched from: a stall is titled by the frame just above the first of these
STALL_ANCHORS = re.compile(
    r"process_one_work|do_syscall_|do_fast_syscall_|sysenter_dispatch|tracesys_phase2|netif_receive_skb|do_softirq|"
    r"call_timer_fn|_run_timers|run_timer_softirq|run_ksoftirqd|smpboot_thread_fn|kthread|start_secondary|"
    r"cpu_startup_entry|ret_from_fork|vfs_write|vfs_read|vfs_iter_read|vfs_iter_write|vfs_ioctl|vfs_open|"
    r"do_iter_read|_compat_ioctl$|"
    r"do_iter_write|blkdev_(?:driver_)?ioctl|^call_(?:read|write)_iter|do_iter_readv_writev|^call_mmap|mmap_region|"
    r"do_mmap|do_dentry_open|^sock_(?:sendmsg|recvmsg|release|mmap|do_ioctl|ioctl)|^__sock_release|"
    r"__sys_setsockopt|kernel_setsockopt|sock_common_setsockopt|__sys_listen|kernel_listen|sk_common_release|"
    r"__sys_accept|kernel_accept|^compat_sock_ioctl|^nfnetlink_rcv_msg|"
    r"^(?:compat_)?(?:SYSC|SyS|__sys|___sys|__do_sys|__se_sys|__x64_sys)_(?:socketpair|connect|ioctl)|"
    r"__do_fault|handle_mm_fault|do_page_fault|^page_fault$|__fput|task_work_run|exit_to_usermode")
# a syscall entry's own prefix, dropped from the frame a stall is titled by
SYSCALL_PREFIX = re.compile(r"^(?:__x64_|__ia32_|compat_SYSC_|compat_SyS_|SYSC_|SyS_)")
# a CPU that waits for the others to run a function: stalls there are one bug, whoever called it
CROSS_CALL = re.compile(r"^smp_call_function")
# a hung task waits on a lock or for RCU: those anchors title it (RCU waits as one), else the first frame
# that is not waiting machinery
HUNG_ANCHORS: tuple[tuple[str, str | None], ...] = (("rtnl_lock", None), ("synchronize_rcu", "synchronize_rcu"),
                ("synchronize_srcu", "synchronize_rcu"), ("synchronize_net", "synchronize_rcu"),
                ("synchronize_sched", "synchronize_rcu"))
HUNG_MACHINERY = re.compile(r"sched|^u?msleep|_lock|_slowlock|down|completion|kthread|wait|synchronize|context_switch|"
                            r"__switch_to|cancel_delayed_work")


def symbol(function: str) -> str:
    """The function a compiler clone belongs to: ``f.cold``, ``f.constprop.0``, ``f.isra.0`` are ``f``."""
    return function.split(".", 1)[0]


# ---- the first line of each kernel report ----

class Blame(enum.Enum):
    """Where a report's guilty function comes from."""

    HEADER = "header"  # the report's first line names it, else the call trace
    RIP = "rip"  # the faulting instruction, else the stack
    STACK = "stack"  # the first reliable frame outside the reporting machinery
    STALL = "stall"  # a stall or lockup: the frame above where the looping work was dispatched
    HUNG = "hung"  # a hung task: the lock or wait it blocks in
    ACQUIRE = "acquire"  # lockdep: the function at the lock it takes ("at: f+0x1/0x2" after the cue)
    NONE = "none"


@dataclass(frozen=True)
class Grammar:
    """One report kind's first line in one kernel era, and how its title is made."""

    kind: ReportKind
    pattern: re.Pattern[str]
    headline: str  # the title before " in FUNC", with the pattern's groups
    blame: Blame
    skip: re.Pattern[str] | None = None  # more frames that are this kind's own machinery
    cue: re.Pattern[str] | None = None  # Blame.ACQUIRE: the line after which "at:" names the function
    access: bool = False  # the headline ends with the access ("Read"/"Write") the body tells


def _g(kind: ReportKind, pattern: str, headline: str, blame: Blame, word: str, skip: str | None = None,
       cue: str | None = None, access: bool = False) -> Grammar:
    return Grammar(kind, _screened(pattern, word), headline, blame, re.compile(skip) if skip else None,
                   re.compile(cue) if cue else None, access)


_ALLOC = r"kmem|slab|kmalloc|kcalloc|kzalloc|krealloc|vmalloc|kfree|vfree|vunmap|alloc"
_LOCKDEP_AT = r"is trying to acquire|just changed the state of lock"

# any era the parser knows; the pattern says which it covers; the first that matches a line titles it
REPORTS = (
    # all eras; 6.9+ prefixes "Oops: " to the general protection fault line
    _g(ReportKind.GPF, r"(?:Oops: )?general protection fault\b", "general protection fault", Blame.RIP,
       "general protection fault"),
    _g(ReportKind.PAGE_FAULT, r"BUG: (?:kernel NULL pointer dereference, address: \w+|"
       r"unable to handle kernel NULL pointer dereference)",
       "BUG: unable to handle kernel NULL pointer dereference", Blame.RIP, "BUG: "),
    _g(ReportKind.PAGE_FAULT, r"BUG: (?:unable to handle page fault for address|"
       r"unable to handle kernel paging request)", "BUG: unable to handle kernel paging request", Blame.RIP, "BUG: "),
    # the first line printed alone: what the fault was is lost
    _g(ReportKind.PAGE_FAULT, r"BUG: unable to handle kernel\s*$", "BUG: unable to handle kernel", Blame.NONE,
       "BUG: "),
    _g(ReportKind.KERNEL_BUG, r"kernel BUG at mm/usercopy\.c:", "BUG: bad usercopy", Blame.STACK,
       "kernel BUG at ", skip=r"usercopy|__check"),
    _g(ReportKind.KERNEL_BUG, r"kernel BUG at lib/list_debug\.c:", "BUG: corrupted list", Blame.STACK,
       "kernel BUG at "),
    _g(ReportKind.KERNEL_BUG, r"kernel BUG at (?P<file>[^\s:]+):(?P<line>\d{1,9})!", "kernel BUG", Blame.RIP,
       "kernel BUG at "),
    _g(ReportKind.MEMORY, r"BUG: KASAN: double-free or invalid-free in (?P<function>[\w.]+)",
       "KASAN: invalid-free", Blame.HEADER, "BUG: ", skip=r"kmem_|slab_|kfree|vunmap|vfree"),
    _g(ReportKind.MEMORY, r"BUG: KASAN: (?P<what>[\w-]+) in (?P<function>[\w.]+)", "KASAN: {what}",
       Blame.HEADER, "BUG: ", access=True),
    _g(ReportKind.MEMORY, r"BUG: KASAN: (?P<what>[\w-]+) on address", "KASAN: {what}", Blame.NONE, "BUG: ",
       access=True),
    _g(ReportKind.MEMORY, r"BUG: (?P<tool>KFENCE|KMSAN|KCSAN): (?P<what>[\w -]+?) in (?P<function>[\w.]+)"
       r"(?:\+0x[0-9a-f]+/0x[0-9a-f]+(?: \[(?P<module>[\w-]+)\])?)?", "{tool}: {what}", Blame.HEADER, "BUG: "),
    _g(ReportKind.SOFT_LOCKUP, r"BUG: soft lockup - CPU#\d{1,6} stuck for \d{1,9}s!", "BUG: soft lockup",
       Blame.STALL, "BUG: "),
    _g(ReportKind.HARD_LOCKUP, r"Watchdog detected hard LOCKUP on cpu \d{1,6}", "BUG: hard lockup", Blame.RIP,
       "hard LOCKUP"),
    _g(ReportKind.PANIC, r"Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: "
       r"(?P<function>[\w.]+)", "kernel panic: stack is corrupted", Blame.HEADER, "Kernel panic"),
    _g(ReportKind.PANIC, r"Kernel panic - not syncing: corrupted stack end", "kernel panic: corrupted stack end",
       Blame.STALL, "Kernel panic", skip=r"schedule|retint_kernel"),
    _g(ReportKind.PANIC, r"Kernel panic - not syncing: (?P<reason>Attempted to kill init!|Fatal exception|"
       r"Couldn't open N_TTY ldisc)", "kernel panic: {reason}", Blame.NONE, "Kernel panic"),
    _g(ReportKind.PANIC, r"Kernel panic - not syncing: (?P<reason>[^\r\n]*)", "kernel panic: {reason}", Blame.NONE,
       "Kernel panic"),
    _g(ReportKind.OOPS, r"PANIC: double fault", "PANIC: double fault", Blame.RIP, "PANIC: "),
    _g(ReportKind.OOPS, r"\bdivide error: ", "divide error", Blame.RIP, "divide error"),
    _g(ReportKind.OOPS, r"\binvalid opcode: ", "invalid opcode", Blame.RIP, "invalid opcode"),
    _g(ReportKind.OOPS, r"\bstack segment: ", "stack segment fault", Blame.RIP, "stack segment"),
    # arm and arm64
    _g(ReportKind.PAGE_FAULT, r"Unable to handle kernel (?:paging request|NULL pointer dereference|"
       r"access to user memory|read from unreadable memory|write to read-only memory|execute from non-executable "
       r"memory) at virtual address", "BUG: unable to handle kernel paging request", Blame.RIP, "Unable to handle"),
    _g(ReportKind.OOPS, r"^Internal error: (?!Oops)", "Internal error", Blame.RIP, "Internal error"),
    _g(ReportKind.OOPS, r"^Unhandled fault: ", "Unhandled fault", Blame.RIP, "Unhandled fault"),
    _g(ReportKind.OOPS, r"Oops: (?P<what>[^\r\n]*?)(?:: [0-9a-f]{4} \[#\d{1,9}\].*)?$", "Oops: {what}", Blame.RIP,
       "Oops: "),
    # "UBSAN: Undefined behaviour in f.c:12" before 5.9, "UBSAN: shift-out-of-bounds in f.c:12" since
    _g(ReportKind.UBSAN, r"UBSAN: Undefined behaviour in (?P<file>\S+?):\d{1,9}", "UBSAN: undefined-behaviour",
       Blame.STACK, "UBSAN: "),
    _g(ReportKind.UBSAN, r"UBSAN: (?P<what>[\w-]+) in (?P<file>\S+?):\d{1,9}", "UBSAN: {what}", Blame.STACK,
       "UBSAN: "),
    _g(ReportKind.HUNG_TASK, r"INFO: task .{1,64}:\d{1,9} blocked for more than \d{1,9} seconds",
       "INFO: task hung", Blame.HUNG, "INFO: "),
    _g(ReportKind.HUNG_TASK, r"INFO: task .{1,64}:\d{1,9} can't die for more than \d{1,9} seconds",
       "INFO: task can't die", Blame.HUNG, "INFO: "),
    _g(ReportKind.RCU_STALL, r"INFO: rcu_(?:preempt|sched|bh) (?:self-)?detected(?: expedited)? stalls?",
       "INFO: rcu detected stall", Blame.STALL, "INFO: ", skip=r"apic_timer_interrupt|rcu"),
    _g(ReportKind.RCU_STALL, r"INFO: \w+ (?:detected stalls? on CPUs/tasks|self-detected stall on CPU)",
       "INFO: rcu detected stall", Blame.STALL, "INFO: ", skip=r"apic_timer_interrupt|rcu"),
    # lockdep; its reports open with a line of '='
    _g(ReportKind.LOCKDEP, r"(?:WARNING|INFO): (?:possible circular locking dependency|possible recursive locking|"
       r"possible irq lock inversion dependency|SOFTIRQ-safe -> SOFTIRQ-unsafe lock order) detected",
       "possible deadlock", Blame.ACQUIRE, "WARNING: ", cue=_LOCKDEP_AT),
    _g(ReportKind.LOCKDEP, r"(?:WARNING|INFO): inconsistent lock state", "inconsistent lock state", Blame.ACQUIRE,
       "WARNING: ", cue=r"\btakes\b"),
    _g(ReportKind.LOCKDEP, r"(?P<level>WARNING|INFO): suspicious RCU usage", "{level}: suspicious RCU usage",
       Blame.STACK, "WARNING: ", skip=r"rcu|" + _ALLOC),
    _g(ReportKind.LOCKDEP, r"(?P<level>WARNING|BUG): lock held when returning to user space",
       "{level}: lock held when returning to user space", Blame.ACQUIRE, "WARNING: ",
       cue=r"leaving the kernel with locks still held"),
    _g(ReportKind.LOCKDEP, r"(?P<level>WARNING|BUG): bad unlock balance detected", "{level}: bad unlock balance",
       Blame.ACQUIRE, "WARNING: ", cue=r"is trying to release lock"),
    _g(ReportKind.LOCKDEP, r"(?P<level>WARNING|BUG): held lock freed", "{level}: held lock freed", Blame.ACQUIRE,
       "WARNING: ", cue=r"held lock freed"),
    _g(ReportKind.LOCKDEP, r"(?P<level>WARNING|BUG): .{0,80}still has locks held", "{level}: still has locks held",
       Blame.ACQUIRE, "WARNING: ", cue=r"still has locks held"),
    _g(ReportKind.LOCKDEP, r"INFO: trying to register non-static key", "INFO: trying to register non-static key",
       Blame.STACK, "INFO: ", skip=r"stack|lock|IRQ"),
    _g(ReportKind.MEMORY, r"BUG: memory leak", "memory leak", Blame.STACK, "BUG: ",
       skip=r"kmemleak|kmalloc|kcalloc|kzalloc|vmalloc|mmap|kmem|slab|alloc|create_object|idr_get|list_lru_init|"
       r"kasprintf|kvasprintf|pcpu_create|strdup|strndup|memdup"),
    _g(ReportKind.OTHER, r"BUG: sleeping function called from invalid context",
       "BUG: sleeping function called from invalid context", Blame.STACK, "BUG: "),
    # detected where the task sleeps: the scheduler and the sleep it was called through are passed over
    _g(ReportKind.OTHER, r"BUG: scheduling while atomic", "BUG: scheduling while atomic", Blame.STACK, "BUG: ",
       skip=r"schedule|^u?msleep|^ssleep"),
    _g(ReportKind.OTHER, r"unregister_netdevice: waiting for \S+ to become free",
       "unregister_netdevice: waiting for DEV to become free", Blame.NONE, "unregister_netdevice"),
    _g(ReportKind.OTHER, r"WARNING: kernel stack (?:regs at|frame pointer at) \S+ in \S+ has bad",
       "WARNING: kernel stack regs has bad value", Blame.NONE, "WARNING: "),
    _g(ReportKind.OTHER, r"BUG: using (?P<what>__this_cpu_\w+\(\)|smp_processor_id\(\)) in preemptible",
       "BUG: using {what} in preemptible code", Blame.STACK, "BUG: ", skip=r"preempt|smp_processor_id"),
    _g(ReportKind.OTHER, r"BUG: spinlock (?P<what>lockup suspected|already unlocked|recursion|bad magic|wrong owner|"
       r"wrong CPU)", "BUG: spinlock {what}", Blame.STACK, "BUG: ", skip=r"spin_"),
    _g(ReportKind.OTHER, r"BUG: stack guard page was hit", "BUG: stack guard page was hit", Blame.RIP, "BUG: "),
    _g(ReportKind.OTHER, r"BUG: Dentry .{1,80} still in use \(\d{1,9}\) \[unmount of (?P<fs>[^\]]+)\]",
       "BUG: Dentry still in use [unmount of {fs}]", Blame.NONE, "BUG: "),
    _g(ReportKind.OTHER, r"BUG: (?P<what>Bad page state|Bad page map|Bad rss-counter state|workqueue lockup|"
       r"non-zero nr_p[tm][ed]s on freeing mm)", "BUG: {what}", Blame.NONE, "BUG: "),
    # last: any other "BUG: WHAT[: details]" ("scheduling while atomic", ...) is kept,
    # titled by what precedes its first colon
    _g(ReportKind.OTHER, r"\bBUG: (?P<what>[^:\r\n]{1,80})", "BUG: {what}", Blame.STACK, "BUG: "),
)
BLAMES = {g.kind: g.blame for g in REPORTS}

# a WARNING raised by a checker on behalf of its caller: the checker's file (and function) name the bug,
# and the checker's own frames are passed over
WARNING_FAMILIES = (
    (re.compile(r"^lib/debugobjects\.c$"), re.compile(r"debug_print|debug_check"), "WARNING: ODEBUG bug",
     re.compile(r"debug_|rcu|hrtimer_|timer_|work_|percpu_|kmem_|slab_|kfree|vunmap|vfree|__free_|kobject_")),
    (re.compile(r"^mm/usercopy\.c$"), re.compile(r"usercopy_warn"), "WARNING: bad usercopy",
     re.compile(r"usercopy|__check")),
    (re.compile(r"^lib/kobject\.c$"), re.compile(r"^kobject_"), "WARNING: kobject bug", re.compile(r"kobject_")),
    (re.compile(r"^fs/proc/generic\.c$"), re.compile(r"proc_register"), "WARNING: proc registration bug",
     re.compile(r"proc_")),
    (re.compile(r"^lib/refcount\.c$"), re.compile(r"^refcount_"), "WARNING: refcount bug",
     re.compile(r"refcount|kobject_")),
    (re.compile(r"^kernel/locking/lockdep\.c$"), re.compile(r"lock_"), "WARNING: locking bug",
     re.compile(r"lock_sock|release_sock")),
    (re.compile(r"^mm/.*\.c$"), re.compile(r"^k?.?malloc"), "WARNING: kmalloc bug",
     re.compile(r"kmalloc|kcalloc|kzalloc|krealloc|vmalloc|slab|kmem")),
)

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
