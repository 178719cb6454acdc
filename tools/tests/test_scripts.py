"""The guest's shell scripts: their constants, and the scenario script run under busybox with stub commands."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from kvmnull.core import abi
from kvmnull.core.errors import ParseError
from kvmnull.guest import harness
from kvmnull.initramfs import archive

BUSYBOX = shutil.which("busybox") or next((p for p in ("/bin/busybox", "/usr/bin/busybox") if Path(p).exists()), None)


def test_constants_are_read_from_the_scripts() -> None:
    script = harness.SCRIPT.text
    assert "BEGIN='kvmnull-scenario: begin'\n" in script and harness.BEGIN == "kvmnull-scenario: begin"
    assert "EXIT_POLICY='90'\n" in script and "EXIT_RELOAD='91'\n" in script
    assert sorted(harness.EXIT_CODES) == [90, 91]
    assert "READY='kvmnull: guest up'\n" in archive.INIT.text and archive.READY == "kvmnull: guest up"


def test_init_mounts_debugfs_where_the_abi_says() -> None:
    assert archive.INIT["DEBUGFS"] == abi.DEBUGFS
    assert 'mount -t debugfs debugfs "$DEBUGFS"' in archive.INIT.text


def test_a_constant_must_be_assigned_once() -> None:
    with pytest.raises(ParseError, match="does not assign it"):
        archive.parse_script("s.sh", "A='1'\n", ("A", "B"))
    with pytest.raises(ParseError, match="more than once"):
        archive.parse_script("s.sh", "A='1'\nA='2'\n", ("A",))
    assert archive.parse_script("s.sh", "# A='0'\nA='1'\n  B='x'\n", ("A",)).constants == {"A": "1"}


def test_arguments_name_every_parameter() -> None:
    argv = harness.script_arguments("refuse", "kvm-null", "1", {"pmu": "get_msr"}, "")
    params = [f"{p}=" for p in abi.load().null_params.values()]
    params[list(abi.load().null_params).index("pmu")] = "null_pmu=get_msr"
    assert argv == ["kvmnull-scenario", "refuse", "kvm-null", "1", *params, "knockout="]


# busybox sh runs its own applets before PATH's programs: the kernel-facing commands are shell functions
STUBS = """
insmod() {
	echo "insmod $*" >> "$LOG"
	case "$1" in
	"$MODULES/kvm-null.ko")
		[ -n "$LOAD_FAILS" ] && return 22
		mkdir -p "$SYS/kvm_null"; : > "$SYS/kvm_null/initstate" ;;
	"$MODULES/kvm-amd.ko")
		[ -e "$STATE/amd-loaded-once" ] && [ -n "$AMD_SPENT" ] && return 16
		: > "$STATE/amd-loaded-once"; mkdir -p "$SYS/kvm_amd"; : > "$SYS/kvm_amd/initstate" ;;
	"$MODULES/kvm.ko") [ -n "$RELOAD_FAILS" ] && return 1 ;;
	esac
	return 0
}
rmmod() {
	echo "rmmod $*" >> "$LOG"
	[ "$1" = kvm ] || rm -rf "${SYS:?}/$1"
}
dmesg() {
	echo "dmesg $*" >> "$LOG"
	[ "$1" = -c ] && echo "[    1.000000] dmesg of the scenario"
	return 0
}
"""
PROGRAM = """#!/bin/sh
echo "${0##*/} $*" >> "$LOG"
"""


def run_script(tmp_path: Path, *argv: str, **env: str) -> tuple[int, list[str], list[str]]:
    """Run the scenario script under busybox sh with insmod, rmmod, dmesg and the probe as stubs."""
    assert BUSYBOX
    modules, sys_module, bin_dir, state = (tmp_path / d for d in ("modules", "sys", "bin", "state"))
    for folder in (modules, sys_module, bin_dir, state):
        folder.mkdir()
    (sys_module / "kvm" / "parameters").mkdir(parents=True)
    missing_hook = sys_module / "kvm" / "parameters" / "missing_hook"
    if env.pop("NO_PARAM", ""):
        missing_hook = tmp_path / "absent" / "missing_hook"
    text = (harness.SCRIPT.text.replace(f"'{harness.MODULES_DIR}'", f"'{modules}'")
            .replace(f"'{harness.MISSING_HOOK}'", f"'{missing_hook}'").replace('"/sys/module/', f'"{sys_module}/'))
    assert str(sys_module) in text and str(modules) in text
    script = tmp_path / "kvmnull-scenario"
    shebang, body = text.split("\n", 1)
    script.write_text(f"{shebang}\n{STUBS}{body}")
    for name in (harness.PROBE, harness.WORKLOAD):
        (bin_dir / name).write_text(PROGRAM)
        (bin_dir / name).chmod(0o755)
    log = tmp_path / "calls"
    log.touch()
    environment = {"PATH": f"{bin_dir}:{os.environ['PATH']}", "LOG": str(log), "MODULES": str(modules),
                   "SYS": str(sys_module), "STATE": str(state), **env}
    done = subprocess.run([BUSYBOX, "sh", str(script), *argv], env=environment, capture_output=True, text=True,
                          timeout=30, check=False)
    calls = [line.rstrip().replace(str(modules), "/modules") for line in log.read_text().splitlines()]
    if missing_hook.exists():
        calls.append(f"missing_hook={missing_hook.read_text().strip()}")
    return done.returncode, done.stdout.splitlines(), calls


needs_busybox = pytest.mark.skipif(BUSYBOX is None, reason="busybox is not installed")


@needs_busybox
def test_refused_kvm_null(tmp_path: Path) -> None:
    status, out, calls = run_script(tmp_path, "refuse", "kvm-null", "1", "null=vcpu_create", "null_pmu=",
                                    "knockout=", LOAD_FAILS="1")
    assert status == 0
    assert out == ["kvmnull-scenario: begin refuse kvm-null null=vcpu_create null_pmu= knockout=",
                   "kvmnull-load: kvm-null status=22 loaded=no",
                   "kvmnull-dmesg-begin", "[    1.000000] dmesg of the scenario", "kvmnull-dmesg-end"]
    assert calls == ["dmesg -c", "insmod /modules/kvm-null.ko null=vcpu_create", "dmesg -c",
                     "missing_hook=refuse"]


@needs_busybox
def test_loaded_kvm_null_runs_the_probe(tmp_path: Path) -> None:
    status, out, calls = run_script(tmp_path, "warn", "kvm-null", "1", "null=", "null_pmu=a,b", "knockout=")
    assert status == 0
    assert out[1:3] == ["kvmnull-load: kvm-null status=0 loaded=yes", "kvmnull-unload: kvm-null status=0"]
    assert calls == ["dmesg -c", "insmod /modules/kvm-null.ko null_pmu=a,b", harness.PROBE, "rmmod kvm_null",
                     "dmesg -c", "missing_hook=warn"]


@needs_busybox
def test_upstream_leaves_missing_hook_alone_and_workload_logs_first(tmp_path: Path) -> None:
    status, out, calls = run_script(tmp_path, "upstream", "kvm-null", "workload", "null=")
    assert status == 0
    assert out[2] == "[    1.000000] dmesg of the scenario"  # the load's log, before the workload
    assert calls == ["dmesg -c", "insmod /modules/kvm-null.ko", "dmesg -c", harness.WORKLOAD, "rmmod kvm_null",
                     "dmesg -c"]


@needs_busybox
def test_policy_that_cannot_be_set_is_a_harness_failure(tmp_path: Path) -> None:
    status, out, calls = run_script(tmp_path, "refuse", "kvm-null", "0", "null=x", NO_PARAM="1")
    assert status == harness.EXIT_POLICY
    assert out == ["kvmnull-scenario: begin refuse kvm-null null=x"] and calls == []


@needs_busybox
def test_real_vendor_reloads_kvm_and_checks_it_can_load_again(tmp_path: Path) -> None:
    status, out, calls = run_script(tmp_path, "refuse", "kvm-amd", "0", "null=", "knockout=x86.get_cpl")
    assert status == 0 and harness.SPENT not in out
    assert calls == ["dmesg -c", "insmod /modules/kvm-amd.ko knockout=x86.get_cpl", "rmmod kvm_amd",
                     "rmmod kvm", "insmod /modules/kvm.ko", "dmesg -c",
                     "insmod /modules/kvm-amd.ko", "rmmod kvm_amd", "rmmod kvm", "insmod /modules/kvm.ko",
                     "missing_hook=refuse"]


@needs_busybox
def test_real_vendor_that_cannot_load_again_is_spent(tmp_path: Path) -> None:
    status, out, _ = run_script(tmp_path, "refuse", "kvm-amd", "0", "knockout=x86.disable_virtualization_cpu",
                                AMD_SPENT="1")
    assert status == 0 and out[-1] == harness.SPENT


@needs_busybox
def test_kvm_that_cannot_be_reloaded_is_a_harness_failure(tmp_path: Path) -> None:
    status, out, _ = run_script(tmp_path, "warn", "kvm-amd", "0", "knockout=", RELOAD_FAILS="1")
    assert status == harness.EXIT_RELOAD and harness.DMESG_BEGIN not in out


def test_the_guest_archive_carries_the_init_script(tmp_path: Path) -> None:
    busybox = tmp_path / "busybox"
    busybox.write_bytes(b"\x7fELF fake")
    data = archive.guest_archive(busybox, {}, {}).files["init"]
    assert data == (archive.INIT.text.encode(), 0o755)
    assert data[0].startswith(b"#!/bin/busybox sh\n") and b"exec setsid cttyhack /bin/sh" in data[0]
