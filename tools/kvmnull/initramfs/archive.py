"""A deterministic newc initramfs, written with the standard library (no root, no mounts).

Same inputs give the same bytes: entries are sorted, owned by root, dated 0
and numbered in order.  It is left uncompressed: the kernel unpacks it
faster than it could decompress it under TCG.
"""

from __future__ import annotations

import importlib.resources
import lzma
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import BuildError, DataError, ParseError, UsageError

# a constant of a guest script that the host reads back: NAME='value' alone on its line
_CONSTANT = re.compile(r"^(?P<name>[A-Z][A-Z0-9_]*)='(?P<value>[^'\n]*)'$", re.M)


@dataclass(frozen=True)
class GuestScript:
    """A shell script the guest runs, shipped in the package, and the constants it defines for the host.

    The script is the one home of the lines and statuses the host reads back: it
    assigns each as ``NAME='value'`` at the start of a line, and the host takes
    them from there, so the two sides cannot drift.
    """

    name: str
    text: str
    constants: Mapping[str, str]

    def __getitem__(self, name: str) -> str:
        return self.constants[name]


def parse_script(name: str, text: str, names: Sequence[str]) -> GuestScript:
    """``text``'s constants ``names``; each must be assigned exactly once."""
    found: dict[str, list[str]] = {}
    for match in _CONSTANT.finditer(text):
        found.setdefault(match["name"], []).append(match["value"])
    for wanted in names:
        if len(found.get(wanted, [])) != 1:
            how = "assigns it more than once" if found.get(wanted) else "does not assign it"
            raise ParseError(f"{name}: the host needs {wanted}='...' and the script {how}",
                             "restore the script from version control")
    return GuestScript(name, text, {wanted: found[wanted][0] for wanted in names})


def load_script(package: str, name: str, names: Sequence[str]) -> GuestScript:
    """The guest script ``name`` shipped in ``package`` (e.g. ``kvmnull.guest``)."""
    try:
        text = importlib.resources.files(package).joinpath(name).read_text()
    except OSError as exc:
        raise DataError(f"kvmnull's package lacks {package}/{name}: {exc}",
                        "reinstall kvmnull (pip install .), or restore the file from version control") from exc
    return parse_script(name, text, names)


INIT = load_script("kvmnull.initramfs", "kvmnull-init.sh", ("READY", "DEBUGFS"))
# the init script's last word before the shell: the guest is up
READY = INIT["READY"]


@dataclass
class Archive:
    """Files to put into an initramfs, keyed by their path inside it."""

    files: dict[str, tuple[bytes, int]] = field(default_factory=dict)
    symlinks: dict[str, str] = field(default_factory=dict)

    def add_bytes(self, path: str, data: bytes, mode: int = 0o644) -> None:
        self.files[path.lstrip("/")] = (data, mode)

    def add_file(self, path: str, source: Path, mode: int | None = None) -> None:
        """Add a host file; ``.xz`` modules are decompressed so busybox insmod can load them."""
        try:
            data = source.read_bytes()
        except OSError as exc:
            raise BuildError(f"cannot read {source}: {exc.strerror}", "rebuild with `kvmnull build`") from exc
        if source.suffix == ".xz":
            data = lzma.decompress(data)
        if mode is None:
            mode = 0o755 if os.access(source, os.X_OK) else 0o644
        self.add_bytes(path, data, mode)

    def _directories(self) -> list[str]:
        dirs = {"dev", "proc", "sys", "tmp", "root", "bin", "sbin"}
        for path in [*self.files, *self.symlinks]:
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        return sorted(dirs)

    def to_bytes(self) -> bytes:
        out = bytearray()
        inode = 1

        def entry(name: str, mode: int, data: bytes = b"") -> None:
            nonlocal inode
            encoded = name.encode() + b"\0"
            fields = [inode, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0, len(data), 0, 0, 0, 0, len(encoded), 0]
            out.extend(b"070701" + b"".join(b"%08X" % f for f in fields))
            out.extend(encoded)
            out.extend(b"\0" * (-len(out) % 4))
            out.extend(data)
            out.extend(b"\0" * (-len(out) % 4))
            inode += 1

        for directory in self._directories():
            entry(directory, stat.S_IFDIR | 0o755)
        for name in sorted(self.files):
            data, mode = self.files[name]
            entry(name, stat.S_IFREG | mode, data)
        for name in sorted(self.symlinks):
            entry(name, stat.S_IFLNK | 0o777, self.symlinks[name].encode())
        inode = 0
        entry("TRAILER!!!", 0)
        out.extend(b"\0" * (-len(out) % 512))
        return bytes(out)

    def write(self, path: Path) -> None:
        """Write atomically: a reader never sees a half-written archive."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as tmp:
            tmp.write(self.to_bytes())
        os.replace(tmp.name, path)


def guest_archive(busybox: Path, modules: dict[str, Path], programs: dict[str, Path]) -> Archive:
    """The standard kvmnull guest: busybox, an init, modules under /modules, programs under /bin."""
    archive = Archive()
    archive.add_file("bin/busybox", busybox, 0o755)
    archive.symlinks["bin/sh"] = "busybox"
    archive.add_bytes("init", INIT.text.encode(), 0o755)
    for name, source in sorted(modules.items()):
        archive.add_file(f"modules/{name}", source, 0o644)
    for name, source in sorted(programs.items()):
        archive.add_file(f"bin/{name}", source, 0o755)
    return archive


def busybox_path() -> Path:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        if Path(candidate).exists():
            return Path(candidate)
    found = shutil.which("busybox")
    if not found:
        raise UsageError("busybox not found", "apt-get install busybox-static (or run `make setup`)")
    return Path(found)
