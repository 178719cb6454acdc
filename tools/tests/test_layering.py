"""The package's import graph follows the data flow: fetch -> build -> initramfs -> guest -> evidence ->
verdict -> report, with the commands on top.  A module may import only from its own layer or below."""

from __future__ import annotations

import re
from pathlib import Path

import kvmnull
from kvmnull.build import package_imports as imports

PACKAGE = Path(kvmnull.__file__).resolve().parent

# lowest first; a module imports only from layers at or below its own
LAYERS: tuple[tuple[str, ...], ...] = (
    ("errors", "progress", "process", "cpp", "abi", "harness"),  # facts and plumbing
    ("apt", "packages", "kconfig", "hooks"),  # fetch, and what the target says
    ("stubgen", "toolchain", "build"),  # build
    ("initramfs",),
    ("guest", "scenario"),  # guest
    ("evidence", "ktap"),  # evidence
    ("contract", "census", "history", "bitemap"),  # verdict
    ("report",),  # report
    ("target",),  # where the stages meet
    ("run_cli", "evidence_cli", "census_cli", "bitemap_cli", "matrix", "selftest", "cli", "__main__",
     "__init__"),  # commands
)


def layer_of(module: str) -> int:
    return next(i for i, layer in enumerate(LAYERS) if module in layer)


def test_every_module_has_a_layer() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assigned = {m for layer in LAYERS for m in layer}
    assert modules == assigned


def test_no_import_goes_against_the_data_flow() -> None:
    backwards = []
    for path in sorted(PACKAGE.glob("*.py")):
        for target in sorted(imports(path)):
            if layer_of(target) > layer_of(path.stem):
                backwards.append(f"{path.stem} -> {target}")
    assert backwards == []


def test_the_edges_the_review_named_are_gone() -> None:
    assert "scenario" not in imports(PACKAGE / "census.py")
    assert "packages" not in imports(PACKAGE / "kconfig.py")
    assert "evidence" not in imports(PACKAGE / "scenario.py")


def test_the_readme_layout_table_names_every_module() -> None:
    readme = (PACKAGE.parents[1] / "README.md").read_text()
    row = next(line for line in readme.splitlines() if line.startswith("| `tools/kvmnull/`"))
    listed = set(re.findall(r"`(\w+)`", row.split("|")[2]))
    assert listed == {p.stem for p in PACKAGE.glob("*.py")} - {"__init__", "__main__"}
