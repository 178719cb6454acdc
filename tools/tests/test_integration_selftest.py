"""`kvmnull selftest` end to end: every selftest passes in one real guest boot."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvmnull.build.kbuild import BuildResult, selftest_names
from kvmnull.commands.main import main
from kvmnull.evidence import ktap


@pytest.mark.guest
def test_selftests_pass_in_one_boot(built: BuildResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["selftest", "--offline", "--accel", "tcg", "--log-dir", str(tmp_path)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    reports = ktap.parse_all(printed)
    assert len(reports) == len(selftest_names())
    assert all(r.valid and not r.count(ktap.Status.FAIL) for r in reports)
    assert f"{len(selftest_names())} passed, 0 failed (0 skipped)" in printed
