"""A real guest kernel under QEMU: a panic and a hang are caught in time, and no QEMU outlives kvmnull."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kvmnull.build.kbuild import BuildResult
from kvmnull.commands.prepare import busybox_path
from kvmnull.core.errors import GuestError
from kvmnull.core.progress import Progress
from kvmnull.fetch.packages import KernelTree
from kvmnull.guest.qemu import QEMU, STOPPED, Accel, Guest, GuestConfig, GuestCrashed, GuestHung
from kvmnull.guest.scenario import GuestSession, Policy, Scenario
from kvmnull.initramfs.archive import guest_archive
from kvmnull.kernel.hooks import HookSet, Table
from kvmnull.verdict.contract import Outcome, observation_of


def qemu_pids() -> set[int]:
    """Every running QEMU of this machine."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                argv0 = (entry / "cmdline").read_bytes().split(b"\0", 1)[0]
            except OSError:
                continue
            if argv0.endswith(QEMU.encode()):
                pids.add(int(entry.name))
    return pids


def wait_for_no_new_qemu(before: set[int], seconds: float = 10.0) -> set[int]:
    deadline = time.monotonic() + seconds
    while (left := qemu_pids() - before) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.mark.guest
def test_panic_is_reported_with_console_within_the_timeout(guest_config: GuestConfig, tmp_path: Path) -> None:
    with Guest(guest_config, tmp_path / "console.log", Progress(quiet=True)) as guest:
        started = time.monotonic()
        with pytest.raises(GuestCrashed) as info:
            guest.run("echo c > /proc/sysrq-trigger", timeout=30, stage="crash on purpose")
        assert time.monotonic() - started < 30
    assert info.value.title == "Kernel panic - not syncing: sysrq triggered crash"
    assert info.value.stage == "crash on purpose"
    assert "sysrq" in info.value.console
    assert "Kernel panic" in (tmp_path / "console.log").read_text()  # streamed to disk


@pytest.mark.guest
def test_hung_guest_is_recorded_and_the_next_scenario_gets_a_fresh_guest(
        guest_config: GuestConfig, hooks: HookSet, tmp_path: Path) -> None:
    handle_exit = hooks.find(Table.X86, "handle_exit")
    vm_destroy = hooks.find(Table.X86, "vm_destroy")
    assert handle_exit and vm_destroy
    with GuestSession(guest_config, tmp_path / "console.log", Progress(quiet=True), scenario_timeout=8) as session:
        # NULL handle_exit "returns" garbage: KVM_RUN never comes back to user space
        hang = session.run(Scenario("hang", Policy.WARN, "kvm-null", (handle_exit,)))
        after = session.run(Scenario("after", Policy.REFUSE, "kvm-null", (vm_destroy,)))
    assert hang.hung and observation_of(hang, hooks).outcome is Outcome.HUNG
    assert observation_of(after, hooks).outcome is Outcome.LOADED
    assert session.boots == 2


@pytest.mark.guest
def test_no_qemu_survives_a_failed_setup(built: BuildResult, tree: KernelTree, tmp_path: Path) -> None:
    # a guest without kvm.ko: it boots, then loading the patched kvm.ko fails
    modules = {name: path for name, path in built.modules().items() if name != "kvm.ko"}
    initrd = tmp_path / "no-kvm.cpio"
    guest_archive(busybox_path(), modules, {}).write(initrd)
    config = GuestConfig(tree.vmlinuz, initrd, Accel.TCG, cpus=1)
    before = qemu_pids()
    with GuestSession(config, tmp_path / "console.log", Progress(quiet=True)) as session:
        with pytest.raises(GuestError, match=r"loading irqbypass\.ko and the patched kvm\.ko"):
            session.guest()
        assert session.boots == 1
        assert wait_for_no_new_qemu(before) == set()


@pytest.mark.guest
def test_no_qemu_survives_a_guest_that_never_comes_up(tree: KernelTree, tmp_path: Path) -> None:
    archive = guest_archive(busybox_path(), {}, {})
    archive.add_bytes("init", b"#!/bin/busybox sh\n/bin/busybox sleep 600\n", 0o755)  # never says it is up
    initrd = tmp_path / "silent.cpio"
    archive.write(initrd)
    before = qemu_pids()
    guest = Guest(GuestConfig(tree.vmlinuz, initrd, Accel.TCG, cpus=1), tmp_path / "console.log",
                  Progress(quiet=True))
    with pytest.raises(GuestHung):
        guest.start(boot_timeout=8)
    assert wait_for_no_new_qemu(before) == set()


@pytest.mark.guest
def test_no_qemu_survives_an_interrupted_matrix(built: BuildResult, tmp_path: Path) -> None:
    before = qemu_pids()
    child = subprocess.Popen([sys.executable, "-m", "kvmnull", "matrix", "--offline", "--accel", "tcg", "--guests", "2",
                              "--log-dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    logs = [tmp_path / "latest" / "matrix-0.console.log", tmp_path / "latest" / "matrix-1.console.log"]
    try:
        # interrupt once both guests run scenarios
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and not all(
                log.exists() and log.read_text(errors="replace").count("kvmnull-scenario: begin") >= 2
                for log in logs):
            time.sleep(0.2)
        assert len(qemu_pids() - before) == 2, "the matrix did not get going"
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=90)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, err
    assert "interrupted" in err
    # kvmnull itself stopped each guest (not the kernel hanging up on an orphan when the process died)
    assert all(log.read_text(errors="replace").rstrip().endswith(STOPPED) for log in logs)
    assert wait_for_no_new_qemu(before) == set()
