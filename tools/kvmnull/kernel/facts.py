"""A fetched kernel's facts: its evaluated config, its hooks and whom its kvm.ko exports to.

Evaluating the Kconfig tree takes seconds, so the facts are kept in the cache
entry, keyed by the Python that derives them and the files it reads.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from ..core import pysource
from ..core.progress import Progress
from ..fetch import packages
from . import kconfig
from .hooks import SUB_MODULES_HEADER, HookSet, load_hooks, vendor_modules
from .tables import Table


@dataclass(frozen=True)
class KernelFacts:
    """A fetched kernel, its evaluated config and its hooks."""

    tree: packages.KernelTree
    config: kconfig.KernelConfig
    hooks: HookSet
    vendor_modules: tuple[str, ...] | None = None  # whom the image's own kvm.ko exports to; None: anyone

    def admits(self, patched: bool, vendor: str) -> bool:
        """Can ``vendor`` link against kvm.ko?  The patched one admits kvm-null; the kernel's own
        only the modules its KVM_SUB_MODULES names, since 6.19."""
        return patched or self.vendor_modules is None or vendor in self.vendor_modules


def derive(tree: packages.KernelTree, progress: Progress) -> KernelFacts:
    """The config and hooks of a fetched kernel, from its cache entry when derived before."""
    digest = hashlib.sha256()
    for path in pysource.closure(pysource.module_name(Path(__file__))):
        digest.update(pysource.module_name(path).encode() + b"\0" + path.read_bytes())
    headers = (*(t.facts.ops_header for t in Table), *dict.fromkeys(t.facts.struct_header for t in Table),
               SUB_MODULES_HEADER)
    for path in (tree.config, *(tree.source / header for header in headers)):
        digest.update(path.name.encode() + b"\0" + (path.read_bytes() if path.exists() else b""))
    memo = tree.path / "derived" / f"target-{digest.hexdigest()[:16]}.json"
    try:
        data = json.loads(memo.read_text())
        config = kconfig.KernelConfig(dict(data["config"]), tree.release)
        modules = data["vendor_modules"]
        return KernelFacts(tree, config, HookSet.from_json(data["hooks"]),
                           tuple(modules) if modules is not None else None)
    except FileNotFoundError:
        pass
    except (OSError, ValueError, KeyError, TypeError) as exc:  # damaged: derive again, and say so
        progress.note(f"ignoring damaged {memo.name}: {exc}")
    progress.stage("kernel", f"evaluating the config and hooks of {tree.release}")
    config = kconfig.load(tree.source, tree.config, tree.release)
    hooks = load_hooks(tree.source, config.evaluator())
    modules = vendor_modules(tree.source, config.evaluator())
    memo.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=memo.parent, prefix=f".{memo.name}.", delete=False) as tmp:
        json.dump({"config": config.values, "hooks": hooks.to_json(), "vendor_modules": modules}, tmp)
    os.replace(tmp.name, memo)
    return KernelFacts(tree, config, hooks, modules)
