"""``kvmnull matrix``: every hook of the target NULL alone, plus controls and the two bulk cases, under each policy.

Expectations come from :mod:`contract`; observations from the evidence of
real guests.  Scenarios are shared between guests (one per core by default),
each guest reused for as many scenarios as it survives.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from tabulate import tabulate

from ..core.progress import Progress
from ..guest.qemu import qemu_version
from ..guest.scenario import GuestSession, Policy, Scenario, ScenarioRun, guest_has_svm, run_all
from ..kernel.facts import KernelFacts
from ..kernel.hooks import CLASS_NAMES, Hook, HookClass, HookSet, Table
from ..kernel.selection import choose_each
from ..report import results as report
from ..verdict.contract import Outcome, Verdict, expected, judge, observation_of
from .common import (
    HOOKS_HELP,
    STDOUT_EPILOG,
    Outputs,
    chosen_hooks,
    common_options,
    gone_table_option,
    guest_options,
    guest_request,
    hook_selection,
    kernel_request,
    kvm_options,
    note,
    policies_of,
    positive_float,
    positive_int,
)
from .prepare import GuestRequest, load, prepare


def bulk_params(hooks: HookSet, classes: Sequence[HookClass]) -> tuple[tuple[str, str], ...]:
    """kvm-null's parameters that leave every hook of ``classes`` NULL, for each table that has such hooks."""
    params = []
    for table in Table:
        present = [c for c in classes if any(h.hook_class is c for h in hooks.table(table))]
        if present:
            params.append((table.value, ",".join(f"@{CLASS_NAMES[c]}" for c in present)))
    return tuple(params)


def build_scenarios(hooks: HookSet, policies: Sequence[Policy], chosen: Sequence[Hook] | None,
                    controls: bool, bulk: bool, amd: bool,
                    admits: Callable[[bool, str], bool] = lambda patched, vendor: True) -> list[Scenario]:
    """The matrix, in a stable order: controls, x86 hooks, PMU hooks, nested hooks (7.x), bulk cases; each
    under every policy.  ``chosen``: the hooks to test alone (--hooks); None: every classified hook."""
    singles = list(hooks.classified()) if chosen is None else list(chosen)
    optional_classes = (HookClass.OPTIONAL, HookClass.OPTIONAL_RET0)
    optional = tuple(h for h in hooks.classified() if h.hook_class in optional_classes)
    mandatory = tuple(h for h in hooks.classified() if h.hook_class is HookClass.MANDATORY)
    scenarios: list[Scenario] = []
    for policy in policies:
        if controls:
            scenarios.append(Scenario("control-kvm-null", policy, "kvm-null"))
            if amd:
                scenarios.append(Scenario("control-kvm-amd", policy, "kvm-amd"))
        for hook in singles:
            scenarios.append(Scenario(hook.key, policy, "kvm-null", (hook,)))
        if bulk:
            scenarios.append(Scenario("all-optional", policy, "kvm-null", optional,
                                      params=bulk_params(hooks, optional_classes)))
            scenarios.append(Scenario("all-mandatory", policy, "kvm-null", mandatory,
                                      params=bulk_params(hooks, (HookClass.MANDATORY,))))
    # the VM lifecycle is probed where the contract says the vendor must work; a vendor
    # registered with NULL mandatory hooks under "warn" is the bite map's subject, not the matrix's
    # the image's own kvm.ko (upstream policy) may not export its vendor interface to the vendor
    scenarios = [replace(s, admitted=admits(s.policy.patched, s.vendor)) for s in scenarios]
    return [replace(s, probe=expected(s) is Outcome.LOADED) for s in scenarios]


def shuffled(scenarios: Sequence[Scenario], seed: int) -> list[Scenario]:
    """The scenarios in the order ``seed`` permutes them to (the same seed, the same order)."""
    order = list(scenarios)
    random.Random(seed).shuffle(order)
    return order


@dataclass(frozen=True)
class SeriesResult:
    """The matrix of one kernel."""

    release: str
    verdicts: list[Verdict]
    meta: dict[str, object]


def cmd_matrix(args: argparse.Namespace) -> int:
    progress = Progress(verbose=args.verbose, quiet=args.quiet)
    # every value is checked, and every kernel's hooks chosen, before anything slow
    outputs = Outputs.of(args, "json", "junit", "ktap")
    guest = guest_request(args, policies_of(args, (Policy.REFUSE, Policy.WARN)))
    kernels = [k.strip() for k in args.kernel.split(",") if k.strip()] if args.kernel else [None]
    requests = [kernel_request(args, kernel) for kernel in kernels]
    targets = [load(request, progress) for request in requests]
    chosen: list[tuple[Hook, ...] | None] = [None] * len(targets)
    if args.hooks and len(targets) == 1:
        chosen = [chosen_hooks(args.hooks, targets[0], requests[0])]
    elif args.hooks:
        each, notes = choose_each(args.hooks, [(t.tree.release, t.hooks) for t in targets])
        for text in notes:
            note(text)
        chosen = list(each)
    results = [one_matrix(args, guest, progress, target, hooks, outputs)
               for target, hooks in zip(targets, chosen, strict=True) if hooks is None or hooks]
    if len(results) > 1:
        print("\n" + series_summary(results), file=outputs.human)
    data: object = (report.to_json(results[0].verdicts, results[0].meta) if len(results) == 1 else
                    {"kernels": [report.to_json(r.verdicts, r.meta) for r in results]})
    outputs.write("--json", json.dumps(data, indent=2) + "\n")
    outputs.write("--junit", report.junit_suites([(f"kvmnull matrix {r.release}", r.verdicts) for r in results]))
    outputs.write("--ktap", "".join(report.ktap(r.verdicts, f"kvmnull matrix {r.release}") for r in results))
    return 0 if all(v.passed for r in results for v in r.verdicts) else 1


def series_summary(results: Sequence[SeriesResult]) -> str:
    """Passed/total per table and class, a column per kernel."""
    groups: dict[tuple[str, str], dict[str, str]] = {}
    for result in results:
        for (table, cls), (total, passed) in report.group_counts(result.verdicts).items():
            groups.setdefault((table, cls), {})[result.release] = f"{passed}/{total}"
    tables = ["control", *(t.value for t in Table)]
    classes = [c.value for c in HookClass]

    def order(key: tuple[str, str]) -> tuple[int, int]:  # controls, each table by class, then bulk cases
        table, cls = key
        return (tables.index(table) if table in tables else len(tables),
                classes.index(cls) if cls in classes else len(classes))

    rows = [[table, cls, *(groups[(table, cls)].get(r.release, "-") for r in results)]
            for table, cls in sorted(groups, key=order)]
    totals = [sum(v.passed for v in r.verdicts) for r in results]
    rows.append(["all", "", *(f"{t}/{len(r.verdicts)}" for t, r in zip(totals, results, strict=True))])
    return tabulate(rows, headers=["table", "class", *(r.release for r in results)], disable_numparse=True)


def one_matrix(args: argparse.Namespace, guest: GuestRequest, progress: Progress, target: KernelFacts,
               chosen: Sequence[Hook] | None, outputs: Outputs) -> SeriesResult:
    """The matrix of one kernel: ``chosen`` hooks alone (None: every classified hook), controls, bulk cases."""
    policies = guest.policies
    started = time.monotonic()
    tree, hooks = target.tree, target.hooks
    runs: list[ScenarioRun] = []
    sessions: list[GuestSession] = []
    accel = ""
    # the patched kvm.ko and the image's own need guests of their own
    for stock in (False, True):
        group = [p for p in policies if p.patched != stock]
        if group:
            group_runs, group_sessions, accel = _run_group(args, guest, progress, target, chosen, group, stock)
            runs += group_runs
            sessions += group_sessions
    seconds = time.monotonic() - started
    verdicts = judge((r.scenario, observation_of(r, hooks, args.verbose)) for r in runs)
    boots = sum(s.boots for s in sessions)
    meta = {
        **tree.meta(), "accel": accel, "qemu": qemu_version(), "seconds": round(seconds, 1),
        "boots": boots, "guests": args.guests, "logs": [str(s.log_path) for s in sessions], "shuffle": args.shuffle,
        "policies": [p.value for p in policies],
        # who ran what, and in which order (the seed alone does not say, with several guests)
        "runs": [{"name": r.scenario.name, "policy": r.scenario.policy.value, "guest": r.guest, "order": r.order}
                 for r in runs],
    }
    print(report.table(verdicts, full=not args.failures_only), file=outputs.human)
    if Policy.UPSTREAM in policies and len(policies) > 1:
        print("\n" + report.by_policy(verdicts), file=outputs.human)
    line = report.summary_line(verdicts)
    print(f"\n{tree.release} ({accel}): {line} in {seconds:.1f}s, "
          f"{len(verdicts) / max(seconds, 0.001):.1f} scenarios/s, {boots} boot(s)", file=outputs.human)
    return SeriesResult(tree.release, verdicts, meta)


def _run_group(args: argparse.Namespace, guest: GuestRequest, progress: Progress, target: KernelFacts,
               chosen: Sequence[Hook] | None, policies: list[Policy],
               stock: bool) -> tuple[list[ScenarioRun], list[GuestSession], str]:
    """The scenarios of ``policies`` in guests of their own: with the patched kvm.ko, or the image's own."""
    tree, hooks = target.tree, target.hooks
    prepared = prepare(guest, progress, target, stock=stock)
    prefix = "matrix-" + (f"{tree.series}-" if args.kernel else "") + ("stock-" if stock else "")
    sessions = [prepared.session(f"{prefix}{i}", progress, args.scenario_timeout) for i in range(args.guests)]
    try:
        kvm = "Debian's own kvm.ko" if stock else "the patched kvm.ko"
        progress.stage("matrix", f"{tree.release}, {kvm}: booting {len(sessions)} guest(s)")
        amd = args.controls and guest_has_svm(sessions[0])
        if args.controls and not amd:
            progress.note("the guest CPU has no SVM: the kvm-amd control is left out")
        scenarios = build_scenarios(hooks, policies, chosen, args.controls, args.bulk, amd,
                                    target.admits)
        order = scenarios
        if args.shuffle is not None:
            progress.stage("matrix", f"scenario order shuffled with seed {args.shuffle}")
            order = shuffled(scenarios, args.shuffle)
        done = [0]

        def on_done(run: ScenarioRun) -> None:
            done[0] += 1
            tag = "" if run.crash is None and not run.hung else (" CRASHED" if run.crash else " HUNG")
            progress.stage("matrix", f"{done[0]}/{len(scenarios)} {run.scenario.name} "
                                     f"[{run.scenario.policy.value}] {run.seconds:.2f}s{tag}")

        # reported in the canonical order, whatever order they ran in
        canonical = {scenario: index for index, scenario in enumerate(scenarios)}
        runs = sorted(run_all(sessions, order, on_done), key=lambda run: canonical[run.scenario])
    finally:
        for session in sessions:
            session.shut()
    return runs, sessions, prepared.config.accel.value


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    matrix = sub.add_parser("matrix", help="negative-test every hook against the contract (the main job)")
    common_options(matrix)
    guest_options(matrix)
    kvm_options(matrix, ("patched", "stock", "both"), "many")
    matrix.add_argument("--hooks", metavar="HOOKS", type=hook_selection("--hooks"),
                        help=f"test only these hooks alone: {HOOKS_HELP} (e.g. x86.@optional)")
    gone_table_option(matrix, "--pmu-hooks", "--hooks", "pmu")
    gone_table_option(matrix, "--nested-hooks", "--hooks", "nested")
    matrix.add_argument("--no-controls", dest="controls", action="store_false", help="leave out the controls")
    matrix.add_argument("--no-bulk", dest="bulk", action="store_false",
                        help="leave out 'every optional' and 'every mandatory hook NULL at once'")
    matrix.add_argument("--guests", type=positive_int, default=min(2, os.cpu_count() or 1),
                        help="guests running scenarios in parallel (default: one per core, at most 2)")
    matrix.add_argument("--scenario-timeout", type=positive_float, default=30.0, metavar="S",
                        help="seconds before a scenario's guest counts as hung")
    matrix.add_argument("--shuffle", type=int, metavar="SEED",
                        help="run the scenarios in the order SEED permutes them to (recorded in the JSON)")
    matrix.add_argument("--json", metavar="FILE", help="write every scenario as JSON")
    matrix.add_argument("--junit", metavar="FILE", help="write JUnit XML")
    matrix.add_argument("--ktap", metavar="FILE", help="write KTAP (one result per scenario)")
    matrix.epilog = STDOUT_EPILOG
    matrix.add_argument("--failures-only", action="store_true", help="table rows for failures only")
    matrix.set_defaults(handler=cmd_matrix)

