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

import dataclasses
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..core import paths, process
from ..core.errors import PackageError
from ..core.progress import Progress
from ..core.staging import staged_folder
from . import apt, patches
from .patches import UserPatch

DEFAULT_SERIES = "6.12"
# the oldest series whose KVM kvmnull can change (its vendor init and ops tables' shape)
OLDEST_SERIES = "6.1"
DEFAULT_FLAVOUR = "cloud-amd64"
MANIFEST = "kernel.json"

# What kvmnull reads of the source: the KVM code it rebuilds, the Kconfig tree
# (kconfiglib), the scripts Kconfig and checkpatch run, and kselftest.h.
SOURCE_MEMBERS = (
    "arch/x86/kvm/",
    "virt/kvm/",
    "arch/x86/include/asm/kvm*",  # kvm_host.h, the hook tables, kvm_types.h
    "include/linux/kvm_types.h",  # 7.3's patch widens kvm.ko's internal exports here
    "kernel/module/main.c",  # how the module loader reports an init's error
    "scripts/",
    "tools/testing/selftests/kselftest.h",
    "tools/testing/selftests/kselftest/",
    "Kconfig",
)


def series_key(series: str) -> tuple[int, ...]:
    """``6.12`` -> (6, 12), to order and compare series."""
    return tuple(int(part) for part in series.split("."))


def supported_series() -> list[str]:
    """Kernel series that have a hand-written kvm.ko patch series (for the others kvmnull generates its
    change); the tests run on each."""
    return sorted((p.name for p in paths.patches_dir().iterdir() if p.is_dir()), key=series_key)


@dataclass(frozen=True)
class KernelSpec:
    """What to fetch: a series and flavour, optionally pinned to one ABI."""

    series: str = DEFAULT_SERIES
    flavour: str = DEFAULT_FLAVOUR
    abi: str | None = None

    @staticmethod
    def parse(text: str | None) -> KernelSpec:
        """``6.12`` (newest of the series) or an exact ABI such as ``6.12.117+deb12`` or ``6.1.0-56``."""
        text = (text or DEFAULT_SERIES).strip()
        match = re.fullmatch(r"(\d+\.\d+)(\.\d+\+deb\d+|\.\d+-\d+)?", text)
        valid = supported_series()
        if not match:
            raise PackageError(
                f"--kernel {text!r} is neither a series nor an ABI",
                f"use a series ({', '.join(valid)}) or an ABI such as {DEFAULT_SERIES}.117+deb12 or 6.1.0-56",
            )
        series = match.group(1)
        if series_key(series) < series_key(OLDEST_SERIES):
            raise PackageError(
                f"--kernel {text!r}: series {series} is older than {OLDEST_SERIES}, the oldest kvmnull can change",
                f"choose {OLDEST_SERIES} or newer (tested: {', '.join(valid)}; for any other, kvmnull generates "
                "its change from the kernel's own source)",
            )
        return KernelSpec(series=series, abi=text if match.group(2) else None)


@dataclass(frozen=True)
class Stanza:
    """One version of one package, as ``apt-cache show`` describes it."""

    package: str
    version: str
    depends: str = ""


Catalog = dict[str, list[Stanza]]


def parse_show(text: str) -> Catalog:
    """``apt-cache show`` output: every version of every package it names."""
    catalog: Catalog = {}
    for block in re.split(r"\n\s*\n", text):
        fields = dict(re.findall(r"^([A-Za-z-]+): ?(.*(?:\n .*)*)", block, re.M))
        if "Package" in fields and "Version" in fields:
            depends = " ".join(fields.get("Depends", "").split())
            catalog.setdefault(fields["Package"], []).append(Stanza(fields["Package"], fields["Version"], depends))
    return catalog


@dataclass(frozen=True)
class PackageSet:
    """A resolved, complete set of packages of one kernel: (name, version) pairs to download."""

    release: str  # uname -r of the image
    version: str  # the Debian version of the image, headers and source
    series: str
    flavour: str
    packages: tuple[tuple[str, str], ...]
    view: apt.View = apt.HOST  # the apt view that knows them

    @property
    def abi(self) -> str:
        return self.release.removesuffix(f"-{self.flavour}")


def _version_key(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", version))


_RELATION = re.compile(r"^(?P<name>[\w.+-]+)(?:\s*\((?P<op>[<>=]+)\s*(?P<version>[^)]+)\))?")


def _satisfying(catalog: Catalog, name: str, op: str | None, version: str | None) -> str | None:
    """The newest version of ``name`` that satisfies ``op version`` (Debian relations, by numeric parts)."""
    have = sorted((s.version for s in catalog.get(name, [])), key=_version_key, reverse=True)
    for candidate in have:
        if op is None or version is None:
            return candidate
        a, b = _version_key(candidate), _version_key(version)
        if (op == "=" and candidate == version) or (op == ">=" and a >= b) or (op == "<=" and a <= b) \
                or (op == ">>" and a > b) or (op == "<<" and a < b):
            return candidate
    return None


def _stanza(catalog: Catalog, name: str, version: str) -> Stanza | None:
    return next((s for s in catalog.get(name, []) if s.version == version), None)


def _parts(catalog: Catalog, stanza: Stanza, keep: tuple[str, ...]) -> list[tuple[str, str]] | None:
    """The dependencies of ``stanza`` whose names contain one of ``keep``, each at a version that
    satisfies the relation; of alternatives the unsigned one.  None when one is not available."""
    chosen = []
    for group in filter(None, (g.strip() for g in stanza.depends.split(","))):
        alternatives = [m for a in group.split("|") if (m := _RELATION.match(a.strip()))]
        alternatives.sort(key=lambda m: "unsigned" not in m.group("name"))
        wanted = [m for m in alternatives if any(k in m.group("name") for k in keep)]
        if not wanted:
            continue
        found = next(((m.group("name"), v) for m in wanted
                      if (v := _satisfying(catalog, m.group("name"), m.group("op"), m.group("version")))), None)
        if found is None:
            return None
        chosen.append(found)
    return chosen


def image_releases(target: KernelSpec, names: list[str]) -> list[str]:
    """Kernel releases of the target's series and flavour that have an image package, newest first."""
    series, flavour = re.escape(target.series), re.escape(target.flavour)
    pattern = re.compile(rf"^linux-image-({series}\.[0-9.]+(?:\+deb\d+|-\d+)-{flavour})(?:-unsigned)?$")
    releases = {m.group(1) for n in names if (m := pattern.match(n))}
    if target.abi:
        releases = {r for r in releases if r == f"{target.abi}-{target.flavour}"}
    return sorted(releases, key=_version_key, reverse=True)


def choose_set(target: KernelSpec, catalog: Catalog) -> PackageSet | None:
    """The newest release whose image, headers (with what they depend on) and source are all
    available at the image's version; what the archive's Depends name, not a naming scheme."""
    for release in image_releases(target, list(catalog)):
        unsigned = f"linux-image-{release}-unsigned"
        image = unsigned if unsigned in catalog else f"linux-image-{release}"
        for version in sorted({s.version for s in catalog.get(image, [])}, key=_version_key, reverse=True):
            found = _complete(target, catalog, release, image, version)
            if found:
                return found
    return None


def _complete(target: KernelSpec, catalog: Catalog, release: str, image: str, version: str) -> PackageSet | None:
    top = [image, f"linux-headers-{release}", f"linux-source-{target.series}"]
    stanzas = [_stanza(catalog, name, version) for name in top]
    if any(s is None for s in stanzas):
        return None
    image_stanza, headers_stanza, _ = stanzas
    assert image_stanza is not None and headers_stanza is not None
    packages = [(name, version) for name in top]
    if not image.endswith("-unsigned"):
        # a metapackage (7.x): the kernel, its modules and its base files are its dependencies
        parts = _parts(catalog, image_stanza, (release,))
        if not parts:
            return None
        packages += parts
    headers = _parts(catalog, headers_stanza, ("linux-headers-", "linux-kbuild-"))
    if headers is None:
        return None
    packages += headers
    return PackageSet(release, version, target.series, target.flavour, tuple(dict.fromkeys(packages)))


@dataclass(frozen=True)
class KernelTree:
    """A complete cache entry: unpacked packages and extracted source.

    Where the kernel image, its config, its modules and the headers are depends
    on how the release was packaged; the manifest records it.
    """

    path: Path
    release: str
    version: str
    series: str
    layout: dict[str, str]  # vmlinuz, config, modules, headers: paths relative to ``path``
    suite: str | None = None  # the Debian suite whose userland built it (sid, trixie, bookworm)
    patches: tuple[UserPatch, ...] = ()  # --patch, applied in order to the source
    patched_source: Path | None = None  # the source with them applied (None: the cached one)

    @property
    def abi(self) -> str:
        return re.sub(r"-[a-z]+-amd64$", "", self.release)

    @property
    def root(self) -> Path:
        return self.path / "root"

    @property
    def headers(self) -> Path:
        """KDIR for external module builds."""
        return self.path / self.layout["headers"]

    @property
    def source(self) -> Path:
        """The source that decides everything: the cached one, or its copy with the user's patches."""
        return self.patched_source or self.path / "src"

    @property
    def cached_source(self) -> Path:
        """The source as the release ships it, whatever the user's patches."""
        return self.path / "src"

    @property
    def describe(self) -> str:
        """The target in words: the release, and the patches applied to it."""
        if not self.patches:
            return self.release
        return f"{self.release} + " + ", ".join(f"{p.path.name} ({p.sha256[:12]})" for p in self.patches)

    def meta(self) -> dict[str, object]:
        """The target as outputs record it."""
        return {"kernel": self.release, "series": self.series, "version": self.version,
                "patches": [p.to_json() for p in self.patches]}

    @property
    def config(self) -> Path:
        return self.path / self.layout["config"]

    @property
    def vmlinuz(self) -> Path:
        return self.path / self.layout["vmlinuz"]

    @property
    def modules(self) -> Path:
        return self.path / self.layout["modules"]

    def module_file(self, name: str) -> Path:
        """A module of the image, e.g. ``kernel/virt/lib/irqbypass``, as the release ships it (plain or .xz)."""
        for suffix in (".ko", ".ko.xz"):
            path = self.modules / f"{name}{suffix}"
            if path.exists():
                return path
        raise PackageError(f"{self.release} ships no {name}.ko or {name}.ko.xz", "refetch the kernel")


def find_layout(path: Path, release: str) -> dict[str, str]:
    """Where the unpacked packages put the kernel, its config, modules and headers."""
    candidates = {
        "vmlinuz": [f"root/boot/vmlinuz-{release}", f"root/usr/lib/modules/{release}/vmlinuz.unsigned",
                    f"root/usr/lib/modules/{release}/vmlinuz"],
        "config": [f"root/boot/config-{release}", f"root/usr/lib/modules/{release}/config"],
        "modules": [f"root/lib/modules/{release}", f"root/usr/lib/modules/{release}"],
        "headers": [f"root/usr/src/linux-headers-{release}"],
    }
    layout = {}
    for what, places in candidates.items():
        found = next((p for p in places if (path / p).exists()), None)
        if found is None:
            raise PackageError(f"{release}: no {what} in the unpacked packages (looked at {', '.join(places)})",
                               "the packaging changed: teach packages.find_layout the new place")
        layout[what] = found
    return layout


def cache_root(override: str | None = None) -> Path:
    """``--cache``, else ``$KVMNULL_CACHE``, else ``$XDG_CACHE_HOME/kvmnull``, else ``~/.cache/kvmnull``."""
    if override:
        return Path(override).expanduser().resolve()
    if os.environ.get("KVMNULL_CACHE"):
        return Path(os.environ["KVMNULL_CACHE"]).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser().resolve() / "kvmnull"


# the longest silence allowed: they only catch a tool that stopped making progress
APT_TIMEOUT = 1800.0
UNPACK_TIMEOUT = 600.0


def _run(argv: list[str], progress: Progress, log: Path, stage: str, timeout: float,
         cwd: Path | None = None) -> str:
    """Run an apt/dpkg/tar command with its output streamed to ``log``; its output."""
    return process.run(argv, stage=stage, log=log, progress=progress, timeout=timeout, error=PackageError,
                       cwd=cwd, remedy="check the package names and that `apt-get update` has run").output


def resolve(target: KernelSpec, cache: Path, progress: Progress) -> PackageSet | None:
    """Ask apt for the newest complete set, first through the host's lists, then (for a series the
    host does not know) through the private view of newer suites; None when neither knows one.

    Asking apt takes seconds; its answer depends only on the package lists, so a found set is kept in
    the cache, keyed by the state of every list it could have come from, and given again while
    those lists are unchanged."""
    if not shutil.which("apt-cache"):
        raise PackageError("apt-cache not found", "kvmnull fetches Debian packages: run it on Debian or Ubuntu")
    memo = _resolved_memo(target, cache)
    if memo is not None:
        try:
            return _set_from_json(json.loads(memo.read_text()))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as exc:  # damaged: ask apt again, and say so
            progress.note(f"ignoring damaged {memo.name}: {exc}")
    found = _resolve_in(apt.HOST, target, cache, progress)
    if found is None:
        found = _resolve_in(apt.extra_view(cache, progress), target, cache, progress)
    memo = _resolved_memo(target, cache)  # the private lists may have been updated on the way
    if found is not None and memo is not None:
        memo.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile("w", dir=memo.parent, prefix=f".{memo.name}.", delete=False) as tmp:
            json.dump(_set_to_json(found), tmp)
        os.replace(tmp.name, memo)
    return found


def _resolved_memo(target: KernelSpec, cache: Path) -> Path | None:
    """Where the answer for ``target`` under the current package lists is kept; None: not to be kept."""
    state = apt.lists_state(cache)
    if state is None:
        return None
    digest = hashlib.sha256(f"{target.series} {target.flavour} {target.abi}\n{state}".encode()).hexdigest()[:16]
    return cache / "resolved" / f"{target.series}-{target.abi or 'newest'}-{digest}.json"


def _set_to_json(pset: PackageSet) -> dict[str, object]:
    return {"release": pset.release, "version": pset.version, "series": pset.series, "flavour": pset.flavour,
            "packages": [list(p) for p in pset.packages],
            "view": {"name": pset.view.name, "options": list(pset.view.options)}}


def _set_from_json(data: dict[str, Any]) -> PackageSet:
    view = apt.View(str(data["view"]["name"]), tuple(str(o) for o in data["view"]["options"]))
    return PackageSet(str(data["release"]), str(data["version"]), str(data["series"]), str(data["flavour"]),
                      tuple((str(n), str(v)) for n, v in data["packages"]), view)


def _resolve_in(view: apt.View, target: KernelSpec, cache: Path, progress: Progress) -> PackageSet | None:
    log = cache / "logs" / "apt.log"
    known = set(_run(view.argv("apt-cache", "pkgnames", "linux-"), progress, log,
                     f"asking {view.name} for package names", APT_TIMEOUT).split())
    releases = image_releases(target, sorted(known))
    if not releases:
        return None
    wanted = {f"linux-source-{target.series}"}
    for release in releases:
        wanted |= {f"linux-image-{release}", f"linux-image-{release}-unsigned", f"linux-headers-{release}"}
    catalog: Catalog = {}
    while wanted := {n for n in wanted if n in known and n not in catalog}:
        catalog.update(parse_show(_run(view.argv("apt-cache", "show", *sorted(wanted)), progress, log,
                                       f"asking {view.name} for package details", APT_TIMEOUT)))
        # then what those depend on: kernel parts, headers-common, kbuild
        wanted = {m.group("name") for stanzas in catalog.values() for stanza in stanzas
                  for alt in re.split(r"[,|]", stanza.depends) if (m := _RELATION.match(alt.strip()))
                  and m.group("name").startswith("linux-")}
    found = choose_set(target, catalog)
    return dataclasses.replace(found, view=view) if found else None


def _tree(path: Path, data: dict[str, object]) -> KernelTree:
    release, version = str(data["release"]), str(data["version"])
    series = str(data.get("series") or ".".join(release.split(".")[:2]))
    layout = data.get("layout")
    if not isinstance(layout, dict):  # an entry of an older kvmnull: find its parts again
        layout = find_layout(path, release)
    suite = data.get("suite")
    return KernelTree(path, release, version, series, {str(k): str(v) for k, v in layout.items()},
                      str(suite) if suite else None)


def with_patches(tree: KernelTree, user: Sequence[UserPatch], progress: Progress) -> KernelTree:
    """``tree`` whose source is a copy with ``user``'s patches applied in order (made once per
    ordered set of patches, beside the cache entry)."""
    if not user:
        return tree
    dest = tree.path.parent.parent / "patched" / tree.abi / patches.key_of(tree.abi, user)
    headers = sorted(tree.root.glob("usr/src/linux-headers-*"))  # a header the extracted source lacks
    source = patches.apply(tree.cached_source, headers, dest, user, progress)
    return dataclasses.replace(tree, patches=tuple(user), patched_source=source)


def cached_trees(cache: Path) -> list[KernelTree]:
    """Complete cache entries, newest first."""
    trees = []
    for manifest in (cache / "kernels").glob(f"*/{MANIFEST}"):
        if manifest.parent.name.startswith("."):  # staged, never renamed into place
            continue
        try:
            trees.append(_tree(manifest.parent, json.loads(manifest.read_text())))
        except (OSError, ValueError, KeyError, PackageError):
            continue  # not a complete entry: nothing reads it
    return sorted(trees, key=lambda t: _version_key(t.release), reverse=True)


def _repair_headers(root: Path, release: str) -> None:
    """Make the headers tree usable outside /usr/src: its Makefile and kbuild links point into ``root``."""
    headers = root / "usr" / "src" / f"linux-headers-{release}"
    makefile = headers / "Makefile"
    text = makefile.read_text()
    common = None
    if match := re.search(r"^include\s+/usr/src/(linux-headers-[^/\s]+)/Makefile\s*$", text, re.M):
        # it names itself (7.x: KBUILD_OUTPUT) and includes the -common one by absolute path: make
        # every /usr/src/ path relative to where the Makefile is
        common = match.group(1)
        here = "kvmnull-usr-src := $(abspath $(dir $(lastword $(MAKEFILE_LIST)))..)\n"
        makefile.write_text(here + text.replace("/usr/src/", "$(kvmnull-usr-src)/"))
    kbuild = sorted((root / "usr" / "lib").glob("linux-kbuild-*"))
    for tree in (headers, *([root / "usr" / "src" / common] if common else [])):
        for name in ("scripts", "tools"):
            link = tree / name
            if link.is_symlink() and not link.resolve().exists() and kbuild:
                link.unlink()
                link.symlink_to(os.path.relpath(kbuild[0] / name, tree))
            if not (tree / name).exists():
                raise PackageError(f"headers tree {tree.name} has no usable {name}/", "the package layout changed")


def _extract_source(tarball: Path, dest: Path, series: str, progress: Progress, log: Path) -> None:
    prefix = f"linux-source-{series}/"
    # with --wildcards, '*' also matches '/': Kconfig files come from every depth
    _run(["tar", "-xJf", str(tarball), "-C", str(dest), "--strip-components=1", "--wildcards",
          *(prefix + m for m in SOURCE_MEMBERS), f"{prefix}*Kconfig*"], progress, log,
         f"extracting {tarball.name}", UNPACK_TIMEOUT)


def fetch(target: KernelSpec, cache: Path, progress: Progress, offline: bool = False) -> KernelTree:
    """Return the cache entry for the target, fetching it when missing."""
    pset = None if offline else resolve(target, cache, progress)
    if pset is None:
        series_trees = [t for t in cached_trees(cache)
                        if t.series == target.series and (target.abi is None or t.abi == target.abi)]
        if series_trees:
            if not offline:
                progress.note(f"apt knows no complete linux-image-{target.series}.*-{target.flavour} set; "
                              f"using cached {series_trees[0].release}")
            return series_trees[0]
        wanted = target.abi or f"{target.series}.*"
        if offline:
            raise PackageError(f"--offline: no cached kernel {wanted}-{target.flavour} in {cache}",
                               "run `kvmnull fetch` once without --offline")
        raise PackageError(
            f"no complete package set for linux-image-{wanted}-{target.flavour} is known to apt",
            "run `apt-get update` as root (or `make setup`) so apt's package lists are current",
        )
    entry = cache / "kernels" / pset.abi
    if (entry / MANIFEST).exists():
        data = json.loads((entry / MANIFEST).read_text())
        if data.get("source_members") == list(SOURCE_MEMBERS):
            progress.stage("kernel", f"{pset.release} ({pset.version}) is cached")
            return _tree(entry, data)
        progress.note(f"the cached {pset.release} lacks source files this kvmnull reads: fetching it again")
    return _fetch_set(pset, cache, progress)


def _fetch_set(pset: PackageSet, cache: Path, progress: Progress) -> KernelTree:
    started = time.monotonic()
    final = cache / "kernels" / pset.abi
    with staged_folder(final) as work:
        debs = work / "debs"
        debs.mkdir()
        progress.stage("kernel", f"downloading {len(pset.packages)} packages of {pset.release} ({pset.version})")
        log = work / "fetch.log"
        _run(pset.view.argv("apt-get", "download", *(f"{name}={version}" for name, version in pset.packages)),
             progress, log,
             f"downloading the packages of {pset.release}", APT_TIMEOUT, cwd=debs)
        image = pset.packages[0][0]
        madison = _run(pset.view.argv("apt-cache", "madison", image), progress, log,
                       f"asking {pset.view.name} which suite {image} comes from", APT_TIMEOUT)
        suite = apt.suite_in_madison(madison, image, pset.version) or apt.suite_of(pset.version)
        root = work / "root"
        root.mkdir()
        for deb in sorted(debs.glob("*.deb")):
            progress.stage("kernel", f"unpacking {deb.name.split('_')[0]}")
            _run(["dpkg-deb", "-x", str(deb), str(root)], progress, log, f"unpacking {deb.name}", UNPACK_TIMEOUT)
        shutil.rmtree(debs)
        _repair_headers(root, pset.release)
        tarball = root / "usr" / "src" / f"linux-source-{pset.series}.tar.xz"
        source = work / "src"
        source.mkdir()
        progress.stage("kernel", f"extracting KVM, Kconfig and scripts from {tarball.name}")
        _extract_source(tarball, source, pset.series, progress, log)
        tarball.unlink()
        manifest: dict[str, object] = {
            "abi": pset.abi, "release": pset.release, "version": pset.version, "series": pset.series,
            "suite": suite, "apt": pset.view.name, "source_members": list(SOURCE_MEMBERS),
            "packages": [f"{name}={version}" for name, version in pset.packages],
            "layout": find_layout(work, pset.release), "fetched_seconds": round(time.monotonic() - started, 1),
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n")
    progress.stage("kernel", f"{pset.release} ready in {time.monotonic() - started:.1f}s")
    return _tree(final, manifest)
