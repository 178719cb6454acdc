"""A non-editable install carries every sub-package and kvmnull's data, and runs from there."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "tools" / "kvmnull"
# what a build may not carry: the venv, caches, earlier build output (at the top only: kvmnull.build is a
# package), the tests
TOP_IGNORED = {".venv", ".git", "build", "dist", "out"}
ANYWHERE_IGNORED = shutil.ignore_patterns("__pycache__", "*.egg-info", ".*_cache")


def ignored(folder: str, names: list[str]) -> set[str]:
    here = Path(folder).resolve()
    skip = set(ANYWHERE_IGNORED(folder, names))
    if here == ROOT:
        skip |= TOP_IGNORED & set(names)
    if here == ROOT / "tools":
        skip |= {"tests"} & set(names)
    return skip


# Kbuild output and generated stubs, planted in the copy: none may reach the wheel
BUILD_OUTPUT = ("module/kvm_null.o", "module/kvm_null.ko", "module/kvm_null.mod.c", "module/.kvm_null.o.cmd",
                "module/gen/kvm_null_stubs.h", "selftests/refuse_test")

pytestmark = pytest.mark.install


def run(*argv: str | Path, cwd: Path, timeout: float = 300) -> str:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)
    assert done.returncode == 0, f"{' '.join(map(str, argv))} exited {done.returncode}:\n{done.stdout}{done.stderr}"
    return done.stdout


def tracked(*folders: str) -> set[str]:
    """The files git tracks under ``folders`` (none outside a git checkout)."""
    if not (ROOT / ".git").exists() or not shutil.which("git"):
        return set()
    return set(run("git", "ls-files", "--", *folders, cwd=ROOT).split())


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel built by pip from a copy of the checkout (pip builds in the source folder)."""
    base = tmp_path_factory.mktemp("install")
    source = base / "source"
    shutil.copytree(ROOT, source, ignore=ignored, symlinks=True)
    for name in BUILD_OUTPUT:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text("build output\n")
    run(sys.executable, "-m", "pip", "wheel", "-q", "--disable-pip-version-check", "--no-deps", "-w", base / "wheels",
        source, cwd=base)
    (built,) = (base / "wheels").glob("kvmnull-*.whl")
    return built


def test_wheel_carries_every_module(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {f"kvmnull/{p.relative_to(PACKAGE).as_posix()}" for p in PACKAGE.rglob("*.py")}
    packages = {p.parent.relative_to(PACKAGE.parent).as_posix() for p in PACKAGE.rglob("__init__.py")}
    assert {"kvmnull/core", "kvmnull/guest", "kvmnull/commands"} <= packages and len(packages) >= 10
    assert modules <= names, sorted(modules - names)
    assert {n for n in names if n.endswith(".py") and not n.startswith("kvmnull/_data/")} == modules
    assert {"kvmnull/guest/kvmnull-scenario.sh", "kvmnull/initramfs/kvmnull-init.sh"} <= names


def test_wheel_carries_the_data_and_no_build_output(wheel: Path) -> None:
    prefix = "kvmnull/_data/"
    data = {n.removeprefix(prefix) for n in zipfile.ZipFile(wheel).namelist() if n.startswith(prefix)}
    needed = {"module/kvm_null.c", "module/kvm_null_abi.h", "module/Kbuild", "kbuild/kvm.Kbuild",
              "kbuild/knockout/knockout.c", "selftests/Makefile", "selftests/config", "selftests/settings",
              "selftests/probe.c", "selftests/provoke/Kbuild", "selftests/provoke/kvmnull_provoke.c"}
    needed |= {f"kbuild/patches/{series.name}/{patch.name}" for series in (ROOT / "kbuild" / "patches").iterdir()
               for patch in series.glob("*.patch")}
    assert any(n.startswith("kbuild/patches/6.12/") for n in needed)
    needed |= tracked("module", "kbuild", "selftests")
    assert needed <= data, sorted(needed - data)
    assert not data & set(BUILD_OUTPUT), sorted(data & set(BUILD_OUTPUT))


def test_installed_wheel_runs_from_the_install(wheel: Path, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", "--without-pip", venv, cwd=tmp_path)
    python = venv / "bin" / "python"
    run(sys.executable, "-m", "pip", "--python", python, "install", "-q", "--disable-pip-version-check", "--no-deps",
        "--no-index", wheel, cwd=tmp_path)
    # the dependencies (pexpect, kconfiglib, tabulate) from this interpreter's environment, offline
    site = Path(run(python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])", cwd=tmp_path).strip())
    (site / "kvmnull-test-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    assert "usage: kvmnull" in run(venv / "bin" / "kvmnull", "--help", cwd=tmp_path)
    where = run(python, "-c", "import kvmnull; from kvmnull.core import paths; print(kvmnull.__file__); "
                "print(paths.data_root()); print(paths.provoke_dir() / 'Kbuild')", cwd=tmp_path).split("\n")
    package, root, provoke = (Path(line) for line in where[:3])
    assert package.is_relative_to(site) and root == site / "kvmnull" / "_data"
    assert provoke.is_file()
