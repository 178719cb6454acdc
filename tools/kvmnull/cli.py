"""The ``kvmnull`` command line."""

from __future__ import annotations

import argparse
import json
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from tabulate import tabulate

from . import kconfig, packages
from .errors import KvmnullError
from .hooks import HookClass, HookSet, Table, load_hooks
from .progress import Progress
from .target import kernel_tree, load


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kernel", metavar="SERIES|ABI",
                        help=f"target kernel: a series ({packages.DEFAULT_SERIES}) or an exact ABI "
                             f"such as {packages.DEFAULT_SERIES}.117+deb12 (default: newest {packages.DEFAULT_SERIES})")
    parser.add_argument("--cache", metavar="DIR", help="cache folder (default: $KVMNULL_CACHE, "
                        "else $XDG_CACHE_HOME/kvmnull, else ~/.cache/kvmnull)")
    parser.add_argument("--offline", action="store_true", help="use only what is cached; ask apt nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the exact commands run")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def _guest_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto",
                        help="QEMU accelerator (auto: KVM when the host's /dev/kvm can run the guest)")
    parser.add_argument("--timeout-multiplier", type=float, default=1.0, metavar="X",
                        help="scale every guest timeout, for slow machines")
    parser.add_argument("--log-dir", metavar="DIR", help="where console logs go (default: ./out/logs)")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kvmnull", description=(
        "Test the KVM x86 vendor hook contract: a patched kvm.ko that refuses or WARNs on NULL "
        "mandatory hooks, and kvm-null, a vendor module whose hooks can be left NULL."))
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    fetch = sub.add_parser("fetch", help="fetch the target kernel's packages into the cache")
    _common(fetch)

    kernels = sub.add_parser("kernels", help="the kernel series kvmnull supports: what apt offers, what is cached")
    kernels.add_argument("--cache", metavar="DIR", help="cache folder")
    kernels.add_argument("--offline", action="store_true", help="only what is cached; ask apt nothing")
    kernels.add_argument("-v", "--verbose", action="store_true", help="print the exact commands run")

    build = sub.add_parser("build", help="fetch the target and build kvm.ko, kvm-amd.ko and kvm-null.ko")
    _common(build)
    build.add_argument("--list-hooks", action="store_true", help="print the target's hooks and exit")
    build.add_argument("--json", metavar="FILE", help="with --list-hooks: write them as JSON too ('-': stdout)")
    build.add_argument("--force", action="store_true", help="rebuild even when an identical build exists")
    build.add_argument("-j", "--jobs", type=int, help="parallel make jobs (default: all cores)")

    stubs = sub.add_parser("stubs", help="write kvm_null_hooks.h for a kernel source tree (by-hand builds)")
    stubs.add_argument("--source", required=True, type=Path, help="kernel source tree")
    stubs.add_argument("--config", required=True, type=Path, help="the kernel's .config")
    stubs.add_argument("--out", required=True, type=Path, help="folder to write kvm_null_hooks.h into")

    from . import bitemap_cli, census_cli, evidence_cli, matrix, run_cli, selftest
    run_cli.add_parser(sub, _common, _guest_options)
    evidence_cli.add_parser(sub, _common, _guest_options)
    census_cli.add_parser(sub, _common, _guest_options)
    bitemap_cli.add_parser(sub, _common, _guest_options)
    matrix.add_parser(sub, _common, _guest_options)
    selftest.add_parser(sub, _common, _guest_options)
    return parser


def _progress(args: argparse.Namespace) -> Progress:
    return Progress(verbose=getattr(args, "verbose", False), quiet=getattr(args, "quiet", False))


def hook_rows(hooks: HookSet) -> list[list[str]]:
    return [[h.table.value, h.name, h.hook_class.value, str(h.header_line or ""), h.guard or ""]
            for h in hooks.hooks]


def hooks_json(hooks: HookSet, release: str) -> dict[str, object]:
    return {
        "kernel": release,
        "hooks": [
            {"table": h.table.value, "hook": h.name, "class": h.hook_class.value, "header_line": h.header_line,
             "guard": h.guard, "return_type": h.declaration.return_type,
             "params": [p.c for p in h.declaration.params]}
            for h in hooks.hooks
        ],
    }


def hook_summary(hooks: HookSet) -> str:
    """``122 x86 hooks, 11 PMU hooks (+12 nested-ops function pointers, unclassified)``, per table."""
    parts, unclassified = [], []
    for table, label in ((Table.X86, "x86"), (Table.PMU, "PMU"), (Table.NESTED, "nested")):
        classified = sum(1 for h in hooks.table(table) if h.hook_class is not HookClass.UNCLASSIFIED)
        if classified:
            parts.append(f"{classified} {label} hooks")
        others = sum(1 for h in hooks.table(table) if h.hook_class is HookClass.UNCLASSIFIED)
        if others:
            unclassified.append(f"{others} {label}-ops function pointer{'s' if others > 1 else ''}")
    return ", ".join(parts) + (f" (+{', '.join(unclassified)}, unclassified)" if unclassified else "")


def _write_json(data: object, target: str) -> None:
    text = json.dumps(data, indent=2) + "\n"
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text)


def cmd_fetch(args: argparse.Namespace) -> int:
    progress = _progress(args)
    tree = kernel_tree(args, progress)
    print(tree.path)
    return 0


def cmd_kernels(args: argparse.Namespace) -> int:
    progress = Progress(verbose=args.verbose, quiet=True)
    cache = packages.cache_root(args.cache)
    cached = packages.cached_trees(cache)
    rows = []
    for series in packages.supported_series():
        newest = None if args.offline else packages.resolve(packages.Target(series=series), cache, progress)
        here = [t.release for t in cached if t.series == series]
        rows.append([series, "(default)" if series == packages.DEFAULT_SERIES else "",
                     f"{newest.release} ({newest.version})" if newest else ("-" if not args.offline else "?"),
                     ", ".join(here) or "-"])
    print(tabulate(rows, headers=["series", "", "newest apt offers", "cached"], disable_numparse=True))
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    progress = _progress(args)
    if args.list_hooks:
        target = load(args, progress)
        tree, hooks = target.tree, target.hooks
        if args.json:
            _write_json(hooks_json(hooks, tree.release), args.json)
            if args.json == "-":
                return 0
        print(tabulate(hook_rows(hooks), headers=["table", "hook", "class", "line", "guard"]))
        print(f"\n{tree.release}: {hook_summary(hooks)}")
        return 0
    from .build import build
    result = build(kernel_tree(args, progress), progress, jobs=args.jobs, force=args.force)
    for warning in result.kvm_null_warnings:
        print(f"warning (kvm-null, W=1): {warning}", file=sys.stderr)
    for path in (result.kvm_ko, result.kvm_amd_ko, result.kvm_null_ko):
        print(path)
    return 0


def cmd_stubs(args: argparse.Namespace) -> int:
    from .stubgen import GENERATED_HEADER, read_facts, write_header
    config = kconfig.read_dotconfig(args.config)
    hooks = load_hooks(args.source, config.evaluator())
    facts = read_facts(args.source, config.evaluator())
    for warning in write_header(hooks, facts, str(args.source), args.out):
        print(f"kvmnull: warning: {warning}", file=sys.stderr)
    print(args.out / GENERATED_HEADER)
    return 0


_COMMANDS = {"fetch": cmd_fetch, "kernels": cmd_kernels, "build": cmd_build, "stubs": cmd_stubs}


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    handler = _COMMANDS.get(args.command) or getattr(args, "handler", None)
    try:
        return handler(args) if handler else 2
    except KvmnullError as exc:
        print(f"kvmnull: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kvmnull: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so, and where (the traceback with -v)
        if getattr(args, "verbose", False):
            traceback.print_exc()
        where = traceback.extract_tb(exc.__traceback__)[-1]
        print(f"kvmnull: internal error in {Path(where.filename).stem}.{where.name}: {type(exc).__name__}: {exc}"
              + ("" if getattr(args, "verbose", False) else " (run with -v for the traceback)"), file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
