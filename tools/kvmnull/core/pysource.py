"""Which kvmnull modules a kvmnull module imports, read from its source.

The build key and each cache entry's derived facts depend on the Python that
makes them; the layering test checks the same graph against the stages.
"""

from __future__ import annotations

import ast
from pathlib import Path

from . import paths


def module_path(name: str) -> Path:
    """``guest.qemu`` -> ``.../kvmnull/guest/qemu.py``; a package -> its ``__init__.py``."""
    base = paths.package_dir().joinpath(*name.split("."))
    return base / "__init__.py" if base.is_dir() else base.with_suffix(".py")


def module_name(path: Path) -> str:
    """The inverse of :func:`module_path`: a dotted name below the package."""
    relative = path.resolve().relative_to(paths.package_dir()).with_suffix("")
    parts = relative.parts[:-1] if relative.name == "__init__" else relative.parts
    return ".".join(parts)


def imports(path: Path) -> set[str]:
    """The kvmnull modules (dotted, below the package) that the module at ``path`` imports."""
    here = module_name(path).split(".")
    package = here if path.name == "__init__.py" else here[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if not isinstance(node, ast.ImportFrom) or node.level == 0:
            continue
        base = package[: len(package) - (node.level - 1)] if node.level > 1 else package
        prefix = [*base, *(node.module.split(".") if node.module else [])]
        for alias in node.names:
            candidate = ".".join([*prefix, alias.name])
            found.add(candidate if module_path(candidate).exists() else ".".join(prefix))
    found.discard("")
    return found


def closure(*names: str) -> list[Path]:
    """The modules ``names`` and every kvmnull module they import, directly or not, sorted."""
    seen: set[str] = set()
    todo = list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        todo += imports(module_path(name))
    return sorted(module_path(name) for name in seen)
