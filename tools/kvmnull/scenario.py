"""Run scenarios in a guest and turn their evidence into observations.

One guest serves many scenarios: kvm.ko stays loaded, ``missing_hook`` is
flipped at run time, and each scenario is one console round trip to
``kvmnull-scenario`` (a script in the initramfs).  A scenario that crashes or
hangs the guest is recorded with its console excerpt and the next scenario
gets a fresh guest.
"""

from __future__ import annotations

import re
import shlex
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import evidence
from .build import BuildResult
from .contract import Observation, Outcome, Scenario
from .errors import GuestError
from .evidence import Kind, Record
from .guest import Guest, GuestConfig, GuestCrashed, GuestHung
from .hooks import HookSet
from .initramfs import guest_archive
from .progress import Progress

SCENARIO_SCRIPT = r"""#!/bin/sh
# kvmnull-scenario POLICY VENDOR NULL NULL_PMU PROBE: one negative test.
# Prints harness lines (kvmnull-load, kvmnull-unload, probe steps), then the
# kernel log of the scenario between kvmnull-dmesg markers.
policy=$1 vendor=$2 null=$3 null_pmu=$4 probe=$5
echo "kvmnull-scenario: begin $policy $vendor null=$null null_pmu=$null_pmu"
echo "$policy" > /sys/module/kvm/parameters/missing_hook || exit 90
dmesg -c > /dev/null
if [ "$vendor" = kvm-amd ]; then
	module=kvm_amd
	insmod /modules/kvm-amd.ko
else
	module=kvm_null
	insmod /modules/kvm-null.ko ${null:+null=$null} ${null_pmu:+null_pmu=$null_pmu}
fi
status=$?
# a vendor init that returns garbage can make insmod exit 0 with nothing loaded
loaded=no
[ -e "/sys/module/$module/initstate" ] && loaded=yes
echo "kvmnull-load: $vendor status=$status loaded=$loaded"
if [ "$loaded" = yes ]; then
	[ "$probe" = 1 ] && kvmnull-probe
	rmmod "$module"
	echo "kvmnull-unload: $vendor status=$?"
fi
echo "kvmnull-dmesg-begin"
dmesg -c
echo "kvmnull-dmesg-end"
"""

SETUP = "insmod /modules/irqbypass.ko && insmod /modules/kvm.ko"


@dataclass(frozen=True)
class ScenarioRun:
    """The raw result of one scenario: its output, or how the guest died."""

    scenario: Scenario
    output: str
    seconds: float
    crash: str | None = None  # crash title
    hung: bool = False


def initramfs_for(build: BuildResult, busybox: Path, dest: Path) -> Path:
    archive = guest_archive(busybox, build.modules(), build.programs())
    archive.add_bytes("bin/kvmnull-scenario", SCENARIO_SCRIPT.encode(), 0o755)
    archive.write(dest)
    return dest


def load_record(records: Sequence[Record]) -> Record | None:
    """The harness's own load line of the scenario's vendor."""
    for record in records:
        if record.kind is Kind.LOAD and record.status is not None and record.module in ("kvm-null", "kvm-amd"):
            return record
    return None


def split_output(output: str) -> tuple[str, str]:
    """(harness lines, the scenario's kernel log)."""
    match = re.search(r"kvmnull-dmesg-begin\r*\n(.*?)kvmnull-dmesg-end", output, re.S)
    if not match:
        return output, ""
    return output[: match.start()], match.group(1)


BEGIN = "kvmnull-scenario: begin"


def own_output(output: str) -> str:
    """The part of a console excerpt that belongs to the last scenario started in it."""
    start = output.rfind(BEGIN)
    return output[start:] if start >= 0 else output


def observe(run: ScenarioRun, hooks: HookSet) -> Observation:
    """Classify one scenario from its evidence alone (the contract is applied later)."""
    if run.crash is not None or run.hung:
        records = evidence.parse(own_output(run.output), hooks)
        crash = next((r for r in records if r.kind is Kind.CRASH), None)
        lines = [r.text for r in records if r.kind in (Kind.CRASH, Kind.WARN, Kind.HOOK_REFUSED)][:6]
        if run.hung:
            return Observation(Outcome.HUNG, detail="guest stopped answering", evidence=tuple(lines))
        title = (crash.title if crash else None) or run.crash or "crash"
        where = f" at {crash.function}" if crash and crash.function else ""
        return Observation(Outcome.CRASHED, detail=f"{title}{where}", evidence=tuple(lines or [title]))

    harness, kernel_log = split_output(run.output)
    harness_records = evidence.parse(harness, hooks)
    records = evidence.parse(kernel_log, hooks)
    load = load_record(harness_records)
    status = load.status if load else None
    refused = {f"{r.table}.{r.hook}" for r in records if r.kind is Kind.HOOK_REFUSED}
    warns = [r for r in records if r.kind is Kind.WARN]
    warned = {f"{r.table}.{r.hook}" for r in warns if r.hook}
    crashes = [r for r in records if r.kind is Kind.CRASH]
    probe = [r for r in harness_records if r.kind is Kind.PROBE]
    probe_failed = next((r for r in probe if r.status), None)
    decisive: list[str] = []

    if status is None:
        return Observation(Outcome.ERROR, detail="no load status in the output",
                           evidence=tuple(harness.strip().splitlines()[-3:]))
    if crashes:
        decisive = [r.text for r in crashes[:3]]
        return Observation(Outcome.CRASHED, frozenset(refused | warned), status, crashes[0].title or "",
                           tuple(decisive))
    if refused and status != 0 and not warns:
        decisive = sorted({r.text for r in records if r.kind in (Kind.HOOK_REFUSED, Kind.VENDOR_REFUSED)})
        return Observation(Outcome.REFUSED, frozenset(refused), status, f"insmod status {status}", tuple(decisive))
    if warns and not refused:
        unnamed = [w for w in warns if not w.hook]
        decisive = [w.detail or w.text for w in warns if w.hook][:4] + [w.text for w in unnamed][:2]
        detail = f"{len(warns)} WARN(s), load status {status}"
        if unnamed:
            detail += f", {len(unnamed)} not naming a hook"
        return Observation(Outcome.WARNED, frozenset(warned), status, detail, tuple(decisive))
    if status == 0 and load and load.detail == "absent":
        return Observation(Outcome.LOAD_FAILED, frozenset(), status,
                           "insmod exited 0, but the module is not loaded (its init returned garbage)",
                           (load.text, *(r.text for r in records[:3])))
    if status == 0 and not refused:
        optional = next((r for r in records if r.kind is Kind.OPTIONAL_NULL), None)
        decisive = [optional.text] if optional else ["kvmnull-load: status=0, no refusal, no WARN"]
        if probe_failed:
            return Observation(Outcome.ERROR, frozenset(), status,
                               f"loaded, but the lifecycle failed at {probe_failed.title}: {probe_failed.detail}",
                               (*decisive, probe_failed.text))
        run_step = next((r for r in probe if r.title == "run"), None)
        if run_step:
            decisive.append(run_step.text)
        return Observation(Outcome.LOADED, frozenset(), status, "registered" + (", lifecycle ok" if probe else ""),
                           tuple(decisive))
    errno_name = next((r.errno_name for r in harness_records if r.kind is Kind.LOAD and r.errno_name), None)
    return Observation(Outcome.LOAD_FAILED, frozenset(refused), status,
                       f"insmod status {status} ({errno_name or '?'}) without the contract's refusal",
                       tuple(r.text for r in records[:4]))


def scenario_command(scenario: Scenario) -> str:
    return shlex.join([
        "kvmnull-scenario", scenario.policy.value, scenario.vendor, scenario.null_param("x86"),
        scenario.null_param("pmu"), "1" if scenario.probe else "0",
    ])


@dataclass
class GuestSession:
    """A guest with kvm.ko loaded that runs scenarios, rebooting after a crash or hang."""

    config: GuestConfig
    log_path: Path
    progress: Progress
    scenario_timeout: float = 60.0
    boots: int = 0
    boot_seconds: list[float] = field(default_factory=list)
    _guest: Guest | None = None

    def guest(self) -> Guest:
        """The running guest with kvm.ko loaded, booted first if there is none."""
        if self._guest is None:
            guest = Guest(self.config, self.log_path, self.progress)
            guest.start()
            self.boots += 1
            self.boot_seconds.append(guest.boot_seconds)
            guest.check(SETUP, timeout=30, stage="loading irqbypass.ko and the patched kvm.ko")
            self._guest = guest
        return self._guest

    def run(self, scenario: Scenario) -> ScenarioRun:
        started = time.monotonic()
        guest = self.guest()
        try:
            output, _ = guest.run(scenario_command(scenario), timeout=self.scenario_timeout, stage=scenario.name)
            return ScenarioRun(scenario, output, time.monotonic() - started)
        except GuestCrashed as exc:
            self.close()
            return ScenarioRun(scenario, exc.console, time.monotonic() - started, crash=exc.title)
        except GuestHung as exc:
            self.close()
            return ScenarioRun(scenario, exc.console, time.monotonic() - started, hung=True)

    def close(self) -> None:
        if self._guest is not None:
            self._guest.stop()
            self._guest = None

    def __enter__(self) -> GuestSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def run_all(sessions: Sequence[GuestSession], scenarios: Sequence[Scenario],
            on_done: Callable[[ScenarioRun], None]) -> list[ScenarioRun]:
    """Run scenarios across sessions (one thread per session), keeping the input order in the result."""
    import queue
    import threading

    work: queue.Queue[tuple[int, Scenario]] = queue.Queue()
    for item in enumerate(scenarios):
        work.put(item)
    results: dict[int, ScenarioRun] = {}
    lock = threading.Lock()
    failures: list[BaseException] = []

    def worker(session: GuestSession) -> None:
        while not failures:
            try:
                index, scenario = work.get_nowait()
            except queue.Empty:
                return
            try:
                result = session.run(scenario)
            except GuestError as exc:  # the guest could not even boot: record it and go on
                session.close()
                result = ScenarioRun(scenario, str(exc), 0.0, crash=str(exc).splitlines()[0])
            except BaseException as exc:
                failures.append(exc)
                return
            with lock:
                results[index] = result
                on_done(result)

    threads = [threading.Thread(target=worker, args=(s,), daemon=True) for s in sessions]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return [results[i] for i in sorted(results)]


