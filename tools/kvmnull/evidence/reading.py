"""A file read as a kernel log: decompressed by what its content is, and refused unless it is text.

gzip and xz are recognized by their magic bytes, whatever the file is named;
other compressions, executables and other binary files, and empty files are
clear errors naming the file and why.  Bytes, not text mode: universal newlines
would turn a console's ``\\r\\r\\n`` into two lines.
"""

from __future__ import annotations

import gzip
import io
import lzma
import sys
import zlib
from pathlib import Path

from ..core.errors import LogError
from ..guest import harness
from . import grammar

# the largest decompressed log read: a kernel log is far smaller, a decompression bomb is not
MAX_BYTES = 512 << 20
_GZIP = b"\x1f\x8b"
_XZ = b"\xfd7zXZ\x00"
# what a file that is not a text log starts with
_NOT_READ = {
    b"BZh": "bzip2-compressed (only gzip and xz are read: decompress it first)",
    b"\x28\xb5\x2f\xfd": "zstd-compressed (only gzip and xz are read: decompress it first)",
    b"\x04\x22\x4d\x18": "lz4-compressed (only gzip and xz are read: decompress it first)",
    b"\x89LZO": "lzop-compressed (only gzip and xz are read: decompress it first)",
    b"PK\x03\x04": "a zip archive",
    b"\x7fELF": "an ELF binary",
    b"\x89PNG": "a PNG image",
    b"%PDF": "a PDF document",
}
# bytes a console may carry besides text: tab, newlines, backspace, bell, form feed, escape (ANSI)
_TEXT_CONTROLS = frozenset(b"\t\n\r\x08\x07\x0b\x0c\x1b")
_SAMPLE = 1 << 20
_MAX_NOISE = 0.05  # the share of control bytes or invalid UTF-8 beyond which a file is not text

_REMEDY = "give a console or dmesg log: plain text, or compressed with gzip or xz"


def read_log(path: str) -> str:
    """The text of the log at ``path`` (``-``: standard input), decompressed; :class:`LogError` if it is
    not a text log."""
    name = "standard input" if path == "-" else path
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        raise LogError(f"cannot read {name}: {exc.strerror or exc}", _REMEDY) from exc
    return decode(raw, name)


def decode(raw: bytes, name: str) -> str:
    """``raw`` as log text; ``name`` says what it is in errors."""
    data, how = _decompressed(raw, name)
    what = f"{name} ({how})" if how else name
    if not data.strip():
        raise LogError(f"{what} is empty", _REMEDY)
    why = _not_text(data)
    if why:
        raise LogError(f"{what} is not a text log: {why}", _REMEDY)
    return data.decode("utf-8", errors="replace")


def _decompressed(raw: bytes, name: str) -> tuple[bytes, str | None]:
    if raw.startswith(_GZIP):
        how = "gzip"
    elif raw.startswith(_XZ):
        how = "xz"
    else:
        return raw, None
    try:
        with gzip.GzipFile(fileobj=io.BytesIO(raw)) if how == "gzip" else lzma.LZMAFile(io.BytesIO(raw)) as stream:
            data = stream.read(MAX_BYTES + 1)
    except (OSError, EOFError, lzma.LZMAError, zlib.error) as exc:
        raise LogError(f"{name} is {how}-compressed but cannot be decompressed: {exc}", _REMEDY) from exc
    if len(data) > MAX_BYTES:
        raise LogError(f"{name} decompresses ({how}) to more than {MAX_BYTES >> 20} MiB: not a kernel log", _REMEDY)
    return data, f"{how}-compressed"


def _not_text(data: bytes) -> str | None:
    """Why ``data`` is not text, or None."""
    for magic, what in _NOT_READ.items():
        if data.startswith(magic):
            return what
    sample = data[:_SAMPLE]
    controls = sum(1 for byte in sample if (byte < 0x20 or byte == 0x7f) and byte not in _TEXT_CONTROLS)
    if controls > _MAX_NOISE * len(sample):
        return f"{controls} of its first {len(sample)} bytes are control bytes (a binary file)"
    invalid = sample.decode("utf-8", errors="replace").count("\ufffd")
    if invalid > _MAX_NOISE * len(sample):
        return f"{invalid} of its first {len(sample)} bytes are not UTF-8 text (a binary file)"
    return None


def looks_like_kernel_log(text: str) -> bool:
    """Does any line carry a printk timestamp, a kernel banner or a harness marker?"""
    markers = (harness.BEGIN, harness.LOAD, harness.DMESG_BEGIN)
    return any(grammar.STAMP.search(line) or grammar.BANNER.search(line) or any(m in line for m in markers)
               for line in text.splitlines())
