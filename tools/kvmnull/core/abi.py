"""What kvm-null, the probe and the workload show user space, read from their C sources.

``module/kvm_null_abi.h`` (exit reason, debugfs file, the tables' names and
parameters) and the probe's and the
workload's ``step_names[]`` are the one home of these facts: the module, the selftests
and the probe compile them in, and this module reads them from the same text,
so the Python side cannot drift from the C side.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from . import paths
from .errors import ParseError

HEADER = "kvm_null_abi.h"  # in module/
PROBE = "probe.c"  # in selftests/: its step_names[] are the lifecycle's steps
WORKLOAD = "workload.c"  # in selftests/: its step_names[] are the guest workload's steps
# the mount point of debugfs in the guest (the init script mounts it there)
DEBUGFS = "/sys/kernel/debug"


@dataclass(frozen=True)
class AbiTable:
    """One of kvm-null's ops tables, as kvm_null_abi.h names it."""

    name: str  # debugfs's name: "x86"
    param: str  # the module parameter that leaves its hooks NULL: "null"
    struct: str  # the struct kvm.ko's messages name: "kvm_x86_ops"


@dataclass(frozen=True)
class Abi:
    """The facts of kvm_null_abi.h that the tools need."""

    exit_reason: int  # run->hw.hardware_exit_reason of a kvm-null KVM_RUN
    calls_file: str  # below the debugfs mount
    probe_steps: tuple[str, ...]
    workload_steps: tuple[str, ...]
    tables: tuple[AbiTable, ...]  # in debugfs order

    @property
    def null_params(self) -> dict[str, str]:
        """Table name -> the kvm-null parameter that leaves its hooks NULL, in debugfs order."""
        return {t.name: t.param for t in self.tables}

    @property
    def calls_path(self) -> str:
        return f"{DEBUGFS}/{self.calls_file}"


def _macro_body(text: str, name: str) -> str:
    """The replacement text of ``#define NAME...``, continuation lines joined."""
    match = re.search(rf"^#define\s+{name}\b(?:\([^)]*\))?[ \t]*((?:.*\\\n)*.*)$", text, re.M)
    if not match:
        raise ParseError(f"{HEADER} has no #define {name}", "restore it from version control")
    return match.group(1).replace("\\\n", " ")


def _string(text: str, name: str) -> str:
    match = re.fullmatch(r'\s*"([^"]*)"\s*', _macro_body(text, name))
    if not match:
        raise ParseError(f"{HEADER}: {name} is not a string literal")
    return match.group(1)


def _identifier(text: str, name: str) -> str:
    match = re.fullmatch(r"\s*([A-Za-z_]\w*)\s*", _macro_body(text, name))
    if not match:
        raise ParseError(f"{HEADER}: {name} is not an identifier")
    return match.group(1)


def _table(text: str, prefix: str) -> AbiTable:
    """The facts of table ``KVM_NULL_<prefix>_*``; its _PARAM must be the name of its _PARAM_ID."""
    param = _identifier(text, f"KVM_NULL_{prefix}_PARAM_ID")
    if not re.fullmatch(rf"\s*KVM_NULL_NAME\(\s*KVM_NULL_{prefix}_PARAM_ID\s*\)\s*",
                        _macro_body(text, f"KVM_NULL_{prefix}_PARAM")):
        raise ParseError(f"{HEADER}: KVM_NULL_{prefix}_PARAM is not KVM_NULL_NAME(KVM_NULL_{prefix}_PARAM_ID)",
                         "restore it from version control")
    return AbiTable(_string(text, f"KVM_NULL_{prefix}_TABLE"), param, _string(text, f"KVM_NULL_{prefix}_STRUCT"))


def _steps(source: str, name: str) -> tuple[str, ...]:
    table = re.search(r"step_names\[\w*\]\s*=\s*\{(.*?)\};", source, re.S)
    steps = tuple(re.findall(r'\[STEP_\w+\]\s*=\s*"(\w+)"', table.group(1))) if table else ()
    if not steps:
        raise ParseError(f"{name} has no step_names[] table", "restore it from version control")
    return steps


def parse(header: str, probe: str, workload: str) -> Abi:
    """The facts of a kvm_null_abi.h text and of the probe's and the workload's sources."""
    number = re.fullmatch(r"\s*(0x[0-9a-fA-F]+|\d+)U?L{0,2}\s*", _macro_body(header, "KVM_NULL_EXIT_REASON"))
    if not number:
        raise ParseError(f"{HEADER}: KVM_NULL_EXIT_REASON is not an integer literal")
    steps = _steps(probe, PROBE)
    prefixes = re.findall(r"^#define\s+KVM_NULL_(\w+)_TABLE\b", header, re.M)
    if not prefixes:
        raise ParseError(f"{HEADER} defines no KVM_NULL_<T>_TABLE", "restore it from version control")
    return Abi(int(number.group(1), 0), _string(header, "KVM_NULL_DEBUGFS_CALLS"), steps,
               _steps(workload, WORKLOAD), tuple(_table(header, p) for p in prefixes))


@functools.cache
def load() -> Abi:
    """The facts of the project's kvm_null_abi.h and probe.c."""
    try:
        return parse((paths.module_dir() / HEADER).read_text(), (paths.selftests_dir() / PROBE).read_text(),
                     (paths.selftests_dir() / WORKLOAD).read_text())
    except OSError as exc:
        raise ParseError(f"cannot read {exc.filename}: {exc.strerror}", "restore it from version control") from exc
