"""apt's answer for a series is kept while the package lists it came from are unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kvmnull.core.progress import Progress
from kvmnull.fetch import apt, packages

FOUND = packages.PackageSet("6.12.117+deb12-cloud-amd64", "6.12.117-1~deb12u1", "6.12", "cloud-amd64",
                            (("linux-image-6.12.117+deb12-cloud-amd64-unsigned", "6.12.117-1~deb12u1"),),
                            apt.View("private apt (sid)", ("-o", "Dir::State::Lists=/x")))


@pytest.fixture
def lists(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, list[str]]:
    """A host whose lists are a folder of the test's, and an apt that counts the times it is asked."""
    host = tmp_path / "lists"
    host.mkdir()
    (host / "deb.debian.org_dists_bookworm_main_binary-amd64_Packages").write_text("Package: a\n")
    monkeypatch.setattr(apt, "HOST_LISTS", host)
    monkeypatch.setattr(apt, "HOST_SOURCES", tmp_path / "etc")
    asked: list[str] = []

    def ask(view: apt.View, target: packages.KernelSpec, cache: Path, progress: Progress) -> packages.PackageSet:
        asked.append(view.name)
        return FOUND

    monkeypatch.setattr(packages, "_resolve_in", ask)
    monkeypatch.setattr(packages.shutil, "which", lambda name: f"/usr/bin/{name}")
    return host, asked


def test_the_answer_is_kept_and_given_again(tmp_path: Path, lists: tuple[Path, list[str]]) -> None:
    _, asked = lists
    cache = tmp_path / "cache"
    first = packages.resolve(packages.KernelSpec(), cache, Progress(quiet=True))
    again = packages.resolve(packages.KernelSpec(), cache, Progress(quiet=True))
    assert first == again == FOUND  # the view too: a 7.x set is downloaded through the private lists
    assert asked == ["host apt"]


def test_a_changed_list_asks_apt_again(tmp_path: Path, lists: tuple[Path, list[str]]) -> None:
    host, asked = lists
    cache = tmp_path / "cache"
    packages.resolve(packages.KernelSpec(), cache, Progress(quiet=True))
    listed = next(host.iterdir())
    listed.write_text("Package: a\nPackage: b\n")  # apt-get update brought a new list
    os.utime(listed, ns=(listed.stat().st_atime_ns, listed.stat().st_mtime_ns + 10**9))
    packages.resolve(packages.KernelSpec(), cache, Progress(quiet=True))
    packages.resolve(packages.KernelSpec(series="6.1"), cache, Progress(quiet=True))  # another series
    assert asked == ["host apt"] * 3


def test_a_damaged_answer_is_asked_again_and_said(tmp_path: Path, lists: tuple[Path, list[str]],
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    _, asked = lists
    cache = tmp_path / "cache"
    packages.resolve(packages.KernelSpec(), cache, Progress())
    memo = next((cache / "resolved").iterdir())
    memo.write_text("{half")
    assert packages.resolve(packages.KernelSpec(), cache, Progress()) == FOUND
    assert len(asked) == 2 and f"ignoring damaged {memo.name}" in capsys.readouterr().err


def test_stale_private_lists_are_never_trusted(tmp_path: Path, lists: tuple[Path, list[str]]) -> None:
    cache = tmp_path / "cache"
    stamp = cache / "apt" / "updated"
    stamp.parent.mkdir(parents=True)
    stamp.touch()
    old = stamp.stat().st_mtime - apt.MAX_AGE - 60
    os.utime(stamp, (old, old))
    assert apt.lists_state(cache) is None
