"""The target: which kernel, its hooks, its build, and a guest configuration to run them in.

This is where the stages meet (fetch, kconfig, hooks, build, initramfs, guest);
the command modules start from here.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from ..build.kbuild import BuildResult, build
from ..core.progress import Progress
from ..fetch import packages
from ..guest.qemu import Accel, GuestConfig, choose_accel, qemu_version
from ..guest.scenario import GuestSession, initramfs_for
from ..initramfs.archive import busybox_path
from ..kernel.facts import KernelFacts, derive
from ..kernel.hooks import HookSet


@dataclass(frozen=True)
class Prepared:
    """Everything a guest command needs."""

    target: KernelFacts
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


def kernel_tree(args: argparse.Namespace, progress: Progress) -> packages.KernelTree:
    """The cache entry of ``--kernel``, fetched if missing (unless ``--offline``)."""
    wanted = packages.KernelSpec.parse(args.kernel)
    return packages.fetch(wanted, packages.cache_root(args.cache), progress, offline=args.offline)


def load(args: argparse.Namespace, progress: Progress) -> KernelFacts:
    """The target's cache entry, config and hooks: enough to validate hook names before anything slow."""
    return derive(kernel_tree(args, progress), progress)


def prepare(args: argparse.Namespace, progress: Progress, target: KernelFacts, stock: bool = False) -> Prepared:
    """Build, make the initramfs (with the image's own kvm.ko when ``stock``), pick the accelerator."""
    cache = packages.cache_root(args.cache)
    built = build(target.tree, progress)
    kvm = target.tree.module_file("kernel/arch/x86/kvm/kvm") if stock else None
    initrd = initramfs_for(built, busybox_path(), built.path / ("initramfs-stock.cpio" if stock else "initramfs.cpio"),
                           kvm)
    base = GuestConfig(target.tree.vmlinuz, initrd, Accel.TCG, timeout_multiplier=args.timeout_multiplier)
    accel = choose_accel(args.accel, base, cache, progress)
    progress.stage("guest", f"accelerator: {accel.value}")
    config = GuestConfig(target.tree.vmlinuz, initrd, accel, cpus=accel.cpus,
                         timeout_multiplier=args.timeout_multiplier)
    log_dir = Path(args.log_dir or "out/logs")
    log_dir.mkdir(parents=True, exist_ok=True)
    return Prepared(target, built, config, log_dir)
