"""Package resolution on apt output captured from the real archive, and the cache contract."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvmnull.core.errors import PackageError
from kvmnull.core.staging import staged_folder
from kvmnull.fetch.packages import KernelSpec, KernelTree, Stanza, cached_trees, choose_set, parse_show

from .conftest import DATA

NAMES = (DATA / "apt-pkgnames-linux.txt").read_text().split()
SHOW = {series: parse_show((DATA / f"apt-show-{series}.txt").read_text()) for series in ("6.1", "6.12")}


def catalog(series: str, drop: tuple[tuple[str, str], ...] = ()) -> dict[str, list[Stanza]]:
    """The captured catalog, without the (package, version) pairs in ``drop``."""
    return {name: [s for s in stanzas if (name, s.version) not in drop] for name, stanzas in SHOW[series].items()}


def test_newest_complete_6_12_set_is_what_the_headers_depend_on() -> None:
    chosen = choose_set(KernelSpec(), catalog("6.12"))
    assert chosen is not None
    assert (chosen.release, chosen.abi, chosen.version) == (
        "6.12.117+deb12-cloud-amd64", "6.12.117+deb12", "6.12.117-1~deb12u1")
    assert sorted(chosen.packages) == sorted([
        ("linux-image-6.12.117+deb12-cloud-amd64-unsigned", "6.12.117-1~deb12u1"),
        ("linux-headers-6.12.117+deb12-cloud-amd64", "6.12.117-1~deb12u1"),
        ("linux-headers-6.12.117+deb12-common", "6.12.117-1~deb12u1"),
        ("linux-kbuild-6.12.117+deb12", "6.12.117-1~deb12u1"),
        ("linux-source-6.12", "6.12.117-1~deb12u1"),
    ])


def test_6_1_kbuild_is_one_package_for_the_series_at_a_version_the_headers_accept() -> None:
    chosen = choose_set(KernelSpec(series="6.1"), catalog("6.1"))
    assert chosen is not None
    assert (chosen.release, chosen.abi, chosen.version) == ("6.1.0-56-cloud-amd64", "6.1.0-56", "6.1.192-2")
    assert ("linux-kbuild-6.1", "6.1.192-2") in chosen.packages
    assert ("linux-headers-6.1.0-56-common", "6.1.192-2") in chosen.packages
    assert ("linux-source-6.1", "6.1.192-2") in chosen.packages


def test_incomplete_newest_set_falls_back_to_the_previous_one() -> None:
    # the archive drops linux-kbuild of the newest ABI: that set is incomplete
    chosen = choose_set(KernelSpec(), catalog("6.12", (("linux-kbuild-6.12.117+deb12", "6.12.117-1~deb12u1"),)))
    assert chosen is not None and chosen.abi == "6.12.115+deb12"
    assert chosen.version == "6.12.115-2~deb12u1"


def test_source_of_another_version_does_not_complete_a_set() -> None:
    chosen = choose_set(KernelSpec(), catalog("6.12", (("linux-source-6.12", "6.12.117-1~deb12u1"),)))
    assert chosen is not None and chosen.version == "6.12.115-2~deb12u1"


def test_a_pinned_abi_is_honoured() -> None:
    chosen = choose_set(KernelSpec.parse("6.12.111+deb12"), catalog("6.12"))
    assert chosen is not None and chosen.abi == "6.12.111+deb12"
    assert KernelSpec.parse("6.1.0-55").abi == "6.1.0-55"


@pytest.mark.parametrize(("text", "message"), [
    ("5.10", "series 5.10 is older than 6.1"),
    ("banana", "neither a series nor an ABI"),
    ("6.12.117", "neither a series nor an ABI"),
])
def test_bad_targets_name_the_value_and_the_valid_ones(text: str, message: str) -> None:
    with pytest.raises(PackageError, match=message) as info:
        KernelSpec.parse(text)
    assert "6.12" in str(info.value)


def test_entries_without_a_manifest_are_not_trusted(tmp_path: Path) -> None:
    (tmp_path / "kernels" / "6.12.1+deb12" / "root").mkdir(parents=True)  # interrupted fetch
    (tmp_path / "kernels" / ".tmp-6.12.2+deb12-x").mkdir()
    assert cached_trees(tmp_path) == []


def test_real_cache_entry_is_usable_outside_usr_src(tree: KernelTree) -> None:
    makefile = (tree.headers / "Makefile").read_text()
    assert "/usr/src/" not in makefile
    for name in ("scripts", "tools"):
        assert (tree.headers / name).resolve().is_dir()
    assert (tree.source / "arch/x86/kvm/x86.c").exists()
    assert (tree.source / "Kconfig").exists()
    assert tree.vmlinuz.exists() and tree.config.exists()


def test_staged_folder_appears_whole_or_not_at_all(tmp_path: Path) -> None:
    final = tmp_path / "kernels" / "6.12.9+deb12"
    with pytest.raises(KeyboardInterrupt), staged_folder(final) as work:
        (work / "half-written").write_text("x")
        raise KeyboardInterrupt
    assert not final.exists() and list((tmp_path / "kernels").iterdir()) == []
    with staged_folder(final) as work:
        (work / "kernel.json").write_text("{}")
    assert (final / "kernel.json").exists()


def test_a_killed_stage_is_never_trusted(tmp_path: Path) -> None:
    # killed after writing its manifest, before the rename
    staged = tmp_path / "kernels" / ".tmp-6.12.117+deb12-abcd"
    staged.mkdir(parents=True)
    (staged / "kernel.json").write_text('{"abi": "6.12.117+deb12", "release": "r", "version": "v", "layout": {}}')
    assert cached_trees(tmp_path) == []


def test_the_suite_a_kernel_was_built_for_comes_from_its_version() -> None:
    from kvmnull.fetch.apt import suite_of

    def images(series: str) -> set[str]:
        return {s.version for name, stanzas in catalog(series).items() if name.startswith("linux-image-")
                for s in stanzas}

    assert {suite_of(v) for v in images("6.12")} == {"bookworm"}  # bookworm-security's ~deb12u builds
    assert {suite_of(v) for v in images("6.1")} == {None}  # bookworm's own: no suite in the version
    assert suite_of("7.3.4-1~bpo13+1") == "trixie"  # trixie-backports, as the 7.3 manifest records it


def test_the_suite_a_fetched_kernel_comes_from_is_what_apt_says() -> None:
    from kvmnull.fetch.apt import suite_in_madison

    text = (DATA / "apt-madison.txt").read_text()
    assert suite_in_madison(text, "linux-image-7.2.13+deb14-cloud-amd64", "7.2.13-1") == "sid"
    assert suite_in_madison(text, "linux-image-7.3.4+deb13-cloud-amd64", "7.3.4-1~bpo13+1") == "trixie"
    assert suite_in_madison(text, "linux-image-6.1.0-56-cloud-amd64-unsigned", "6.1.192-2") == "bookworm"
    assert suite_in_madison(text, "linux-image-6.1.0-56-cloud-amd64-unsigned", "6.1.191-1") is None
