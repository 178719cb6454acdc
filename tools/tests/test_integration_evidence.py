"""Evidence from real kernels: reports provoked in a live guest read back, logs resolved with their own kernel."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvmnull.commands.main import main
from kvmnull.core.progress import Progress
from kvmnull.evidence.kernel_log import Report, ReportKind, of_type, parse
from kvmnull.fetch.packages import cache_root, cached_trees
from kvmnull.guest.harness import LOAD, provoke_command
from kvmnull.guest.qemu import Guest, GuestConfig

from .conftest import DATA


@pytest.mark.guest
def test_reports_provoked_in_a_live_guest_are_read_back(guest_config: GuestConfig, tmp_path: Path) -> None:
    # kvmnull-provoke.ko in the default target's guest: a soft lockup, then a hung task, one boot;
    # the console the parser reads is the one just streamed to disk
    log = tmp_path / "console.log"
    with Guest(guest_config, log, Progress(quiet=True)) as guest:
        for kind in ("spin", "sleep"):
            output, status = guest.run(provoke_command(kind), timeout=60, stage=f"provoking {kind}")
            assert status == 0 and f"{LOAD} provoke status=0" in output
    found = {(r.report, r.title, r.complete) for r in of_type(parse(log.read_text()), Report)}
    # syzbot titles a stall by the syscall that entered the loop, not where the CPU was caught
    assert found == {(ReportKind.SOFT_LOCKUP, "BUG: soft lockup in sys_finit_module", True),
                     (ReportKind.HUNG_TASK, "INFO: task hung in provoke_sleep", True)}


@pytest.mark.build
@pytest.mark.parametrize("name", ["upstream-warn.log", "upstream-warn-6.1.log"])
def test_evidence_command_resolves_a_log_with_its_own_kernel_or_says_what_to_fetch(
        name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "records.json"
    assert main(["evidence", str(DATA / name), "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    captured = capsys.readouterr()
    warns = [r for r in data["records"] if r["kind"] == "warn"]
    assert [w["source_line"] for w in warns] == [25, 36]
    cached = {t.release for t in cached_trees(cache_root())}
    if data["log_release"] in cached:  # resolved with exactly the log's kernel, never another
        assert (data["kernel"], data["kernel_from"]) == (data["log_release"], "the log")
        assert [w["hook"] for w in warns] == ["vcpu_create", "get_cpl"]
        assert f"resolved with {data['log_release']} (from the log)" in captured.out
    else:  # a newer point release is cached: say which kernel to fetch, resolve nothing
        assert data["kernel"] is None and all("hook" not in w for w in warns)
        assert f"the log is from {data['log_release']}, which is not in the cache" in captured.err
        assert "kvmnull fetch --kernel " in captured.err


@pytest.mark.build
def test_evidence_command_resolves_7_3_logs_with_7_3(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cached = {t.release for t in cached_trees(cache_root())}
    for name, expected in (("upstream-knockout-7.3.log", ["vcpu_create"]),  # anonymous: via the 7.3 header
                           ("warned-7.3.log", ["vcpu_create", "refresh", "get_state"])):  # named by the patch
        out = tmp_path / f"{name}.json"
        assert main(["evidence", str(DATA / name), "--json", str(out)]) == 0
        data = json.loads(out.read_text())
        capsys.readouterr()
        assert data["log_release"] == "7.3.4+deb13-cloud-amd64"
        if data["log_release"] not in cached:
            pytest.skip("a newer 7.3 point release is cached: the log's own kernel cannot resolve it")
        assert (data["kernel"], data["kernel_from"]) == (data["log_release"], "the log")
        assert [w["hook"] for w in data["records"] if w["kind"] == "warn"] == expected
