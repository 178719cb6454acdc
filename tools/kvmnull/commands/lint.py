"""``kvmnull lint``: for every call kvm.ko makes of a vendor hook, what stands between a NULL hook and it."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tabulate import tabulate

from ..core.errors import UsageError
from ..kernel.hooks import HookClass
from ..report.documents import replace_section
from ..verdict import census as cz
from ..verdict import lint as lz
from .common import (
    HOOKS_HELP,
    STDOUT_EPILOG,
    Outputs,
    chosen_hooks,
    common_options,
    hook_selection,
    kernel_request,
    progress_of,
)
from .prepare import load

FAIL_ON = {"error": lz.Severity.ERROR, "warning": lz.Severity.WARNING}


def cmd_lint(args: argparse.Namespace) -> int:
    progress = progress_of(args)
    outputs = Outputs.of(args, "json")
    request = kernel_request(args)
    lz.spatch_version()  # spatch missing: an error with its remedy, before anything slow
    target = load(request, progress)
    tree, hooks = target.tree, target.hooks
    chosen = chosen_hooks(args.hooks, target, request) if args.hooks else hooks.hooks
    census = cz.take(tree.source, hooks, target.config.evaluator(),
                     unclassified=any(h.hook_class is HookClass.UNCLASSIFIED for h in chosen))
    result = lz.lint(tree.source, hooks, chosen, tree.path / "derived", progress, census)
    out = outputs.human
    for line in lz.lines(result):
        print(line, file=out)
    print("\n" + tabulate(lz.rows(result), headers=lz.HEADERS, disable_numparse=True), file=out)
    print(f"\n{lz.summary(result, tree.release)} (+{len(result.remarks)} remarks)", file=out)
    outputs.write("--json", json.dumps(lz.to_json(result, tree.release), indent=2) + "\n")
    if args.update_doc:
        if args.hooks or tree.patches:
            raise UsageError("--update-doc writes the lint of a whole released kernel",
                             "drop --hooks and --patch when updating the docs")
        path = Path(args.update_doc)
        table = tabulate(lz.finding_rows(result), headers=lz.FINDING_HEADERS, tablefmt="github",
                         disable_numparse=True)
        body = f"Linux {lz.summary(result, tree.release)}.\n\n{table}\n"
        path.write_text(replace_section(path.read_text(), f"lint-{tree.series}", body))
        progress.note(f"updated lint-{tree.series} in {path}")
    if args.fail_on and result.worst().rank >= FAIL_ON[args.fail_on].rank:
        return 1
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("lint", help="what stands between a NULL hook and each of kvm.ko's calls of it "
                                         "(Coccinelle reads the control flow)")
    common_options(parser)
    parser.add_argument("--hooks", metavar="HOOKS", type=hook_selection("--hooks"),
                        help=f"lint only these hooks (default: every hook of every table): {HOOKS_HELP}")
    parser.add_argument("--json", metavar="FILE", help="write every hook with its classified calls as JSON")
    parser.add_argument("--update-doc", metavar="FILE",
                        help="replace the <!-- kvmnull:lint-SERIES --> section with the warnings and errors")
    parser.add_argument("--fail-on", choices=tuple(FAIL_ON),
                        help="exit 1 when a finding is this severe or worse (default: exit 0)")
    parser.epilog = STDOUT_EPILOG
    parser.set_defaults(handler=cmd_lint)
