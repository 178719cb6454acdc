"""``kvmnull evidence``: a console or dmesg log read back as typed records.

The exit status is for CI: 0, or 1 when the log holds a record of a kind
``--fail-on`` names; 2 when the file is no text log or an option is wrong.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from dataclasses import dataclass
from itertools import zip_longest

from tabulate import tabulate

from ..core.errors import PackageError, UsageError
from ..core.progress import Progress
from ..evidence import kernel_log as evidence
from ..evidence import reading
from ..evidence.records import Kind, Record
from ..fetch import packages
from ..kernel.facts import derive
from .common import STDOUT_EPILOG, Outputs

# --fail-on names: every record kind, and "refused" for both kinds of refusal
FAIL_KINDS: dict[str, frozenset[Kind]] = {
    **{kind.value: frozenset({kind}) for kind in Kind},
    "refused": frozenset({Kind.HOOK_REFUSED, Kind.VENDOR_REFUSED}),
}
FAILED = 1  # the exit status when a --fail-on kind is in the log


def cmd_evidence(args: argparse.Namespace) -> int:
    fail_on = fail_kinds(args.fail_on)  # before anything slow
    outputs = Outputs.of(args, "json")
    progress = Progress(verbose=args.verbose, quiet=True)
    text = reading.read_log(args.logfile)
    name = "standard input" if args.logfile == "-" else args.logfile
    logged = evidence.release_in(text)
    choice = Choice(None, None) if args.no_kernel else _kernel_of(args, logged, progress)
    hooks = derive(choice.tree, progress).hooks if choice.tree else None
    records = evidence.parse(text, hooks)
    if choice.tree and choice.nearer:
        records = evidence.against_nearer(records, choice.tree.release)
    if not records and not reading.looks_like_kernel_log(text):
        note(f"{name} has no kernel-log-like line (no printk timestamp, kernel banner or harness marker) "
             "and no record: is it a console or dmesg log?")
    out = outputs.human  # standard error when the JSON goes to standard output
    rows = [[r.line, r.kind.value, r.seen.value, r.summary()] for r in records]
    print(tabulate(rows, headers=["line", "kind", "seen", "what"]), file=out)
    if choice.tree:
        nearer = f", the nearest release to the log's {logged}" if choice.nearer else ""
        print(f"\nheader lines resolved with {choice.tree.release} (from {choice.how}{nearer})", file=out)
    failing = [r for r in records if r.kind in fail_on]
    data = {"log": name, "log_release": logged, "kernel": choice.tree.release if choice.tree else None,
            "kernel_from": choice.how, "kernel_nearer": choice.nearer,
            "fail_on": sorted(k.value for k in fail_on), "failing": len(failing),
            "records": [r.to_json() for r in records]}
    outputs.write("--json", json.dumps(data, indent=2) + "\n")
    if failing:
        print(f"kvmnull: --fail-on {args.fail_on}: {_count(failing)}; the first, line {failing[0].line}: "
              f"{failing[0].summary()}", file=sys.stderr)
        return FAILED
    return 0


def fail_kinds(value: str | None) -> frozenset[Kind]:
    """The record kinds ``--fail-on KIND,...`` names; a :class:`UsageError` naming the valid ones."""
    names = [n.strip() for n in (value or "").split(",") if n.strip()]
    unknown = [n for n in names if n not in FAIL_KINDS]
    if unknown or (value is not None and not names):
        raise UsageError(f"--fail-on {value!r}: {', '.join(map(repr, unknown)) or 'no kind'} is not a record kind",
                         f"name one or more of: {', '.join(FAIL_KINDS)} (comma-separated)")
    return frozenset(kind for n in names for kind in FAIL_KINDS[n])


def _count(records: list[Record]) -> str:
    counts = Counter(r.kind.value for r in records)
    return ", ".join(f"{n} {kind} record{'s' if n > 1 else ''}" for kind, n in sorted(counts.items()))


@dataclass(frozen=True)
class Choice:
    """The kernel whose headers resolve the log's anonymous WARNs, and how it was chosen."""

    tree: packages.KernelTree | None
    how: str | None  # "--kernel", "the log", "--nearest"
    nearer: bool = False  # a release near the log's own, not its own


@dataclass(frozen=True)
class AptAnswer:
    """What apt serves of the log's kernel: its exact release, the newest of its series, or why it was
    not asked."""

    exact: packages.PackageSet | None = None
    newest: packages.PackageSet | None = None
    error: str | None = None


def nearest(release: str, trees: list[packages.KernelTree]) -> packages.KernelTree | None:
    """The tree of ``release``'s series whose release is closest to it: the first version number that
    differs decides, by how much it differs (6.1.0-57 is nearer 6.1.0-56 than 6.1.0-40 is)."""
    series = ".".join(release.split(".")[:2])
    key = _numbers(release)

    def distance(tree: packages.KernelTree) -> tuple[int, ...]:
        return tuple(abs(a - b) for a, b in zip_longest(_numbers(tree.release), key, fillvalue=0))

    return min((t for t in trees if t.series == series), key=distance, default=None)


def _numbers(release: str) -> tuple[int, ...]:
    return tuple(int(n) for n in re.findall(r"\d+", release))


def _ask_apt(spec: packages.KernelSpec, cache_dir: str | None, progress: Progress) -> AptAnswer:
    """Does apt still serve ``spec``'s exact release (and, if not, the newest of its series)?"""
    cache = packages.cache_root(cache_dir)
    try:
        exact = packages.resolve(spec, cache, progress)
        if exact is not None:
            return AptAnswer(exact=exact)
        return AptAnswer(newest=packages.resolve(packages.KernelSpec(series=spec.series), cache, progress))
    except PackageError as exc:
        return AptAnswer(error=exc.message)


def _kernel_of(args: argparse.Namespace, logged: str | None, progress: Progress) -> Choice:
    """``--kernel`` wins; otherwise the exact release the log names, from the cache (or fetched, with
    ``--fetch``).  Another release of the series only with ``--nearest``: header lines move between
    releases, and every WARN resolved through it is marked so."""
    cache = packages.cache_root(args.cache)
    if args.kernel:
        tree = packages.fetch(packages.KernelSpec.parse(args.kernel), cache, progress, offline=not args.fetch)
        if logged and logged != tree.release:
            note(f"the log is from {logged}, but --kernel chose {tree.release}: its header lines may differ")
        return Choice(tree, "--kernel")
    if not logged:
        note("the log names no kernel release (no banner, no report CPU line); anonymous WARNs stay "
             "unresolved: pass --kernel SERIES|ABI")
        return Choice(None, None)
    trees = packages.cached_trees(cache)
    cached = next((t for t in trees if t.release == logged), None)
    if cached is not None:
        return Choice(cached, "the log")
    abi = re.sub(r"-[a-z]+-amd64$", "", logged)
    try:
        spec = packages.KernelSpec.parse(abi)
    except PackageError as exc:
        note(f"the log is from {logged} ({exc.message}): anonymous WARNs stay unresolved; "
             "pass --kernel SERIES|ABI")
        return Choice(None, None)
    answer = _ask_apt(spec, args.cache, progress)
    if args.fetch and (answer.exact or answer.error):  # asking again fails with apt's own error
        return Choice(packages.fetch(spec, cache, progress), "the log")
    near = nearest(logged, trees)
    cache_option = f" --cache {args.cache}" if args.cache else ""
    gone = answer.exact is None and answer.error is None
    newest = f" (the newest {spec.series} it serves is {answer.newest.release})" if answer.newest else ""
    missing = (f"the log is from {logged}, which is not in the cache"
               + (f" and which apt no longer serves{newest}" if gone else ""))
    if args.nearest:
        if near is None and args.fetch and answer.newest:
            near = packages.fetch(packages.KernelSpec(series=spec.series, abi=answer.newest.abi), cache, progress)
        if near is not None:
            note(f"{missing}: resolving against {near.release}, the nearest {spec.series} release at hand; "
                 "WARNs resolved through its header are marked so")
            return Choice(near, "--nearest", nearer=True)
        offer = f": add --fetch to fetch {answer.newest.release}" if answer.newest else ""
        note(f"{missing}, and no {spec.series} release is cached{offer}; anonymous WARNs stay unresolved")
        return Choice(None, None)
    if args.fetch:  # gone
        instead = near.release if near else answer.newest.release if answer.newest else None
        raise PackageError(f"--fetch: apt no longer serves {abi}, the kernel the log is from{newest}",
                           f"add --nearest to resolve against {instead}, a nearer release of {spec.series}"
                           if instead else "pass --kernel SERIES|ABI")
    offers = []
    if answer.exact:
        offers.append(f"run `kvmnull fetch --kernel {abi}{cache_option}`, or add --fetch")
    elif answer.error:
        offers.append(f"`kvmnull fetch --kernel {abi}{cache_option}` fetches it if apt still serves it "
                      f"(apt could not be asked: {answer.error})")
    if near is not None:
        offers.append(f"--nearest resolves against the cached {near.release}, the nearest {spec.series} release")
    elif answer.newest:
        offers.append(f"--nearest --fetch resolves against {answer.newest.release}")
    offers = offers or ["pass --kernel SERIES|ABI"]
    note(f"{missing}: anonymous WARNs stay unresolved; {'; or '.join(offers)}")
    return Choice(None, None)


def note(text: str) -> None:
    print(f"kvmnull: note: {text}", file=sys.stderr)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ev = sub.add_parser("evidence", help="parse a console or dmesg log into evidence records",
                        description="Read a console or dmesg log (plain, gzip or xz) as evidence records. "
                                    f"Exit status: 0; {FAILED} when --fail-on names a kind the log holds; "
                                    "2 when the file is no text log or an option is wrong.",
                        epilog=STDOUT_EPILOG)
    ev.add_argument("logfile", help="log file ('-': standard input)")
    ev.add_argument("--kernel", metavar="SERIES|ABI", help="resolve anonymous WARNs with this kernel's headers "
                    "(default: the release the log names)")
    ev.add_argument("--no-kernel", action="store_true", help="resolve nothing: look up no kernel")
    ev.add_argument("--fetch", action="store_true", help="fetch the log's kernel when it is not cached")
    ev.add_argument("--nearest", action="store_true",
                    help="when the log's exact release is neither cached nor fetched, resolve against the "
                         "nearest cached release of its series (with --fetch: the newest apt serves); "
                         "WARNs so resolved are marked")
    ev.add_argument("--cache", metavar="DIR", help="cache folder")
    ev.add_argument("--json", metavar="FILE", help="write the records as JSON ('-': standard output, the table "
                    "then goes to standard error)")
    ev.add_argument("--fail-on", metavar="KIND,...",
                    help=f"exit {FAILED} when the log holds a record of one of these kinds: "
                         f"{', '.join(FAIL_KINDS)}")
    ev.add_argument("-v", "--verbose", action="store_true")
    ev.set_defaults(handler=cmd_evidence)
