"""What every command shares: its common options, progress, and where its output goes."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..core.progress import Progress
from ..fetch import packages


def common_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--kernel", metavar="SERIES|ABI",
                        help=f"target kernel: a series ({packages.DEFAULT_SERIES}) or an exact ABI "
                             f"such as {packages.DEFAULT_SERIES}.117+deb12 (default: newest {packages.DEFAULT_SERIES})")
    parser.add_argument("--cache", metavar="DIR", help="cache folder (default: $KVMNULL_CACHE, "
                        "else $XDG_CACHE_HOME/kvmnull, else ~/.cache/kvmnull)")
    parser.add_argument("--offline", action="store_true", help="use only what is cached; ask apt nothing")
    parser.add_argument("-v", "--verbose", action="store_true", help="print the exact commands run")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def guest_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--accel", choices=("auto", "kvm", "tcg"), default="auto",
                        help="QEMU accelerator (auto: KVM when the host's /dev/kvm can run the guest)")
    parser.add_argument("--timeout-multiplier", type=float, default=1.0, metavar="X",
                        help="scale every guest timeout, for slow machines")
    parser.add_argument("--log-dir", metavar="DIR", help="where console logs go (default: ./out/logs)")


def progress_of(args: argparse.Namespace) -> Progress:
    return Progress(verbose=getattr(args, "verbose", False), quiet=getattr(args, "quiet", False))


def write_json(data: object, target: str) -> None:
    """Write ``data`` as JSON to the file ``target``; ``-`` is standard output."""
    text = json.dumps(data, indent=2) + "\n"
    if target == "-":
        sys.stdout.write(text)
    else:
        Path(target).write_text(text)
