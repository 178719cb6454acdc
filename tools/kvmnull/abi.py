"""What kvm-null and the probe show user space, read from ``module/kvm_null_abi.h``.

The header is the one home of these facts: the module, the selftests and the
probe compile them in, and this module reads them from the same text, so the
Python side cannot drift from the C side.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import ParseError

HEADER = Path(__file__).resolve().parents[2] / "module" / "kvm_null_abi.h"
# the mount point of debugfs in the guest (the init script mounts it there)
DEBUGFS = "/sys/kernel/debug"


@dataclass(frozen=True)
class Abi:
    """The facts of kvm_null_abi.h that the tools need."""

    exit_reason: int  # run->hw.hardware_exit_reason of a kvm-null KVM_RUN
    calls_file: str  # below the debugfs mount
    class_selectors: tuple[tuple[str, str], ...]  # (HookClass member name, selector text without '@')
    select_all: str
    probe_steps: tuple[str, ...]

    @property
    def calls_path(self) -> str:
        return f"{DEBUGFS}/{self.calls_file}"


def _macro_body(text: str, name: str) -> str:
    """The replacement text of ``#define NAME...``, continuation lines joined."""
    match = re.search(rf"^#define\s+{name}\b(?:\([^)]*\))?[ \t]*((?:.*\\\n)*.*)$", text, re.M)
    if not match:
        raise ParseError(f"{HEADER.name} has no #define {name}", "restore it from version control")
    return match.group(1).replace("\\\n", " ")


def _string(text: str, name: str) -> str:
    match = re.fullmatch(r'\s*"([^"]*)"\s*', _macro_body(text, name))
    if not match:
        raise ParseError(f"{HEADER.name}: {name} is not a string literal")
    return match.group(1)


def parse(text: str) -> Abi:
    """The facts of a kvm_null_abi.h text."""
    number = re.fullmatch(r"\s*(0x[0-9a-fA-F]+|\d+)U?L{0,2}\s*", _macro_body(text, "KVM_NULL_EXIT_REASON"))
    if not number:
        raise ParseError(f"{HEADER.name}: KVM_NULL_EXIT_REASON is not an integer literal")
    classes = tuple(re.findall(r'C\(\s*(\w+)\s*,\s*"([^"]+)"\s*\)', _macro_body(text, "KVM_NULL_CLASSES")))
    steps = tuple(re.findall(r"S\(\s*(\w+)\s*\)", _macro_body(text, "KVM_NULL_PROBE_STEPS")))
    if not classes or not steps:
        raise ParseError(f"{HEADER.name}: KVM_NULL_CLASSES or KVM_NULL_PROBE_STEPS is empty")
    return Abi(int(number.group(1), 0), _string(text, "KVM_NULL_DEBUGFS_CALLS"), classes,
               _string(text, "KVM_NULL_SELECT_ALL"), steps)


@functools.cache
def load() -> Abi:
    """The facts of the project's kvm_null_abi.h."""
    try:
        return parse(HEADER.read_text())
    except OSError as exc:
        raise ParseError(f"cannot read {HEADER}: {exc.strerror}", "restore module/ from version control") from exc
