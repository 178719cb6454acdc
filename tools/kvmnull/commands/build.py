"""``kvmnull build``: the patched kvm.ko, kvm-amd.ko and kvm-null.ko; ``--list-hooks``: the target's hooks."""

from __future__ import annotations

import argparse
import json
import sys

from tabulate import tabulate

from ..build.kbuild import build
from ..core.errors import UsageError
from ..report.hook_list import hook_rows, hook_summary, hooks_json
from .common import STDOUT_EPILOG, Outputs, common_options, kernel_request, positive_int, progress_of
from .prepare import kernel_tree, load


def cmd_build(args: argparse.Namespace) -> int:
    progress = progress_of(args)
    outputs = Outputs.of(args, "json")
    request = kernel_request(args)
    if args.json and not args.list_hooks:
        raise UsageError("--json writes the hook list: it needs --list-hooks", "add --list-hooks, or drop --json")
    if args.list_hooks:
        target = load(request, progress)
        tree, hooks = target.tree, target.hooks
        outputs.write("--json", json.dumps(hooks_json(hooks, tree.meta()), indent=2) + "\n")
        out = outputs.human
        print(tabulate(hook_rows(hooks), headers=["table", "hook", "class", "line", "guard"]), file=out)
        print(f"\n{tree.describe}: {hook_summary(hooks)}", file=out)
        return 0
    result = build(kernel_tree(request, progress), progress, jobs=args.jobs, force=args.force)
    for warning in result.kvm_null_warnings:
        print(f"warning (kvm-null, W=1): {warning}", file=sys.stderr)
    for path in (result.kvm_ko, result.kvm_amd_ko, result.kvm_null_ko):
        print(path)
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("build", help="fetch the target and build kvm.ko, kvm-amd.ko and kvm-null.ko")
    common_options(parser)
    parser.add_argument("--list-hooks", action="store_true", help="print the target's hooks and exit")
    parser.add_argument("--json", metavar="FILE",
                        help="with --list-hooks: write them as JSON too")
    parser.add_argument("--force", action="store_true", help="rebuild even when an identical build exists")
    parser.add_argument("-j", "--jobs", type=positive_int, help="parallel make jobs (default: all cores)")
    parser.epilog = STDOUT_EPILOG
    parser.set_defaults(handler=cmd_build)
