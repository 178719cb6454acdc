"""The target: which kernel, its hooks, its build, and a guest configuration to run them in.

This is where the stages meet (fetch, kconfig, hooks, build, initramfs, guest);
the command modules start from here.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import kconfig, packages
from .build import BuildResult, build
from .errors import UsageError
from .guest import Accel, GuestConfig, choose_accel, qemu_version
from .hooks import OPS_HEADERS, STRUCT_HEADERS, SUB_MODULES_HEADER, HookSet, load_hooks, vendor_modules
from .progress import Progress
from .scenario import GuestSession, Policy, initramfs_for


@dataclass(frozen=True)
class Target:
    """A fetched kernel, its evaluated config and its hooks."""

    tree: packages.KernelTree
    config: kconfig.KernelConfig
    hooks: HookSet
    vendor_modules: tuple[str, ...] | None = None  # whom the image's own kvm.ko exports to; None: anyone

    def admits(self, policy: Policy, vendor: str) -> bool:
        """Can ``vendor`` link against the kvm.ko of ``policy``?  The patched one admits kvm-null; the
        kernel's own (upstream policy) only the modules its KVM_SUB_MODULES names, since 6.19."""
        return policy.patched or self.vendor_modules is None or vendor in self.vendor_modules


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
    return of_tree(kernel_tree(args, progress), progress)


# what the derived facts of a target depend on besides its (immutable) cache entry
_DERIVED_BY = ("kconfig.py", "cpp.py", "hooks.py", "target.py")


def of_tree(tree: packages.KernelTree, progress: Progress) -> Target:
    """The config and hooks of a fetched kernel.  Evaluating the Kconfig tree takes seconds, so the
    result is kept in the cache entry, keyed by the code that derives it and the files it reads."""
    digest = hashlib.sha256()
    for path in (*(Path(__file__).with_name(name) for name in _DERIVED_BY), tree.config,
                 *(tree.source / header for header in (*OPS_HEADERS.values(), *STRUCT_HEADERS.values(),
                                                                   SUB_MODULES_HEADER))):
        digest.update(path.name.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    memo = tree.path / "derived" / f"target-{digest.hexdigest()[:16]}.json"
    try:
        data = json.loads(memo.read_text())
        config = kconfig.KernelConfig(dict(data["config"]), tree.release)
        modules = data["vendor_modules"]
        return Target(tree, config, HookSet.from_json(data["hooks"]), tuple(modules) if modules is not None else None)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as exc:  # damaged: derive again, and say so
        progress.note(f"ignoring damaged {memo.name}: {exc}")
    progress.stage("kernel", f"evaluating the config and hooks of {tree.release}")
    config = kconfig.load(tree.source, tree.config, tree.release)
    hooks = load_hooks(tree.source, config.evaluator())
    modules = vendor_modules(tree.source, config.evaluator())
    memo.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=memo.parent, prefix=f".{memo.name}.", delete=False) as tmp:
        json.dump({"config": config.values, "hooks": hooks.to_json(), "vendor_modules": modules}, tmp)
    os.replace(tmp.name, memo)
    return Target(tree, config, hooks, modules)


def prepare(args: argparse.Namespace, progress: Progress, target: Target, stock: bool = False) -> Prepared:
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
