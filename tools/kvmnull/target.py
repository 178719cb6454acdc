"""The target: which kernel, its hooks, its build, and a guest configuration to run them in.

This is where the stages meet (fetch, kconfig, hooks, build, initramfs, guest);
the command modules start from here.
"""

from __future__ import annotations

import argparse
import shutil
from dataclasses import dataclass
from pathlib import Path

from . import kconfig, packages
from .build import BuildResult, build
from .errors import UsageError
from .guest import Accel, GuestConfig, choose_accel, qemu_version
from .hooks import HookSet, load_hooks
from .progress import Progress
from .scenario import GuestSession, initramfs_for


@dataclass(frozen=True)
class Target:
    """A fetched kernel, its evaluated config and its hooks."""

    tree: packages.KernelTree
    config: kconfig.KernelConfig
    hooks: HookSet


@dataclass(frozen=True)
class Prepared:
    """Everything a guest command needs."""

    target: Target
    build: BuildResult
    config: GuestConfig
    log_dir: Path

    @property
    def tree(self) -> packages.KernelTree:
        return self.target.tree

    @property
    def hooks(self) -> HookSet:
        return self.target.hooks

    def meta(self) -> dict[str, object]:
        return {"kernel": self.tree.release, "accel": self.config.accel.value, "qemu": qemu_version()}

    def session(self, name: str, progress: Progress, scenario_timeout: float = 60.0) -> GuestSession:
        return GuestSession(self.config, self.log_dir / f"{name}.console.log", progress, scenario_timeout)


def busybox_path() -> Path:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        if Path(candidate).exists():
            return Path(candidate)
    found = shutil.which("busybox")
    if not found:
        raise UsageError("busybox not found", "apt-get install busybox-static (or run `make setup`)")
    return Path(found)


def kernel_tree(args: argparse.Namespace, progress: Progress) -> packages.KernelTree:
    """The cache entry of ``--kernel``, fetched if missing (unless ``--offline``)."""
    wanted = packages.Target.parse(args.kernel)
    return packages.fetch(wanted, packages.cache_root(args.cache), progress, offline=args.offline)


def load(args: argparse.Namespace, progress: Progress) -> Target:
    """The target's cache entry, config and hooks: enough to validate hook names before anything slow."""
    tree = kernel_tree(args, progress)
    config = kconfig.load(tree.source, tree.config, tree.release)
    return Target(tree, config, load_hooks(tree.source, config.evaluator()))


def prepare(args: argparse.Namespace, progress: Progress, target: Target) -> Prepared:
    cache = packages.cache_root(args.cache)
    built = build(target.tree, progress)
    initrd = initramfs_for(built, busybox_path(), built.path / "initramfs.cpio")
    base = GuestConfig(target.tree.vmlinuz, initrd, Accel.TCG, timeout_multiplier=args.timeout_multiplier)
    accel = choose_accel(args.accel, base, cache, progress)
    progress.stage("guest", f"accelerator: {accel.value}")
    config = GuestConfig(target.tree.vmlinuz, initrd, accel, cpus=accel.cpus,
                         timeout_multiplier=args.timeout_multiplier)
    log_dir = Path(args.log_dir or "out/logs")
    log_dir.mkdir(parents=True, exist_ok=True)
    return Prepared(target, built, config, log_dir)
