"""Regenerate tools/tests/test_data/*.log from real guest runs.

    python tools/tests/capture_logs.py [NAME...]
    python tools/tests/capture_logs.py --series SERIES   # upstream-*-SERIES.log, warned-SERIES.log
    python tools/tests/capture_logs.py --reports SERIES KIND...   # report-KIND-SERIES.log
    python tools/tests/capture_logs.py --vendor-bitemap SERIES    # vendor-bitemap-SERIES.json

Each log is the raw serial console of a real guest (kernel output included),
with cache paths replaced by ``$CACHE`` so no machine path is stored.
``upstream-warn`` boots Debian's unmodified kvm.ko from the image package;
``selftests-by-hand`` runs selftest binaries as a user would, kernel messages
interleaved on the console; ``bitemap`` is the census lifecycle and a few
bite-map scenarios (the hooks in BITES, NULL under missing_hook=warn);
``report-KIND-SERIES`` is one report provoked by kvmnull-provoke.ko what=KIND,
in a fresh guest of that series.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path

from kvmnull.build.kbuild import BuildResult, build
from kvmnull.commands.prepare import busybox_path
from kvmnull.core.progress import Progress
from kvmnull.fetch import packages
from kvmnull.guest.harness import PROVOKE_SETUP, provoke_command
from kvmnull.guest.qemu import Accel, Guest, GuestConfig, GuestError
from kvmnull.guest.scenario import GuestSession, Policy, Scenario, initramfs_for
from kvmnull.initramfs.archive import guest_archive
from kvmnull.kernel import kconfig
from kvmnull.kernel.hooks import HookClass, Table, load_hooks, vendor_modules
from kvmnull.verdict.census import LIFECYCLE

DATA = Path(__file__).resolve().parent / "test_data"
BITES = ("check_processor_compatibility", "vcpu_create", "is_valid_cr0", "vcpu_pre_run", "get_cpl", "handle_exit")


def scrub_text(text: str, cache: Path) -> str:
    """Console text with machine paths replaced."""
    return re.sub(r"/tmp/[\w./+-]+", "$TMP", text.replace(str(cache), "$CACHE"))


def scrub(log: Path, cache: Path) -> bytes:
    """The log's raw bytes (CR and all), with machine paths replaced."""
    return scrub_text(log.read_bytes().decode("utf-8", errors="replace"), cache).encode()


def main(argv: list[str]) -> int:
    wanted = set(argv)
    progress = Progress()
    cache = packages.cache_root()
    tree = packages.fetch(packages.KernelSpec(), cache, progress)
    built = build(tree, progress)
    hooks = load_hooks(tree.source, kconfig.load(tree.source, tree.config, tree.release).evaluator())
    x86 = {h.name: h for h in hooks.table(Table.X86)}
    DATA.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        initrd = initramfs_for(built, busybox_path(), Path(tmp) / "initrd.cpio")
        config = GuestConfig(tree.vmlinuz, initrd, Accel.TCG, cpus=1)
        cases = {
            "refused": Scenario("refused", Policy.REFUSE, "kvm-null", (x86["vcpu_create"], x86["vcpu_free"])),
            "warned": Scenario("warned", Policy.WARN, "kvm-null", (x86["vcpu_create"],)),
            "clean": Scenario("clean", Policy.REFUSE, "kvm-null", (x86["vm_destroy"],)),
            "hang": Scenario("hang", Policy.WARN, "kvm-null", (x86["handle_exit"],)),
        }
        for name, scenario in cases.items():
            if wanted and name not in wanted:
                continue
            log = Path(tmp) / f"{name}.log"
            with GuestSession(config, log, progress, scenario_timeout=15) as session:
                session.run(scenario)
            (DATA / f"{name}.log").write_bytes(scrub(log, cache))
            progress.note(f"captured {name}.log")

        if not wanted or "bitemap" in wanted:
            log = Path(tmp) / "bitemap.log"
            with GuestSession(config, log, progress, scenario_timeout=15) as session:
                session.guest().check(LIFECYCLE, timeout=120)
                for name in BITES:
                    session.run(Scenario(name, Policy.WARN, "kvm-null", (x86[name],), probe=True))
            (DATA / "bitemap.log").write_bytes(scrub(log, cache))
        if wanted and not wanted & {"panic", "upstream-warn", "selftests-by-hand"}:
            return 0

        if not wanted or "selftests-by-hand" in wanted:
            log = Path(tmp) / "selftests-by-hand.log"
            with Guest(config, log, progress) as guest:
                guest.run("insmod /modules/irqbypass.ko; insmod /modules/kvm.ko; "
                          "KVMNULL_MODULES=/modules param_test; api_test; warn_test", timeout=120)
            (DATA / "selftests-by-hand.log").write_bytes(scrub(log, cache))
        if wanted and not wanted & {"panic", "upstream-warn"}:
            return 0

        # a panic: the sysrq crash trigger, with the guest's oops=panic
        log = Path(tmp) / "panic.log"
        with GuestSession(config, log, progress, scenario_timeout=15) as session:
            guest = session.guest()
            try:
                guest.run("echo c > /proc/sysrq-trigger", timeout=20, stage="sysrq crash")
            except Exception as exc:
                progress.note(f"guest went down as intended: {str(exc).splitlines()[0]}")
        (DATA / "panic.log").write_bytes(scrub(log, cache))

        capture_upstream(tree, built, "upstream-warn", Path(tmp), progress)
    return 0


def capture_upstream(tree: packages.KernelTree, built: BuildResult, name: str, tmp: Path,
                     progress: Progress) -> None:
    """Upstream kvm.ko (Debian's own module): kvm-null with hooks NULL draws its anonymous WARN_ON()
    (from 6.19: the module loader refuses kvm-null the symbols kvm.ko exports to its own vendors only)."""
    stock = tree.module_file("kernel/arch/x86/kvm/kvm")
    modules = {**built.modules(), "kvm.ko": stock}
    archive = guest_archive(busybox_path(), modules, built.programs())
    archive.write(tmp / f"{name}.cpio")
    log = tmp / f"{name}.log"
    stock_config = GuestConfig(tree.vmlinuz, tmp / f"{name}.cpio", Accel.TCG, cpus=1)
    with Guest(stock_config, log, progress) as guest:
        guest.run("insmod /modules/irqbypass.ko; insmod /modules/kvm.ko; "
                  "insmod /modules/kvm-null.ko null=vcpu_create,get_cpl; "
                  "echo \"kvmnull-load: kvm-null status=$?\"; dmesg", timeout=60)
    (DATA / f"{name}.log").write_bytes(scrub(log, packages.cache_root()))


def capture_series(series: str) -> None:
    """The stock kvm.ko of another series (``upstream-warn-SERIES.log``, from 6.19
    ``upstream-unadmitted-SERIES.log``), and the patched one under missing_hook=warn with a mandatory
    hook of each classified table NULL (``warned-SERIES.log``)."""
    progress = Progress()
    cache = packages.cache_root()
    tree = packages.fetch(packages.KernelSpec(series=series), cache, progress)
    config = kconfig.load(tree.source, tree.config, tree.release).evaluator()
    hooks = load_hooks(tree.source, config)
    built = build(tree, progress)
    with tempfile.TemporaryDirectory() as tmp:
        stock = "warn" if vendor_modules(tree.source, config) is None else "unadmitted"
        capture_upstream(tree, built, f"upstream-{stock}-{series}", Path(tmp), progress)
        nulled = tuple(found for table, name in ((Table.X86, "vcpu_create"), (Table.PMU, "refresh"),
                                                 (Table.NESTED, "get_state"))
                       if (found := hooks.find(table, name)) and found.hook_class is HookClass.MANDATORY)
        initrd = initramfs_for(built, busybox_path(), Path(tmp) / "initrd.cpio")
        log = Path(tmp) / "warned.log"
        with GuestSession(GuestConfig(tree.vmlinuz, initrd, Accel.TCG, cpus=1), log, progress,
                          scenario_timeout=15) as session:
            session.run(Scenario("warned", Policy.WARN, "kvm-null", nulled, probe=False))
        (DATA / f"warned-{series}.log").write_bytes(scrub(log, cache))
        # the real vendor against the stock kvm.ko: kvm-amd's knockout= leaves vcpu_create NULL, and
        # upstream's anonymous WARN_ON() points at its line of kvm-x86-ops.h
        stock_initrd = initramfs_for(built, busybox_path(), Path(tmp) / "stock.cpio",
                                     tree.module_file("kernel/arch/x86/kvm/kvm"))
        log = Path(tmp) / "knockout.log"
        with GuestSession(GuestConfig(tree.vmlinuz, stock_initrd, Accel.TCG, cpus=1), log, progress,
                          scenario_timeout=15) as session:
            session.run(Scenario("knockout", Policy.UPSTREAM, "kvm-amd", nulled[:1], probe=False))
        (DATA / f"upstream-knockout-{series}.log").write_bytes(scrub(log, cache))


def capture_reports(series: str, kinds: list[str]) -> None:
    """Each KIND of report, provoked in a fresh one-vCPU guest of SERIES (the guest may die of it:
    the guest runs with oops=panic, and the panic is part of the log)."""
    unknown = [k for k in kinds if k not in PROVOKE_SETUP]
    if unknown:
        raise SystemExit(f"unknown report kinds {unknown}; valid: {', '.join(PROVOKE_SETUP)}")
    progress = Progress()
    cache = packages.cache_root()
    tree = packages.fetch(packages.KernelSpec(series=series), cache, progress)
    built = build(tree, progress)
    with tempfile.TemporaryDirectory() as tmp:
        initrd = initramfs_for(built, busybox_path(), Path(tmp) / "initrd.cpio")
        for kind in kinds:
            log = Path(tmp) / f"{kind}.log"
            try:
                with Guest(GuestConfig(tree.vmlinuz, initrd, Accel.TCG, cpus=1), log, progress) as guest:
                    guest.run(provoke_command(kind), timeout=90, stage=f"provoking {kind}")
            except GuestError as exc:
                progress.note(f"{kind}: the guest went down: {str(exc).splitlines()[0]}")
            (DATA / f"report-{kind}-{series}.log").write_bytes(scrub(log, cache))


# knockouts of kvm-amd whose workload runs show each way a bite can look (see VENDOR_BITES in test_bitemap.py)
VENDOR_BITES = ("x86.handle_exit", "x86.get_msr", "x86.is_valid_cr0", "x86.inject_exception",
                "x86.enable_virtualization_cpu", "x86.check_processor_compatibility", "x86.get_cpl",
                "x86.disable_virtualization_cpu", "x86.vcpu_create")


def capture_vendor_bitemap(series: str) -> None:
    """The control and a few kvm-amd knockouts under missing_hook=warn, each scenario's console excerpt
    as the bite map classifies it (with how its guest ended), into ``vendor-bitemap-SERIES.json``."""
    progress = Progress()
    cache = packages.cache_root()
    tree = packages.fetch(packages.KernelSpec(series=series), cache, progress)
    hooks = load_hooks(tree.source, kconfig.load(tree.source, tree.config, tree.release).evaluator())
    built = build(tree, progress)
    by_key = {h.key: h for h in hooks.hooks}
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        initrd = initramfs_for(built, busybox_path(), Path(tmp) / "initrd.cpio")
        with GuestSession(GuestConfig(tree.vmlinuz, initrd, Accel.TCG, cpus=1), Path(tmp) / "bitemap.log",
                          progress, scenario_timeout=20) as session:
            for key in ("control", *VENDOR_BITES):
                nulled = () if key == "control" else (by_key[key],)
                run = session.run(Scenario(key, Policy.WARN, "kvm-amd", nulled, probe=False, workload=True))
                runs.append({"scenario": key, "crash": run.crash, "hung": run.hung,
                             "output": scrub_text(run.output, cache)})
    (DATA / f"vendor-bitemap-{series}.json").write_text(json.dumps({"kernel": tree.release, "runs": runs},
                                                                   indent=1) + "\n")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--vendor-bitemap":
        capture_vendor_bitemap(sys.argv[2])
        sys.exit(0)
    if len(sys.argv) >= 4 and sys.argv[1] == "--reports":
        capture_reports(sys.argv[2], sys.argv[3:])
        sys.exit(0)
    if len(sys.argv) == 3 and sys.argv[1] == "--series":
        capture_series(sys.argv[2])
        sys.exit(0)
    sys.exit(main(sys.argv[1:]))
