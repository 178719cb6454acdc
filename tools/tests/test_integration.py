"""Real parts, really exercised: the modules are built, a real guest kernel boots under QEMU."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

import pytest

from kvmnull.build import REPO, BuildResult, build, patch_files
from kvmnull.cli import main
from kvmnull.contract import Outcome, Policy, Scenario
from kvmnull.guest import Accel, Guest, GuestConfig, GuestCrashed
from kvmnull.hooks import HookSet, Table
from kvmnull.packages import KernelTree
from kvmnull.progress import Progress
from kvmnull.runner import busybox_path
from kvmnull.scenario import GuestSession, initramfs_for, observe

from .conftest import DATA


@pytest.fixture(scope="module")
def built(tree: KernelTree) -> BuildResult:
    return build(tree, Progress(quiet=True))


@pytest.fixture(scope="module")
def guest_config(built: BuildResult, tree: KernelTree, tmp_path_factory: pytest.TempPathFactory) -> GuestConfig:
    initrd = initramfs_for(built, busybox_path(), tmp_path_factory.mktemp("guest") / "initrd.cpio")
    return GuestConfig(tree.vmlinuz, initrd, Accel.TCG, cpus=1)


def modinfo_params(path: Path) -> set[str]:
    out = subprocess.run(["modinfo", "-F", "parm", str(path)], capture_output=True, text=True, check=True).stdout
    return {line.split(":", 1)[0] for line in out.splitlines()}


@pytest.mark.build
def test_modules_and_their_parameters(built: BuildResult) -> None:
    assert "missing_hook" in modinfo_params(built.kvm_ko)
    assert {"null", "null_pmu", "allow_bare_metal"} <= modinfo_params(built.kvm_null_ko)
    assert built.kvm_amd_ko.exists()
    out = subprocess.run(["modinfo", "-F", "test", str(built.kvm_null_ko)], capture_output=True, text=True)
    assert out.stdout.strip() == "Y"


@pytest.mark.build
def test_kvm_null_builds_warning_free_with_w1(built: BuildResult) -> None:
    assert built.kvm_null_warnings == ()
    assert "W=1" in (built.path / "build.log").read_text()


@pytest.mark.build
def test_c_and_patch_are_checkpatch_clean(tree: KernelTree) -> None:
    checkpatch = tree.source / "scripts" / "checkpatch.pl"
    files = [*sorted((REPO / "module").glob("*.[ch]")), *sorted((REPO / "selftests").glob("*.c"))]
    for path in [*files, *patch_files(tree.series)]:
        args = ["perl", str(checkpatch), "--no-tree", "--strict", "--quiet"]
        args += [str(path)] if path.suffix == ".patch" else ["-f", str(path)]
        result = subprocess.run(args, capture_output=True, text=True)
        # checkpatch exits non-zero on any error, warning or (with --strict) check
        assert result.returncode == 0, f"{path.name}:\n{result.stdout}"


@pytest.mark.build
def test_patch_applies_cleanly_to_pristine_source(tree: KernelTree, tmp_path: Path) -> None:
    for sub in ("arch/x86/kvm", "virt/kvm"):
        subprocess.run(["cp", "-r", "--parents", sub, str(tmp_path)], cwd=tree.source, check=True)
    for patch in patch_files(tree.series):
        result = subprocess.run(["patch", "-p1", "--dry-run", "--batch", "-d", str(tmp_path), "-i", str(patch)],
                                capture_output=True, text=True)
        assert result.returncode == 0, result.stdout
        assert "offset" not in result.stdout and "fuzz" not in result.stdout, result.stdout


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
    assert (tmp_path / "run.console.log").stat().st_size > 0


@pytest.mark.guest
def test_full_matrix(built: BuildResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "matrix.json"
    junit = tmp_path / "matrix.xml"
    status = main(["matrix", "-q", "--offline", "--accel", "tcg", "--log-dir", str(tmp_path),
                   "--json", str(out), "--junit", str(junit), "--failures-only"])
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    failed = [s for s in data["scenarios"] if not s["pass"]]
    assert status == 0 and not failed, printed
    assert data["kernel"] and data["accel"] == "tcg"
    # every hook alone under both policies, plus two controls per policy (kvm-amd: TCG offers SVM)
    singles = [s for s in data["scenarios"] if s["table"] in ("x86", "pmu")]
    assert len(singles) == (122 + 11) * 2
    assert len([s for s in data["scenarios"] if s["table"] == "control"]) == 4
    for s in singles:
        if s["class"] == "mandatory":
            assert s["observed"] == ("refused" if s["policy"] == "refuse" else "warned")
            assert s["named"] == [f"{s['table']}.{s['hook']}"]
        else:
            assert s["observed"] == "loaded"
    assert {k for k in data["scenarios"][0]} >= {"table", "hook", "class", "policy", "expected", "observed",
                                                 "pass", "evidence"}
    assert "<testsuite" in junit.read_text()


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
    assert hang.hung and observe(hang, hooks).outcome is Outcome.HUNG
    assert observe(after, hooks).outcome is Outcome.LOADED
    assert session.boots == 2


@pytest.mark.guest
def test_evidence_command_names_the_hook_of_an_upstream_warn(tree: KernelTree, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "records.json"
    assert main(["evidence", str(DATA / "upstream-warn.log"), "--json", str(out)]) == 0
    warns = [r for r in json.loads(out.read_text()) if r["kind"] == "warn"]
    assert [w["hook"] for w in warns] == ["vcpu_create", "get_cpl"]
    assert "hook x86.vcpu_create" in capsys.readouterr().out


@pytest.mark.guest
def test_selftests_pass_in_one_boot(built: BuildResult, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["selftest", "--offline", "--accel", "tcg", "--log-dir", str(tmp_path)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    from kvmnull import ktap
    from kvmnull.build import selftest_names
    reports = ktap.parse_all(printed)
    assert len(reports) == len(selftest_names())
    assert all(r.valid and not r.count(ktap.Status.FAIL) for r in reports)
    assert f"{len(selftest_names())} passed, 0 failed (0 skipped)" in printed


def doc_section(text: str, name: str) -> str:
    return text.split(f"<!-- kvmnull:{name} -->\n", 1)[1].split(f"<!-- /kvmnull:{name} -->", 1)[0].strip()


@pytest.mark.guest
def test_census_dynamic_bitemap_and_the_teaching_doc(built: BuildResult, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    committed = (REPO / "docs" / "teaching.md").read_text()
    doc = tmp_path / "teaching.md"
    doc.write_text(committed)
    out = tmp_path / "census.json"
    assert main(["census", "-q", "--offline", "--accel", "tcg", "--log-dir", str(tmp_path), "--dynamic",
                 "--bitemap", "--json", str(out), "--update-doc", str(doc)]) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    mandatory = [h for h in data["hooks"] if h["class"] == "mandatory"]
    assert len(mandatory) == 86 and len(data["bitemap"]) == 86
    assert all(b["how"] for b in data["bitemap"])  # every mandatory hook has an observed result
    assert all(len(h["phase_runs"]) == 5 and h["first_phase"] in h["phase_runs"] for h in data["hooks"])
    regenerated = doc.read_text()
    for name in ("census", "bitemap"):
        assert doc_section(regenerated, name) in printed
    # the committed walkthrough is what the stated command produces today: the same text, except
    # that a first phase may differ where it is one this run also observed in some lifecycle
    assert doc_section(regenerated, "bitemap") == doc_section(committed, "bitemap")
    column = 7
    seen = {(h["table"], h["hook"]): set(h["phase_runs"]) for h in data["hooks"]}
    old_rows = doc_section(committed, "census").splitlines()
    new_rows = doc_section(regenerated, "census").splitlines()
    assert len(old_rows) == len(new_rows)
    for old, new in zip(old_rows, new_rows, strict=True):
        old_cells = [c.strip() for c in old.strip("|").split("|")]
        new_cells = [c.strip() for c in new.strip("|").split("|")]
        if old_cells[:column] != new_cells[:column] or old_cells[column + 1:] != new_cells[column + 1:]:
            pytest.fail(f"census row changed:\n{old}\n{new}")
        if old_cells[column] != new_cells[column]:
            assert old_cells[column] in seen[(new_cells[0], new_cells[1])], (old, new)


@pytest.mark.build
def test_fetch_killed_mid_download_leaves_nothing_trusted(tmp_path: Path) -> None:
    import os
    import signal
    import sys

    from kvmnull.packages import cached_trees

    cache = tmp_path / "cache"
    env = {**os.environ, "KVMNULL_CACHE": str(cache)}
    child = subprocess.Popen([sys.executable, "-m", "kvmnull", "fetch", "-q"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not list((cache / "kernels").glob(".tmp-*/debs/*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)  # no cleanup handler runs
    child.wait()
    assert list((cache / "kernels").glob(".tmp-*")), "the kill came too late to test anything"
    assert cached_trees(cache) == []
    # the next run fetches a complete entry despite the leftover
    done = subprocess.run([sys.executable, "-m", "kvmnull", "fetch", "-q"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [t.abi for t in cached_trees(cache)] == ["6.12.117+deb12"]
