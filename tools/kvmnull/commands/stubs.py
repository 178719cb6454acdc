"""``kvmnull stubs``: kvm-null's generated headers for a kernel source tree (by-hand builds)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..build.stubgen import GENERATED_HEADER, read_facts, write_header
from ..kernel import kconfig
from ..kernel.hooks import load_hooks


def cmd_stubs(args: argparse.Namespace) -> int:
    config = kconfig.read_dotconfig(args.config)
    hooks = load_hooks(args.source, config.evaluator())
    facts = read_facts(args.source, config.evaluator())
    for warning in write_header(hooks, facts, str(args.source), args.out):
        print(f"kvmnull: warning: {warning}", file=sys.stderr)
    print(args.out / GENERATED_HEADER)
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    stubs = sub.add_parser("stubs", help="write kvm_null_hooks.h for a kernel source tree (by-hand builds)")
    stubs.add_argument("--source", required=True, type=Path, help="kernel source tree")
    stubs.add_argument("--config", required=True, type=Path, help="the kernel's .config")
    stubs.add_argument("--out", required=True, type=Path, help="folder to write kvm_null_hooks.h into")
    stubs.set_defaults(handler=cmd_stubs)
