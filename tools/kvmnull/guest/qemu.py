"""Boot the test guest under QEMU and drive its serial console with pexpect.

* The raw console is teed, as it arrives, to a log file.
* ``run(cmd)`` returns ``(output, exit_code)``; every wait also handles
  TIMEOUT and EOF and raises a :class:`GuestError` naming the stage.
* A guest that panics (the kernel runs with ``oops=panic panic=-1`` and QEMU
  with ``-no-reboot``, so it exits) or stops answering raises
  :class:`GuestCrashed` / :class:`GuestHung` carrying the console excerpt;
  the caller records it and boots a fresh guest.
"""

from __future__ import annotations

import enum
import json
import os
import re
import secrets
import shlex
import shutil
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import pexpect

from ..core.errors import GuestError
from ..core.progress import Progress
from ..initramfs.archive import READY

PANIC = re.compile(r"Kernel panic - not syncing[^\r\n]*")
# QEMU's own fatal errors, e.g. a host KVM that cannot run an ordinary guest
QEMU_FATAL = re.compile(r"KVM internal error[^\r\n]*|qemu-system-x86_64: [^\r\n]*(?:failed|[Ee]rror)[^\r\n]*")
QEMU = "qemu-system-x86_64"
# the console log's last line once kvmnull has stopped the guest's QEMU
STOPPED = "### kvmnull: guest stopped"


class Accel(enum.Enum):
    KVM = "kvm"
    TCG = "tcg"

    @property
    def cpus(self) -> int:
        """vCPUs per guest.  Under TCG one: with two, a vCPU was seen executing kernel text that the
        other had just re-patched (``Oops: int3`` in ``__schedule`` while KVM flipped a static key)."""
        return 2 if self is Accel.KVM else 1


class GuestCrashed(GuestError):
    """The guest kernel panicked (or QEMU exited) during a step."""

    def __init__(self, stage: str, console: str, title: str) -> None:
        super().__init__(f"guest crashed during {stage}: {title}", "see the console log; a fresh guest is needed")
        self.stage = stage
        self.console = console
        self.title = title


class GuestHung(GuestError):
    """The guest stopped answering within the step timeout."""

    def __init__(self, stage: str, console: str, timeout: float) -> None:
        super().__init__(f"guest hung during {stage}: no answer in {timeout:.0f} s",
                         "raise --timeout-multiplier on a slow machine; else see the console log")
        self.stage = stage
        self.console = console
        self.timeout = timeout


@dataclass(frozen=True)
class GuestConfig:
    """Everything QEMU needs to boot the test guest."""

    kernel: Path
    initrd: Path
    accel: Accel = Accel.TCG
    memory_mb: int = 1024
    cpus: int = 1
    timeout_multiplier: float = 1.0
    extra_append: tuple[str, ...] = ()

    def command(self) -> list[str]:
        append = [
            # log_buf_len: every WARN of "all mandatory hooks NULL" must fit in the ring buffer
            "console=ttyS0", "loglevel=4", "log_buf_len=8M", "oops=panic", "panic=-1", "nokaslr",
            "rdinit=/init", *self.extra_append,
        ]
        cpu = "host" if self.accel is Accel.KVM else "max"
        return [
            QEMU, "-machine", "q35", "-accel", self.accel.value, "-cpu", cpu,
            "-smp", str(self.cpus), "-m", f"{self.memory_mb}M",
            "-nographic", "-nodefaults", "-no-reboot", "-serial", "stdio",
            "-kernel", str(self.kernel), "-initrd", str(self.initrd),
            "-append", " ".join(append),
        ]


def require_qemu() -> str:
    path = shutil.which(QEMU)
    if not path:
        raise GuestError(f"{QEMU} not found", "install it: apt-get install qemu-system-x86 (or run `make setup`)")
    return path


@dataclass
class Guest:
    """One running guest; use as a context manager so QEMU never outlives its user."""

    config: GuestConfig
    log_path: Path
    progress: Progress = field(default_factory=Progress)
    _child: pexpect.spawn | None = None
    _log: IO[str] | None = None
    boot_seconds: float = 0.0
    _stopping: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> Guest:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def timeout(self, seconds: float) -> float:
        return seconds * self.config.timeout_multiplier

    def start(self, boot_timeout: float = 60.0) -> None:
        require_qemu()
        command = self.config.command()
        self.progress.command(command)
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "a", encoding="utf-8", errors="replace")  # noqa: SIM115
        self._log.write(f"\n### kvmnull: boot {shlex.join(command)}\n")
        self._log.flush()
        started = time.monotonic()
        try:
            self._child = pexpect.spawn(
                command[0], command[1:], encoding="utf-8", codec_errors="replace",
                timeout=self.timeout(boot_timeout), echo=False, dimensions=(50, 500),
            )
        except BaseException:
            self.stop()
            raise
        try:
            self._child.delaybeforesend = None
            self._child.logfile_read = self._log
            self._expect_ready(boot_timeout)
            # a quiet, prompt-free shell whose input is not echoed back
            self.run("stty -echo; PS1=''; PS2=''", timeout=10, stage="shell setup")
        except BaseException:
            self.stop()  # a guest that did not come up is never left running
            raise
        self.boot_seconds = time.monotonic() - started

    def _expect_ready(self, boot_timeout: float) -> None:
        child = self._require_child("boot")
        index = child.expect([READY, PANIC, QEMU_FATAL, pexpect.TIMEOUT, pexpect.EOF],
                             timeout=self.timeout(boot_timeout))
        if index == 0:
            child.expect([r"\n", pexpect.TIMEOUT, pexpect.EOF], timeout=self.timeout(5))
            return
        console = self._console_tail()
        if index in (1, 2):
            raise GuestCrashed("boot", console, child.after.strip())
        if index == 3:
            raise GuestHung("boot", console, self.timeout(boot_timeout))
        raise GuestCrashed("boot", console, "QEMU exited before the guest came up")

    def _require_child(self, stage: str) -> pexpect.spawn:
        if self._child is None or not self._child.isalive():
            raise GuestError(f"no running guest for {stage}", "start the guest first")
        return self._child

    def _console_tail(self, chars: int = 6000, since: int | None = None) -> str:
        """What the console showed last, read back from the log (which has it all): the last ``chars``,
        or everything from byte ``since`` on (a command's whole console, however long its splats)."""
        if self._log:
            self._log.flush()
        try:
            data = self.log_path.read_bytes()
        except OSError:
            return ""
        if since is not None:
            return data[since:].decode("utf-8", errors="replace")
        return data.decode("utf-8", errors="replace")[-chars:]

    def _log_size(self) -> int:
        if self._log:
            self._log.flush()
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def run(self, command: str, timeout: float = 30.0, stage: str | None = None) -> tuple[str, int]:
        """Run a shell command in the guest; returns its output and exit status."""
        stage = stage or command
        child = self._require_child(stage)
        started = self._log_size()
        token = secrets.token_hex(6)
        # the marker is split in the command text so that an echo never matches it
        child.sendline(f"{command}\necho \"KVMNULL-\"'{token}'\"-END $?\"")
        end = re.compile(rf"KVMNULL-{token}-END (\d+)\r*\n")
        wait = self.timeout(timeout)
        index = child.expect([end, PANIC, pexpect.TIMEOUT, pexpect.EOF], timeout=wait)
        if index == 0:
            output = re.sub(r"\r+\n", "\n", child.before)
            return output, int(child.match.group(1))
        if index == 1:
            title = child.after.strip()
            # let the panic finish printing; QEMU exits on its own (-no-reboot)
            child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=self.timeout(10))
            raise GuestCrashed(stage, self._console_tail(since=started), title)
        if index == 2:
            raise GuestHung(stage, self._console_tail(since=started), wait)
        raise GuestCrashed(stage, self._console_tail(since=started), "QEMU exited")

    def check(self, command: str, timeout: float = 30.0, stage: str | None = None) -> str:
        """Run a command that must succeed."""
        output, status = self.run(command, timeout, stage)
        if status != 0:
            raise GuestError(f"{stage or command}: guest command failed with status {status}: {command}\n{output}",
                             f"see the console log {self.log_path}")
        return output

    def stop(self) -> None:
        """Power off cleanly if the guest still answers, else kill QEMU.  Safe to call from any
        thread, and again: the first call does the work, the others wait for it."""
        with self._stopping:
            child, self._child = self._child, None
            log, self._log = self._log, None
            try:
                if child is not None and child.isalive():
                    try:
                        child.sendline("poweroff -f")
                        child.expect([pexpect.EOF, pexpect.TIMEOUT], timeout=self.timeout(10))
                    except (OSError, pexpect.ExceptionPexpect):
                        pass
            finally:
                # whatever happened above (even Ctrl-C), QEMU does not outlive this call
                if child is not None:
                    if child.isalive():
                        child.terminate(force=True)
                    child.close(force=True)
                if log is not None:
                    if child is not None:
                        log.write(f"\n{STOPPED}\n")
                    log.close()


def choose_accel(requested: str, config: GuestConfig, cache_dir: Path, progress: Progress) -> Accel:
    """KVM when the host's /dev/kvm can run an ordinary guest, else TCG; decided once and remembered."""
    if requested == "tcg":
        return Accel.TCG
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        if requested == "kvm":
            raise GuestError("--accel kvm: /dev/kvm is missing or not accessible", "use --accel tcg or auto")
        return Accel.TCG
    qemu = require_qemu()
    key = f"{os.uname().release} {os.stat(qemu).st_mtime_ns}"
    memo = cache_dir / "accel.json"
    try:
        remembered = json.loads(memo.read_text())
        if remembered.get("key") == key:
            accel = Accel(remembered["accel"])
            if requested == "kvm" and accel is not Accel.KVM:
                raise GuestError("--accel kvm: this host's KVM cannot run the guest", "use --accel tcg or auto")
            return accel
    except (OSError, ValueError, KeyError):
        pass
    progress.stage("accel", "trying KVM acceleration")
    trial = GuestConfig(config.kernel, config.initrd, Accel.KVM, 256, 1, config.timeout_multiplier)
    accel = Accel.KVM
    guest = Guest(trial, cache_dir / "accel-probe.log", progress)
    try:
        # a KVM boot takes about a second; a host that cannot run the guest
        # makes QEMU exit at once or stop with an internal error
        guest.start(boot_timeout=20)
        guest.check("true", timeout=10, stage="KVM trial")
    except GuestHung as exc:
        # no verdict on the host's KVM (a busy host is slow too): TCG this time, ask again next time
        progress.note(f"KVM trial: {exc.message}; using TCG, not remembered")
        return _tcg_unless_required(requested)
    except GuestError as exc:
        progress.note(f"KVM trial: {exc.message.splitlines()[0]}; using TCG")
        accel = Accel.TCG
    finally:
        guest.stop()
    memo.parent.mkdir(parents=True, exist_ok=True)
    memo.write_text(json.dumps({"key": key, "accel": accel.value}))
    if requested == "kvm" and accel is not Accel.KVM:
        raise GuestError("--accel kvm: this host's KVM cannot run the guest", "use --accel tcg or auto")
    return accel


def _tcg_unless_required(requested: str) -> Accel:
    if requested == "kvm":
        raise GuestError("--accel kvm: this host's KVM cannot run the guest", "use --accel tcg or auto")
    return Accel.TCG


def qemu_version() -> str:
    try:
        out = subprocess.run([require_qemu(), "--version"], capture_output=True, text=True, check=False).stdout
    except OSError:
        return "unknown"
    return out.splitlines()[0] if out else "unknown"
