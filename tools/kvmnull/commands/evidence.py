"""``kvmnull evidence``: a console or dmesg log read back as typed records."""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

from tabulate import tabulate

from ..core.errors import UsageError
from ..core.progress import Progress
from ..evidence import kernel_log as evidence
from ..fetch import packages
from ..kernel.facts import derive
from .prepare import kernel_tree


def cmd_evidence(args: argparse.Namespace) -> int:
    progress = Progress(verbose=args.verbose, quiet=True)
    try:
        # bytes, not text mode: universal newlines would turn a console's \r\r\n into two lines
        raw = Path(args.logfile).read_bytes() if args.logfile != "-" else sys.stdin.buffer.read()
    except OSError as exc:
        raise UsageError(f"cannot read {args.logfile}: {exc.strerror}",
                         "give the path of a console or dmesg log") from exc
    text = raw.decode("utf-8", errors="replace")
    logged = evidence.release_in(text)
    tree, how = (None, None) if args.no_kernel else _kernel_of(args, logged, progress)
    hooks = derive(tree, progress).hooks if tree else None
    records = evidence.parse(text, hooks)
    rows = [[r.line, r.kind.value, r.summary()] for r in records]
    print(tabulate(rows, headers=["line", "kind", "what"]))
    if tree:
        print(f"\nheader lines resolved with {tree.release} (from {how})")
    if args.json:
        data = {"log_release": logged, "kernel": tree.release if tree else None, "kernel_from": how,
                "records": [r.to_json() for r in records]}
        Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
    return 0


def _kernel_of(args: argparse.Namespace, logged: str | None,
               progress: Progress) -> tuple[packages.KernelTree | None, str | None]:
    """The kernel whose headers resolve the log's anonymous WARNs, and how it was chosen.

    ``--kernel`` wins; otherwise the exact release the log names, from the cache (or
    fetched, with ``--fetch``).  Never another release: header lines move between them.
    """
    if args.kernel:
        tree = kernel_tree(args, progress)
        if logged and logged != tree.release:
            note(f"the log is from {logged}, but --kernel chose {tree.release}: its header lines may differ")
        return tree, "--kernel"
    if not logged:
        note("the log names no kernel release (no banner, no report CPU line); anonymous WARNs stay "
             "unresolved: pass --kernel SERIES|ABI")
        return None, None
    cache = packages.cache_root(args.cache)
    cached = next((t for t in packages.cached_trees(cache) if t.release == logged), None)
    if cached is not None:
        return cached, "the log"
    abi = re.sub(r"-[a-z]+-amd64$", "", logged)
    if args.fetch:
        wanted = packages.KernelSpec.parse(abi)
        return packages.fetch(wanted, cache, progress), "the log"
    note(f"the log is from {logged}, which is not in the cache: anonymous WARNs stay unresolved; "
         f"run `kvmnull fetch --kernel {abi}`, or add --fetch")
    return None, None


def note(text: str) -> None:
    print(f"kvmnull: note: {text}", file=sys.stderr)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ev = sub.add_parser("evidence", help="parse a console or dmesg log into evidence records")
    ev.add_argument("logfile", help="log file ('-': standard input)")
    ev.add_argument("--kernel", metavar="SERIES|ABI", help="resolve anonymous WARNs with this kernel's headers "
                    "(default: the release the log names)")
    ev.add_argument("--no-kernel", action="store_true", help="resolve nothing: look up no kernel")
    ev.add_argument("--fetch", action="store_true", help="fetch the log's kernel when it is not cached")
    ev.add_argument("--cache", metavar="DIR", help="cache folder")
    ev.add_argument("--json", metavar="FILE", help="write the records as JSON")
    ev.add_argument("-v", "--verbose", action="store_true")
    ev.set_defaults(handler=cmd_evidence, offline=True)
