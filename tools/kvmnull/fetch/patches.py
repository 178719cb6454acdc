"""The user's patches (``--patch``): read, checked for scope, applied to a copy of the target's source.

A patch is what ``git format-patch`` or ``diff -u`` writes, or an mbox of a
series.  Each message is applied in order, without fuzz, to a copy of the
cached source before kvmnull's own changes; from then on the patched source
decides everything (hook tables and classes, stubs, the census).

kvmnull rebuilds kvm.ko and its vendors, not vmlinux: a patch may change the
KVM code and the KVM headers only.  Everything is checked before anything
slow starts, and a copy that did not apply is never left where a later run
would trust it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path

from ..core import process
from ..core.errors import PatchError
from ..core.progress import Progress
from ..core.staging import staged_folder

MANIFEST = "patched.json"

# What kvmnull rebuilds from a patched source: kvm.ko's and the vendors' code, and the headers they read
IN_SCOPE = (
    "arch/x86/kvm/*",
    "virt/kvm/*",
    "arch/x86/include/asm/kvm*.h",
    "include/linux/kvm*.h",
    "include/uapi/linux/kvm*.h",
    "arch/x86/include/uapi/asm/kvm*.h",
)
# headers whose change reaches the guest programs (selftests, probe) too
UAPI = ("include/uapi/linux/kvm*.h", "arch/x86/include/uapi/asm/kvm*.h")

_MBOX_FROM = re.compile(r"^From [0-9a-f]{40} ", re.M)
_SUBJECT = re.compile(r"^Subject:\s*(.*(?:\n[ \t].*)*)", re.M)
_DIFF_GIT = re.compile(r"^diff --git a/(\S+) b/(\S+)$")
_OLD = re.compile(r"^--- (?:a/)?(\S+)")
_NEW = re.compile(r"^\+\+\+ (?:b/)?(\S+)")
_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@")
_FAILED = re.compile(r"^Hunk #(\d+) FAILED at (\d+)", re.M)
_PATCHING = re.compile(r"^patching file (\S+)", re.M)
_OFFSET = re.compile(r"^Hunk #(\d+) succeeded at (\d+) \(offset (-?\d+) lines?\)", re.M)


@dataclass(frozen=True)
class Hunk:
    old_start: int
    old_count: int
    expected: tuple[str, ...]  # the lines the hunk expects to find: context and removals


@dataclass(frozen=True)
class FileDiff:
    """One file's part of a patch."""

    path: str  # the file after the change (the one before for a deletion)
    old: str | None  # None: the patch creates the file
    new: str | None  # None: the patch deletes it
    hunks: tuple[Hunk, ...]


@dataclass(frozen=True)
class Message:
    """One patch of a file (an mbox holds several): what it says it does and what it changes."""

    subject: str
    text: str
    diffs: tuple[FileDiff, ...]

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f for d in self.diffs for f in (d.old, d.new) if f))


@dataclass(frozen=True)
class UserPatch:
    """A ``--patch`` file: where it is, its hash, and its messages in order."""

    path: Path
    sha256: str
    messages: tuple[Message, ...]

    @property
    def files(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(f for m in self.messages for f in m.files))

    def to_json(self) -> dict[str, object]:
        return {"file": str(self.path), "sha256": self.sha256, "subjects": [m.subject for m in self.messages],
                "files": list(self.files)}


def _subject(header: str) -> str:
    match = _SUBJECT.search(header)
    return " ".join(match.group(1).split()) if match else ""


def parse_diffs(text: str, where: str) -> tuple[FileDiff, ...]:
    """The file diffs of one message, in order; a hunk whose line counts do not add up is an error."""
    lines = text.splitlines()
    diffs: list[FileDiff] = []
    index = 0
    pending: tuple[str, str] | None = None  # the names of a `diff --git` line, for a hunk-less rename or mode
    while index < len(lines):
        line = lines[index]
        if match := _DIFF_GIT.match(line):
            if pending is not None:
                diffs.append(FileDiff(pending[1], pending[0], pending[1], ()))
            pending = (match.group(1), match.group(2))
            index += 1
            continue
        if line.startswith("--- ") and index + 1 < len(lines) and lines[index + 1].startswith("+++ "):
            old_match, new_match = _OLD.match(line), _NEW.match(lines[index + 1])
            old = None if line.startswith("--- /dev/null") else old_match.group(1) if old_match else None
            new = None if lines[index + 1].startswith("+++ /dev/null") else new_match.group(1) if new_match else None
            if old is None and new is None:
                raise PatchError(f"{where}: a diff of /dev/null against /dev/null (line {index + 1})",
                                 "write the patch with git format-patch or diff -u")
            index += 2
            hunks = []
            while index < len(lines) and (hunk := _HUNK.match(lines[index])):
                start, count = int(hunk.group(1)), int(hunk.group(2) if hunk.group(2) is not None else 1)
                new_count = int(hunk.group(4) if hunk.group(4) is not None else 1)
                header_line = index + 1
                index += 1
                expected, old_seen, new_seen = [], 0, 0
                while index < len(lines) and (old_seen < count or new_seen < new_count):
                    body = lines[index]
                    if body.startswith("\\"):  # "\ No newline at end of file"
                        index += 1
                        continue
                    mark, rest = (body[:1] or " "), body[1:]
                    if mark == " ":
                        old_seen, new_seen = old_seen + 1, new_seen + 1
                        expected.append(rest)
                    elif mark == "-":
                        old_seen += 1
                        expected.append(rest)
                    elif mark == "+":
                        new_seen += 1
                    else:
                        break
                    index += 1
                if old_seen != count or new_seen != new_count:
                    raise PatchError(f"{where}: the hunk at line {header_line} ({lines[header_line - 1]}) has "
                                     f"{old_seen} old and {new_seen} new lines, not the {count} and {new_count} "
                                     "its header says", "the patch was damaged (a mailer rewrapped or trimmed "
                                     "it): save it again as the raw message or from git format-patch")
                while index < len(lines) and lines[index].startswith("\\"):
                    index += 1
                hunks.append(Hunk(start, count, tuple(expected)))
            path = new or old
            assert path is not None
            diffs.append(FileDiff(path, old, new, tuple(hunks)))
            pending = None
            continue
        index += 1
    if pending is not None:
        diffs.append(FileDiff(pending[1], pending[0], pending[1], ()))
    return tuple(diffs)


def read_patch(path: Path) -> UserPatch:
    """One ``--patch`` file: a missing, binary or diff-less file is an error naming it."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PatchError(f"--patch {path}: {exc.strerror or exc}", "name a patch file") from None
    if b"\0" in data[:8192]:
        raise PatchError(f"--patch {path}: a binary file, not a patch", "name a patch as git format-patch writes it")
    text = data.decode("utf-8", errors="replace").replace("\r\n", "\n")
    starts = [m.start() for m in _MBOX_FROM.finditer(text)]
    pieces = [text[a:b] for a, b in zip(starts, [*starts[1:], len(text)], strict=True)] if starts else [text]
    messages = []
    for number, piece in enumerate(pieces, start=1):
        where = f"--patch {path}" + (f" (message {number} of {len(pieces)})" if len(pieces) > 1 else "")
        head = piece.split("\n\n", 1)[0] if starts else ""
        diffs = parse_diffs(piece, where)
        if not diffs:
            if starts and "diff --git" not in piece and "\n--- " not in piece:
                continue  # a cover letter: no diff
            raise PatchError(f"{where}: no file diff found", "name a patch as git format-patch or diff -u write it")
        messages.append(Message(_subject(head) or path.name, piece, diffs))
    if not messages:
        raise PatchError(f"--patch {path}: no file diff found", "name a patch as git format-patch or diff -u write it")
    return UserPatch(path, hashlib.sha256(data).hexdigest(), tuple(messages))


def out_of_scope(patch: UserPatch) -> list[str]:
    """The files ``patch`` changes that are not kvm.ko's, its vendors' or the KVM headers."""
    return [f for f in patch.files if not any(fnmatch(f, pattern) for pattern in IN_SCOPE)]


def read_patches(paths: Sequence[str | Path]) -> tuple[UserPatch, ...]:
    """Every ``--patch``, read and checked for scope, in order: an error before anything slow."""
    patches = tuple(read_patch(Path(p)) for p in paths)
    for patch in patches:
        if outside := out_of_scope(patch):
            raise PatchError(f"--patch {patch.path} changes {', '.join(outside)}, which is vmlinux code kvmnull "
                             "does not rebuild (it rebuilds kvm.ko, kvm-amd.ko and the KVM headers: "
                             f"{', '.join(IN_SCOPE)})",
                             "split those changes out of the patch, or build that kernel and test it as a tree")
    return patches


def key_of(abi: str, patches: Sequence[UserPatch]) -> str:
    """The cache key of a source patched by ``patches`` in order."""
    digest = hashlib.sha256(abi.encode())
    for patch in patches:
        digest.update(patch.sha256.encode())
    return digest.hexdigest()[:16]


def _seed(source: Path, work: Path, extra: Sequence[Path], files: Sequence[str]) -> None:
    """``work`` becomes a copy of ``source`` whose files are hard links (the source is never written),
    except the ``files`` a patch changes, which are real copies; a changed file the source lacks comes
    from the first of ``extra`` (the headers trees) that has it."""
    shutil.copytree(source, work, copy_function=os.link, symlinks=True)
    for name in files:
        target = work / name
        if target.exists():
            content = target.read_bytes()
            target.unlink()
            target.write_bytes(content)
            continue
        for folder in extra:
            if (folder / name).is_file():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(folder / name, target)
                break


def _failure(patch: UserPatch, message: Message, output: str, number: int) -> PatchError:
    """A message that did not apply, named: its file, the hunk and the text it expected."""
    where = f"--patch {patch.path}" + (f", patch {number} of {len(patch.messages)}" if len(patch.messages) > 1 else "")
    current: str | None = None
    for line in output.splitlines():
        if match := _PATCHING.match(line):
            current = match.group(1)
        elif (match := _FAILED.match(line)) and current is not None:
            hunk_number, at = int(match.group(1)), int(match.group(2))
            diff = next((d for d in message.diffs if d.path == current), None)
            hunk = diff.hunks[hunk_number - 1] if diff and 0 < hunk_number <= len(diff.hunks) else None
            expected = ""
            if hunk is not None:
                shown = hunk.expected[:12]
                more = f"\n    ... ({len(hunk.expected) - 12} more lines)" if len(hunk.expected) > 12 else ""
                expected = (f"; it expected at line {hunk.old_start}:\n" + "\n".join(f"    |{t}" for t in shown)
                            + more)
            return PatchError(f"{where} ({message.subject}): hunk #{hunk_number} of {current} does not apply "
                              f"(tried at line {at}){expected}",
                              "rebase the patch onto this kernel's source, or choose the kernel it was written for")
    if "can't find file to patch" in output or "No file to patch" in output:
        return PatchError(f"{where} ({message.subject}) changes a file this kernel's source lacks:\n{output.strip()}",
                          "choose the kernel the patch was written for")
    if "Reversed (or previously applied)" in output:
        return PatchError(f"{where} ({message.subject}) is already applied to this kernel's source (or reversed)",
                          "drop it: the kernel has it")
    return PatchError(f"{where} ({message.subject}) does not apply:\n{output.strip()}",
                      "rebase the patch onto this kernel's source")


def apply(source: Path, headers: Sequence[Path], dest: Path, patches: Sequence[UserPatch],
          progress: Progress) -> Path:
    """``source`` with ``patches`` applied in order, in ``dest`` (kept: the same patches on the same
    source are applied once).  ``headers``: where a changed header the source lacks comes from.
    Returns the patched source folder."""
    patched = dest / "src"
    if (dest / MANIFEST).exists():
        progress.stage("patch", f"{len(patches)} patch(es) already applied ({dest})")
        return patched
    if not shutil.which("patch"):
        raise PatchError("GNU patch is not on PATH: it applies --patch", "apt-get install patch (or make setup)")
    with staged_folder(dest) as work:
        files = [f for p in patches for f in p.files]
        _seed(source, work / "src", headers, files)
        log = work / "patch.log"
        offsets = []
        for patch in patches:
            for number, message in enumerate(patch.messages, start=1):
                progress.stage("patch", f"applying {message.subject or patch.path.name}")
                piece = work / "message.patch"
                piece.write_text(message.text)
                result = process.run(["patch", "-p1", "--batch", "--forward", "--fuzz=0", "--no-backup-if-mismatch",
                                      "-d", str(work / "src"), "-i", str(piece)],
                                     stage=f"applying {patch.path.name}", log=log, progress=progress, timeout=60,
                                     error=PatchError, check=False)
                piece.unlink()
                if result.returncode != 0:
                    raise _failure(patch, message, result.output, number)
                offsets += [f"{message.subject}: hunk #{m.group(1)} at line {m.group(2)} (offset {m.group(3)})"
                            for m in _OFFSET.finditer(result.output)]
        for offset in offsets:
            progress.note(f"applied with an offset: {offset}")
        (work / MANIFEST).write_text(json.dumps({"patches": [p.to_json() for p in patches], "offsets": offsets},
                                                indent=2) + "\n")
    return patched
