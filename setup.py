# SPDX-License-Identifier: GPL-2.0
"""kvmnull's build: pyproject.toml holds the metadata; this adds the data a non-editable install needs.

kvmnull reads ``module/``, ``kbuild/`` and ``selftests/`` through
``kvmnull.core.paths``, from the checkout or else from ``kvmnull/_data/``.
A wheel gets a copy of the files of those folders that kvmnull uses (sources,
headers, Kbuild files and Makefiles, patches, semantic patches, kselftest
config and settings), never build output.
"""

from __future__ import annotations

import fnmatch
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
FOLDERS = ("module", "kbuild", "selftests")  # kvmnull.core.paths.FOLDERS
WANTED = ("*.c", "*.h", "*.S", "*.patch", "*.cocci", "Kbuild", "*.Kbuild", "Makefile", "config", "settings")
# Kbuild's output beside the sources, and the stubs `make modules` generates
UNWANTED = ("*.mod.c",)
UNWANTED_DIRS = ("module/gen",)


def data_files(root: Path = ROOT) -> list[Path]:
    """The data files under ``root``, relative to it, sorted."""
    found = []
    for folder in FOLDERS:
        if not (root / folder).is_dir():
            raise SystemExit(f"setup.py: {root / folder} is missing: build kvmnull from a checkout or its sdist")
        for path in sorted((root / folder).rglob("*")):
            relative = path.relative_to(root)
            if not path.is_file() or any(relative.is_relative_to(d) for d in UNWANTED_DIRS):
                continue
            if any(part.startswith(".") for part in relative.parts):
                continue
            if (any(fnmatch.fnmatch(path.name, p) for p in WANTED)
                    and not any(fnmatch.fnmatch(path.name, p) for p in UNWANTED)):
                found.append(relative)
    return found


class BuildWithData(build_py):
    """build_py that also copies the data folders into ``kvmnull/_data/`` of the build."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout itself
        target = Path(self.build_lib) / "kvmnull" / "_data"
        if target.exists():
            shutil.rmtree(target)
        for relative in data_files():
            destination = target / relative
            destination.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / relative, destination)


setup(cmdclass={"build_py": BuildWithData})
