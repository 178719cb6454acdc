"""What every command shares: its common options, typed option values, the requests built from them,
and where its output goes."""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..core.errors import KvmnullError, UsageError
from ..core.progress import Progress
from ..fetch import packages
from ..fetch.patches import read_patches
from ..guest.scenario import Policy
from ..kernel.facts import KernelFacts
from ..kernel.hooks import Hook
from ..kernel.selection import HookSelection, choose, classified_in
from .prepare import GuestRequest, KernelRequest

# ---- typed option values: a bad number is an argparse error (exit 2) before anything runs ----


def positive_int(text: str) -> int:
    """An integer of 1 or more."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number (1 or more)") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is out of range: it must be 1 or more")
    return value


def positive_float(text: str) -> float:
    """A finite number above 0."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number (above 0)") from None
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is out of range: it must be a finite number above 0")
    return value


def hook_selection(option: str) -> Callable[[str], HookSelection]:
    """The argparse type of an option that chooses hooks: the selection grammar, parsed once."""
    def parse(text: str) -> HookSelection:
        try:
            return HookSelection.parse(text, option)
        except KvmnullError as exc:  # argparse names the option itself
            message = exc.message.removeprefix(f"{option}: ").removeprefix(f"{option} ")
            raise argparse.ArgumentTypeError(f"{message} (remedy: {exc.remedy})" if exc.remedy else message) from None
    parse.__name__ = "hook selection"  # what argparse calls the type in its messages
    return parse


def patched_policy(text: str) -> Policy:
    """``refuse`` or ``warn``: the patched kvm.ko's missing_hook; Debian's own kvm.ko is ``--kvm stock``."""
    if text == Policy.UPSTREAM.value:
        raise argparse.ArgumentTypeError("'upstream' is not a policy of the patched kvm.ko: Debian's own kvm.ko "
                                         "is chosen with --kvm stock (use --kvm stock instead of --policy upstream)")
    try:
        policy = Policy(text)
    except ValueError:
        policy = Policy.UPSTREAM
    if not policy.patched:
        valid = ", ".join(p.value for p in Policy if p.patched)
        raise argparse.ArgumentTypeError(f"invalid choice: {text!r} (choose from {valid})")
    return policy


class _Gone(argparse.Action):
    """An option that no longer exists: using it is an error whose remedy is the new spelling."""

    def __init__(self, option_strings: Sequence[str], dest: str, remedy: Callable[[str], str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(option_strings, dest, help=argparse.SUPPRESS, **kwargs)
        self.remedy = remedy or (lambda value: "")

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, values: Any,
                 option_string: str | None = None) -> None:
        parser.error(f"{option_string} is no longer an option; use {self.remedy(str(values))}")


def gone_table_option(parser: argparse.ArgumentParser, old: str, new: str, table: str) -> None:
    """``--null-pmu refresh`` and the like: now ``--null pmu.refresh`` (one grammar for every table)."""
    def remedy(value: str) -> str:
        items = ",".join(f"{table}.{v.strip()}" if "." not in v else v.strip() for v in value.split(","))
        return f"{new} {items}"
    parser.add_argument(old, action=_Gone, remedy=remedy, metavar="HOOKS")


# ---- the options ----

HOOKS_HELP = ("comma list of table.hook, a bare hook (when one table has it), @class or table.@class; "
              "classes: @mandatory, @optional, @ret0, @all")


def common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kernel", metavar="SERIES|ABI",
                        help=f"target kernel: a series ({packages.DEFAULT_SERIES}) or an exact ABI "
                             f"such as {packages.DEFAULT_SERIES}.117+deb12 (default: newest {packages.DEFAULT_SERIES})")
    parser.add_argument("--patch", metavar="FILE", action="append", default=[],
                        help="apply this patch (git format-patch, diff -u or an mbox of a series; repeatable, "
                             "in order, without fuzz) to the kernel's KVM source before kvmnull's own changes")
    parser.add_argument("--cache", metavar="DIR", help="cache folder (default: $KVMNULL_CACHE, "
                        "else $XDG_CACHE_HOME/kvmnull, else ~/.cache/kvmnull)")
    parser.add_argument("--offline", action="store_true", help="use only what is cached; ask apt nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the exact commands run")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def guest_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto",
                        help="QEMU accelerator (auto: KVM when the host's /dev/kvm can run the guest)")
    parser.add_argument("--timeout-multiplier", type=positive_float, default=1.0, metavar="X",
                        help="scale every guest timeout, for slow machines (a number above 0)")
    parser.add_argument("--log-dir", metavar="DIR",
                        help="where run folders go: each invocation writes its console logs into a new "
                             "DIR/<time>-<pid>-<command>/, DIR/latest naming the newest (default: ./out/runs)")


def kvm_options(parser: argparse.ArgumentParser, kinds: Sequence[str], policies: str | None) -> None:
    """``--kvm`` (which kvm.ko: patched, stock, both) and, when ``policies`` is ``one`` or ``many``,
    ``--policy`` (the patched one's missing_hook)."""
    helps = {"patched": "the patched kvm.ko", "stock": "Debian's own kvm.ko (policy 'upstream')",
             "both": "both, side by side"}
    parser.add_argument("--kvm", choices=tuple(kinds), default="patched",
                        help="which kvm.ko: " + "; ".join(f"{k}: {helps[k]}" for k in kinds) + " (default: patched)")
    valid = "|".join(p.value for p in Policy if p.patched)
    if policies == "one":
        parser.add_argument("--policy", type=patched_policy, metavar=valid,
                            help="the patched kvm.ko's missing_hook policy (default: refuse)")
    elif policies == "many":
        parser.add_argument("--policy", type=patched_policy, action="append", metavar=valid,
                            help="the patched kvm.ko's missing_hook policy to test (repeatable; default: both)")


def policies_of(args: argparse.Namespace, default: Sequence[Policy]) -> tuple[Policy, ...]:
    """``--kvm`` and ``--policy``: which kvm.ko runs, and under which policies (UPSTREAM: the stock one).
    ``default``: the patched kvm.ko's policies when ``--policy`` is not given."""
    given = getattr(args, "policy", None)
    chosen = list(given) if isinstance(given, list) else [given] if given is not None else []
    if args.kvm == "stock" and chosen:
        raise UsageError(f"--kvm stock runs Debian's own kvm.ko, which has no missing_hook policy "
                         f"(--policy {chosen[0].value})", "drop --policy, which chooses the patched kvm.ko's")
    policies = (chosen or list(default)) if args.kvm in ("patched", "both") else []
    if args.kvm in ("stock", "both"):
        policies.append(Policy.UPSTREAM)
    return tuple(dict.fromkeys(policies))


# ---- requests, built once from the arguments ----


def kernel_request(args: argparse.Namespace, kernel: str | None = None) -> KernelRequest:
    """The kernel ``--kernel`` (or ``kernel``) names, validated: a bad one is an error before anything slow."""
    return KernelRequest(packages.KernelSpec.parse(kernel if kernel is not None else args.kernel),
                         packages.cache_root(args.cache), bool(getattr(args, "offline", False)),
                         read_patches(getattr(args, "patch", None) or ()))


def guest_request(args: argparse.Namespace, policies: Sequence[Policy] = (Policy.REFUSE,)) -> GuestRequest:
    return GuestRequest(args.accel, args.timeout_multiplier, Path(args.log_dir) if args.log_dir else None,
                        args.command, packages.cache_root(args.cache), tuple(policies))


def progress_of(args: argparse.Namespace) -> Progress:
    return Progress(verbose=getattr(args, "verbose", False), quiet=getattr(args, "quiet", False))


def note(text: str) -> None:
    """A note on what the user asked for (shown with -q too)."""
    print(f"kvmnull: note: {text}", file=sys.stderr)


# ---- output files ----

STDOUT_EPILOG = "A FILE of '-' is standard output (for one option at most); the tables then go to standard error."


@dataclass(frozen=True)
class Outputs:
    """The files a command writes (``--json``, ``--junit``, ...), checked before anything runs.

    ``-`` is standard output; then the human table goes to standard error (:attr:`human`).
    At most one option may be ``-``.
    """

    targets: tuple[tuple[str, str], ...]  # (option, file or "-") for each option given

    @staticmethod
    def of(args: argparse.Namespace, *options: str) -> Outputs:
        """``options``: the destinations (``json``, ``junit``); those not given are left out."""
        targets = tuple((f"--{o.replace('_', '-')}", str(getattr(args, o))) for o in options
                        if getattr(args, o, None) is not None)
        dashes = [option for option, target in targets if target == "-"]
        if len(dashes) > 1:
            raise UsageError(f"{', '.join(dashes[:-1])} and {dashes[-1]} each ask for standard output ('-')",
                             "give at most one of them '-', the others file names")
        for option, target in targets:
            if target == "-":
                continue
            path = Path(target)
            if path.is_dir():
                raise UsageError(f"{option} {target}: is a folder", "name a file")
            if not path.parent.is_dir():
                raise UsageError(f"{option} {target}: no folder {path.parent}", "create it, or name another file")
        return Outputs(targets)

    def target(self, option: str) -> str | None:
        return dict(self.targets).get(option)

    @property
    def human(self) -> TextIO:
        """Where tables for people go: standard error when an output file is standard output."""
        return sys.stderr if any(t == "-" for _, t in self.targets) else sys.stdout

    def write(self, option: str, text: str) -> None:
        """Write ``text`` to ``option``'s destination, if the option was given."""
        target = self.target(option)
        if target == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
        elif target is not None:
            Path(target).write_text(text)


def chosen_hooks(selection: HookSelection, target: KernelFacts, request: KernelRequest) -> tuple[Hook, ...]:
    """The hooks ``selection`` chooses on ``target``; an error (naming the cached kernels that classify a
    table this one does not) when it names a hook the kernel lacks or chooses nothing."""
    return choose(selection, target.hooks, target.tree.release, classified_in(packages.cached_trees(request.cache)))


def write_json(data: object, target: str) -> None:
    """Write ``data`` as JSON to the file ``target``; ``-`` is standard output (see :class:`Outputs`)."""
    Outputs((("--json", target),)).write("--json", json.dumps(data, indent=2) + "\n")
