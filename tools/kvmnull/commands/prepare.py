"""The target: which kernel, its hooks, its build, and a guest configuration to run them in.

This is where the stages meet (fetch, kconfig, hooks, build, initramfs, guest);
the command modules start from here.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from ..build.kbuild import BuildResult, build
from ..core.progress import Progress
from ..core.runs import create_run_folder
from ..fetch import packages
from ..fetch.patches import UserPatch
from ..guest.qemu import Accel, GuestConfig, choose_accel, qemu_version
from ..guest.scenario import GuestSession, Policy, initramfs_for
from ..initramfs.archive import busybox_path
from ..kernel.facts import KernelFacts, derive
from ..kernel.hooks import HookSet

__all__ = ["GuestRequest", "KernelRequest", "Prepared", "busybox_path", "derive", "kernel_tree", "load", "prepare"]


@dataclass(frozen=True)
class KernelRequest:
    """Which kernel, from which cache, and whether apt may be asked."""

    spec: packages.KernelSpec
    cache: Path
    offline: bool = False
    patches: tuple[UserPatch, ...] = ()  # --patch, read and checked, applied in order to the source


@dataclass(frozen=True)
class GuestRequest:
    """How to run guests: the accelerator asked for, timeouts, where logs go, and which kvm.ko runs
    under which policies (``Policy.UPSTREAM``: Debian's own kvm.ko)."""

    accel: str  # auto, kvm or tcg
    timeout_multiplier: float
    log_dir: Path | None  # None: the default below out/
    command: str  # names the run folder
    cache: Path  # where the host's accelerator decision is kept
    policies: tuple[Policy, ...] = (Policy.REFUSE,)

    @property
    def stock(self) -> bool:
        """Does any of the policies need Debian's own kvm.ko?"""
        return Policy.UPSTREAM in self.policies


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
        return {**self.tree.meta(), "accel": self.config.accel.value, "qemu": qemu_version()}

    def session(self, name: str, progress: Progress, scenario_timeout: float = 60.0) -> GuestSession:
        return GuestSession(self.config, self.log_dir / f"{name}.console.log", progress, scenario_timeout)


def kernel_tree(request: KernelRequest, progress: Progress) -> packages.KernelTree:
    """The cache entry of the requested kernel, fetched if missing (unless offline), with the request's
    patches applied to a copy of its source."""
    tree = packages.fetch(request.spec, request.cache, progress, offline=request.offline)
    return packages.with_patches(tree, request.patches, progress)


def load(request: KernelRequest, progress: Progress) -> KernelFacts:
    """The target's cache entry, config and hooks: enough to validate hook names before anything slow."""
    return derive(kernel_tree(request, progress), progress)


def prepare(request: GuestRequest, progress: Progress, target: KernelFacts, stock: bool = False) -> Prepared:
    """Build, make the initramfs (with the image's own kvm.ko when ``stock``), pick the accelerator."""
    built = build(target.tree, progress)
    # "stock" is upstream's behaviour of the source under test: with --patch, a kvm.ko built from the
    # patched source without kvmnull's change (the image's own lacks the patch)
    kvm = None
    if stock:
        kvm = built.stock_kvm_ko if target.tree.patches else target.tree.module_file("kernel/arch/x86/kvm/kvm")
    initrd = initramfs_for(built, busybox_path(), built.path / ("initramfs-stock.cpio" if stock else "initramfs.cpio"),
                           kvm)
    base = GuestConfig(target.tree.vmlinuz, initrd, Accel.TCG, timeout_multiplier=request.timeout_multiplier)
    accel = choose_accel(request.accel, base, request.cache, progress)
    progress.stage("guest", f"accelerator: {accel.value}")
    config = GuestConfig(target.tree.vmlinuz, initrd, accel, cpus=accel.cpus,
                         timeout_multiplier=request.timeout_multiplier)
    log_dir = create_run_folder(request.log_dir, request.command)
    print(f"kvmnull: run folder {log_dir}", file=sys.stderr)
    return Prepared(target, built, config, log_dir)
