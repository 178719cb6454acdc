"""The ``kvmnull`` command line: one module per command, each adding its own parser."""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import KvmnullError
from . import bitemap, build, census, evidence, fetch, kernels, lint, matrix, review, run, selftest, stubs

# in the order `kvmnull --help` lists them
COMMANDS = (fetch, kernels, build, stubs, run, evidence, census, lint, review, bitemap, matrix, selftest)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="kvmnull", description=(
        "Test the KVM x86 vendor hook contract: a patched kvm.ko that refuses or WARNs on NULL "
        "mandatory hooks, and kvm-null, a vendor module whose hooks can be left NULL."))
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except KvmnullError as exc:
        print(f"kvmnull: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("kvmnull: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: say so, and where (the traceback with -v)
        if getattr(args, "verbose", False):
            traceback.print_exc()
        where = traceback.extract_tb(exc.__traceback__)[-1]
        print(f"kvmnull: internal error in {Path(where.filename).stem}.{where.name}: {type(exc).__name__}: {exc}"
              + ("" if getattr(args, "verbose", False) else " (run with -v for the traceback)"), file=sys.stderr)
        return 3


if __name__ == "__main__":
    sys.exit(main())
