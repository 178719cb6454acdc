"""Build the patched kvm.ko, kvm-amd.ko (the real-vendor control), kvm-null.ko and the guest programs.

Nothing here needs a full kernel build: kvm.ko and kvm-amd.ko are built out of
tree from a patched copy of the target's ``arch/x86/kvm`` and ``virt/kvm``
against its headers (``kbuild/kvm.Kbuild``); kvm-null.ko is built against the
same headers with stubs generated from the target's declarations.

A build is keyed by the hash of everything that goes into it; a finished build
is never rebuilt.  Each build happens in a temporary folder renamed into place
when complete.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..core import paths, process, pysource
from ..core.errors import BuildError
from ..core.progress import Progress
from ..core.staging import staged_folder
from ..fetch.packages import KernelTree
from ..kernel import kconfig
from ..kernel.hooks import HookSet, load_hooks
from . import kvmchange, toolchain
from .stubgen import read_facts, write_header

MANIFEST = "build.json"


def _make_list(variable: str) -> list[str]:
    """Names assigned to VARIABLE (:= and +=) in selftests/Makefile."""
    text = (paths.selftests_dir() / "Makefile").read_text()
    return [name for m in re.finditer(rf"^{variable}\s*[:+]?=\s*(.*)$", text, re.M) for name in m.group(1).split()]


def selftest_names() -> list[str]:
    """The kselftest programs, in the Makefile's order."""
    return _make_list("TEST_GEN_PROGS")


def guest_program_names() -> list[str]:
    return [*_make_list("TEST_GEN_PROGS"), *_make_list("TEST_GEN_PROGS_EXTENDED")]


@dataclass(frozen=True)
class BuildResult:
    """A finished build: stripped modules and programs for the guest, plus the full build trees."""

    path: Path
    kernel: KernelTree
    seconds: float
    cached: bool
    kvm_null_warnings: tuple[str, ...]
    toolchain: str  # which compiler built the modules, and where

    @property
    def out(self) -> Path:
        return self.path / "out"

    @property
    def kvm_ko(self) -> Path:
        return self.out / "kvm.ko"

    @property
    def kvm_amd_ko(self) -> Path:
        return self.out / "kvm-amd.ko"

    @property
    def kvm_null_ko(self) -> Path:
        return self.out / "kvm-null.ko"

    @property
    def stock_kvm_ko(self) -> Path:
        """With --patch: kvm.ko built from the patched source without kvmnull's change (upstream's
        behaviour of the source under test)."""
        return self.out / "kvm-stock.ko"

    @property
    def provoke_ko(self) -> Path:
        return self.out / "kvmnull-provoke.ko"

    @property
    def kvm_source(self) -> Path:
        """The patched source copy (for KVM_SRC)."""
        return self.path / "kvm-src"

    def programs(self) -> dict[str, Path]:
        """Static programs for the guest's /bin: the selftests and the probe."""
        return {name: self.out / name for name in guest_program_names()}

    def modules(self) -> dict[str, Path]:
        """Modules for the guest, by their file name there; irqbypass comes from the image."""
        irqbypass = self.kernel.module_file("kernel/virt/lib/irqbypass")
        return {
            "irqbypass.ko": irqbypass,
            "kvm.ko": self.kvm_ko,
            "kvm-amd.ko": self.kvm_amd_ko,
            "kvm-null.ko": self.kvm_null_ko,
            "kvmnull-provoke.ko": self.provoke_ko,
        }


def patch_files(series: str) -> list[Path]:
    """kvmnull's hand-written patches of ``series``; none: the change is generated (:mod:`.kvmchange`)."""
    folder = paths.patches_dir() / series
    return sorted(folder.glob("*.patch")) if folder.is_dir() else []


# what kvmnull's change must leave in the built modules: its parameters
MISSING_HOOK_PARAM = b"parm=missing_hook:"
KNOCKOUT_PARAM = b"parm=knockout:"
# how the check names a table in its calls (kbuild/patches/*/0001): one per table the kernel classifies
CHECK_CALL = 'kvm_check_hook(&check, "{struct}"'


def verify(kvm_ko: Path, kvm_amd_ko: Path, x86_c: Path, hooks: HookSet, series: str) -> None:
    """The built kvm.ko has missing_hook= and checks every table the kernel classifies, and kvm-amd.ko
    has knockout=: an error naming what is missing, never a silently unchanged module."""
    missing = []
    if MISSING_HOOK_PARAM not in kvm_ko.read_bytes():
        missing.append("kvm.ko has no missing_hook= parameter")
    if KNOCKOUT_PARAM not in kvm_amd_ko.read_bytes():
        missing.append("kvm-amd.ko has no knockout= parameter")
    text = x86_c.read_text(errors="replace")
    for table in dict.fromkeys(h.table for h in hooks.classified()):
        if CHECK_CALL.format(struct=table.facts.struct) not in text:
            missing.append(f"x86.c's check does not cover {table.facts.struct} ({table.facts.label})")
    if missing:
        how = f"kbuild/patches/{series}/" if patch_files(series) else "the generated change"
        raise BuildError(f"kvmnull's change did not take on {series} ({how}): " + "; ".join(missing),
                         "fix the change for this kernel (kbuild/patches/<series>/ or build/kvmchange.py)")


def patched_paths(series: str) -> list[str]:
    """The source files the series' patches change, relative to the source root."""
    return sorted({m.group(1) for patch in patch_files(series)
                   for m in re.finditer(r"^\+\+\+ b/(\S+)", patch.read_text(), re.M)})


def copy_for_patching(source: Path, dest: Path, series: str, changed: Sequence[str] = ()) -> None:
    """Copy what kvm.ko is built from, arch/x86/kvm and virt/kvm, any other file the series' patches
    change, and the headers the user's patches changed (``changed``): the copy's include folders come
    before the headers tree's (kbuild/kvm.Kbuild)."""
    for sub in ("arch/x86/kvm", "virt/kvm"):
        shutil.copytree(source / sub, dest / sub)
    for path in changed:
        if (source / path).is_file() and not (dest / path).exists():
            (dest / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source / path, dest / path)
    for path in patched_paths(series):
        if not (dest / path).exists():
            if not (source / path).is_file():
                raise BuildError(f"a {series} patch changes {path}, which the target source lacks",
                                 "refetch the kernel (kvmnull fetch) or refresh the patch")
            (dest / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source / path, dest / path)


def _inputs(tree: KernelTree) -> list[Path]:
    """Every file that shapes a build: patches, C, Kbuild files, and the Python that drives it."""
    return [
        *patch_files(tree.series),
        *sorted((paths.kbuild_dir() / "check").glob("*.c")),  # the generated change's C
        paths.kbuild_dir() / "kvm.Kbuild",
        *sorted(paths.knockout_dir().glob("*.[ch]")),
        *sorted(paths.module_dir().glob("*.[ch]")),
        paths.module_dir() / "Kbuild",
        *sorted(p for p in paths.selftests_dir().iterdir() if p.is_file()),
        *sorted(paths.provoke_dir().iterdir()),
    ]


def build_key(tree: KernelTree) -> str:
    digest = hashlib.sha256(tree.abi.encode())
    for patch in tree.patches:  # the user's, in order
        digest.update(b"patch\0" + patch.sha256.encode())
    for path in _inputs(tree):
        digest.update(str(path.relative_to(paths.data_root())).encode() + b"\0" + path.read_bytes())
    for path in pysource.closure(pysource.module_name(Path(__file__))):  # the Python a build runs
        digest.update(pysource.module_name(path).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


# a limit that only catches a build that stopped making progress (kvm.ko takes ~30 s on 2 cores)
MAKE_TIMEOUT = 1800.0


def _make(chain: toolchain.Toolchain, argv: list[str], log: Path, progress: Progress, what: str) -> str:
    return process.run(chain.argv(argv), stage=what, log=log, progress=progress, timeout=MAKE_TIMEOUT,
                       error=BuildError).output


def _check_tools() -> None:
    """Tools the host itself runs (the compiler and make may come from the target's userland)."""
    if not shutil.which("patch"):
        raise BuildError("patch not found: it applies kbuild/patches/", "apt-get install patch (or run `make setup`)")


def _apply_patches(series: str, dest: Path, log: Path, progress: Progress) -> None:
    """kvmnull's own patches of the series.  An offset is fine (a new point release, or the user's
    --patch, moves lines) and is noted; fuzz or a failed hunk is an error, which the caller answers by
    generating the change instead."""
    for patch in patch_files(series):
        progress.stage("build", f"applying {series}/{patch.name}")
        argv = ["patch", "-p1", "--batch", "--forward", "--fuzz=0", "--no-backup-if-mismatch",
                "-d", str(dest), "-i", str(patch)]
        result = process.run(argv, stage=f"applying {patch.name}", log=log, progress=progress, timeout=60,
                             error=BuildError, check=False)
        if result.returncode != 0 or "fuzz" in result.output:
            raise BuildError(f"{patch.name} does not apply to the target source:\n{result.output.strip()}",
                             f"refresh kbuild/patches/{series}/ against this kernel")
        for line in result.output.splitlines():
            if "offset" in line:
                progress.note(f"{patch.name}: {line.strip()}")


def build(tree: KernelTree, progress: Progress, jobs: int | None = None, force: bool = False) -> BuildResult:
    """Build everything for the target, or return the finished build for the same inputs."""
    started = time.monotonic()
    key = build_key(tree)
    builds = tree.path.parent.parent / "builds" / tree.abi
    final = builds / key
    if (final / MANIFEST).exists() and not force:
        data = json.loads((final / MANIFEST).read_text())
        progress.stage("build", f"up to date ({final})")
        return BuildResult(final, tree, time.monotonic() - started, True, tuple(data.get("kvm_null_warnings", [])),
                           str(data.get("toolchain", "?")))

    _check_tools()
    cache = tree.path.parent.parent
    chain = toolchain.choose(tree, cache, (cache, paths.data_root()), progress)
    progress.stage("build", f"toolchain: {chain.describe()}")
    config = kconfig.load(tree.source, tree.config, tree.release)
    for warning in config.check():
        progress.note(f"warning: {warning}")
    for construct, count in config.translated.items():
        progress.note(f"kconfiglib: {count} x '{construct}' translated ({kconfig.meaning(construct)})")
    hooks = load_hooks(tree.source, config.evaluator())
    jobs = jobs or os.cpu_count() or 1
    # beside the staged folder, so that a failed build's log outlives it
    log = builds / f"{key}.log"
    log.unlink(missing_ok=True)
    with staged_folder(final) as work:
        warnings = _build_in(work, log, tree, chain, config, hooks, jobs, progress)
        shutil.move(log, work / "build.log")
        seconds = time.monotonic() - started
        (work / MANIFEST).write_text(json.dumps({
            "kernel": tree.release, "key": key, "patches": [p.to_json() for p in tree.patches],
            "seconds": round(seconds, 1),
            "kvm_null_warnings": list(warnings), "toolchain": chain.describe(),
            "kconfig_translated": config.translated,
        }, indent=2) + "\n")
    progress.stage("build", f"done in {seconds:.1f}s")
    return BuildResult(final, tree, seconds, False, tuple(warnings), chain.describe())


def _build_in(work: Path, log: Path, tree: KernelTree, chain: toolchain.Toolchain, config: kconfig.KernelConfig,
              hooks: HookSet, jobs: int, progress: Progress) -> list[str]:
    src = work / "kvm-src"
    changed = [f for p in tree.patches for f in p.files]
    progress.stage("build", "copying arch/x86/kvm and virt/kvm of the target source")
    copy_for_patching(tree.source, src, tree.series, changed)
    common = ["make", "-C", str(tree.headers), f"-j{jobs}", "CONFIG_DEBUG_INFO_BTF_MODULES="]
    if tree.patches:
        # upstream's behaviour of the patched source: its kvm.ko without kvmnull's change
        stock = work / "kvm-stock-src"
        copy_for_patching(tree.source, stock, tree.series, changed)
        stock_dir = stock / "arch" / "x86" / "kvm"
        shutil.copy(paths.kbuild_dir() / "kvm.Kbuild", stock_dir / "Kbuild")
        progress.stage("build", f"the patched source's own kvm.ko, for --kvm stock (-j{jobs})")
        _make(chain, [*common, f"M={stock_dir}", "CONFIG_KVM_INTEL=", "CONFIG_KVM_AMD=",
                      f"KCFLAGS=-fmacro-prefix-map={stock}/=", "modules"], log, progress, "building the stock kvm.ko")
    generate = not patch_files(tree.series)
    if generate:
        progress.note(f"{tree.series} has no kbuild/patches/{tree.series}/: generating kvmnull's change from its "
                      "own source")
    else:
        try:
            _apply_patches(tree.series, src, log, progress)
        except BuildError as exc:
            # the release (or the user's --patch) moved what the series' patch expects: the change is made
            # from the source instead, on a fresh copy, and verified like any other
            why = exc.message.splitlines()[0]
            progress.note(f"kbuild/patches/{tree.series}/ does not apply to {tree.describe} ({why}): generating "
                          "kvmnull's change from its own source instead")
            shutil.rmtree(src)
            copy_for_patching(tree.source, src, tree.series, changed)
            generate = True
    if generate:
        for edit in kvmchange.change_kvm(src, tree.source, hooks):
            progress.stage("build", f"kvmnull's change: {edit.file}, {edit.anchor}")
    kvm_dir = src / "arch" / "x86" / "kvm"
    shutil.copy(paths.kbuild_dir() / "kvm.Kbuild", kvm_dir / "Kbuild")
    for part in sorted(paths.knockout_dir().glob("*.[ch]")):  # kvm-amd's test-only knockout=
        shutil.copy(part, kvm_dir / "svm" / part.name)

    progress.stage("build", f"kvm.ko and kvm-amd.ko (-j{jobs}; kvm-intel is skipped: no VMX under TCG)")
    # __FILE__ (and so every WARN's "at FILE:LINE") reads as in an in-tree build
    _make(chain, [*common, f"M={kvm_dir}", "CONFIG_KVM_INTEL=", f"KCFLAGS=-fmacro-prefix-map={src}/=", "modules"],
          log, progress, "building kvm.ko")

    module = work / "kvm-null"
    module.mkdir()
    for item in paths.module_dir().iterdir():
        if item.suffix in (".c", ".h") or item.name == "Kbuild":
            shutil.copy(item, module / item.name)
    gen = work / "gen"
    facts = read_facts(tree.source, config.evaluator())
    stub_warnings = write_header(hooks, facts, tree.release, gen, module / "kvm_null.c")
    for warning in stub_warnings:
        progress.note(f"warning (stubs): {warning}")
    progress.stage("build", f"kvm-null.ko ({len(hooks.hooks)} generated stubs, W=1)")
    output = _make(chain, [*common, f"M={module}", f"KVM_SRC={src}", f"KVMNULL_GEN={gen}",
                    f"KBUILD_EXTRA_SYMBOLS={kvm_dir / 'Module.symvers'}",
                    f"KCFLAGS=-fmacro-prefix-map={module}/=module/", "W=1", "modules"],
                   log, progress, "building kvm-null.ko")
    warnings = [line for line in output.splitlines() if "warning:" in line] + stub_warnings

    provoke = work / "provoke"
    shutil.copytree(paths.provoke_dir(), provoke)
    progress.stage("build", "kvmnull-provoke.ko (the reports the evidence tests read, W=1)")
    output = _make(chain, [*common, f"M={provoke}", f"KCFLAGS=-fmacro-prefix-map={provoke}/=selftests/provoke/",
                           "W=1", "modules"], log, progress, "building kvmnull-provoke.ko")
    warnings += [line for line in output.splitlines() if "warning:" in line]

    out = work / "out"
    out.mkdir()
    for built, name in ((kvm_dir / "kvm.ko", "kvm.ko"), (kvm_dir / "kvm-amd.ko", "kvm-amd.ko"),
                        (module / "kvm-null.ko", "kvm-null.ko"),
                        (provoke / "kvmnull-provoke.ko", "kvmnull-provoke.ko")):
        _make(chain, ["strip", "--strip-debug", "-o", str(out / name), str(built)], log, progress, f"stripping {name}")
    verify(out / "kvm.ko", out / "kvm-amd.ko", kvm_dir / "x86.c", hooks, tree.series)
    if tree.patches:
        _make(chain, ["strip", "--strip-debug", "-o", str(out / "kvm-stock.ko"),
                      str(work / "kvm-stock-src" / "arch" / "x86" / "kvm" / "kvm.ko")], log, progress,
              "stripping the stock kvm.ko")
    shutil.copy(kvm_dir / "Module.symvers", out / "Module.symvers")

    progress.stage("build", "selftests and the probe (static)")
    _make(chain, ["make", "-C", str(paths.selftests_dir()), f"-j{jobs}", f"OUTPUT={out}", f"CC={chain.compiler}",
                  f"KVMNULL_GEN={gen}",
           f"KSELFTEST_DIR={tree.source / 'tools' / 'testing' / 'selftests'}"],
          log, progress, "building the selftests")
    return warnings
