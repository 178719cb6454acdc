"""Fetch a target kernel as Debian packages into the cache.

A *target* is a kernel series and flavour (the embedded default: Debian's 6.12
cloud-amd64 kernel).  Resolution picks the newest ABI for which apt knows a
complete set of the same version:

    linux-image-<abi>-<flavour>-unsigned   linux-headers-<abi>-<flavour>
    linux-headers-<abi>-common             linux-kbuild-<abi>
    linux-source-<series>

The set is downloaded with ``apt-get download`` (no root), unpacked into one
folder, the headers tree repaired to work outside ``/usr/src``, and the parts
of the source tarball kvmnull uses extracted.  Everything happens in a
temporary folder that is renamed into place last, so an interrupted run
leaves nothing that a later run would trust.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from . import process
from .errors import PackageError
from .progress import Progress

DEFAULT_SERIES = "6.12"
DEFAULT_FLAVOUR = "cloud-amd64"
MANIFEST = "kernel.json"
PATCHES = Path(__file__).resolve().parents[2] / "kbuild" / "patches"

# What kvmnull reads of the source: the KVM code it rebuilds, the Kconfig tree
# (kconfiglib), the scripts Kconfig and checkpatch run, and kselftest.h.
SOURCE_MEMBERS = (
    "arch/x86/kvm/",
    "virt/kvm/",
    "arch/x86/include/asm/kvm_host.h",
    "arch/x86/include/asm/kvm-x86-ops.h",
    "arch/x86/include/asm/kvm-x86-pmu-ops.h",
    "scripts/",
    "tools/testing/selftests/kselftest.h",
    "tools/testing/selftests/kselftest/",
    "Kconfig",
)


def supported_series() -> list[str]:
    """Kernel series that have a kvm.ko patch series."""
    if not PATCHES.is_dir():
        return []
    return sorted(p.name for p in PATCHES.iterdir() if p.is_dir())


@dataclass(frozen=True)
class Target:
    """What to fetch: a series and flavour, optionally pinned to one ABI."""

    series: str = DEFAULT_SERIES
    flavour: str = DEFAULT_FLAVOUR
    abi: str | None = None

    @staticmethod
    def parse(text: str | None) -> Target:
        """``6.12`` (newest of the series) or an exact ABI such as ``6.12.117+deb12``."""
        text = (text or DEFAULT_SERIES).strip()
        match = re.fullmatch(r"(\d+\.\d+)(\.\d+\+deb\d+)?", text)
        valid = supported_series()
        if not match:
            raise PackageError(
                f"--kernel {text!r} is neither a series nor an ABI",
                f"use a series ({', '.join(valid)}) or an ABI such as {DEFAULT_SERIES}.117+deb12",
            )
        series = match.group(1)
        if series not in valid:
            raise PackageError(
                f"--kernel {text!r}: no kvm.ko patches for series {series}",
                f"supported series: {', '.join(valid) or 'none'} (kbuild/patches/<series>/)",
            )
        return Target(series=series, abi=text if match.group(2) else None)


@dataclass(frozen=True)
class PackageSet:
    """A resolved, complete set of packages of one version."""

    abi: str
    version: str
    flavour: str
    series: str

    @property
    def release(self) -> str:
        """The kernel release (``uname -r``) of the image."""
        return f"{self.abi}-{self.flavour}"

    def packages(self) -> list[str]:
        return [
            f"linux-image-{self.release}-unsigned",
            f"linux-headers-{self.release}",
            f"linux-headers-{self.abi}-common",
            f"linux-kbuild-{self.abi}",
            f"linux-source-{self.series}",
        ]


@dataclass(frozen=True)
class KernelTree:
    """A complete cache entry: unpacked packages and extracted source."""

    path: Path
    abi: str
    release: str
    version: str

    @property
    def root(self) -> Path:
        return self.path / "root"

    @property
    def headers(self) -> Path:
        """KDIR for external module builds."""
        return self.root / "usr" / "src" / f"linux-headers-{self.release}"

    @property
    def source(self) -> Path:
        return self.path / "src"

    @property
    def config(self) -> Path:
        return self.root / "boot" / f"config-{self.release}"

    @property
    def vmlinuz(self) -> Path:
        return self.root / "boot" / f"vmlinuz-{self.release}"

    @property
    def modules(self) -> Path:
        return self.root / "lib" / "modules" / self.release

    @property
    def series(self) -> str:
        return ".".join(self.abi.split(".")[:2])


def cache_root(override: str | None = None) -> Path:
    """``--cache``, else ``$KVMNULL_CACHE``, else ``$XDG_CACHE_HOME/kvmnull``, else ``~/.cache/kvmnull``."""
    if override:
        return Path(override).expanduser().resolve()
    if os.environ.get("KVMNULL_CACHE"):
        return Path(os.environ["KVMNULL_CACHE"]).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().resolve() / "kvmnull"


# generous limits: they only catch a tool that stopped making progress
APT_TIMEOUT = 600.0
UNPACK_TIMEOUT = 600.0


def _run(argv: list[str], progress: Progress, log: Path, stage: str, timeout: float,
         cwd: Path | None = None) -> str:
    """Run an apt/dpkg/tar command with its output streamed to ``log``; its output."""
    return process.run(argv, stage=stage, log=log, progress=progress, timeout=timeout, error=PackageError,
                       cwd=cwd, remedy="check the package names and that `apt-get update` has run").output


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version))


def parse_madison(text: str) -> dict[str, set[str]]:
    """``apt-cache madison`` output: package -> versions apt can fetch."""
    versions: dict[str, set[str]] = {}
    for line in text.splitlines():
        parts = [p.strip() for p in line.split("|")]
        if len(parts) >= 3 and parts[0]:
            versions.setdefault(parts[0], set()).add(parts[1])
    return versions


def candidate_abis(target: Target, image_names: list[str]) -> list[str]:
    """ABIs of the target's flavour among image package names, newest first."""
    series, flavour = re.escape(target.series), re.escape(target.flavour)
    pattern = re.compile(rf"^linux-image-({series}\.\d+\+deb\d+)-{flavour}-unsigned$")
    abis = {m.group(1) for n in image_names if (m := pattern.match(n))}
    return sorted((a for a in abis if target.abi in (None, a)), key=_version_key, reverse=True)


def choose_set(target: Target, image_names: list[str], madison: dict[str, set[str]]) -> PackageSet | None:
    """The newest ABI whose five packages share one version (pure: unit-tested)."""
    for abi in candidate_abis(target, image_names):
        candidate = PackageSet(abi, "", target.flavour, target.series)
        common: set[str] | None = None
        for package in candidate.packages():
            have = madison.get(package, set())
            common = have if common is None else common & have
        if common:
            version = max(common, key=_version_key)
            return PackageSet(abi, version, target.flavour, target.series)
    return None


def resolve(target: Target, cache: Path, progress: Progress) -> PackageSet | None:
    """Ask apt for the newest complete set; None when apt knows none."""
    if not shutil.which("apt-cache"):
        raise PackageError("apt-cache not found", "kvmnull fetches Debian packages: run it on Debian or Ubuntu")
    log = cache / "logs" / "apt.log"
    names = _run(["apt-cache", "pkgnames", f"linux-image-{target.series}."], progress, log,
                 "asking apt for kernel images", APT_TIMEOUT).split()
    abis = candidate_abis(target, names)
    if not abis:
        return None
    wanted: list[str] = []
    for abi in abis:
        wanted += PackageSet(abi, "", target.flavour, target.series).packages()
    madison = parse_madison(_run(["apt-cache", "madison", *sorted(set(wanted))], progress, log,
                                 "asking apt for package versions", APT_TIMEOUT))
    return choose_set(target, names, madison)


@contextlib.contextmanager
def staged_folder(final: Path) -> Iterator[Path]:
    """A temporary folder beside ``final`` that replaces it when the block succeeds.

    On any failure (an error, Ctrl-C) the folder is removed; after a kill it stays
    behind under a ``.tmp-`` name, which nothing reads.
    """
    final.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".tmp-{final.name}-", dir=final.parent))
    try:
        yield work
        if final.exists():  # an incomplete leftover without a manifest
            shutil.rmtree(final)
        work.rename(final)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise


def cached_trees(cache: Path) -> list[KernelTree]:
    """Complete cache entries, newest first."""
    trees = []
    for manifest in (cache / "kernels").glob(f"*/{MANIFEST}"):
        if manifest.parent.name.startswith("."):  # staged, never renamed into place
            continue
        try:
            data = json.loads(manifest.read_text())
            trees.append(KernelTree(manifest.parent, data["abi"], data["release"], data["version"]))
        except (OSError, ValueError, KeyError):
            continue
    return sorted(trees, key=lambda t: _version_key(t.abi), reverse=True)


def _repair_headers(root: Path, pset: PackageSet) -> None:
    """Make the headers tree usable outside /usr/src."""
    headers = root / "usr" / "src" / f"linux-headers-{pset.release}"
    makefile = headers / "Makefile"
    text = makefile.read_text()
    if "/usr/src/" in text:
        # the Makefile includes the -common one by absolute path: make it relative to itself
        common = f"linux-headers-{pset.abi}-common"
        makefile.write_text(f"include $(dir $(lastword $(MAKEFILE_LIST)))../{common}/Makefile\n")
    for tree in (headers, root / "usr" / "src" / f"linux-headers-{pset.abi}-common"):
        for name in ("scripts", "tools"):
            link = tree / name
            target = root / "usr" / "lib" / f"linux-kbuild-{pset.abi}" / name
            if link.is_symlink() and not link.resolve().exists():
                link.unlink()
                link.symlink_to(os.path.relpath(target, tree))
            if not (tree / name).exists():
                raise PackageError(f"headers tree {tree.name} has no usable {name}/", "the package layout changed")


def _translate_kconfig(source: Path) -> None:
    """kconfiglib 14.1 predates the bare ``modules`` keyword: give it the old spelling."""
    path = source / "kernel" / "module" / "Kconfig"
    if path.exists():
        text = path.read_text()
        path.write_text(re.sub(r"^(\s+)modules$", r"\1option modules", text, flags=re.M))


def _extract_source(tarball: Path, dest: Path, series: str, progress: Progress, log: Path) -> None:
    prefix = f"linux-source-{series}/"
    # with --wildcards, '*' also matches '/': Kconfig files come from every depth
    _run(["tar", "-xJf", str(tarball), "-C", str(dest), "--strip-components=1", "--wildcards",
          *(prefix + m for m in SOURCE_MEMBERS), f"{prefix}*Kconfig*"], progress, log,
         f"extracting {tarball.name}", UNPACK_TIMEOUT)


def fetch(target: Target, cache: Path, progress: Progress, offline: bool = False) -> KernelTree:
    """Return the cache entry for the target, fetching it when missing."""
    pset = None if offline else resolve(target, cache, progress)
    if pset is None:
        series_trees = [t for t in cached_trees(cache)
                        if t.series == target.series and (target.abi is None or t.abi == target.abi)]
        if series_trees:
            if not offline:
                progress.note(f"apt knows no linux-image-{target.series}.*-{target.flavour}-unsigned; "
                              f"using cached {series_trees[0].abi}")
            return series_trees[0]
        wanted = target.abi or f"{target.series}.*"
        if offline:
            raise PackageError(f"--offline: no cached kernel {wanted}-{target.flavour} in {cache}",
                               "run `kvmnull fetch` once without --offline")
        raise PackageError(
            f"no complete package set for linux-image-{wanted}-{target.flavour}-unsigned is known to apt",
            "run `apt-get update` as root (or `make setup`) so apt's package lists are current",
        )
    entry = cache / "kernels" / pset.abi
    if (entry / MANIFEST).exists():
        tree = KernelTree(entry, pset.abi, pset.release, pset.version)
        progress.stage("kernel", f"{pset.release} ({pset.version}) is cached")
        return tree
    return _fetch_set(pset, cache, progress)


def _fetch_set(pset: PackageSet, cache: Path, progress: Progress) -> KernelTree:
    started = time.monotonic()
    final = cache / "kernels" / pset.abi
    with staged_folder(final) as work:
        debs = work / "debs"
        debs.mkdir()
        progress.stage("kernel", f"downloading {len(pset.packages())} packages of {pset.release} ({pset.version})")
        log = work / "fetch.log"
        _run(["apt-get", "download", *(f"{p}={pset.version}" for p in pset.packages())], progress, log,
             f"downloading the packages of {pset.release}", APT_TIMEOUT, cwd=debs)
        root = work / "root"
        root.mkdir()
        for deb in sorted(debs.glob("*.deb")):
            progress.stage("kernel", f"unpacking {deb.name.split('_')[0]}")
            _run(["dpkg-deb", "-x", str(deb), str(root)], progress, log, f"unpacking {deb.name}", UNPACK_TIMEOUT)
        shutil.rmtree(debs)
        _repair_headers(root, pset)
        tarball = root / "usr" / "src" / f"linux-source-{pset.series}.tar.xz"
        source = work / "src"
        source.mkdir()
        progress.stage("kernel", f"extracting KVM, Kconfig and scripts from {tarball.name}")
        _extract_source(tarball, source, pset.series, progress, log)
        tarball.unlink()
        _translate_kconfig(source)
        manifest = {
            "abi": pset.abi, "release": pset.release, "version": pset.version,
            "packages": pset.packages(), "fetched_seconds": round(time.monotonic() - started, 1),
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    progress.stage("kernel", f"{pset.release} ready in {time.monotonic() - started:.1f}s")
    return KernelTree(final, pset.abi, pset.release, pset.version)
