"""``kvmnull evidence``: a console or dmesg log read back as typed records."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path

from tabulate import tabulate

from . import evidence
from .errors import KvmnullError, UsageError
from .progress import Progress
from .target import load


def cmd_evidence(args: argparse.Namespace) -> int:
    progress = Progress(verbose=args.verbose, quiet=True)
    try:
        # bytes, not text mode: universal newlines would turn a console's \r\r\n into two lines
        raw = Path(args.logfile).read_bytes() if args.logfile != "-" else sys.stdin.buffer.read()
    except OSError as exc:
        raise UsageError(f"cannot read {args.logfile}: {exc.strerror}",
                         "give the path of a console or dmesg log") from exc
    hooks = None
    if args.kernel or not args.no_kernel:
        try:
            hooks = load(args, progress).hooks  # offline: a log is read, nothing fetched
        except KvmnullError as exc:
            if args.kernel:  # asked for by name: that is an error, not a detail
                raise
            print(f"kvmnull: note: {exc.message}; anonymous WARNs stay unresolved",
                  file=sys.stderr)
    records = evidence.parse(raw.decode("utf-8", errors="replace"), hooks)
    rows = [[r.line, r.kind.value, r.summary()] for r in records]
    print(tabulate(rows, headers=["line", "kind", "what"]))
    if args.json:
        Path(args.json).write_text(json.dumps([r.to_json() for r in records], indent=2) + "\n")
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser],
               common: Callable[[argparse.ArgumentParser], None],
               guest_options: Callable[[argparse.ArgumentParser], None]) -> None:
    del common, guest_options  # a log needs neither a guest nor a fetch
    ev = sub.add_parser("evidence", help="parse a console or dmesg log into evidence records")
    ev.add_argument("logfile", help="log file ('-': standard input)")
    ev.add_argument("--kernel", metavar="SERIES|ABI", help="resolve anonymous kvm-x86-ops.h WARNs with this "
                    "cached kernel's header (default: the newest cached default kernel)")
    ev.add_argument("--no-kernel", action="store_true", help="do not look up a cached kernel")
    ev.add_argument("--cache", metavar="DIR", help="cache folder")
    ev.add_argument("--json", metavar="FILE", help="write the records as JSON")
    ev.add_argument("-v", "--verbose", action="store_true")
    ev.set_defaults(handler=cmd_evidence, offline=True)
