"""Run folders: one per invocation, never shared, with ``latest`` naming the newest."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from kvmnull.core.runs import LATEST, create_run_folder


def test_each_invocation_gets_its_own_folder(tmp_path: Path) -> None:
    first = create_run_folder(tmp_path, "run")
    second = create_run_folder(tmp_path, "run")  # same process, same second
    assert first != second
    assert first.is_dir() and second.is_dir() and not any(first.iterdir())
    assert first.name.endswith("-run") and "-run." in second.name
    assert (tmp_path / LATEST).resolve() == second.resolve()


def test_processes_started_together_never_share_a_folder(tmp_path: Path) -> None:
    script = ("import sys; from pathlib import Path; from kvmnull.core.runs import create_run_folder; "
              "f = create_run_folder(Path(sys.argv[1]), 'matrix'); (f / 'console.log').write_text(f.name); print(f)")
    children = [subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
                for _ in range(6)]
    folders = []
    for child in children:
        out, _ = child.communicate(timeout=60)
        assert child.returncode == 0
        folders.append(Path(out.strip()))
    assert len(set(folders)) == 6
    for folder in folders:  # each wrote its own log, and nobody overwrote it
        assert (folder / "console.log").read_text() == folder.name
    assert (tmp_path / LATEST).resolve() in {f.resolve() for f in folders}
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(f".{LATEST}")]  # no temporary links left


def test_default_parent_is_out_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    folder = create_run_folder(None, "selftest")
    assert folder.parent == Path("out") / "runs"
    assert (tmp_path / "out" / "runs" / LATEST).is_symlink()
