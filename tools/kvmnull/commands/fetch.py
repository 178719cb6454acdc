"""``kvmnull fetch``: the target kernel's packages into the cache."""

from __future__ import annotations

import argparse

from .common import common_options, kernel_request, progress_of
from .prepare import kernel_tree


def cmd_fetch(args: argparse.Namespace) -> int:
    tree = kernel_tree(kernel_request(args), progress_of(args))
    print(tree.path)
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    fetch = sub.add_parser("fetch", help="fetch the target kernel's packages into the cache")
    common_options(fetch)
    fetch.set_defaults(handler=cmd_fetch)
