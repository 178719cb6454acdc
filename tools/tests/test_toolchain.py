"""Which toolchain builds a target, and how the suite userland is entered."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvmnull.build import toolchain
from kvmnull.core.errors import BuildError
from kvmnull.core.progress import Progress


def test_the_host_runs_commands_as_they_are() -> None:
    host = toolchain.Toolchain("x86_64-linux-gnu-gcc-12", "gcc-12 (Debian 12.2.0-14) 12.2.0", "gcc-12 ...")
    assert host.argv(["make", "-C", "dir"]) == ["make", "-C", "dir"]
    assert host.describe().startswith("x86_64-linux-gnu-gcc-12 in the host")


def test_a_userland_is_entered_in_a_private_mount_namespace_with_the_shared_folders(tmp_path: Path) -> None:
    chain = toolchain.Toolchain("x86_64-linux-gnu-gcc-14", "...", "...", tmp_path / "trixie", "trixie",
                                (Path("/cache"), Path("/repo")))
    argv = chain.argv(["make", "-j2"])
    assert argv[:4] == ["unshare", "--mount", "--propagation", "private"]
    # the script's arguments: the root, how many folders to share, the folders, then the command
    assert argv[-6:] == [str(tmp_path / "trixie"), "2", "/cache", "/repo", "make", "-j2"]
    assert "chroot" in argv[6] and "mount --bind" in argv[6]


def test_making_a_userland_without_root_fails_with_a_remedy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(toolchain.os, "geteuid", lambda: 1000)
    with pytest.raises(BuildError) as info:
        toolchain.userland("trixie", "x86_64-linux-gnu-gcc-14", tmp_path, Progress(quiet=True))
    assert "needs root" in str(info.value) and "sudo" in info.value.remedy
    assert not (tmp_path / "userlands").exists() or not any((tmp_path / "userlands").iterdir())


def test_the_compiler_must_be_the_version_the_kernel_names() -> None:
    wanted = "x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0"
    same = toolchain.Toolchain("x86_64-linux-gnu-gcc-14", wanted, "x86_64-linux-gnu-gcc-14 (Debian 14.2.0-19) 14.2.0")
    assert toolchain._checked(same) is same
    newer = toolchain.Toolchain("x86_64-linux-gnu-gcc-14", wanted, "x86_64-linux-gnu-gcc-14 (Debian 14.3.0-1) 14.3.0")
    with pytest.raises(BuildError, match=r"14\.3\.0"):
        toolchain._checked(newer)
