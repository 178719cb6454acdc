"""``--patch``: reading real-shaped patches (fetch/patches.py) and applying them to a cached source."""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import pytest

from kvmnull.core.errors import PatchError
from kvmnull.core.progress import Progress
from kvmnull.fetch import packages
from kvmnull.fetch.patches import apply, key_of, read_patch, read_patches

from .conftest import DATA, reads_cache

PATCHES = DATA / "patches"


def test_a_format_patch_is_read_with_its_subject_files_and_hunks() -> None:
    patch = read_patch(PATCHES / "7.3-add-mandatory-hook.patch")
    (message,) = patch.messages
    assert message.subject == "[PATCH] KVM: x86: Add a mandatory vcpu_run_precheck() hook"
    # the diffstat of the patch lists these seven files
    assert sorted(patch.files) == sorted([
        "arch/x86/include/asm/kvm-x86-ops.h", "arch/x86/include/asm/kvm_host.h", "arch/x86/kvm/svm/svm.c",
        "arch/x86/kvm/vmx/main.c", "arch/x86/kvm/vmx/vmx.c", "arch/x86/kvm/vmx/x86_ops.h", "arch/x86/kvm/x86.c"])
    header = next(d for d in message.diffs if d.path.endswith("kvm-x86-ops.h"))
    (hunk,) = header.hunks
    assert "KVM_X86_OP(vcpu_run)" in hunk.expected and "KVM_X86_OP(vcpu_run_precheck)" not in hunk.expected
    assert patch.sha256 == hashlib.sha256((PATCHES / "7.3-add-mandatory-hook.patch").read_bytes()).hexdigest()


def test_an_mbox_is_its_messages_in_order_without_the_cover_letter() -> None:
    patch = read_patch(PATCHES / "6.12-series.mbox")
    assert [m.subject for m in patch.messages] == [
        "[PATCH 1/2] KVM: x86: Declare an optional vcpu_run_notify() hook",
        "[PATCH 2/2] KVM: x86: Call vcpu_run_notify() before each run"]
    assert [m.files for m in patch.messages] == [
        ("arch/x86/include/asm/kvm-x86-ops.h", "arch/x86/include/asm/kvm_host.h"), ("arch/x86/kvm/x86.c",)]


def test_a_plain_diff_u_is_a_patch_too(tmp_path: Path) -> None:
    # what diff -u writes: no mail headers, timestamps after the names
    body = (PATCHES / "6.12-reclassify-ret0-to-optional.patch").read_text().split("\ndiff --git ", 1)[1]
    hunks = body[body.index("@@"):].split("\n-- \n")[0]
    plain = tmp_path / "plain.diff"
    plain.write_text("--- a/arch/x86/include/asm/kvm-x86-ops.h\t2026-11-30 10:00:00.000000000 +0000\n"
                     "+++ b/arch/x86/include/asm/kvm-x86-ops.h\t2026-11-30 10:01:00.000000000 +0000\n" + hunks)
    (message,) = read_patch(plain).messages
    assert message.files == ("arch/x86/include/asm/kvm-x86-ops.h",) and message.subject == "plain.diff"


def test_a_damaged_hunk_is_named(tmp_path: Path) -> None:
    text = (PATCHES / "6.12-reclassify-ret0-to-optional.patch").read_text()
    damaged = tmp_path / "damaged.patch"
    damaged.write_text(text.replace("\n KVM_X86_OP", "\nKVM_X86_OP", 1))  # a mailer ate a context line's space
    with pytest.raises(PatchError, match=r"damaged.patch: the hunk at line \d+ \(@@ .*\) has \d+ old and \d+ new "
                                         r"lines, not the \d+ and \d+ its header says"):
        read_patch(damaged)


@pytest.mark.parametrize(("content", "message"), [
    (b"", "no file diff found"),
    (b"just some words\n", "no file diff found"),
    (gzip.compress(b"diff --git a/x b/x\n"), "a binary file, not a patch"),
])
def test_what_is_not_a_patch_is_refused(content: bytes, message: str, tmp_path: Path) -> None:
    path = tmp_path / "given.patch"
    path.write_bytes(content)
    with pytest.raises(PatchError, match=message):
        read_patch(path)


def test_vmlinux_code_is_refused_by_file() -> None:
    with pytest.raises(PatchError) as info:
        read_patches([PATCHES / "6.12-touches-vmlinux.patch"])
    assert "changes kernel/sched/core.c, which is vmlinux code kvmnull does not rebuild" in info.value.message
    assert "arch/x86/kvm/x86.c" not in info.value.message.split("which")[0]


def test_the_key_is_the_ordered_patch_hashes() -> None:
    one, two = read_patch(PATCHES / "6.12-add-void-optional-hook.patch"), read_patch(PATCHES / "6.12-series.mbox")
    assert key_of("6.12.1", [one, two]) != key_of("6.12.1", [two, one]) != key_of("6.12.2", [two, one])
    assert key_of("6.12.1", [one, two]) == key_of("6.12.1", [one, two])


@pytest.fixture(params=["6.12", "7.3"])
@reads_cache
def series_tree(request: pytest.FixtureRequest) -> packages.KernelTree:
    return packages.fetch(packages.KernelSpec(series=str(request.param)), packages.cache_root(), Progress(quiet=True))


def test_a_patch_applies_to_a_copy_and_never_to_the_cache(series_tree: packages.KernelTree, tmp_path: Path) -> None:
    patch = read_patch(PATCHES / f"{series_tree.series}-add-mandatory-hook.patch")
    header = series_tree.source / "arch/x86/include/asm/kvm-x86-ops.h"
    before = header.read_bytes()
    source = apply(series_tree.source, [], tmp_path / "patched", [patch], Progress(quiet=True))
    assert "KVM_X86_OP(vcpu_run_precheck)\n" in (source / "arch/x86/include/asm/kvm-x86-ops.h").read_text()
    assert header.read_bytes() == before and b"vcpu_run_precheck" not in before
    # an unchanged file is shared, a changed one is the copy's own
    def inode(root: Path, name: str) -> int:
        return (root / name).stat().st_ino
    assert inode(source, "arch/x86/kvm/lapic.c") == inode(series_tree.source, "arch/x86/kvm/lapic.c")
    assert inode(source, "arch/x86/kvm/x86.c") != inode(series_tree.source, "arch/x86/kvm/x86.c")
    # applied once: a second call finds it
    assert apply(series_tree.source, [], tmp_path / "patched", [patch], Progress(quiet=True)) == source


def test_a_hunk_that_does_not_apply_names_the_text_it_expected(series_tree: packages.KernelTree,
                                                               tmp_path: Path) -> None:
    patch = read_patch(PATCHES / f"{series_tree.series}-does-not-apply.patch")
    with pytest.raises(PatchError) as info:
        apply(series_tree.source, [], tmp_path / "patched", [patch], Progress(quiet=True))
    message = info.value.message
    assert "hunk #1 of arch/x86/include/asm/kvm-x86-ops.h does not apply" in message
    assert "|KVM_X86_OP_OPTIONAL(an_older_neighbour)" in message  # the altered context line it expected
    assert not (tmp_path / "patched").exists() and not list(tmp_path.glob(".tmp-*"))


def test_a_series_applies_in_order_and_a_repeat_is_named(tree: packages.KernelTree, tmp_path: Path) -> None:
    # the mbox is written against 6.12, the default target
    series_tree = tree
    series = read_patch(PATCHES / "6.12-series.mbox")
    source = apply(series_tree.source, [], tmp_path / "a", [series], Progress(quiet=True))
    assert "kvm_x86_call(vcpu_run_notify)(vcpu);" in (source / "arch/x86/kvm/x86.c").read_text()
    with pytest.raises(PatchError, match="already applied"):
        apply(series_tree.source, [], tmp_path / "b", [series, series], Progress(quiet=True))
