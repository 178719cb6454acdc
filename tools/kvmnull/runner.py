"""Shared set-up for guest commands, and the ``run`` and ``evidence`` commands."""

from __future__ import annotations

import argparse
import difflib
import json
import shutil
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tabulate import tabulate

from . import evidence, kconfig, packages, report
from .build import BuildResult, build
from .contract import Policy, Scenario, judge
from .errors import KvmnullError, UsageError
from .guest import Accel, GuestConfig, choose_accel, qemu_version
from .hooks import Hook, HookClass, HookSet, Table, load_hooks
from .progress import Progress
from .scenario import GuestSession, initramfs_for, observe

CLASS_TOKENS = {
    "@mandatory": (HookClass.MANDATORY,),
    "@optional": (HookClass.OPTIONAL,),
    "@ret0": (HookClass.OPTIONAL_RET0,),
    "@all": (HookClass.MANDATORY, HookClass.OPTIONAL, HookClass.OPTIONAL_RET0),
}


def select_hooks(hooks: HookSet, table: Table, text: str | None, option: str) -> tuple[Hook, ...]:
    """Hooks named by a comma list of names and classes; unknown names get suggestions."""
    chosen: dict[str, Hook] = {}
    members = [h for h in hooks.table(table) if h.hook_class is not HookClass.UNCLASSIFIED]
    names = [h.name for h in members]
    for token in (t.strip() for t in (text or "").split(",")):
        if not token:
            continue
        if token in CLASS_TOKENS:
            for hook in members:
                if hook.hook_class in CLASS_TOKENS[token]:
                    chosen[hook.name] = hook
            continue
        found = next((h for h in members if h.name == token), None)
        if found is None:
            close = difflib.get_close_matches(token, names + list(CLASS_TOKENS), n=3, cutoff=0.6)
            hint = f"did you mean {', '.join(close)}?" if close else f"classes: {', '.join(CLASS_TOKENS)}"
            raise UsageError(f"{option}: {token!r} is not a {table.struct} hook of this kernel; {hint}",
                             "`kvmnull build --list-hooks` lists them")
        chosen[found.name] = found
    return tuple(chosen.values())


@dataclass(frozen=True)
class Prepared:
    """Everything a guest command needs."""

    tree: packages.KernelTree
    build: BuildResult
    hooks: HookSet
    config: GuestConfig
    log_dir: Path

    def meta(self) -> dict[str, object]:
        return {"kernel": self.tree.release, "accel": self.config.accel.value, "qemu": qemu_version()}

    def session(self, name: str, progress: Progress, scenario_timeout: float = 60.0) -> GuestSession:
        return GuestSession(self.config, self.log_dir / f"{name}.console.log", progress, scenario_timeout)


def busybox_path() -> Path:
    for candidate in ("/bin/busybox", "/usr/bin/busybox"):
        if Path(candidate).exists():
            return Path(candidate)
    found = shutil.which("busybox")
    if not found:
        raise UsageError("busybox not found", "apt-get install busybox-static (or run `make setup`)")
    return Path(found)


def kernel_tree(args: argparse.Namespace, progress: Progress) -> packages.KernelTree:
    """The cache entry of ``--kernel``, fetched if missing (unless ``--offline``)."""
    target = packages.Target.parse(args.kernel)
    return packages.fetch(target, packages.cache_root(args.cache), progress, offline=args.offline)


def target_hooks(args: argparse.Namespace,
                 progress: Progress) -> tuple[packages.KernelTree, kconfig.KernelConfig, HookSet]:
    """The target's cache entry, config and hooks: enough to validate hook names before anything slow."""
    tree = kernel_tree(args, progress)
    config = kconfig.load(tree)
    return tree, config, load_hooks(tree.source, config.evaluator())


def prepare(args: argparse.Namespace, progress: Progress, tree: packages.KernelTree, hooks: HookSet) -> Prepared:
    cache = packages.cache_root(args.cache)
    built = build(tree, progress)
    initrd = initramfs_for(built, busybox_path(), built.path / "initramfs.cpio")
    base = GuestConfig(tree.vmlinuz, initrd, Accel.TCG, timeout_multiplier=args.timeout_multiplier)
    accel = choose_accel(args.accel, base, cache, progress)
    progress.stage("guest", f"accelerator: {accel.value}")
    config = GuestConfig(tree.vmlinuz, initrd, accel, cpus=accel.cpus, timeout_multiplier=args.timeout_multiplier)
    log_dir = Path(args.log_dir or "out/logs")
    log_dir.mkdir(parents=True, exist_ok=True)
    return Prepared(tree, built, hooks, config, log_dir)


def cmd_run(args: argparse.Namespace) -> int:
    progress = Progress(verbose=args.verbose, quiet=args.quiet)
    # reject bad hook names before anything slow happens
    tree, _, hooks = target_hooks(args, progress)
    nulled = (*select_hooks(hooks, Table.X86, args.null, "--null"),
              *select_hooks(hooks, Table.PMU, args.null_pmu, "--null-pmu"))
    if args.vendor == "kvm-amd" and nulled:
        raise UsageError("--null/--null-pmu apply to kvm-null only", "drop them, or use --vendor kvm-null")
    policy = Policy(args.policy)
    name = "control-" + args.vendor if not nulled else ",".join(h.key for h in nulled)
    scenario = Scenario(name if len(name) < 80 else f"{len(nulled)} hooks", policy, args.vendor, nulled,
                        probe=not args.no_probe)
    prepared = prepare(args, progress, tree, hooks)
    progress.stage("run", f"{scenario.name} under missing_hook={policy.value}")
    with prepared.session("run", progress) as session:
        result = session.run(scenario)
    verdict = judge([(scenario, observe(result, prepared.hooks))])[0]
    obs = verdict.observation
    rows = [["scenario", scenario.name], ["policy", policy.value], ["vendor", scenario.vendor],
            ["expected", verdict.expected.value], ["observed", obs.outcome.value],
            ["named", ", ".join(sorted(obs.named)) or "-"], ["detail", obs.detail],
            ["verdict", "PASS" if verdict.passed else "FAIL"]]
    rows += [["evidence", line] for line in obs.evidence]
    print(tabulate(rows, tablefmt="plain"))
    print(f"console log: {session.log_path}")
    if args.json:
        report.write_json([verdict], prepared.meta(), args.json)
    return 0 if verdict.passed else 1


def cmd_evidence(args: argparse.Namespace) -> int:
    progress = Progress(verbose=args.verbose, quiet=True)
    try:
        # bytes, not text mode: universal newlines would turn a console's \r\r\n into two lines
        raw = Path(args.logfile).read_bytes() if args.logfile != "-" else sys.stdin.buffer.read()
    except OSError as exc:
        raise UsageError(f"cannot read {args.logfile}: {exc.strerror}",
                         "give the path of a console or dmesg log") from exc
    hooks = None
    if args.kernel or not args.no_kernel:
        try:
            _, _, hooks = target_hooks(args, progress)  # offline: a log is read, nothing fetched
        except KvmnullError as exc:
            if args.kernel:  # asked for by name: that is an error, not a detail
                raise
            print(f"kvmnull: note: {exc.message}; anonymous WARNs stay unresolved",
                  file=sys.stderr)
    records = evidence.parse(raw.decode("utf-8", errors="replace"), hooks)
    rows = [[r.line, r.kind.value, _summary(r)] for r in records]
    print(tabulate(rows, headers=["line", "kind", "what"]))
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_json() for r in records], indent=2) + "\n")
    return 0


def _summary(record: evidence.Record) -> str:
    kind = record.kind
    describe: dict[evidence.Kind, Callable[[evidence.Record], str]] = {
        evidence.Kind.HOOK_REFUSED: lambda r: f"{r.vendor}: {r.table}.{r.hook} refused",
        evidence.Kind.VENDOR_REFUSED: lambda r: f"{r.vendor} refused ({r.status} hooks)",
        evidence.Kind.OPTIONAL_NULL: lambda r: f"{r.vendor}: {r.status} optional NULL",
        evidence.Kind.WARN: lambda r: (f"WARN at {r.file}:{r.source_line} {r.function}"
                                       f"{' [' + r.module + ']' if r.module else ''}"
                                       f" -> hook {f'{r.table}.{r.hook}' if r.hook else '?'}"
                                       f"{' taint ' + r.taint if r.taint else ''}"),
        evidence.Kind.CRASH: lambda r: f"{r.title}{' at ' + r.function if r.function else ''}",
        evidence.Kind.TAINT: lambda r: f"tainted {r.taint}",
        evidence.Kind.LOAD: lambda r: f"{r.module}: status {r.status} {r.errno_name or ''}".strip(),
        evidence.Kind.PARAM_REJECTED: lambda r: f"{r.module}={r.detail!r} rejected",
        evidence.Kind.PROBE: lambda r: f"probe {r.title}: {'ok' if not r.status else 'fail'} {r.detail or ''}",
    }
    return describe[kind](record)


def add_parsers(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                common: Callable[[argparse.ArgumentParser], None],
                guest_options: Callable[[argparse.ArgumentParser], None]) -> None:
    run = sub.add_parser("run", help="boot a guest, load kvm.ko and a vendor with chosen hooks NULL, judge it")
    common(run)
    guest_options(run)
    run.add_argument("--policy", choices=[p.value for p in Policy], default="refuse",
                     help="kvm.ko's missing_hook policy (default: refuse)")
    run.add_argument("--null", metavar="HOOKS", help="kvm_x86_ops hooks to leave NULL (names, @mandatory, "
                     "@optional, @ret0, @all)")
    run.add_argument("--null-pmu", metavar="HOOKS", help="kvm_pmu_ops hooks to leave NULL")
    run.add_argument("--vendor", choices=("kvm-null", "kvm-amd"), default="kvm-null",
                     help="kvm-amd: the real vendor as a control")
    run.add_argument("--no-probe", action="store_true", help="skip the VM lifecycle probe")
    run.add_argument("--json", metavar="FILE", help="write the verdict as JSON")
    run.set_defaults(handler=cmd_run)

    ev = sub.add_parser("evidence", help="parse a console or dmesg log into evidence records")
    ev.add_argument("logfile", help="log file ('-': standard input)")
    ev.add_argument("--kernel", metavar="SERIES|ABI", help="resolve anonymous kvm-x86-ops.h WARNs with this "
                    "cached kernel's header (default: the newest cached default kernel)")
    ev.add_argument("--no-kernel", action="store_true", help="do not look up a cached kernel")
    ev.add_argument("--cache", metavar="DIR", help="cache folder")
    ev.add_argument("--json", metavar="FILE", help="write the records as JSON")
    ev.add_argument("-v", "--verbose", action="store_true")
    ev.set_defaults(handler=cmd_evidence, offline=True)
