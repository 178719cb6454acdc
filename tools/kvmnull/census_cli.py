"""``kvmnull census``: the static census, its dynamic part, and the bite map."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Callable
from pathlib import Path

from tabulate import tabulate

from . import census as cz
from .errors import UsageError
from .hooks import HookClass, Table
from .progress import Progress
from .scenario import Policy, Scenario
from .target import load, prepare


def replace_section(document: str, name: str, body: str) -> str:
    """Replace what stands between ``<!-- kvmnull:NAME -->`` and ``<!-- /kvmnull:NAME -->``."""
    pattern = re.compile(rf"(<!-- kvmnull:{name} -->\n).*?(<!-- /kvmnull:{name} -->)", re.S)
    if not pattern.search(document):
        raise UsageError(f"no <!-- kvmnull:{name} --> section in the document",
                         f"add <!-- kvmnull:{name} --> and <!-- /kvmnull:{name} --> lines where it goes")
    return pattern.sub(lambda m: m.group(1) + body.rstrip("\n") + "\n" + m.group(2), document)


def cmd_census(args: argparse.Namespace) -> int:
    progress = Progress(verbose=args.verbose, quiet=args.quiet)
    target = load(args, progress)
    tree, hooks = target.tree, target.hooks
    census = cz.take(tree.source, hooks, target.config.evaluator())
    bites: list[cz.Bite] = []
    mandatory = [h for h in hooks.classified() if h.hook_class is HookClass.MANDATORY]
    if args.hooks:
        chosen = {h.key for h in hooks.select(Table.X86, args.hooks, "--hooks")}
        mandatory = [h for h in mandatory if h.key in chosen]
    if args.dynamic or args.bitemap:
        prepared = prepare(args, progress, target)
        with prepared.session("census", progress, args.scenario_timeout) as session:
            if args.dynamic:
                guest = session.guest()
                runs = []
                for index in range(1, cz.LIFECYCLE_RUNS + 1):
                    progress.stage("census", f"lifecycle {index}/{cz.LIFECYCLE_RUNS}, counters reset between phases")
                    runs.append(cz.first_phases(guest.check(cz.LIFECYCLE, timeout=120, stage="census lifecycle")))
                census = cz.with_phases(census, runs)
            for index, hook in enumerate(mandatory if args.bitemap else [], start=1):
                progress.stage("bitemap", f"{index}/{len(mandatory)} {hook.key} under missing_hook=warn")
                run = session.run(Scenario(hook.key, Policy.WARN, "kvm-null", (hook,), probe=True))
                bites.append(cz.bite(hook, run.output, run.crash, run.hung, hooks))

    tables = {"census": tabulate(cz.census_rows(census, args.dynamic), headers=cz.census_headers(args.dynamic),
                                 tablefmt="github")}
    if args.bitemap:
        tables["bitemap"] = tabulate(cz.bite_rows(bites), headers=cz.BITE_HEADERS, tablefmt="github")
    for text in tables.values():
        print(text + "\n")
    for oddity in census.oddities:
        print(f"oddity: {oddity}")
    if args.json:
        data = {"kernel": tree.release, "phases": list(census.phases),
                "hooks": [r.to_json() for r in census.rows], "oddities": list(census.oddities),
                "bitemap": [b.to_json() for b in bites]}
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
    if args.update_doc:
        path = Path(args.update_doc)
        document = path.read_text()
        for name, text in {**tables, "release": f"Linux {tree.release}"}.items():
            document = replace_section(document, name, text)
        path.write_text(document)
        progress.note(f"updated {', '.join(tables)} in {path}")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
               common: Callable[[argparse.ArgumentParser], None],
               guest_options: Callable[[argparse.ArgumentParser], None]) -> None:
    parser = sub.add_parser("census", help="what the source and a real lifecycle say about each hook")
    common(parser)
    guest_options(parser)
    parser.add_argument("--dynamic", action="store_true",
                        help="add the first lifecycle phase that calls each hook (one guest run)")
    parser.add_argument("--bitemap", action="store_true",
                        help="for each mandatory hook NULL alone under missing_hook=warn, what breaks first")
    parser.add_argument("--hooks", metavar="HOOKS", help="bite map: only these x86 hooks")
    parser.add_argument("--scenario-timeout", type=float, default=15.0, metavar="S",
                        help="bite map: seconds before a lifecycle counts as hung")
    parser.add_argument("--json", metavar="FILE", help="write everything as JSON")
    parser.add_argument("--update-doc", metavar="FILE",
                        help="replace the <!-- kvmnull:census --> / <!-- kvmnull:bitemap --> sections of FILE")
    parser.set_defaults(handler=cmd_census)
