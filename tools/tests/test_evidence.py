"""The evidence parser on console logs captured from real guests (see capture_logs.py)."""

from __future__ import annotations

import bz2
import gzip
import json
import lzma
import random
import re
import shlex
import sys
import types
from pathlib import Path

import pytest

from kvmnull.commands.evidence import nearest
from kvmnull.commands.main import main, parser
from kvmnull.core.errors import LogError
from kvmnull.evidence import grammar
from kvmnull.evidence.kernel_log import (
    Crash,
    HookFrom,
    HookRefused,
    KernelReport,
    Kind,
    Load,
    OptionalNull,
    Probe,
    Report,
    ReportKind,
    Seen,
    Unadmitted,
    VendorRefused,
    Warn,
    against_nearer,
    clean,
    of_type,
    parse,
    release_in,
)
from kvmnull.evidence.reading import looks_like_kernel_log, read_log
from kvmnull.fetch import packages
from kvmnull.kernel.hooks import HookSet

from .conftest import DATA, log


def test_refusal_names_every_hook_and_the_load_errno() -> None:
    records = parse(log("refused.log"))
    refused = {(r.vendor, r.table, r.hook) for r in of_type(records, HookRefused)}
    assert refused == {("kvm_null", "x86", "vcpu_create"), ("kvm_null", "x86", "vcpu_free")}
    assert {r.count for r in of_type(records, VendorRefused)} == {2}
    loads = of_type(records, Load)
    assert any(r.module == "kvm-null" and r.status == 22 and r.errno_name == "EINVAL" for r in loads)
    # busybox insmod's own message: strerror mapped back to the errno name
    assert any(r.module == "kvm-null.ko" and r.errno_name == "EINVAL" and r.reason for r in loads)
    assert not of_type(records, Warn)


def test_warn_names_the_hook_and_carries_taint() -> None:
    warns = of_type(parse(log("warned.log")), Warn)
    assert len(warns) == 1
    warn = warns[0]
    assert (warn.table, warn.hook) == ("x86", "vcpu_create")
    assert warn.file == "arch/x86/kvm/x86.c" and warn.module == "kvm"
    assert warn.function == "kvm_check_hook"
    assert warn.taint is not None and set("OEN") <= set(warn.taint)
    assert warn.message == "vendor kvm_null: mandatory kvm_x86_ops.vcpu_create is NULL"
    assert warn.to_json()["kind"] == "warn" and warn.to_json()["hook"] == "vcpu_create"


def test_upstream_anonymous_warns_are_resolved_through_the_target_header(captured_hooks: HookSet) -> None:
    # the log is from a 6.12.117 guest: its own header resolves it
    warns = of_type(parse(log("upstream-warn.log"), captured_hooks), Warn)
    assert [(w.file, w.source_line, w.hook) for w in warns] == [
        ("arch/x86/include/asm/kvm-x86-ops.h", 25, "vcpu_create"),
        ("arch/x86/include/asm/kvm-x86-ops.h", 36, "get_cpl"),
    ]
    assert all(w.function == "kvm_x86_vendor_init" for w in warns)
    # the second WARN is raised on a kernel the first one already tainted W
    assert warns[0].taint and "W" not in warns[0].taint
    assert warns[1].taint and "W" in warns[1].taint


def test_without_the_header_upstream_warns_stay_unresolved() -> None:
    warns = of_type(parse(log("upstream-warn.log")), Warn)
    assert len(warns) == 2 and all(w.hook is None for w in warns)


def test_clean_load_and_lifecycle() -> None:
    records = parse(log("clean.log"))
    optional = of_type(records, OptionalNull)
    assert [(r.vendor, r.count, r.hooks) for r in optional] == [("kvm_null", 1, ("vm_destroy",))]
    steps = [(r.step, r.result) for r in of_type(records, Probe)]
    assert ("run", "ok") in steps and all(result == "ok" for _, result in steps)
    assert not of_type(records, Warn) and not of_type(records, KernelReport)


def test_panic_title() -> None:
    crashes = of_type(parse(log("panic.log")), Crash)
    # syzbot's form of "Kernel panic - not syncing: sysrq triggered crash"
    assert crashes[0].title == "kernel panic: sysrq triggered crash"


def test_hang_has_no_crash_and_stops_mid_lifecycle() -> None:
    records = parse(log("hang.log"))
    assert not of_type(records, Crash)
    steps = [r.step for r in of_type(records, Probe)]
    assert steps[-1] == "set_sregs" and "run" not in steps


def _noisy(text: str, seed: int) -> str:
    """The same log as other consoles and dmesg variants show it."""
    rng = random.Random(seed)
    out = []
    for line in text.replace("\r", "").split("\n"):
        if line.startswith("[") and rng.random() < 0.5:
            # printk caller id, as with CONFIG_PRINTK_CALLER
            line = line.replace("] ", "][  T153] ", 1)
        if rng.random() < 0.3:
            line = "\x1b[0m" + line + "\x1b[?7l"
        out.append(line)
    return "\r\n".join(out)


REPORT_LOGS = tuple(sorted(p.name for p in DATA.glob("report-*.log")))


def test_noise_does_not_change_the_records(captured_hooks: HookSet) -> None:
    for name in ("refused.log", "warned.log", "upstream-warn.log", "panic.log", "oops.log", *REPORT_LOGS):
        plain = [(r.kind, r.to_json()) for r in parse(log(name), captured_hooks)]
        assert plain
        for seed in range(3):
            noisy = [(r.kind, r.to_json()) for r in parse(_noisy(log(name), seed), captured_hooks)]
            # the cleaned text and every field are the same; only line numbers could differ, and do not
            assert noisy == plain, (name, seed)


def test_timestamps_stripped_or_absent() -> None:
    line = "[    2.083632] vendor kvm_null: mandatory kvm_x86_ops.vcpu_create is NULL"
    assert clean(line) == clean(line.split("] ", 1)[1]) == line.split("] ", 1)[1]
    assert clean("<4>[   12.5][    C1] WARNING: x") == "WARNING: x"


def test_kernel_line_interleaved_with_user_output() -> None:
    mixed = ("kvmnull-probe: step create_vcpu ok[    2.2] kvm: vendor kvm_null: mandatory "
             "kvm_pmu_ops.refresh is NULL")
    records = parse(mixed)
    assert [r.kind for r in records] == [Kind.PROBE, Kind.HOOK_REFUSED]
    assert isinstance(records[1], HookRefused) and (records[1].table, records[1].hook) == ("pmu", "refresh")


def test_never_raises_on_arbitrary_input(captured_hooks: HookSet) -> None:
    # parse() has no exception handler: an exception anywhere fails this test
    rng = random.Random(1234)
    names = ("warned.log", "upstream-warn.log", "panic.log", "oops.log", "refused.log", "clean.log", *REPORT_LOGS)
    pieces = [line for name in names for line in log(name).split("\n")]
    found = 0
    for _ in range(400):
        choice = rng.random()
        if choice < 0.3:
            text = "".join(chr(rng.randrange(0, 0x3000)) for _ in range(rng.randrange(0, 400)))
        elif choice < 0.5:
            text = bytes(rng.randrange(256) for _ in range(rng.randrange(0, 600))).decode("utf-8", "replace")
        else:  # real lines, cut, shuffled and spliced: half-finished splats and records
            text = "\n".join(rng.choice(pieces)[: rng.randrange(0, 160)] for _ in range(rng.randrange(0, 60)))
        records = parse(text, captured_hooks)
        found += len(records)
        assert all(r.line >= 1 and r.to_json()["kind"] for r in records)
    assert found > 100  # the spliced real lines did produce records to get wrong
    # numbers far longer than any a kernel prints (int() refuses over 4300 digits)
    huge = "9" * 5000
    # none of these can be what a kernel or the harness wrote: no record claims a number the line does not hold
    for line in (f"kvmnull-load: kvm-null status={huge}", f"kvmnull-unload: kvm-null status={huge}",
                 f"kvm: vendor x refused: {huge} mandatory hooks NULL",
                 f"WARNING: CPU: 0 PID: 1 at a.h:{huge} f+0x1/0x2 [kvm]"):
        assert parse(line, captured_hooks) == [], line


def test_oops_title_location_and_the_panic_it_caused() -> None:
    # a real oops (2-vCPU TCG guest, see docs/spec.md section 9), then oops=panic
    crashes = of_type(parse(log("oops.log")), Crash)
    assert [(c.title, c.function) for c in crashes] == [
        ("Oops: int3 in __schedule", "__schedule"),
        ("Oops: int3 in __schedule", "__schedule"),
        ("kernel panic: Fatal exception", None),  # "... Fatal exception in interrupt": one title for both
    ]


def test_the_log_names_its_kernel() -> None:
    assert release_in(log("upstream-warn.log")) == "6.12.117+deb12-cloud-amd64"
    assert release_in(log("upstream-warn-6.1.log")) == "6.1.0-56-cloud-amd64"
    assert release_in(log("oops.log")) == "6.12.117+deb12-cloud-amd64"
    assert release_in(log("clean.log")) is None  # no report, no banner: nothing to go by
    assert release_in("[    0.000000] Linux version 7.3.4+deb13-cloud-amd64 (debian-kernel@lists.debian.org)") == (
        "7.3.4+deb13-cloud-amd64")


def test_a_6_1_upstream_warn_resolves_with_the_6_1_header() -> None:
    from kvmnull.kernel import kconfig
    from kvmnull.kernel.hooks import load_hooks

    from .conftest import DATA

    captured = DATA / "kernels" / "6.1.0-56-cloud-amd64"
    hooks_6_1 = load_hooks(captured / "src", kconfig.read_dotconfig(captured / "config").evaluator())
    warns = of_type(parse(log("upstream-warn-6.1.log"), hooks_6_1), Warn)
    assert [(w.file, w.source_line, w.function, w.hook) for w in warns] == [
        ("arch/x86/include/asm/kvm-x86-ops.h", 25, "kvm_arch_hardware_setup", "vcpu_create"),
        ("arch/x86/include/asm/kvm-x86-ops.h", 36, "kvm_arch_hardware_setup", "get_cpl"),
    ]
    # upstream 6.1 registers the vendor anyway
    loads = [r for r in of_type(parse(log("upstream-warn-6.1.log")), Load) if r.status is not None]
    assert [(r.module, r.status) for r in loads] == [("kvm-null", 0)]


def test_a_7_3_warn_has_the_6_19_first_line_and_names_every_table() -> None:
    warns = of_type(parse(log("warned-7.3.log")), Warn)
    # "WARNING: x86.c:7035 at kvm_check_hook+0xc4/0x110 [kvm], CPU#0: insmod/104"
    assert {(w.file, w.function, w.module) for w in warns} == {("x86.c", "kvm_check_hook", "kvm")}
    assert [(w.table, w.hook) for w in warns] == [("x86", "vcpu_create"), ("pmu", "refresh"), ("nested", "get_state")]
    assert all(w.message and "is NULL" in w.message for w in warns)
    assert [w.taint for w in warns] == ["GOEN", "GWOEN", "GWOEN"]
    assert release_in(log("warned-7.3.log")) == "7.3.4+deb13-cloud-amd64"


def test_a_7_3_stock_kvm_ko_does_not_admit_kvm_null() -> None:
    records = parse(log("upstream-unadmitted-7.3.log"))
    denied = of_type(records, Unadmitted)
    assert {r.namespace for r in denied} == {"module:kvm-amd,kvm-intel"}
    assert {r.module for r in denied} == {"kvm_null"}
    assert {"kvm_x86_vendor_init", "kvm_init", "kvm_exit"} <= {r.symbol for r in denied}
    assert not of_type(records, Warn) and not of_type(records, HookRefused)
    loads = [r for r in of_type(records, Load) if r.status is not None]
    assert [(r.module, r.status) for r in loads] == [("kvm-null", 22)]


def test_a_7_3_anonymous_upstream_warn_resolves_through_the_7_3_header() -> None:
    from kvmnull.kernel import kconfig
    from kvmnull.kernel.hooks import load_hooks

    from .conftest import DATA

    captured = DATA / "kernels" / "7.3.4+deb13-cloud-amd64"
    hooks_7_3 = load_hooks(captured / "src", kconfig.read_dotconfig(captured / "config").evaluator())
    text = log("upstream-knockout-7.3.log")  # the stock kvm.ko, kvm-amd with knockout=x86.vcpu_create
    warns = of_type(parse(text, hooks_7_3), Warn)
    assert [(w.file, w.source_line, w.function, w.module, w.table, w.hook) for w in warns] == [
        ("arch/x86/include/asm/kvm-x86-ops.h", 27, "kvm_x86_vendor_init", "kvm", "x86", "vcpu_create")]
    assert warns[0].message is None and warns[0].title == "WARNING in kvm_x86_vendor_init"
    assert release_in(text) == "7.3.4+deb13-cloud-amd64"


# ---- reports provoked by kvmnull-provoke.ko (selftests/provoke/) in real guests ----

def reports(name: str) -> list[tuple[str, ReportKind, str, str | None, bool]]:
    return [(type(r).__name__, r.report, r.title, r.module, r.complete)
            for r in of_type(parse(log(name)), KernelReport)]


PANIC = ("Crash", ReportKind.PANIC, "kernel panic: Fatal exception", None, True)


@pytest.mark.parametrize(("name", "expected"), [
    # the Oops line under a NULL dereference or a kernel BUG belongs to it: one crash, then the panic
    # syzbot titles "BUG: kernel NULL pointer dereference, address: 0" (4.17+) as the older kernels' line
    ("report-null_deref-6.12.log", [("Crash", ReportKind.PAGE_FAULT, "BUG: unable to handle kernel NULL pointer "
                                     "dereference in "
                                     "provoke_null_deref", "kvmnull_provoke", True), PANIC]),
    ("report-bug-6.12.log", [("Crash", ReportKind.KERNEL_BUG, "kernel BUG in provoke_bug", "kvmnull_provoke", True),
                             PANIC]),
    # "Oops: general protection fault" (6.9+) and "general protection fault" (6.1) alike
    ("report-null_deref-6.1.log", [("Crash", ReportKind.PAGE_FAULT, "BUG: unable to handle kernel NULL pointer "
                                    "dereference in "
                                    "provoke_null_deref", "kvmnull_provoke", True), PANIC]),
    ("report-gpf-6.12.log", [("Crash", ReportKind.GPF, "general protection fault in provoke_gpf", "kvmnull_provoke",
                              True), PANIC]),
    ("report-gpf-6.1.log", [("Crash", ReportKind.GPF, "general protection fault in provoke_gpf", "kvmnull_provoke",
                             True), PANIC]),
    ("report-gpf-7.3.log", [("Crash", ReportKind.GPF, "general protection fault in provoke_gpf", "kvmnull_provoke",
                             True), PANIC]),
    ("report-kfence_uaf-6.12.log", [("Report", ReportKind.MEMORY, "KFENCE: use-after-free read in "
                                     "provoke_kfence_uaf", "kvmnull_provoke", True)]),
    ("report-ubsan_bounds-7.3.log", [("Report", ReportKind.UBSAN, "UBSAN: array-index-out-of-bounds in "
                                      "provoke_ubsan_bounds", "kvmnull_provoke", True)]),
    ("report-ubsan_shift-7.3.log", [("Report", ReportKind.UBSAN, "UBSAN: shift-out-of-bounds in provoke_ubsan_shift",
                                     "kvmnull_provoke", True)]),
    # a "BUG:" with no grammar of its own is kept, titled by its words, blamed through the stack
    ("report-atomic_sleep-6.12.log", [("Report", ReportKind.OTHER, "BUG: scheduling while atomic in "
                                       "provoke_atomic_sleep", "kvmnull_provoke", True)]),
])
def test_crash_and_memory_reports_are_titled_and_blamed(name: str, expected: list[tuple[object, ...]]) -> None:
    assert reports(name) == expected


@pytest.mark.parametrize(("name", "kind", "title", "module"), [
    # a CPU that loops is caught anywhere in the loop (here delay_tsc under provoke_spin): syzbot titles a soft
    # lockup or an RCU stall by the frame above where the work was dispatched (the syscall, without its
    # __x64_ prefix), so that one loop is one title
    ("report-spin-6.12.log", ReportKind.SOFT_LOCKUP, "BUG: soft lockup in sys_finit_module", None),
    ("report-spin-6.1.log", ReportKind.SOFT_LOCKUP, "BUG: soft lockup in __do_sys_finit_module", None),
    # the hung task sleeps in msleep(), under the scheduler's frames
    ("report-sleep-6.12.log", ReportKind.HUNG_TASK, "INFO: task hung in provoke_sleep", "kvmnull_provoke"),
    ("report-sleep-7.3.log", ReportKind.HUNG_TASK, "INFO: task hung in provoke_sleep", "kvmnull_provoke"),
    ("report-rcu_stall-6.12.log", ReportKind.RCU_STALL, "INFO: rcu detected stall in sys_finit_module", None),
    ("report-rcu_stall-7.3.log", ReportKind.RCU_STALL, "INFO: rcu detected stall in sys_finit_module", None),
])
def test_lockups_stalls_and_hung_tasks(name: str, kind: ReportKind, title: str, module: str | None) -> None:
    found = reports(name)
    assert found and all(r == ("Report", kind, title, module, True) for r in found), found


def test_a_report_and_a_warn_in_one_log() -> None:
    # sleeping in an RCU read-side section: first a WARN with its message, then the stall it causes
    records = parse(log("report-rcu_stall-6.12.log"))
    warns = of_type(records, Warn)
    assert [(w.message, w.function, w.title) for w in warns] == [
        ("Voluntary context switch within RCU read-side critical section!", "rcu_note_context_switch",
         "WARNING in rcu_note_context_switch")]
    assert [r.report for r in of_type(records, Report)] == [ReportKind.RCU_STALL]


def test_a_report_cut_short_is_kept_and_marked_incomplete() -> None:
    # the console of a guest that died (or a log cut) right after the first line of a report
    text = log("report-sleep-6.12.log")
    cut = text[: text.index("blocked for more than") + 60]
    found = of_type(parse(cut), Report)
    # syzbot's title of a report cut short of its guilty frame
    assert [(r.report, r.title, r.complete) for r in found] == [
        (ReportKind.HUNG_TASK, "INFO: task hung in corrupted", False)]
    assert "(report incomplete)" in found[0].summary()


def test_report_records_in_json() -> None:
    record = of_type(parse(log("report-kfence_uaf-6.12.log")), Report)[0]
    data = record.to_json()
    assert (data["kind"], data["report"], data["title"]) == (
        "report", "memory error", "KFENCE: use-after-free read in provoke_kfence_uaf")


# ---- one message, two sightings: the console and the harness's dmesg dump ----

def test_a_message_on_the_console_and_in_dmesg_is_one_record_seen_both() -> None:
    # refused.log: two loads refused, each message on the console and again between the dmesg markers
    records = parse(log("refused.log"))
    assert [(r.stamp, r.hook, r.seen) for r in of_type(records, HookRefused)] == [
        ("2.298539", "vcpu_create", Seen.BOTH), ("2.299040", "vcpu_free", Seen.BOTH),
        ("2.357820", "vcpu_create", Seen.BOTH), ("2.357950", "vcpu_free", Seen.BOTH)]
    assert [(r.stamp, r.seen, r.line) for r in of_type(records, VendorRefused)] == [
        ("2.299692", Seen.BOTH, 18), ("2.358052", Seen.BOTH, 21)]  # the line of the console's copy
    # the harness's own lines are on the console only; a WARN the console level hid, in dmesg only
    assert {r.seen for r in of_type(records, Load)} == {Seen.CONSOLE}
    assert [w.seen for w in of_type(parse(log("warned.log")), Warn)] == [Seen.DMESG]
    assert of_type(records, VendorRefused)[0].to_json()["seen"] == "both"


def test_the_same_messages_of_two_boots_stay_two_records() -> None:
    # the same console twice, as a log of two guests that printed alike: a boot's printk times start again
    twice = log("refused.log") + log("refused.log")
    refused = of_type(parse(twice), VendorRefused)
    assert len(refused) == 4 and refused[2].line > refused[1].line


# ---- the prefilter ----

def _messages_of_every_log() -> list[str]:
    return [clean(part) for path in sorted(DATA.glob("*.log")) for raw in log(path.name).split("\n")
            for part in re.split(r"\[\s*\d+\.\d+\]", raw)]


def test_the_prefilter_admits_every_line_a_screened_pattern_matches() -> None:
    matched = set()
    for line in _messages_of_every_log():
        for pattern, words in grammar.SCREENED:
            if m := pattern.search(line):
                matched.add(pattern.pattern)
                assert any(w in m.group(0) for w in words), (pattern.pattern, line)
                assert grammar.PREFILTER.search(line), line
    # the logs exercise most grammars (lockdep and hard lockups have no real log: see test_data/README.md)
    assert len(matched) >= 20, sorted(matched)


def test_the_prefilter_changes_no_record(monkeypatch: pytest.MonkeyPatch, captured_hooks: HookSet) -> None:
    names = sorted(p.name for p in DATA.glob("*.log"))
    screened = {name: [r.to_json() for r in parse(log(name), captured_hooks)] for name in names}
    monkeypatch.setattr(grammar, "PREFILTER", re.compile(""))  # every line read in full
    assert {name: [r.to_json() for r in parse(log(name), captured_hooks)] for name in names} == screened


# ---- reading a file as a log ----

def test_gzip_and_xz_logs_are_read_by_their_content(tmp_path: Path) -> None:
    raw = (DATA / "oops.log").read_bytes()
    for name, data in (("oops.log.gz", gzip.compress(raw)), ("oops.xz", lzma.compress(raw)),
                       ("oops-gzip-named.log", gzip.compress(raw)), ("oops-xz-named.txt", lzma.compress(raw))):
        (tmp_path / name).write_bytes(data)
        assert read_log(str(tmp_path / name)) == log("oops.log"), name


@pytest.mark.parametrize(("content", "why"), [
    (b"", "is empty"),
    (b"\n \r\n\t\n", "is empty"),
    (gzip.compress(b"")[:5], "cannot be decompressed"),
    (bz2.compress(b"[    2.1] Kernel panic - not syncing: x\n"), "bzip2"),
    (bytes(random.Random(7).randrange(256) for _ in range(4096)), "binary file"),
])
def test_what_is_no_text_log_is_an_error_naming_the_file_and_why(tmp_path: Path, content: bytes, why: str) -> None:
    path = tmp_path / "given.log"
    path.write_bytes(content)
    with pytest.raises(LogError) as caught:
        read_log(str(path))
    assert str(path) in caught.value.message and why in caught.value.message


def test_a_truncated_compressed_real_log_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "panic.log.xz"
    path.write_bytes(lzma.compress((DATA / "panic.log").read_bytes())[:200])
    with pytest.raises(LogError, match="xz-compressed but cannot be decompressed"):
        read_log(str(path))


def test_an_executable_is_no_log() -> None:
    with pytest.raises(LogError, match="an ELF binary"):
        read_log(str(Path(sys.executable).resolve()))


def test_kernel_logs_look_like_kernel_logs() -> None:
    assert all(looks_like_kernel_log(log(p.name)) for p in DATA.glob("*.log"))
    # apt's own output is text, but no kernel log
    assert not looks_like_kernel_log((DATA / "apt-madison.txt").read_text())


# ---- the command ----

def test_evidence_of_a_binary_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence", "/bin/ls"]) == 2
    err = capsys.readouterr().err
    assert "/bin/ls is not a text log: an ELF binary" in err


@pytest.mark.parametrize(("name", "fail_on", "status"), [
    ("panic.log", "crash", 1),
    ("oops.log", "crash", 1),
    ("oops.log", "warn,report", 0),
    ("clean.log", "crash,warn,report,refused", 0),
    ("refused.log", "refused", 1),
    ("warned.log", "warn", 1),
    ("report-kfence_uaf-6.12.log", "report", 1),
])
def test_fail_on_gives_ci_its_exit_status(name: str, fail_on: str, status: int,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence", str(DATA / name), "--no-kernel", "--fail-on", fail_on]) == status
    assert ("--fail-on" in capsys.readouterr().err) == bool(status)


def test_fail_on_an_unknown_kind_lists_the_valid_ones(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence", str(DATA / "panic.log"), "--fail-on", "crash,oops"]) == 2
    err = capsys.readouterr().err
    assert "'oops' is not a record kind" in err
    assert all(kind.value in err for kind in Kind) and "refused" in err


def test_json_to_standard_output(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                 capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["evidence", str(DATA / "refused.log"), "--no-kernel", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert [(r["kind"], r["seen"]) for r in data["records"]][:3] == [
        ("hook_refused", "both"), ("hook_refused", "both"), ("vendor_refused", "both")]
    assert "line  kind" in err  # the table
    assert not (tmp_path / "-").exists()


def test_nearest_picks_the_closest_release_of_the_series(tmp_path: Path) -> None:
    trees = [_tree(tmp_path, r) for r in ("6.12.117+deb12-cloud-amd64", "6.1.0-40-cloud-amd64",
                                          "6.1.0-57-cloud-amd64")]
    assert nearest("6.1.0-56-cloud-amd64", trees) == trees[2]
    assert nearest("6.1.0-41-cloud-amd64", trees) == trees[1]
    assert nearest("6.12.100+deb12-cloud-amd64", trees) == trees[0]
    assert nearest("7.3.4+deb13-cloud-amd64", trees) is None


def _tree(tmp_path: Path, release: str) -> packages.KernelTree:
    abi = release.removesuffix("-cloud-amd64")
    return packages.KernelTree(tmp_path / abi, release, "0", ".".join(release.split(".")[:2]), {})


@pytest.fixture
def apt_moved_on(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache holds 6.1.0-57 only, and apt serves 6.1.0-57 but no longer the 6.1.0-56 the log is from."""
    from kvmnull.commands import evidence as command
    from kvmnull.kernel import kconfig
    from kvmnull.kernel.hooks import load_hooks

    captured = DATA / "kernels" / "6.1.0-56-cloud-amd64"
    # 6.1.0-57's ops header is 6.1.0-56's: the captured one stands in for it
    hooks = load_hooks(captured / "src", kconfig.read_dotconfig(captured / "config").evaluator())
    newer = packages.PackageSet("6.1.0-57-cloud-amd64", "6.1.192-3", "6.1", "cloud-amd64", ())
    monkeypatch.setattr(packages, "cached_trees", lambda cache: [_tree(tmp_path, "6.1.0-57-cloud-amd64")])
    monkeypatch.setattr(packages, "resolve", lambda spec, cache, progress: None if spec.abi else newer)
    monkeypatch.setattr(command, "derive", lambda tree, progress: types.SimpleNamespace(hooks=hooks))


@pytest.mark.usefixtures("apt_moved_on")
def test_a_release_apt_no_longer_serves_is_said_so_and_nearest_offered(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence", str(DATA / "upstream-warn-6.1.log")]) == 0
    out, err = capsys.readouterr()
    assert "apt no longer serves (the newest 6.1 it serves is 6.1.0-57-cloud-amd64)" in err
    assert "--nearest resolves against the cached 6.1.0-57-cloud-amd64" in err
    assert "kvmnull fetch" not in err  # no command that cannot work
    assert "-> hook ?" in out
    # --fetch cannot fetch it: an error that says so, and what to do
    assert main(["evidence", str(DATA / "upstream-warn-6.1.log"), "--fetch"]) == 2
    err = capsys.readouterr().err
    assert "apt no longer serves 6.1.0-56" in err and "add --nearest" in err


@pytest.mark.usefixtures("apt_moved_on")
def test_nearest_marks_every_warn_it_resolves(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["evidence", str(DATA / "upstream-warn-6.1.log"), "--nearest", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert (data["kernel"], data["kernel_from"], data["kernel_nearer"]) == ("6.1.0-57-cloud-amd64", "--nearest", True)
    warns = [r for r in data["records"] if r["kind"] == "warn"]
    assert [(w["hook"], w["hook_from"], w["nearer_release"]) for w in warns] == [
        ("vcpu_create", "header", "6.1.0-57-cloud-amd64"), ("get_cpl", "header", "6.1.0-57-cloud-amd64")]
    assert err.count("(resolved against the nearer 6.1.0-57-cloud-amd64)") == 2


def test_a_warn_named_by_its_message_is_not_marked_nearer() -> None:
    records = against_nearer(parse(log("warned-7.3.log")), "7.3.9+deb13-cloud-amd64")
    assert [(w.hook_from, w.nearer_release) for w in of_type(records, Warn)] == [(HookFrom.MESSAGE, None)] * 3


def test_the_fetch_command_a_note_names_is_one_kvmnull_takes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    served = packages.PackageSet("6.1.0-56-cloud-amd64", "6.1.192-2", "6.1", "cloud-amd64", ())
    monkeypatch.setattr(packages, "cached_trees", lambda cache: [])
    monkeypatch.setattr(packages, "resolve", lambda spec, cache, progress: served)
    assert main(["evidence", str(DATA / "upstream-warn-6.1.log"), "--cache", str(tmp_path)]) == 0
    named = re.search(r"`kvmnull (fetch [^`]+)`", capsys.readouterr().err)
    assert named, "no fetch command named"
    args = parser().parse_args(shlex.split(named.group(1)))
    assert (args.command, args.kernel, args.cache) == ("fetch", "6.1.0-56", str(tmp_path))
    assert packages.KernelSpec.parse(args.kernel).abi == "6.1.0-56"


# ---- titles as syzbot writes them, on syzkaller's labelled corpus where it is present ----

SYZKALLER_CORPUS = Path(__file__).resolve().parents[3] / "shared" / "peer-corpus" / "syzkaller"


@pytest.mark.parametrize(("name", "rule"), [
    ("147", "KASAN: the bug type and the access"),
    ("120", "KASAN: a write"),
    ("157", "a WARNING in lib/refcount.c is a refcount bug, blamed past the refcount helpers"),
    ("185", "lockdep: the function at the lock being acquired"),
    ("432", "a task hung in an RCU wait: synchronize_rcu, whichever of its kinds"),
    ("436", "a task hung on rtnl_lock"),
    ("269", "a stall: the frame above the dispatching one (the ioctl's own handler)"),
    ("297", "a stall waiting on the other CPUs: smp_call_function"),
    ("141", "a panic_on_warn panic belongs to the WARNING before it"),
    ("103", "a report cut short of its guilty frame: in corrupted"),
    ("173", "a WARNING in lib/debugobjects.c is an ODEBUG bug"),
    ("126", "a memory leak: the allocating frame past the allocators"),
])
def test_titles_agree_with_syzbots_on_its_corpus(name: str, rule: str) -> None:
    path = SYZKALLER_CORPUS / name
    if not path.is_file():
        pytest.skip("syzkaller's labelled corpus is not here")
    header, _, body = path.read_bytes().partition(b"\n\n")
    expected = next(line[len("TITLE:"):].strip() for line in header.decode().splitlines() if line.startswith("TITLE:"))
    titled = [r for r in parse(body.decode("utf-8", "replace")) if isinstance(r, (Warn, KernelReport))]
    assert min(titled, key=lambda r: r.line).title == expected, rule
