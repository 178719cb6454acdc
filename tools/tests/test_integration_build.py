"""The build, really done: the modules and their parameters, W=1, checkpatch, the patches on pristine source."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from kvmnull.build.kbuild import BuildResult, copy_for_patching, patch_files
from kvmnull.fetch.packages import KernelTree
from kvmnull.kernel.hooks import class_selectors

from .test_integration import REPO


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
def test_the_module_and_the_tools_agree_on_class_selectors(built: BuildResult) -> None:
    out = subprocess.run(["modinfo", "-F", "parm", str(built.kvm_null_ko)], capture_output=True, text=True,
                         check=True).stdout
    for param in ("null", "null_pmu"):
        line = next(line for line in out.splitlines() if line.startswith(f"{param}:"))
        assert set(re.findall(r"@\w+", line)) == set(class_selectors()), line


@pytest.mark.build
def test_kvm_null_builds_warning_free_with_w1(built: BuildResult) -> None:
    assert built.kvm_null_warnings == ()
    assert "W=1" in (built.path / "build.log").read_text()


@pytest.mark.build
def test_c_and_patch_are_checkpatch_clean(tree: KernelTree) -> None:
    checkpatch = tree.source / "scripts" / "checkpatch.pl"
    files = [*sorted((REPO / "module").glob("*.[ch]")), *sorted((REPO / "selftests").glob("*.[ch]")),
             *sorted((REPO / "kbuild" / "knockout").glob("*.[ch]")),
             *sorted((REPO / "selftests" / "provoke").glob("*.[ch]"))]
    for path in [*files, *patch_files(tree.series)]:
        args = ["perl", str(checkpatch), "--no-tree", "--strict", "--quiet"]
        args += [str(path)] if path.suffix == ".patch" else ["-f", str(path)]
        result = subprocess.run(args, capture_output=True, text=True)
        # checkpatch exits non-zero on any error, warning or (with --strict) check
        assert result.returncode == 0, f"{path.name}:\n{result.stdout}"


@pytest.mark.build
def test_patch_applies_cleanly_to_pristine_source(tree: KernelTree, tmp_path: Path) -> None:
    copy_for_patching(tree.source, tmp_path, tree.series)
    for patch in patch_files(tree.series):
        result = subprocess.run(["patch", "-p1", "--dry-run", "--batch", "-d", str(tmp_path), "-i", str(patch)],
                                capture_output=True, text=True)
        # a later point release may move the lines (an offset); fuzz would mean the context changed
        assert result.returncode == 0, result.stdout
        assert "fuzz" not in result.stdout, result.stdout
