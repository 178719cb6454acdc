"""Run scenarios in a guest: the guest side of the matrix, the census and ``run``.

One guest serves many scenarios: kvm.ko stays loaded, ``missing_hook`` is
flipped at run time, and each scenario is one console round trip to
``kvmnull-scenario`` (:mod:`harness`).  A real vendor changes kvm.ko's
globals, so kvm.ko is reloaded after it: every scenario starts from the same
kvm.ko.  A scenario that crashes or hangs the guest is recorded with its
console excerpt and the next scenario gets a fresh guest.  What the output
means is decided later (:mod:`contract`).
"""

from __future__ import annotations

import enum
import queue
import shlex
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..build.kbuild import BuildResult
from ..core.errors import GuestError
from ..core.progress import Progress
from ..initramfs.archive import guest_archive
from ..kernel.hooks import Hook, HookClass
from . import harness
from .qemu import Guest, GuestConfig, GuestCrashed, GuestHung


class Policy(enum.Enum):
    """kvm.ko's ``missing_hook`` parameter; UPSTREAM: Debian's own kvm.ko, which has none."""

    REFUSE = "refuse"
    WARN = "warn"
    UPSTREAM = "upstream"

    @property
    def patched(self) -> bool:
        return self is not Policy.UPSTREAM


@dataclass(frozen=True)
class Scenario:
    """One negative test: a vendor, the hooks it leaves NULL, and kvm.ko's policy."""

    name: str
    policy: Policy
    vendor: str = "kvm-null"  # or "kvm-amd", the real-vendor control
    nulled: tuple[Hook, ...] = ()
    probe: bool = True  # run the VM lifecycle probe when the vendor registers
    workload: bool = False  # run the guest workload instead (the real-vendor bite map)
    # kvm-null's null= / null_pmu= as given; by default the names of the NULL hooks
    # (a charp parameter holds at most 1024 bytes: bulk cases pass class selectors)
    params: tuple[tuple[str, str], ...] = ()
    # can the vendor link against this scenario's kvm.ko?  Not so for kvm-null and a 6.19+ kernel's own
    # kvm.ko, which exports its vendor interface only to kvm-amd and kvm-intel
    admitted: bool = True

    @property
    def mandatory(self) -> frozenset[str]:
        """``table.hook`` keys of the NULL mandatory hooks."""
        return frozenset(h.key for h in self.nulled if h.hook_class is HookClass.MANDATORY)

    def null_param(self, table: str) -> str:
        """kvm-null's null_<table>= value."""
        if self.vendor != "kvm-null":
            return ""
        given = dict(self.params)
        if table in given:
            return given[table]
        return ",".join(h.name for h in self.nulled if h.table.value == table)

    def knockout_param(self) -> str:
        """A real vendor's knockout= value: the NULL hooks as table.hook."""
        return "" if self.vendor == "kvm-null" else ",".join(h.key for h in self.nulled)


@dataclass(frozen=True)
class ScenarioRun:
    """The raw result of one scenario: its output, or how the guest died."""

    scenario: Scenario
    output: str
    seconds: float
    crash: str | None = None  # crash title
    hung: bool = False
    guest: int = 0  # which session of the run ran it
    order: int = 0  # when it finished among the scenarios of its run_all() (0: first)


def initramfs_for(build: BuildResult, busybox: Path, dest: Path, stock: Path | None = None) -> Path:
    """The guest's initramfs; with ``stock``, that kvm.ko (the image's own) instead of the patched one."""
    modules = {**build.modules(), **({"kvm.ko": stock} if stock else {})}
    archive = guest_archive(busybox, modules, build.programs())
    archive.add_bytes(harness.SCRIPT_PATH, harness.SCRIPT.text.encode(), 0o755)
    archive.write(dest)
    return dest


def scenario_command(scenario: Scenario) -> str:
    return shlex.join(harness.script_arguments(
        scenario.policy.value, scenario.vendor, "workload" if scenario.workload else "1" if scenario.probe else "0",
        {table: scenario.null_param(table) for table in harness.NULL_PARAMS}, scenario.knockout_param()))


class HarnessError(GuestError):
    """The guest's harness could not do its part (e.g. reload kvm.ko): the guest is not trusted."""


@dataclass
class GuestSession:
    """A guest with kvm.ko loaded that runs scenarios, rebooting after a crash or hang.

    Use it as a context manager: QEMU never outlives it.  Once closed for good
    (:meth:`shut`), it boots nothing more, so a thread still running
    scenarios when the run is interrupted cannot start a new QEMU.
    """

    config: GuestConfig
    log_path: Path
    progress: Progress
    scenario_timeout: float = 60.0
    boots: int = 0
    boot_seconds: list[float] = field(default_factory=list)
    _guest: Guest | None = None
    _shut: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        # the session's log holds its own guests only, one after another: not those of an earlier run
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path.write_text("")

    @property
    def is_shut(self) -> bool:
        return self._shut

    def guest(self) -> Guest:
        """The running guest with kvm.ko loaded, booted first if there is none."""
        with self._lock:
            if self._shut:
                raise GuestError("the guest session is closed", "start a new session")
            if self._guest is not None:
                return self._guest
            guest = Guest(self.config, self.log_path, self.progress)
            self._guest = guest  # registered first: a shut() from another thread stops it
        try:
            guest.start()
            self.boots += 1
            self.boot_seconds.append(guest.boot_seconds)
            guest.check(harness.SETUP, timeout=30, stage="loading irqbypass.ko and the patched kvm.ko")
        except BaseException:
            self._forget(guest)
            raise
        with self._lock:
            if self._shut or self._guest is not guest:  # shut while booting: this guest must not live on
                stale = True
            else:
                stale = False
        if stale:
            guest.stop()
            raise GuestError("the guest session was closed while the guest booted", "start a new session")
        return guest

    def _forget(self, guest: Guest) -> None:
        with self._lock:
            if self._guest is guest:
                self._guest = None
        guest.stop()

    def run(self, scenario: Scenario) -> ScenarioRun:
        started = time.monotonic()
        guest = self.guest()
        try:
            output, status = guest.run(scenario_command(scenario), timeout=self.scenario_timeout, stage=scenario.name)
        except GuestCrashed as exc:
            self._forget(guest)
            return ScenarioRun(scenario, exc.console, time.monotonic() - started, crash=exc.title)
        except GuestHung as exc:
            self._forget(guest)
            return ScenarioRun(scenario, exc.console, time.monotonic() - started, hung=True)
        if status in harness.EXIT_CODES:
            # the harness failed, not the scenario: this guest's kvm.ko cannot be trusted any more
            self._forget(guest)
            raise HarnessError(f"{scenario.name}: the harness failed: {harness.EXIT_CODES[status]} (status {status})",
                               f"see the console log {self.log_path}")
        if harness.SPENT in output:
            self._forget(guest)  # the scenario's result stands; the next one needs a fresh guest
        return ScenarioRun(scenario, output, time.monotonic() - started)

    def close(self) -> None:
        """Stop the guest; the next scenario boots a fresh one."""
        with self._lock:
            guest, self._guest = self._guest, None
        if guest is not None:
            guest.stop()

    def shut(self) -> None:
        """Stop the guest and boot no other."""
        with self._lock:
            self._shut = True
        self.close()

    def __enter__(self) -> GuestSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shut()


# boots in a row that fail before a session gives up (the guest, not a hook, is broken)
MAX_BOOT_FAILURES = 3


def run_all(sessions: Sequence[GuestSession], scenarios: Sequence[Scenario],
            on_done: Callable[[ScenarioRun], None]) -> list[ScenarioRun]:
    """Run scenarios across sessions (one thread per session), keeping the input order in the result.

    A crash or hang is a scenario's result.  A guest that cannot boot or whose
    harness fails is an error of the run: after MAX_BOOT_FAILURES in a row, or
    any other exception in a worker, or in the caller's thread (Ctrl-C), every
    session is shut (no QEMU survives) and the exception is raised here.  A run
    returns a result for every scenario, or raises.
    """
    work: queue.Queue[tuple[int, Scenario]] = queue.Queue()
    for item in enumerate(scenarios):
        work.put(item)
    results: dict[int, ScenarioRun] = {}
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker(number: int, session: GuestSession) -> None:
        try:
            failed_boots = 0
            while not failures:
                try:
                    index, scenario = work.get_nowait()
                except queue.Empty:
                    return
                try:
                    result = session.run(scenario)
                except GuestError:
                    if session.is_shut:
                        return
                    work.put((index, scenario))  # not this scenario's fault: it runs again
                    failed_boots += 1
                    if failed_boots >= MAX_BOOT_FAILURES:
                        raise
                    continue
                failed_boots = 0
                with lock:
                    result = replace(result, guest=number, order=len(results))
                    results[index] = result
                    on_done(result)
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=worker, args=(i, s), daemon=True, name=f"guest-{i}")
               for i, s in enumerate(sessions)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            while thread.is_alive():
                thread.join(timeout=0.5)  # wakes for Ctrl-C
    except BaseException:
        for session in sessions:
            session.shut()
        for thread in threads:
            thread.join(timeout=30)
        raise
    if failures:
        for session in sessions:
            session.shut()
        raise failures[0]
    if len(results) != len(scenarios):
        missing = [s.name for i, s in enumerate(scenarios) if i not in results]
        raise GuestError(f"{len(missing)} scenario(s) got no result: {', '.join(missing[:5])}",
                         "see the console logs")
    return [results[i] for i in sorted(results)]


def guest_has_svm(session: GuestSession) -> bool:
    """Does the guest's CPU offer SVM (kvm-amd can load)?"""
    guest = session.guest()
    _, status = guest.run("grep -qw svm /proc/cpuinfo", timeout=10, stage="checking for SVM")
    return status == 0
