"""Shared fixtures: the real default target kernel (fetched into the cache by `make test`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvmnull import kconfig, packages
from kvmnull.hooks import HookSet, load_hooks
from kvmnull.progress import Progress

DATA = Path(__file__).resolve().parent / "test_data"


@pytest.fixture(scope="session")
def tree() -> packages.KernelTree:
    """The default target's cache entry (fetched on first use)."""
    return packages.fetch(packages.Target(), packages.cache_root(), Progress(quiet=True))


@pytest.fixture(scope="session")
def config(tree: packages.KernelTree) -> kconfig.KernelConfig:
    return kconfig.load(tree)


@pytest.fixture(scope="session")
def hooks(tree: packages.KernelTree, config: kconfig.KernelConfig) -> HookSet:
    return load_hooks(tree.source, config.evaluator())


def log(name: str) -> str:
    """A console log captured from a real guest (see capture_logs.py)."""
    return (DATA / name).read_bytes().decode()  # byte-faithful: keep the console's \r\r\n
