"""``kvmnull kernels``: the series kvmnull supports, what apt offers and what is cached."""

from __future__ import annotations

import argparse

from tabulate import tabulate

from ..core.progress import Progress
from ..fetch import packages


def cmd_kernels(args: argparse.Namespace) -> int:
    progress = Progress(verbose=args.verbose, quiet=True)
    cache = packages.cache_root(args.cache)
    cached = packages.cached_trees(cache)
    rows = []
    for series in packages.supported_series():
        newest = None if args.offline else packages.resolve(packages.KernelSpec(series=series), cache, progress)
        here = [t.release for t in cached if t.series == series]
        rows.append([series, "(default)" if series == packages.DEFAULT_SERIES else "",
                     f"{newest.release} ({newest.version})" if newest else ("-" if not args.offline else "?"),
                     ", ".join(here) or "-"])
    print(tabulate(rows, headers=["series", "", "newest apt offers", "cached"], disable_numparse=True))
    return 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    kernels = sub.add_parser("kernels", help="the kernel series kvmnull supports: what apt offers, what is cached")
    kernels.add_argument("--cache", metavar="DIR", help="cache folder")
    kernels.add_argument("--offline", action="store_true", help="only what is cached; ask apt nothing")
    kernels.add_argument("-v", "--verbose", action="store_true", help="print the exact commands run")
    kernels.set_defaults(handler=cmd_kernels)
