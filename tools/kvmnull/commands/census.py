"""``kvmnull census``: the static census, its dynamic part, and the bite map."""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path

from tabulate import tabulate

from ..build.stubgen import read_facts
from ..core.errors import UsageError
from ..core.progress import Progress
from ..fetch import packages
from ..guest.scenario import Policy, Scenario
from ..kernel.facts import KernelFacts
from ..kernel.hooks import Hook, HookClass
from ..report.documents import replace_section
from ..verdict import census as cz
from ..verdict import history as hz
from ..verdict import lint as lz
from .common import (
    HOOKS_HELP,
    STDOUT_EPILOG,
    Outputs,
    chosen_hooks,
    common_options,
    guest_options,
    guest_request,
    hook_selection,
    kernel_request,
    positive_float,
)
from .prepare import GuestRequest, load, prepare


def run_lifecycles(args: argparse.Namespace, guests: GuestRequest, progress: Progress, target: KernelFacts,
                   census: cz.Census, mandatory: Sequence[Hook]) -> tuple[cz.Census, list[cz.Bite]]:
    """The dynamic part (``--dynamic``) and kvm-null's bite map (``--bitemap``) from guest runs."""
    bites: list[cz.Bite] = []
    if not (args.dynamic or args.bitemap):
        return census, bites
    prepared = prepare(guests, progress, target)
    with prepared.session(f"census-{target.tree.release}", progress, args.scenario_timeout) as session:
        if args.dynamic:
            guest = session.guest()
            runs = []
            for index in range(1, cz.LIFECYCLE_RUNS + 1):
                progress.stage("census", f"{target.tree.release}: lifecycle {index}/{cz.LIFECYCLE_RUNS}, "
                                         "counters reset between phases")
                runs.append(cz.first_phases(guest.check(cz.LIFECYCLE, timeout=120, stage="census lifecycle")))
            census = cz.with_phases(census, runs)
        for index, hook in enumerate(mandatory if args.bitemap else [], start=1):
            progress.stage("bitemap", f"{target.tree.release}: {index}/{len(mandatory)} {hook.key} "
                                      "under missing_hook=warn")
            run = session.run(Scenario(hook.key, Policy.WARN, "kvm-null", (hook,), probe=True))
            bites.append(cz.bite(hook, run.output, run.crash, run.hung, target.hooks))
    return census, bites


def cmd_census(args: argparse.Namespace) -> int:
    if args.kernel and "," in args.kernel:
        return cmd_history(args)
    progress = Progress(verbose=args.verbose, quiet=args.quiet)
    outputs = Outputs.of(args, "json")
    if args.lint:
        raise UsageError("--lint adds each series' lint verdict to a history of several kernels (--kernel A,B)",
                         "for one kernel, run `kvmnull lint`")
    if args.hooks and not args.bitemap:
        raise UsageError(f"--hooks {args.hooks.text}: chooses the bite map's hooks, but there is no --bitemap",
                         "add --bitemap, or drop --hooks")
    request = kernel_request(args)
    target = load(request, progress)
    tree, hooks = target.tree, target.hooks
    mandatory = [h for h in hooks.classified() if h.hook_class is HookClass.MANDATORY]
    if args.hooks:
        chosen = set(chosen_hooks(args.hooks, target, request))
        mandatory = [h for h in mandatory if h in chosen]
        if not mandatory:
            raise UsageError(f"--hooks {args.hooks.text}: chooses no mandatory hook of {tree.release}, and the "
                             "bite map leaves only mandatory hooks NULL", "choose mandatory hooks, e.g. @mandatory")
    census = cz.take(tree.source, hooks, target.config.evaluator())
    census, bites = run_lifecycles(args, guest_request(args, (Policy.WARN,)), progress, target, census, mandatory)

    tables = {"census": tabulate(cz.census_rows(census, args.dynamic), headers=cz.census_headers(args.dynamic),
                                 tablefmt="github")}
    if args.bitemap:
        tables["bitemap"] = tabulate(cz.bite_rows(bites), headers=cz.BITE_HEADERS, tablefmt="github")
    for text in tables.values():
        print(text + "\n", file=outputs.human)
    for oddity in census.oddities:
        print(f"oddity: {oddity}", file=outputs.human)
    if outputs.target("--json"):
        data = {**tree.meta(), "phases": list(census.phases),
                "hooks": [r.to_json() for r in census.rows], "oddities": list(census.oddities),
                "bitemap": [b.to_json() for b in bites]}
        outputs.write("--json", json.dumps(data, indent=2) + "\n")
    if args.update_doc:
        path = Path(args.update_doc)
        document = path.read_text()
        for name, text in {**tables, "release": f"Linux {tree.release}"}.items():
            document = replace_section(document, name, text)
        path.write_text(document)
        progress.note(f"updated {', '.join(tables)} in {path}")
    return 0


def series_list(text: str) -> list[str]:
    """``6.1,6.12,7.3``: each a series or an ABI (validated, named when bad), oldest first, no repeats."""
    items = [t.strip() for t in text.split(",")]
    targets = [packages.KernelSpec.parse(t) for t in items if t]
    if len(targets) < 2:
        raise UsageError(f"--kernel {text!r}: a history needs at least two kernels",
                         "name two or more, oldest first, such as --kernel 6.1,6.12,7.3")
    series = [t.series for t in targets]
    if len(set(series)) != len(series):
        raise UsageError(f"--kernel {text!r} names a series twice", "name each series once")
    ordered = sorted(series, key=lambda s: tuple(int(x) for x in s.split(".")))
    if ordered != series:
        raise UsageError(f"--kernel {text!r} is not oldest first", f"use --kernel {','.join(ordered)}")
    return [t for t in items if t]


def cmd_history(args: argparse.Namespace) -> int:
    """``census --kernel A,B,...``: the census of each series, joined into hook lineages."""
    progress = Progress(verbose=args.verbose, quiet=args.quiet)
    outputs = Outputs.of(args, "json")
    if args.hooks:
        raise UsageError("--hooks picks hooks of one kernel, not of a history", "drop --hooks, or name one --kernel")
    guests = guest_request(args, (Policy.WARN,))
    sources = []
    observed: dict[str, tuple[cz.Census, list[cz.Bite]]] = {}
    lints: hz.Lints = {}
    requests = [kernel_request(args, item) for item in series_list(args.kernel)]
    if args.lint:
        lz.spatch_version()  # spatch missing: an error with its remedy, before anything slow
    for request in requests:
        target = load(request, progress)
        evaluator = target.config.evaluator()
        progress.stage("history", f"{target.tree.release}: static census, every table")
        census = cz.take(target.tree.source, target.hooks, evaluator, unclassified=True)
        mandatory = [h for h in target.hooks.classified() if h.hook_class is HookClass.MANDATORY]
        observed[request.spec.series] = run_lifecycles(args, guests, progress, target, census, mandatory)
        if args.lint:
            result = lz.lint(target.tree.source, target.hooks, target.hooks.hooks, target.tree.path / "derived",
                             progress, census)
            lints[request.spec.series] = lz.hook_verdicts(result)
        sources.append(hz.SeriesSource(request.spec.series, target.tree.release, target.tree.source,
                                       target.hooks, census, read_facts(target.tree.source, evaluator),
                                       target.vendor_modules))
    progress.stage("history", "joining hooks into lineages (renames need evidence beyond the name)")
    history = hz.history(sources)
    dynamic = {s: {r.hook.key: r.first_phase for r in c.rows} for s, (c, _) in observed.items() if args.dynamic}
    bites = {s: {b.hook.key: b for b in bs} for s, (_, bs) in observed.items() if args.bitemap}
    table = tabulate(hz.rows(history, dynamic, bites, lints), headers=hz.headers(history, dynamic, bites, lints),
                     tablefmt="github", disable_numparse=True)
    api = tabulate(hz.api_rows(history), headers=hz.API_HEADERS, tablefmt="github", disable_numparse=True)
    print(table + "\n\n" + api + "\n", file=outputs.human)
    for line in hz.summary(history):
        print(line, file=outputs.human)
    outputs.write("--json", json.dumps(hz.to_json(history, dynamic, bites, lints), indent=2) + "\n")
    if args.update_doc:
        path = Path(args.update_doc)
        document = replace_section(path.read_text(), "history", table)
        document = replace_section(document, "history-api", api)
        document = replace_section(document, "history-summary", "\n".join(f"* {line}" for line in hz.summary(history)))
        document = replace_section(document, "history-releases",
                                   ", ".join(f"{s} (Linux {r})" for s, r in zip(history.series, history.releases,
                                                                                strict=True)))
        path.write_text(document)
        progress.note(f"updated the history in {path}")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("census", help="what the source and a real lifecycle say about each hook; "
                                           "with --kernel A,B,...: how the contract moved across series")
    common_options(parser)
    guest_options(parser)
    parser.add_argument("--dynamic", action="store_true",
                        help="add the first lifecycle phase that calls each hook (one guest run)")
    parser.add_argument("--bitemap", action="store_true",
                        help="for each mandatory hook NULL alone under missing_hook=warn, what breaks first")
    parser.add_argument("--hooks", metavar="HOOKS", type=hook_selection("--hooks"),
                        help=f"bite map: only these (mandatory) hooks: {HOOKS_HELP}")
    parser.add_argument("--lint", action="store_true",
                        help="with several kernels: add each hook's lint verdict per series (kvmnull lint)")
    parser.add_argument("--scenario-timeout", type=positive_float, default=15.0, metavar="S",
                        help="bite map: seconds before a lifecycle counts as hung")
    parser.add_argument("--json", metavar="FILE", help="write everything as JSON")
    parser.add_argument("--update-doc", metavar="FILE",
                        help="replace the <!-- kvmnull:census --> / <!-- kvmnull:bitemap --> sections of FILE "
                             "(with several kernels: <!-- kvmnull:history -->, -api and -releases)")
    parser.epilog = STDOUT_EPILOG
    parser.set_defaults(handler=cmd_census)
