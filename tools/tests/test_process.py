"""Running tools: output streamed to the log as it comes, timeouts that name the stage, no survivors."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from kvmnull.core import process
from kvmnull.core.errors import BuildError
from kvmnull.core.progress import Progress


def test_output_is_in_the_log_while_the_tool_still_runs(tmp_path: Path) -> None:
    log = tmp_path / "tool.log"
    marker = tmp_path / "seen"
    # the tool waits until the test saw its first line in the log, so the line must arrive while it runs
    script = f"echo first; while [ ! -e {marker} ]; do sleep 0.05; done; echo second >&2; exit 0"
    def watch() -> None:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if log.exists() and "first" in log.read_text():
                marker.touch()
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=watch)
    watcher.start()
    done = process.run(["sh", "-c", script], stage="streaming", log=log, progress=Progress(quiet=True),
                       timeout=20, error=BuildError)
    watcher.join()
    assert marker.exists()
    assert done.returncode == 0 and done.output == "first\nsecond\n"
    assert log.read_text().endswith("first\nsecond\n") and log.read_text().startswith("$ sh -c ")


def test_a_hung_tool_is_stopped_and_the_stage_named(tmp_path: Path) -> None:
    log = tmp_path / "tool.log"
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    with pytest.raises(BuildError, match="waiting for nothing: sh printed nothing for 1 s") as info:
        process.run(["sh", "-c", f"sleep 300 & echo $! > {pid_file}; wait"], stage="waiting for nothing",
                    log=log, progress=Progress(quiet=True), timeout=1, error=BuildError)
    assert time.monotonic() - started < 10
    assert str(log) in info.value.remedy
    # the whole process group went, grandchildren included (a SIGKILL lands a moment later)
    grandchild = Path(f"/proc/{int(pid_file.read_text())}")

    def sleeping() -> bool:
        try:
            state = (grandchild / "stat").read_text().rsplit(")", 1)[1].split()[0]
            return state != "Z" and b"sleep" in (grandchild / "cmdline").read_bytes()
        except (FileNotFoundError, ProcessLookupError, IndexError):
            return False

    deadline = time.monotonic() + 5
    while sleeping() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not sleeping()


def test_a_failing_tool_reports_its_errors(tmp_path: Path) -> None:
    with pytest.raises(BuildError) as info:
        process.run(["sh", "-c", "echo compiling; echo 'x.c:1: error: no'; exit 2"], stage="building x",
                    log=tmp_path / "log", progress=Progress(quiet=True), timeout=10, error=BuildError)
    assert info.value.message.startswith("building x failed (sh exit 2)")
    assert "x.c:1: error: no" in info.value.message
    unchecked = process.run(["sh", "-c", "exit 3"], stage="s", log=tmp_path / "log", progress=Progress(quiet=True),
                            timeout=10, error=BuildError, check=False)
    assert unchecked.returncode == 3


def test_a_missing_tool_is_named(tmp_path: Path) -> None:
    with pytest.raises(BuildError, match="fetching: cannot run no-such-tool-kvmnull"):
        process.run(["no-such-tool-kvmnull"], stage="fetching", log=tmp_path / "log", progress=Progress(quiet=True),
                    timeout=10, error=BuildError)


def test_verbose_echoes_the_command_and_its_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    process.run(["sh", "-c", "echo hello-from-tool"], stage="s", log=tmp_path / "log",
                progress=Progress(verbose=True), timeout=10, error=BuildError)
    err = capsys.readouterr().err
    assert "$ sh -c 'echo hello-from-tool'" in err and "hello-from-tool\n" in err


def test_the_timeout_is_silence_not_total_time(tmp_path: Path) -> None:
    done = process.run(["sh", "-c", "for i in 1 2 3 4 5; do echo $i; sleep 0.4; done"], stage="slow but alive",
                       log=tmp_path / "log", progress=Progress(quiet=True), timeout=1.5, error=BuildError)
    assert done.output.split() == ["1", "2", "3", "4", "5"] and done.seconds > 1.5
