"""The newc writer: deterministic, and readable by the kernel's format rules."""

from __future__ import annotations

import lzma
from pathlib import Path

from kvmnull.initramfs.archive import Archive, guest_archive


def read_newc(data: bytes) -> dict[str, tuple[int, bytes]]:
    entries: dict[str, tuple[int, bytes]] = {}
    pos = 0
    while True:
        assert data[pos:pos + 6] == b"070701"
        fields = [int(data[pos + 6 + 8 * i: pos + 14 + 8 * i], 16) for i in range(13)]
        mode, size, namesize = fields[1], fields[6], fields[11]
        name_start = pos + 110
        name = data[name_start:name_start + namesize - 1].decode()
        pos = name_start + namesize
        pos += -pos % 4
        body = data[pos:pos + size]
        pos += size
        pos += -pos % 4
        if name == "TRAILER!!!":
            return entries
        entries[name] = (mode, body)


def test_same_inputs_same_bytes(tmp_path: Path) -> None:
    program = tmp_path / "prog"
    program.write_bytes(b"\x7fELF fake")
    module = tmp_path / "m.ko.xz"
    module.write_bytes(lzma.compress(b"module bytes"))
    first = guest_archive(program, {"m.ko": module}, {"p": program}).to_bytes()
    program.touch()  # a newer mtime must not matter
    second = guest_archive(program, {"m.ko": module}, {"p": program}).to_bytes()
    assert first == second
    assert len(first) % 512 == 0


def test_layout_and_modes(tmp_path: Path) -> None:
    module = tmp_path / "m.ko.xz"
    module.write_bytes(lzma.compress(b"module bytes"))
    archive = Archive()
    archive.add_file("modules/m.ko", module, 0o644)
    archive.add_bytes("init", b"#!/bin/sh\n", 0o755)
    archive.symlinks["bin/sh"] = "busybox"
    entries = read_newc(archive.to_bytes())
    assert entries["modules/m.ko"] == (0o100644, b"module bytes")  # .xz is decompressed for busybox insmod
    assert entries["init"][0] == 0o100755
    assert entries["bin/sh"] == (0o120777, b"busybox")
    assert entries["modules"][0] == 0o40755 and entries["dev"][0] == 0o40755


def test_write_is_atomic(tmp_path: Path) -> None:
    target = tmp_path / "initrd.cpio"
    Archive().write(target)
    assert target.exists() and not list(tmp_path.glob(".initrd.cpio.*"))
