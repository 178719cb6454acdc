"""``kvmnull review``: the contract change and the lint findings of real-shaped patches (static part).

What each patch changes is read from the patch itself (test_data/patches/README.md); the call site
a reclassification exposes is kvm_arch_vcpu_precreate() in x86.c, which returns
``kvm_x86_call(vcpu_precreate)(kvm)`` with no check of the pointer on 6.12 and 7.3 alike.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from kvmnull.commands.main import main
from kvmnull.commands.review import WIDTH
from kvmnull.core.progress import Progress
from kvmnull.fetch import packages
from kvmnull.kernel.hooks import HookClass, HookSet
from kvmnull.verdict import review as rv

from .conftest import DATA, reads_cache

PATCHES = DATA / "patches"
needs_spatch = pytest.mark.skipif(shutil.which("spatch") is None, reason="Coccinelle's spatch is not installed")


# ---- the contract change, on the captured 6.12 hook table ----

def test_each_kind_of_contract_change(captured_hooks: HookSet) -> None:
    hooks = list(captured_hooks.hooks)
    by = {h.key: h for h in hooks}
    create, precreate = by["x86.vcpu_create"], by["x86.vcpu_precreate"]
    after = HookSet(tuple(
        [replace(h, hook_class=HookClass.OPTIONAL) if h is precreate else h
         for h in hooks if h.key != "x86.vm_destroy"]
        + [replace(create, name="vcpu_create_early", declaration=replace(create.declaration, name="x"))]))
    changes = {(c.change, c.hook.key) for c in rv.contract_changes(captured_hooks, after)}
    assert changes == {(rv.Change.RECLASSIFIED, "x86.vcpu_precreate"), (rv.Change.REMOVED, "x86.vm_destroy"),
                       (rv.Change.ADDED, "x86.vcpu_create_early")}
    # a removed and an added hook of one shape is a rename
    renamed = HookSet(tuple(replace(h, name="vm_teardown") if h.key == "x86.vm_destroy" else h for h in hooks))
    (change,) = rv.contract_changes(captured_hooks, renamed)
    assert (change.change, change.text) == (rv.Change.RENAMED, "x86.vm_destroy -> vm_teardown: renamed (the same "
                                                               "declaration and class)")
    assert rv.contract_changes(captured_hooks, captured_hooks) == ()


# ---- the command, on the cached series ----

@pytest.fixture(params=["6.12", "7.3"])
@reads_cache
def series(request: pytest.FixtureRequest) -> str:
    packages.fetch(packages.KernelSpec(series=str(request.param)), packages.cache_root(), Progress(quiet=True))
    return str(request.param)


@needs_spatch
def test_a_reclassification_that_exposes_a_caller_fails(series: str, tmp_path: Path,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    out, md = tmp_path / "review.json", tmp_path / "review.md"
    patch = PATCHES / f"{series}-reclassify-ret0-to-optional.patch"
    assert main(["review", str(patch), "--kernel", series, "--offline", "--no-guest", "-q", "--json", str(out),
                 "--markdown", str(md)]) == 1
    text = capsys.readouterr().out
    assert max(len(line) for line in text.splitlines()) <= WIDTH
    data = json.loads(out.read_text())
    assert [(c["change"], c["table"], c["before"]["class"], c["after"]["class"]) for c in data["contract"]] == [
        ("reclassified", "x86", "optional_ret0", "optional")]
    (finding,) = data["lint"]["introduced"]
    assert (finding["hook"], finding["file"], finding["function"], finding["severity"]) == (
        "x86.vcpu_precreate", "arch/x86/kvm/x86.c", "kvm_arch_vcpu_precreate", "error")
    assert f"arch/x86/kvm/x86.c:{finding['line']}: error: x86.vcpu_precreate" in text
    assert data["touched"] == ["x86.vcpu_precreate"] and data["failed"] is True and data["guest"] is None
    assert "`x86.vcpu_precreate`" in md.read_text() and data["patches"][0]["file"] == str(patch)


@needs_spatch
def test_a_void_optional_hook_passes_with_its_stub(series: str, capsys: pytest.CaptureFixture[str]) -> None:
    patch = PATCHES / f"{series}-add-void-optional-hook.patch"
    assert main(["review", str(patch), "--kernel", series, "--offline", "--no-guest", "-q", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(c["change"], c["after"]["hook"], c["after"]["class"], c["after"]["declaration"])
            for c in data["contract"]] == [("added", "vcpu_run_notify", "optional", "void (*)(struct kvm_vcpu *vcpu)")]
    assert data["lint"]["introduced"] == [] and data["failed"] is False
    assert "static void kvm_null_x86_vcpu_run_notify(struct kvm_vcpu *vcpu)" in data["stubs"]["x86.vcpu_run_notify"]


@needs_spatch
def test_a_new_mandatory_hook_is_listed_with_its_stub(series: str, capsys: pytest.CaptureFixture[str]) -> None:
    patch = PATCHES / f"{series}-add-mandatory-hook.patch"
    assert main(["review", str(patch), "--kernel", series, "--offline", "--no-guest", "-q", "--json", "-"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(c["change"], c["after"]["hook"], c["after"]["class"]) for c in data["contract"]] == [
        ("added", "vcpu_run_precheck", "mandatory")]
    assert "return 0;" in data["stubs"]["x86.vcpu_run_precheck"]


def test_review_takes_its_patches_as_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    patch = str(PATCHES / "6.12-add-void-optional-hook.patch")
    assert main(["review", patch, "--patch", patch, "--offline"]) == 2
    assert "review takes its patches as arguments, not --patch" in capsys.readouterr().err
