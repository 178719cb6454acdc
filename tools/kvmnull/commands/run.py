"""``kvmnull run``: one scenario in a fresh guest, judged against the contract."""

from __future__ import annotations

import argparse
import json

from tabulate import tabulate

from ..core.progress import Progress
from ..guest.scenario import Policy, Scenario
from ..report import results as report
from ..verdict.contract import judge, observation_of
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
    policies_of,
)
from .prepare import load, prepare


def cmd_run(args: argparse.Namespace) -> int:
    progress = Progress(verbose=args.verbose, quiet=args.quiet)
    # reject bad values and hook names before anything slow happens
    outputs = Outputs.of(args, "json")
    (policy,) = policies_of(args, (Policy.REFUSE,))
    request = kernel_request(args)
    target = load(request, progress)
    hooks = target.hooks
    nulled = chosen_hooks(args.null, target, request) if args.null else ()
    name = "control-" + args.vendor if not nulled else ",".join(h.key for h in nulled)
    scenario = Scenario(name if len(name) < 80 else f"{len(nulled)} hooks", policy, args.vendor, nulled,
                        probe=not args.no_probe, admitted=target.admits(policy.patched, args.vendor))
    prepared = prepare(guest_request(args, (policy,)), progress, target, stock=not policy.patched)
    progress.stage("run", f"{scenario.name} under missing_hook={policy.value}")
    with prepared.session("run", progress) as session:
        result = session.run(scenario)
    verdict = judge([(scenario, observation_of(result, hooks, args.verbose))])[0]
    obs = verdict.observation
    rows = [["scenario", scenario.name], ["policy", policy.value], ["vendor", scenario.vendor],
            ["expected", verdict.expected.value], ["observed", obs.outcome.value],
            ["named", ", ".join(sorted(obs.named)) or "-"], ["detail", obs.detail],
            ["verdict", "PASS" if verdict.passed else "FAIL"]]
    rows += [["evidence", line] for line in obs.evidence]
    print(tabulate(rows, tablefmt="plain"), file=outputs.human)
    print(f"console log: {session.log_path}", file=outputs.human)
    outputs.write("--json", json.dumps(report.to_json([verdict], prepared.meta()), indent=2) + "\n")
    return 0 if verdict.passed else 1


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="boot a guest, load kvm.ko and a vendor with chosen hooks NULL, judge it")
    common_options(run)
    guest_options(run)
    kvm_options(run, ("patched", "stock"), "one")
    run.add_argument("--null", metavar="HOOKS", type=hook_selection("--null"),
                     help=f"hooks to leave NULL: {HOOKS_HELP} (e.g. x86.vcpu_create,pmu.refresh)")
    gone_table_option(run, "--null-pmu", "--null", "pmu")
    gone_table_option(run, "--null-nested", "--null", "nested")
    run.add_argument("--vendor", choices=("kvm-null", "kvm-amd"), default="kvm-null",
                     help="kvm-amd: the real vendor, built from the target's source; with --null, its "
                          "test-only knockout= leaves those hooks NULL")
    run.add_argument("--no-probe", action="store_true", help="skip the VM lifecycle probe")
    run.add_argument("--json", metavar="FILE", help="write the verdict as JSON")
    run.epilog = STDOUT_EPILOG
    run.set_defaults(handler=cmd_run)

