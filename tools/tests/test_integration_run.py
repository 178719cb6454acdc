"""`kvmnull run` end to end, in a real guest: what a scenario must show, and two runs at once."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kvmnull.build.kbuild import BuildResult
from kvmnull.commands.main import main
from kvmnull.guest.qemu import STOPPED


@pytest.mark.guest
@pytest.mark.parametrize(("argv", "observed"), [
    (["--null", "vcpu_create"], "refused"),
    (["--policy", "warn", "--null", "vcpu_create"], "warned"),
    (["--null", "vm_destroy"], "loaded"),
])
def test_run_must_show(built: BuildResult, tmp_path: Path, argv: list[str], observed: str,
                       capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "run.json"
    status = main(["run", "-q", "--offline", "--accel", "tcg", "--log-dir", str(tmp_path), "--json", str(out), *argv])
    printed = capsys.readouterr().out
    assert status == 0, printed
    scenario = json.loads(out.read_text())["scenarios"][0]
    assert scenario["observed"] == observed and scenario["pass"]
    if observed != "loaded":
        assert scenario["named"] == ["x86.vcpu_create"]
    else:
        assert any("step run ok" in line for line in scenario["evidence"])
    assert (tmp_path / "latest" / "run.console.log").stat().st_size > 0


@pytest.mark.guest
def test_two_runs_started_together_keep_both_console_logs(built: BuildResult, tmp_path: Path) -> None:
    argv = [sys.executable, "-m", "kvmnull", "run", "-q", "--offline", "--accel", "tcg", "--log-dir", str(tmp_path)]
    children = [subprocess.Popen([*argv, "--null", hook], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for hook in ("vcpu_create", "vm_destroy")]
    outputs = [child.communicate(timeout=300) for child in children]
    assert [child.returncode for child in children] == [0, 0], outputs
    folders = sorted(p for p in tmp_path.iterdir() if p.is_dir() and not p.is_symlink())
    assert len(folders) == 2
    said = "".join(err for _, err in outputs)
    for folder in folders:
        assert f"run folder {folder}" in said  # each names its own folder
        log = (folder / "run.console.log").read_text(errors="replace")
        # each log is whole: the boot, its own scenario and the stop marker, and nobody else's scenario
        assert log.count("kvmnull-scenario: begin") == 1 and log.rstrip().endswith(STOPPED), folder
    begun = sorted(re.search(r"null=(\S*)", (f / "run.console.log").read_text()).group(1) for f in folders)
    assert begun == ["vcpu_create", "vm_destroy"]
