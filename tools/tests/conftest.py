"""Shared fixtures.

Two kinds of kernel data:

* ``captured_*``: headers, vendor sources and the config of one Debian release,
  captured under ``test_data/kernels/<release>/``.  Golden values (hook counts,
  header lines, vendor functions) are asserted against these, so they hold
  whatever Debian publishes next.
* ``tree``, ``config``, ``hooks``: the newest default target in the cache
  (fetched by `make test`), for what must work on whatever is current.

``built`` (the modules built for ``tree``) and ``guest_config`` (a one-CPU TCG
guest booting them) serve the integration modules, ``test_integration_*.py``:
session-scoped, so the build and the guest's initramfs are made once a run
however many of those modules run.

A fixture that reads the kernel cache is decorated with :func:`reads_cache`:
every test that uses it, directly or through another fixture, is marked
``cache``, so `make unit` (``-m "not cache"``) runs without a kernel cache.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from kvmnull.build.kbuild import BuildResult, build
from kvmnull.commands.prepare import busybox_path
from kvmnull.core.progress import Progress
from kvmnull.fetch import packages
from kvmnull.guest.qemu import Accel, GuestConfig
from kvmnull.guest.scenario import initramfs_for
from kvmnull.kernel import kconfig
from kvmnull.kernel.hooks import HookSet, load_hooks

DATA = Path(__file__).resolve().parent / "test_data"
CAPTURED_RELEASE = "6.12.117+deb12-cloud-amd64"
CAPTURED = DATA / "kernels" / CAPTURED_RELEASE

F = TypeVar("F", bound=Callable[..., object])
_CACHE_FIXTURES: set[object] = set()


def reads_cache(function: F) -> F:
    """Below ``@pytest.fixture``: the fixture reads (or fetches into) the kernel cache."""
    _CACHE_FIXTURES.add(function)
    return function


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark ``cache`` every test whose fixtures, direct or not, include one that reads the kernel cache."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        definitions = info.name2fixturedefs.values() if info is not None else ()
        if any(d.func in _CACHE_FIXTURES for defs in definitions for d in defs):
            item.add_marker(pytest.mark.cache)


@pytest.fixture(scope="session")
def captured_config() -> kconfig.KernelConfig:
    return kconfig.read_dotconfig(CAPTURED / "config", CAPTURED_RELEASE)


@pytest.fixture(scope="session")
def captured_hooks(captured_config: kconfig.KernelConfig) -> HookSet:
    return load_hooks(CAPTURED / "src", captured_config.evaluator())


@pytest.fixture(scope="session")
@reads_cache
def tree() -> packages.KernelTree:
    """The default target's cache entry (fetched on first use)."""
    return packages.fetch(packages.KernelSpec(), packages.cache_root(), Progress(quiet=True))


@pytest.fixture(scope="session")
def config(tree: packages.KernelTree) -> kconfig.KernelConfig:
    return kconfig.load(tree.source, tree.config, tree.release)


@pytest.fixture(scope="session")
def hooks(tree: packages.KernelTree, config: kconfig.KernelConfig) -> HookSet:
    return load_hooks(tree.source, config.evaluator())


@pytest.fixture(scope="session")
def built(tree: packages.KernelTree) -> BuildResult:
    return build(tree, Progress(quiet=True))


@pytest.fixture(scope="session")
def guest_config(built: BuildResult, tree: packages.KernelTree,
                 tmp_path_factory: pytest.TempPathFactory) -> GuestConfig:
    initrd = initramfs_for(built, busybox_path(), tmp_path_factory.mktemp("guest") / "initrd.cpio")
    return GuestConfig(tree.vmlinuz, initrd, Accel.TCG, cpus=1)


def log(name: str) -> str:
    """A console log captured from a real guest (see capture_logs.py)."""
    return (DATA / name).read_bytes().decode()  # byte-faithful: keep the console's \r\r\n
