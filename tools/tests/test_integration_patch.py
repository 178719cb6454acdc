"""A developer's change, end to end in real builds and guests: ``--patch`` on a series, ``review``, and a
series whose hand-written patch folder is set aside (kvmnull's change generated from its own source).

The patches are real-shaped (``git format-patch`` output) and live in ``test_data/patches/`` with a
README saying what each does; a new hook's name is read from the patch's own X-macro line.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
from pathlib import Path

import pytest

from kvmnull.commands.main import main
from kvmnull.core import paths
from kvmnull.core.progress import Progress
from kvmnull.fetch import packages

from .conftest import DATA, reads_cache

PATCHES = DATA / "patches"


def new_hook(patch: Path) -> str:
    """The mandatory x86 hook a patch adds, from its own ``+KVM_X86_OP(name)`` line."""
    match = re.search(r"^\+KVM_X86_OP\((\w+)\)$", patch.read_text(), re.M)
    assert match, f"{patch.name} adds no KVM_X86_OP() entry"
    return match.group(1)


def cached_patched(cache: Path, patch: Path) -> list[Path]:
    """The patched sources and builds the cache keeps for ``patch`` (their manifests record its hash)."""
    digest = hashlib.sha256(patch.read_bytes()).hexdigest()
    return [m.parent for m in (*cache.glob("patched/*/*/patched.json"), *cache.glob("builds/*/*/build.json"))
            if digest in m.read_text()]


@pytest.mark.guest
@pytest.mark.parametrize("series", ["7.3"])
def test_a_patch_that_adds_a_mandatory_hook(series: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    patch = PATCHES / f"{series}-add-mandatory-hook.patch"
    hook = new_hook(patch)
    common = ["--kernel", series, "--patch", str(patch), "-q"]
    # the patched source decides the hook list
    listed = tmp_path / "hooks.json"
    assert main(["build", *common, "--list-hooks", "--json", str(listed)]) == 0
    data = json.loads(listed.read_text())
    entry = next(h for h in data["hooks"] if h["table"] == "x86" and h["hook"] == hook)
    assert entry["class"] == "mandatory"
    assert [p["sha256"] for p in data["patches"]] == [hashlib.sha256(patch.read_bytes()).hexdigest()]
    # refused by name, warned by name, and the stock kvm.ko of the patched source WARNs at the patched header's line
    out = tmp_path / "matrix.json"
    assert main(["matrix", *common, "--accel", "tcg", "--log-dir", str(tmp_path), "--hooks", f"x86.{hook}",
                 "--kvm", "both", "--no-bulk", "--json", str(out)]) == 0, capsys.readouterr().out
    scenarios = {(s["name"], s["policy"]): s for s in json.loads(out.read_text())["scenarios"]}
    for policy, observed in (("refuse", "refused"), ("warn", "warned")):
        s = scenarios[(f"x86.{hook}", policy)]
        assert (s["observed"], s["named"], s["pass"]) == (observed, [f"x86.{hook}"], True), s
    # 7.3's own kvm.ko exports its vendor interface to kvm-amd and kvm-intel only (KVM_SUB_MODULES)
    assert scenarios[(f"x86.{hook}", "upstream")]["observed"] == "not_admitted"
    # its kvm-amd knockout row, under the patched kvm.ko and under the patched source's own: upstream's
    # anonymous WARN points below the line the patch inserted, and resolves to the new hook
    for kvm in ("patched", "stock"):
        bites = tmp_path / f"bitemap-{kvm}.json"
        assert main(["bitemap", *common, "--accel", "tcg", "--log-dir", str(tmp_path), "--hooks", f"x86.{hook}",
                     "--kvm", kvm, "--json", str(bites)]) == 0
        (row,) = json.loads(bites.read_text())["bites"]
        assert (row["table"], row["hook"], row["class"], row["warned"]) == ("x86", hook, "mandatory", True), row
    # warned under stock: kvm.ko's anonymous WARN was resolved through the patched header's line
    consoles = "".join(p.read_text(errors="replace") for p in tmp_path.glob("*-bitemap/bitemap-stock-*.console.log"))
    assert re.search(rf"WARNING: (?:.* at )?arch/x86/include/asm/kvm-x86-ops.h:{entry['header_line']}\b", consoles)


@pytest.mark.guest
def test_a_series_with_its_patch_folder_set_aside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    # kvmnull's data without kbuild/patches/7.3/: the check is generated from 7.3's own source and behaves
    # as the hand-written patch does, on a mandatory hook of each of 7.3's three tables
    data = tmp_path / "data"
    for folder in paths.FOLDERS:
        shutil.copytree(paths.data_root() / folder, data / folder)
    shutil.rmtree(data / "kbuild" / "patches" / "7.3")
    monkeypatch.setattr(paths, "data_root", lambda: data)
    out = tmp_path / "matrix.json"
    hooks = "x86.vcpu_create,pmu.refresh,nested.check_events"
    assert main(["matrix", "-q", "--offline", "--kernel", "7.3", "--accel", "tcg", "--log-dir", str(tmp_path),
                 "--hooks", hooks, "--no-bulk", "--json", str(out)]) == 0, capsys.readouterr().out
    scenarios = json.loads(out.read_text())["scenarios"]
    assert {(s["name"], s["policy"], s["observed"], tuple(s["named"])) for s in scenarios
            if not s["name"].startswith("control")} == {
        (h, p, o, (h,)) for h in hooks.split(",") for p, o in (("refuse", "refused"), ("warn", "warned"))}
    assert all(s["pass"] for s in scenarios)


def test_bad_patches_are_named_before_anything_slow(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cache = tmp_path / "cache"  # empty: nothing is fetched, built or left behind
    for patch, message in (
        ("6.12-touches-vmlinux.patch", "changes kernel/sched/core.c, which is vmlinux code kvmnull does not rebuild"),
        ("no-such.patch", "no-such.patch: No such file or directory"),
    ):
        assert main(["build", "--offline", "--cache", str(cache), "--patch", str(PATCHES / patch)]) == 2
        assert message in capsys.readouterr().err
    assert not cache.exists() or not any(cache.rglob("*.json"))


@pytest.fixture(params=["6.12", "7.3"])
@reads_cache
def series_tree(request: pytest.FixtureRequest) -> packages.KernelTree:
    return packages.fetch(packages.KernelSpec(series=str(request.param)), packages.cache_root(), Progress(quiet=True))


def test_a_hunk_that_does_not_apply_is_named_and_leaves_nothing(series_tree: packages.KernelTree,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    cache = packages.cache_root()
    patch = PATCHES / f"{series_tree.series}-does-not-apply.patch"
    assert main(["build", "--offline", "--kernel", series_tree.series, "--patch", str(patch), "--list-hooks"]) == 2
    err = capsys.readouterr().err
    assert re.search(r"hunk #\d+ of \S+ does not apply \(tried at line \d+\); it expected at line \d+:", err), err
    assert cached_patched(cache, patch) == []


@pytest.mark.guest
def test_review_runs_the_touched_hook_in_guests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # the whole review of a new mandatory hook: its scenarios under each kvm.ko and its knockout row
    patch = PATCHES / "7.3-add-mandatory-hook.patch"
    hook = f"x86.{new_hook(patch)}"
    out = tmp_path / "review.json"
    assert main(["review", str(patch), "--kernel", "7.3", "-q", "--accel", "tcg", "--log-dir", str(tmp_path),
                 "--json", str(out)]) == 0, capsys.readouterr()
    data = json.loads(out.read_text())
    assert data["touched"] == [hook] and data["failed"] is False
    mine = {(s["policy"], s["observed"]) for s in data["guest"]["scenarios"] if s["name"] == hook}
    assert mine == {("refuse", "refused"), ("warn", "warned"), ("upstream", "not_admitted")}
    assert all(s["pass"] for s in data["guest"]["scenarios"])
    assert [(b["table"], b["hook"], b["warned"]) for b in data["guest"]["bites"]] == [("x86", hook[4:], True)]
    text = capsys.readouterr().out
    assert f"{hook} [refuse]: expected refused, observed refused: ok" in text
