"""``kvmnull run``: one scenario in a fresh guest, judged against the contract."""

from __future__ import annotations

import argparse

from tabulate import tabulate

from ..core.progress import Progress
from ..guest.scenario import Policy, Scenario
from ..kernel.hooks import Table
from ..report import results as report
from ..verdict.contract import judge, observe
from .common import common_options, guest_options
from .prepare import load, prepare


def cmd_run(args: argparse.Namespace) -> int:
    progress = Progress(verbose=args.verbose, quiet=args.quiet)
    # reject bad hook names before anything slow happens
    target = load(args, progress)
    hooks = target.hooks
    nulled = (*hooks.select(Table.X86, args.null, "--null"), *hooks.select(Table.PMU, args.null_pmu, "--null-pmu"),
              *hooks.select(Table.NESTED, args.null_nested, "--null-nested"))
    policy = Policy(args.policy)
    name = "control-" + args.vendor if not nulled else ",".join(h.key for h in nulled)
    scenario = Scenario(name if len(name) < 80 else f"{len(nulled)} hooks", policy, args.vendor, nulled,
                        probe=not args.no_probe, admitted=target.admits(policy.patched, args.vendor))
    prepared = prepare(args, progress, target, stock=not policy.patched)
    progress.stage("run", f"{scenario.name} under missing_hook={policy.value}")
    with prepared.session("run", progress) as session:
        result = session.run(scenario)
    verdict = judge([(scenario, observe(result, hooks, args.verbose))])[0]
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


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="boot a guest, load kvm.ko and a vendor with chosen hooks NULL, judge it")
    common_options(run)
    guest_options(run)
    run.add_argument("--policy", choices=[p.value for p in Policy], default="refuse",
                     help="the patched kvm.ko's missing_hook policy (default: refuse); upstream: Debian's own "
                          "kvm.ko instead")
    run.add_argument("--null", metavar="HOOKS", help="kvm_x86_ops hooks to leave NULL (names, @mandatory, "
                     "@optional, @ret0, @all)")
    run.add_argument("--null-pmu", metavar="HOOKS", help="kvm_pmu_ops hooks to leave NULL")
    run.add_argument("--null-nested", metavar="HOOKS",
                     help="kvm_x86_nested_ops hooks to leave NULL (7.x, where the nested table is classified)")
    run.add_argument("--vendor", choices=("kvm-null", "kvm-amd"), default="kvm-null",
                     help="kvm-amd: the real vendor, built from the target's source; with --null..., its "
                          "test-only knockout= leaves those hooks NULL")
    run.add_argument("--no-probe", action="store_true", help="skip the VM lifecycle probe")
    run.add_argument("--json", metavar="FILE", help="write the verdict as JSON")
    run.set_defaults(handler=cmd_run)

