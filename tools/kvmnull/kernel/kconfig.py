"""The target's configuration, evaluated by kconfiglib against the target's Kconfig tree.

Loading the ``.config`` through the Kconfig tree (rather than reading it as a
list of assignments) checks that the configuration is consistent with the
source kvmnull builds, and gives symbol values with Kconfig's semantics,
including symbols absent from ``.config`` because their dependencies are off.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..core.cpp import Evaluator
from ..core.errors import ConfigError


@dataclass(frozen=True)
class Requirement:
    symbol: str
    allowed: tuple[str, ...]
    why: str
    fatal: bool = True
    only_if_defined: bool = False  # a symbol that the series may not have


REQUIREMENTS = (
    Requirement("X86_64", ("y",), "kvmnull targets x86-64"),
    Requirement("MODULES", ("y",), "kvm.ko and kvm-null.ko are loadable modules"),
    # KVM_X86 exists since 6.10 (before it, KVM alone said it)
    Requirement("KVM_X86", ("m",), "kvm.ko must be a module to be replaced by the patched one", only_if_defined=True),
    Requirement("KVM", ("m",), "kvm.ko must be a module to be replaced by the patched one"),
    Requirement("KVM_AMD", ("m",), "kvm-amd.ko is the real-vendor control", fatal=False),
    Requirement("DEBUG_FS", ("y",), "kvm-null's call counters live in debugfs", fatal=False),
)


@dataclass(frozen=True)
class Translation:
    """A Kconfig construct newer than kconfiglib 14.1, and how it is read instead."""

    construct: str
    pattern: re.Pattern[str]
    replacement: str
    meaning: str


# Each is applied as the file is read; the tree on disk stays as the target ships it.
TRANSLATIONS = (
    Translation("modules", re.compile(r"^(\s+)modules[ \t]*$", re.M), r"\1option modules",
                "the MODULES symbol's attribute (6.x), in kconfiglib's older spelling"),
    Translation("transitional", re.compile(r"^\s+transitional[ \t]*\n", re.M), "",
                "a symbol kept only to migrate old configs (6.18+), read as a plain promptless one"),
    Translation("depends on A if B", re.compile(r"^([ \t]+depends on )([^#\n]+?) if ([^#\n]+?)([ \t]*(?:#.*)?)$", re.M),
                r"\1!(\3) || (\2)\4", "a conditional dependency (7.x), read as its meaning: !B || A"),
)


def translate(text: str) -> tuple[str, dict[str, int]]:
    """``text`` of a Kconfig file with every construct of :data:`TRANSLATIONS` translated; how many of each."""
    counts = {}
    for translation in TRANSLATIONS:
        text, count = translation.pattern.subn(translation.replacement, text)
        if count:
            counts[translation.construct] = count
    return text, counts


def meaning(construct: str) -> str:
    return next(t.meaning for t in TRANSLATIONS if t.construct == construct)


@contextlib.contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


@dataclass
class KernelConfig:
    """Symbol values of the target (without the ``CONFIG_`` prefix)."""

    values: dict[str, str]
    release: str
    translated: dict[str, int] = field(default_factory=dict)  # construct -> occurrences translated on reading

    def value(self, symbol: str) -> str:
        return self.values.get(symbol, "n")

    def evaluator(self) -> Evaluator:
        return Evaluator(self.value)

    def check(self) -> list[str]:
        """Raise on a violated hard requirement; return warnings for soft ones."""
        warnings = []
        for req in REQUIREMENTS:
            if req.only_if_defined and req.symbol not in self.values:
                continue
            value = self.value(req.symbol)
            if value in req.allowed:
                continue
            text = f"CONFIG_{req.symbol}={value}, kvmnull needs {' or '.join(req.allowed)}: {req.why}"
            if req.fatal:
                raise ConfigError(f"{self.release}: {text}", "pick a target kernel built with that option")
            warnings.append(text)
        return warnings


def load(source: Path, dotconfig: Path, release: str) -> KernelConfig:
    """Evaluate ``dotconfig`` with kconfiglib against the Kconfig tree of ``source``."""
    try:
        import kconfiglib
    except ImportError as exc:
        raise ConfigError("kconfiglib is not installed", "pip install kconfiglib (or run `make setup`)") from exc
    if not (source / "Kconfig").exists():
        raise ConfigError(f"no Kconfig tree in {source}", "remove the cache entry and run `kvmnull build` again")
    env = {
        "srctree": str(source), "SRCARCH": "x86", "ARCH": "x86", "CC": "gcc", "LD": "ld",
        "HOSTCC": "gcc", "HOSTCXX": "g++", "RUSTC": "rustc", "BINDGEN": "bindgen",
        "KERNELVERSION": version.group(0) if (version := re.match(r"\d+\.\d+(?:\.\d+)?", release)) else release,
    }
    translated: dict[str, int] = {}

    class Translating(kconfiglib.Kconfig):  # type: ignore[misc]
        def _open(self, filename: str, mode: str) -> io.TextIOBase:
            handle: io.TextIOBase = super()._open(filename, mode)
            if mode != "r" or not os.path.basename(filename).startswith("Kconfig"):
                return handle
            with handle:
                text, counts = translate(handle.read())
            for construct, count in counts.items():
                translated[construct] = translated.get(construct, 0) + count
            return io.StringIO(text)

    with _environment(env), contextlib.redirect_stdout(io.StringIO()):
        try:
            kconf = Translating(str(source / "Kconfig"), warn=False)
            kconf.load_config(str(dotconfig))
        except (kconfiglib.KconfigError, OSError) as exc:
            raise ConfigError(f"kconfiglib could not load {dotconfig.name}: {exc}",
                              "the Kconfig tree or the config is damaged: refetch the kernel") from exc
    values = {}
    for name, sym in kconf.syms.items():
        if sym.type in (kconfiglib.BOOL, kconfiglib.TRISTATE, kconfiglib.STRING, kconfiglib.INT, kconfiglib.HEX):
            values[name] = sym.str_value
    return KernelConfig(values, release, translated)


def read_dotconfig(path: Path, release: str = "") -> KernelConfig:
    """A ``.config`` read as plain assignments, for logs of kernels kvmnull has no tree for."""
    values = {}
    for line in path.read_text().splitlines():
        if line.startswith("CONFIG_") and "=" in line:
            key, value = line.split("=", 1)
            values[key[len("CONFIG_"):]] = value.strip('"')
    return KernelConfig(values, release)
