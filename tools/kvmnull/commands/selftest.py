"""``kvmnull selftest``: run the kselftest programs of selftests/ in one guest boot."""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass

from tabulate import tabulate

from ..build.kbuild import selftest_names
from ..core import paths
from ..core.errors import GuestError, UsageError
from ..core.progress import Progress
from ..evidence import ktap
from ..guest.qemu import Guest
from .common import common_options, guest_options, guest_request, kernel_request, positive_float
from .prepare import load, prepare

EXIT_NAMES = {0: "pass", 1: "fail", 4: "skip"}


def settings_timeout() -> float:
    """The per-test timeout of selftests/settings (kselftest's ``timeout=``)."""
    for line in (paths.selftests_dir() / "settings").read_text().splitlines():
        if line.startswith("timeout="):
            return float(line.split("=", 1)[1])
    return 45.0  # kselftest's default


@dataclass(frozen=True)
class SelftestRun:
    name: str
    exit_code: int | None  # None: the guest died during the test
    report: ktap.Report
    seconds: float
    output: str

    @property
    def verdict(self) -> str:
        if self.exit_code is None:
            return "crashed"
        if not self.report.valid:
            return "invalid KTAP"
        if self.report.count(ktap.Status.FAIL) or self.report.count(ktap.Status.ERROR):
            return "fail"  # whatever the exit code says
        if self.exit_code == 4:
            return "skip"
        return "pass" if self.exit_code == 0 else "fail"


def judge_runs(runs: list[SelftestRun]) -> list[tuple[SelftestRun, str, str]]:
    """Each run with its verdict and a note.  A whole-test skip after an earlier failure is a
    failure too: it is what a test that left state behind does to the tests after it."""
    judged = []
    failed_before: str | None = None
    for run in runs:
        rep = run.report
        verdict, note = run.verdict, "; ".join(rep.problems) or rep.bail_out or rep.skip_all or ""
        if verdict == "skip" and failed_before:
            verdict, note = "skip after failure", f"skipped after {failed_before} failed: {note}"
        if verdict not in ("pass", "skip"):
            failed_before = failed_before or run.name
        judged.append((run, verdict, note))
    return judged


def cmd_selftest(args: argparse.Namespace) -> int:
    progress = Progress(verbose=args.verbose, quiet=args.quiet)
    names = selftest_names()
    chosen = args.tests or names
    unknown = [t for t in chosen if t not in names]
    if unknown:
        raise UsageError(f"unknown selftest {', '.join(unknown)}", f"valid: {', '.join(names)}")
    prepared = prepare(guest_request(args), progress, load(kernel_request(args), progress))
    runs: list[SelftestRun] = []
    session = prepared.session("selftest", progress, args.test_timeout)

    def quiet_guest() -> Guest:
        guest = session.guest()
        # keep kernel messages off the console: each test reads the log it needs from /dev/kmsg
        guest.check("dmesg -n 1", stage="quieting the console")
        return guest

    try:
        guest = quiet_guest()
        for name in chosen:
            progress.stage("selftest", name)
            started = time.monotonic()
            try:
                output, status = guest.run(name, timeout=args.test_timeout, stage=name)
                code: int | None = status
            except GuestError as exc:
                output, code = getattr(exc, "console", str(exc)), None
                session.close()
                guest = quiet_guest()
            run = SelftestRun(name, code, ktap.parse(output), time.monotonic() - started, output)
            runs.append(run)
            if not args.quiet:
                sys.stdout.write(output if output.endswith("\n") else output + "\n")
    finally:
        session.shut()

    rows = []
    judged = judge_runs(runs)
    for run, verdict, note in judged:
        rep = run.report
        code = run.exit_code
        rows.append([run.name, verdict, "-" if code is None else EXIT_NAMES.get(code, str(code)),
                     rep.count(ktap.Status.PASS), rep.count(ktap.Status.FAIL) + rep.count(ktap.Status.ERROR),
                     rep.count(ktap.Status.SKIP), f"{run.seconds:.1f}", note])
    print(tabulate(rows, headers=["test", "verdict", "exit", "ok", "not ok", "skip", "seconds", "note"]))
    failed = [run for run, verdict, _ in judged if verdict not in ("pass", "skip")]
    skipped = sum(verdict == "skip" for _, verdict, _ in judged)
    print(f"\n{len(runs) - len(failed)} passed, {len(failed)} failed "
          f"({skipped} skipped); console log: {session.log_path}")
    return 1 if failed else 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("selftest", help="run the kselftest programs in one guest and summarise their KTAP")
    common_options(parser)
    guest_options(parser)
    parser.add_argument("tests", nargs="*", metavar="TEST",
                        help=f"tests to run (default: all of {', '.join(selftest_names())})")
    parser.add_argument("--test-timeout", type=positive_float, default=settings_timeout(), metavar="S",
                        help="seconds one test may take (default: selftests/settings)")
    parser.set_defaults(handler=cmd_selftest)
