"""``kvmnull bitemap``: knock each hook out of a real vendor and see where a real guest workload breaks."""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tabulate import tabulate

from ..core.errors import GuestError
from ..core.progress import Progress
from ..guest.scenario import Policy, Scenario, ScenarioRun, guest_has_svm, run_all
from ..report.documents import replace_section
from ..verdict import bitemap as bm
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
    kvm_options,
    policies_of,
    positive_float,
    positive_int,
)
from .prepare import load, prepare


def cmd_bitemap(args: argparse.Namespace) -> int:
    progress = Progress(verbose=args.verbose, quiet=args.quiet)
    started = time.monotonic()
    outputs = Outputs.of(args, "json")
    (policy,) = policies_of(args, (Policy.WARN,))
    stock = not policy.patched
    request = kernel_request(args)
    target = load(request, progress)
    hooks = bm.knockout_hooks(target.hooks)
    if args.hooks:
        chosen = set(chosen_hooks(args.hooks, target, request))
        hooks = [h for h in hooks if h in chosen]
    prepared = prepare(guest_request(args, (policy,)), progress, target, stock=stock)
    kvm = "Debian's own kvm.ko" if stock else "the patched kvm.ko (missing_hook=warn)"
    sessions = [prepared.session(f"bitemap-{'stock-' if stock else ''}{i}", progress, args.scenario_timeout)
                for i in range(args.guests)]
    try:
        progress.stage("bitemap", f"{target.tree.release}, {kvm}: booting {len(sessions)} guest(s)")
        if not guest_has_svm(sessions[0]):
            raise GuestError("the guest CPU has no SVM: kvm-amd cannot run", "run under TCG (--accel tcg), "
                             "whose -cpu max has SVM, or on an AMD host with nested virtualization")
        control_run = sessions[0].run(Scenario("control", policy, args.vendor, (), probe=False, workload=True))
        try:
            control = bm.check_control(control_run.output, control_run.crash, control_run.hung)
        except bm.ControlFailed as exc:
            raise GuestError(f"the control (kvm-amd, nothing knocked out) does not pass: {exc}",
                             f"see the console log in {sessions[0].log_path}") from exc
        progress.stage("bitemap", f"control: all {len(control)} workload steps pass")
        scenarios = [Scenario(h.key, policy, args.vendor, (h,), probe=False, workload=True) for h in hooks]
        done = [0]

        def on_done(run: ScenarioRun) -> None:
            done[0] += 1
            tag = " CRASHED" if run.crash else " HUNG" if run.hung else ""
            progress.stage("bitemap", f"{done[0]}/{len(scenarios)} {run.scenario.name} {run.seconds:.2f}s{tag}")

        runs = run_all(sessions, scenarios, on_done)
    finally:
        for session in sessions:
            session.shut()
    bites = bm.with_flags([bm.classify(run.scenario.nulled[0], run.output, run.crash, run.hung, control,
                                       target.hooks) for run in runs], target.tree.source)
    seconds = time.monotonic() - started
    table = tabulate(bm.rows(bites), headers=bm.HEADERS, tablefmt="github")
    summary = bm.summary(bites)
    print(table + "\n", file=outputs.human)
    for line in summary:
        print(line, file=outputs.human)
    progress.note(f"{len(bites)} knockouts in {seconds:.0f}s, {sum(s.boots for s in sessions)} boot(s)")
    if outputs.target("--json"):
        outputs.write("--json", json.dumps({
            **target.tree.meta(), "vendor": args.vendor, "kvm": args.kvm, "policy": policy.value,
            "seconds": round(seconds, 1), "boots": sum(s.boots for s in sessions),
            "control": [{"step": s.step, "result": s.result, "detail": s.detail} for s in control],
            "summary": summary, "bites": [b.to_json() for b in bites]}, indent=2) + "\n")
    if args.update_doc:
        path = Path(args.update_doc)
        name = "vendor-bitemap" + ("-stock" if stock else "")
        document = replace_section(path.read_text(), name, table + "\n\n" + "\n".join(f"* {s}" for s in summary))
        document = replace_section(document, f"{name}-release", f"Linux {target.tree.release}")
        path.write_text(document)
        progress.note(f"updated {name} in {path}")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("bitemap", help="knock each hook out of a real vendor (kvm-amd) and run a real "
                                            "guest workload: where does it break?")
    common_options(parser)
    guest_options(parser)
    parser.add_argument("--vendor", choices=("kvm-amd",), default="kvm-amd",
                        help="the real vendor (kvm-intel needs VMX, which TCG lacks)")
    kvm_options(parser, ("patched", "stock"), None)  # the patched one runs with missing_hook=warn
    parser.add_argument("--hooks", metavar="HOOKS", type=hook_selection("--hooks"),
                        help=f"knock out only these hooks: {HOOKS_HELP}")
    parser.add_argument("--guests", type=positive_int, default=2, help="guests running knockouts in parallel")
    parser.add_argument("--scenario-timeout", type=positive_float, default=20.0, metavar="S",
                        help="seconds before a knockout's guest counts as hung")
    parser.add_argument("--json", metavar="FILE", help="write the control and every bite as JSON")
    parser.add_argument("--update-doc", metavar="FILE",
                        help="replace the <!-- kvmnull:vendor-bitemap --> section (-stock with --kvm stock)")
    parser.epilog = STDOUT_EPILOG
    parser.set_defaults(handler=cmd_bitemap)
