"""Run a tool (make, apt-get, tar, ...) with its output streamed as it comes.

Every line goes to a log file at once (and to the terminal with ``-v``), the
whole output is kept for the caller, and a tool that prints nothing for its
timeout (it stopped making progress) is killed with its process group and
reported by the stage it was in: nothing hangs silently and nothing is lost
when it fails.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import KvmnullError
from .progress import Progress


@dataclass(frozen=True)
class Completed:
    """A finished tool: its exit status and everything it printed (stdout and stderr, in order)."""

    argv: tuple[str, ...]
    returncode: int
    output: str
    seconds: float


def _kill_group(child: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(child.pid, signal.SIGKILL)
    child.wait()


def run(argv: list[str], *, stage: str, log: Path, progress: Progress, timeout: float,
        error: Callable[[str, str], KvmnullError], cwd: Path | None = None, check: bool = True,
        remedy: str = "") -> Completed:
    """Run ``argv``; its output is appended to ``log`` as it comes.

    ``timeout`` is the longest silence allowed.  ``error(message, remedy)`` makes
    the exception for a tool that cannot start, falls silent for ``timeout``, or
    (with ``check``) exits non-zero; its message names ``stage``.
    """
    progress.command(argv, str(cwd) if cwd else None)
    echo = progress.verbose and not progress.quiet
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    chunks: list[bytes] = []
    with open(log, "ab") as sink:
        sink.write(f"$ {shlex.join(argv)}\n".encode())
        sink.flush()
        try:
            child = subprocess.Popen(argv, cwd=cwd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        except OSError as exc:
            raise error(f"{stage}: cannot run {argv[0]}: {exc.strerror}", remedy or f"install {argv[0]}") from exc
        assert child.stdout is not None
        try:
            with selectors.DefaultSelector() as selector:
                selector.register(child.stdout, selectors.EVENT_READ)
                heard = started
                while True:
                    left = heard + timeout - time.monotonic()
                    if left <= 0:
                        _kill_group(child)
                        raise error(f"{stage}: {argv[0]} printed nothing for {timeout:.0f} s and was stopped",
                                    f"see {log}; on a slow machine or network, try again")
                    if not selector.select(min(left, 1.0)):
                        continue
                    data = os.read(child.stdout.fileno(), 65536)
                    if not data:
                        break
                    heard = time.monotonic()
                    chunks.append(data)
                    sink.write(data)
                    sink.flush()
                    if echo:
                        sys.stderr.buffer.write(data)
                        sys.stderr.flush()
            try:
                child.wait(timeout=timeout)  # its output is closed: it is exiting
            except subprocess.TimeoutExpired as exc:
                raise error(f"{stage}: {argv[0]} closed its output but did not exit within {timeout:.0f} s",
                            f"see {log}") from exc
        except BaseException:
            # an error, a timeout or Ctrl-C: the tool and its children go too
            _kill_group(child)
            raise
        finally:
            child.stdout.close()
    output = b"".join(chunks).decode("utf-8", errors="replace")
    done = Completed(tuple(argv), child.returncode, output, time.monotonic() - started)
    if check and child.returncode != 0:
        lines = output.splitlines()
        errors = [line for line in lines if "error" in line.lower()]
        tail = "\n".join((errors or lines)[-15:])
        raise error(f"{stage} failed ({argv[0]} exit {child.returncode}):\n{tail}",
                    remedy or f"full log: {log}; run with -v to see the command and its output")
    return done
