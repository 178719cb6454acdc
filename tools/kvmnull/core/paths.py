"""Where kvmnull's own data lives: the C sources, the kbuild patches and the selftests.

In a checkout they are the repository's folders; a non-editable install carries
a copy of them inside the package (``_data/``, written by ``setup.py``).  Every
other module asks here, so that there is one answer and one error when the data
is missing.
"""

from __future__ import annotations

import functools
from pathlib import Path

from .errors import DataError

_PACKAGE = Path(__file__).resolve().parents[1]
# the folders kvmnull reads from its data root; a root is complete when each exists
FOLDERS = ("module", "kbuild", "selftests")


def _candidates() -> tuple[Path, ...]:
    return (_PACKAGE.parents[1], _PACKAGE / "_data")  # the checkout (tools/kvmnull/..), then the install


@functools.cache
def data_root() -> Path:
    """The folder holding ``module/``, ``kbuild/`` and ``selftests/``."""
    for root in _candidates():
        if all((root / folder).is_dir() for folder in FOLDERS) and (root / "module" / "kvm_null.c").is_file():
            return root
    places = " or ".join(str(c) for c in _candidates())
    raise DataError(f"kvmnull's data ({', '.join(f + '/' for f in FOLDERS)}) is in neither {places}",
                    "run from a checkout, or reinstall kvmnull from one (pip install .)")


def data(*parts: str) -> Path:
    """A file or folder of the data root, which must exist."""
    path = data_root().joinpath(*parts)
    if not path.exists():
        raise DataError(f"kvmnull's data lacks {'/'.join(parts)} (looked in {data_root()})",
                        "restore it from version control, or reinstall kvmnull")
    return path


def module_dir() -> Path:
    """kvm-null's sources (``kvm_null.c``, ``kvm_null_abi.h``, ``Kbuild``)."""
    return data("module")


def kbuild_dir() -> Path:
    """``kvm.Kbuild``, ``knockout/`` and ``patches/<series>/``."""
    return data("kbuild")


def patches_dir() -> Path:
    return data("kbuild", "patches")


def knockout_dir() -> Path:
    return data("kbuild", "knockout")


def selftests_dir() -> Path:
    """The kselftest directory, the probe and the workload."""
    return data("selftests")


def provoke_dir() -> Path:
    return data("selftests", "provoke")


def package_dir() -> Path:
    """The kvmnull package itself (its Python is part of what a build and a derived fact depend on)."""
    return _PACKAGE
