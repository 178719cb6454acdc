"""The toolchain a target's modules are built with: the host's, or a minimal userland of the target's suite.

A module must be compiled by the compiler the kernel was built with, the one
``CONFIG_CC_VERSION_TEXT`` names, and kbuild's helpers (fixdep, modpost) come
as binaries of the target's suite.  When the host has that compiler and can run
those helpers, the host builds.  Otherwise (7.3's kbuild needs glibc 2.38 and
gcc-14, a bookworm host has 2.36 and gcc-12) the build runs in a minimal Debian
userland of the kernel's suite, made once with ``debootstrap`` into the cache
(staged, renamed into place when complete) and entered with ``chroot`` in a
private mount namespace in which the cache and the repository appear at their
own paths.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import time
from dataclasses import dataclass, replace
from pathlib import Path

from ..core import process
from ..core.errors import BuildError
from ..core.progress import Progress
from ..core.staging import staged_folder
from ..fetch import apt
from ..fetch.packages import KernelTree

# what a module build, the static selftests and stripping need, besides the compiler
USERLAND_PACKAGES = ("make", "libc6-dev", "libelf-dev", "libssl-dev", "bc", "bison", "flex", "binutils",
                     "dwarves", "kmod", "xz-utils")
DEBOOTSTRAP_TIMEOUT = 1800.0
# runs inside the private mount namespace: share each folder at its own path, then enter the userland
_ENTER = r"""set -e
root=$1; shift; n=$1; shift
while [ "$n" -gt 0 ]; do
	mkdir -p "$root$1"; mount --bind "$1" "$root$1"; shift; n=$((n - 1))
done
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
exec chroot "$root" /usr/bin/env PATH=/usr/sbin:/usr/bin:/sbin:/bin LC_ALL=C.UTF-8 "$@"
"""


@dataclass(frozen=True)
class Toolchain:
    """Where the target's modules are compiled, and with what."""

    compiler: str  # the command, e.g. x86_64-linux-gnu-gcc-14
    wanted: str  # CONFIG_CC_VERSION_TEXT of the target
    found: str  # the first line of ``compiler --version`` where it runs
    root: Path | None = None  # the suite userland; None for the host
    suite: str | None = None
    shares: tuple[Path, ...] = ()  # host folders visible at their own path inside the userland

    def describe(self) -> str:
        where = f"the {self.suite} userland {self.root}" if self.root else "the host"
        return f"{self.compiler} in {where} ({self.found})"

    def argv(self, argv: list[str]) -> list[str]:
        """``argv`` as run with this toolchain."""
        if self.root is None:
            return argv
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", _ENTER, "enter", str(self.root),
                str(len(self.shares)), *map(str, self.shares), *argv]


def wanted_compiler(tree: KernelTree) -> tuple[str, str]:
    """The compiler command and CONFIG_CC_VERSION_TEXT of the target."""
    match = re.search(r'^CONFIG_CC_VERSION_TEXT="([^"]*)"', tree.config.read_text(), re.M)
    if not match:
        raise BuildError(f"{tree.config} has no CONFIG_CC_VERSION_TEXT", "the target's config is incomplete")
    text = match.group(1)
    command = text.split()[0]
    if not command.startswith("x86_64-linux-gnu-"):  # "gcc-12 (Debian ...)": the triplet form is installed too
        command = "x86_64-linux-gnu-" + command
    return command, text


def _glibc(version: str) -> tuple[int, ...]:
    return tuple(int(n) for n in version.split("."))


def glibc_needed(folder: Path) -> tuple[int, ...]:
    """The newest GLIBC symbol version any ELF program under ``folder`` needs."""
    newest: tuple[int, ...] = (0,)
    for path in folder.rglob("*"):
        if path.is_file() and not path.is_symlink() and os.access(path, os.X_OK):
            with open(path, "rb") as handle:
                if handle.read(4) != b"\x7fELF":
                    continue
                data = handle.read()
            for found in re.findall(rb"GLIBC_(\d+\.\d+(?:\.\d+)?)", data):
                newest = max(newest, _glibc(found.decode()))
    return newest


def host_glibc() -> tuple[int, ...]:
    name = os.confstr("CS_GNU_LIBC_VERSION") or "glibc 0"
    return _glibc(name.split()[-1])


def _version_line(argv: list[str], progress: Progress, log: Path) -> str:
    done = process.run([*argv, "--version"], stage=f"asking {argv[-1]} its version", log=log, progress=progress,
                       timeout=60, error=BuildError, check=False)
    return done.output.splitlines()[0].strip() if done.returncode == 0 and done.output else ""


def choose(tree: KernelTree, cache: Path, shares: tuple[Path, ...], progress: Progress) -> Toolchain:
    """The host when it has the target's compiler and runs its kbuild helpers, else the suite userland."""
    compiler, wanted = wanted_compiler(tree)
    log = cache / "logs" / "toolchain.log"
    needs = glibc_needed(tree.headers / "scripts")
    host_ok = host_glibc() >= needs
    if host_ok and shutil.which(compiler):
        chain = Toolchain(compiler, wanted, "")
    else:
        suite = _suite(tree)
        why = (f"the host lacks {compiler}" if host_ok else
               f"its kbuild needs glibc {'.'.join(map(str, needs))}, the host has "
               f"{'.'.join(map(str, host_glibc()))}")
        progress.note(f"{tree.release}: {why}; building in a {suite} userland")
        chain = Toolchain(compiler, wanted, "", userland(suite, compiler, cache, progress), suite, shares)
    return _checked(replace(chain, found=_version_line(chain.argv([compiler]), progress, log)))


def _checked(chain: Toolchain) -> Toolchain:
    """The compiler must be the one the kernel names: the same version, where Debian says which."""
    if not chain.found:
        raise BuildError(f"{chain.compiler} does not run in {chain.root or 'the host'}",
                         f"apt-get install {chain.compiler.removeprefix('x86_64-linux-gnu-')}")
    wanted = re.search(r"\d+\.\d+\.\d+\s*$", chain.wanted)
    if wanted and wanted.group(0).strip() not in chain.found:
        raise BuildError(f"{chain.compiler} is {chain.found!r}; the kernel was built with {chain.wanted!r}",
                         "install the compiler version the kernel names")
    return chain


def _suite(tree: KernelTree) -> str:
    suite = tree.suite or apt.suite_of(tree.version)
    if suite is None:
        raise BuildError(f"{tree.release} ({tree.version}): cannot tell which Debian suite built it, and the "
                         "host cannot build for it", f"install its compiler ({wanted_compiler(tree)[0]}) on the host")
    return suite


def userland(suite: str, compiler: str, cache: Path, progress: Progress) -> Path:
    """The minimal userland of ``suite`` with ``compiler``, made once (as root) into the cache."""
    package = compiler.removeprefix("x86_64-linux-gnu-")
    include = ",".join((package, *USERLAND_PACKAGES))
    # named after what it holds: a changed package list makes a new userland, never a stale one
    final = cache / "userlands" / f"{suite}-{package}-{hashlib.sha256(include.encode()).hexdigest()[:8]}"
    if (final / "etc" / "kvmnull-userland").exists():
        return final
    if os.geteuid() != 0:
        raise BuildError(f"building for {suite} needs a {suite} userland with {package}, and making one needs root",
                         f"run `kvmnull build` once as root (sudo), or install {package} and {suite}'s kbuild "
                         "dependencies on the host")
    if not shutil.which("debootstrap"):
        raise BuildError("debootstrap not found: it makes the target's userland", "apt-get install debootstrap")
    started = time.monotonic()
    mirror = apt.host_mirror()
    with staged_folder(final) as work:
        progress.stage("toolchain", f"debootstrap {suite} with {package} from {mirror} (once)")
        # in a private mount namespace: the /proc and /sys debootstrap mounts inside go with it on any exit
        process.run(["unshare", "--mount", "--propagation", "private", "debootstrap", "--variant=minbase",
                     f"--keyring={apt.KEYRING}", f"--include={include}", suite, str(work), mirror],
                    stage=f"making the {suite} userland", progress=progress,
                    log=cache / "logs" / f"userland-{suite}.log", timeout=DEBOOTSTRAP_TIMEOUT, error=BuildError,
                    remedy=f"check that {mirror} is reachable")
        shutil.rmtree(work / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        (work / "etc" / "kvmnull-userland").write_text(f"{suite} {include}\n")
    progress.stage("toolchain", f"{suite} userland ready in {time.monotonic() - started:.0f}s")
    return final
