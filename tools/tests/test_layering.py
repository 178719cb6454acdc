"""The package's stages follow the data flow: fetch -> kernel facts -> build -> initramfs -> guest ->
evidence -> verdict -> report, with the shared plumbing below and the commands on top.  A module may
import only from its own package or from the packages below it."""

from __future__ import annotations

import re
from pathlib import Path

from kvmnull.core import paths, pysource

PACKAGE = paths.package_dir()

# lowest first; a module imports only from its own package or from packages below it
LAYERS: tuple[str, ...] = (
    "core",  # facts and plumbing: errors, progress, processes, the C preprocessor, the data folders
    "fetch",  # Debian's packages into the cache
    "kernel",  # what the target says: its config and hooks
    "build",  # kvm.ko, kvm-amd.ko, kvm-null.ko and the guest programs
    "initramfs",
    "guest",  # QEMU, the console, the in-guest harness, scenarios
    "evidence",  # kernel logs and KTAP into records
    "verdict",  # records judged against the contract
    "report",  # verdicts as tables, JSON, JUnit, KTAP
    "commands",  # one module per command
)


def package_of(module: str) -> str:
    return module.split(".")[0]


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if "_data" not in p.parts)


def test_the_stages_are_packages() -> None:
    packages = {p.parent.name for p in PACKAGE.glob("*/__init__.py")}
    assert packages == set(LAYERS)
    loose = {p.name for p in PACKAGE.glob("*.py")}
    assert loose == {"__init__.py", "__main__.py"}


def test_no_import_goes_against_the_data_flow() -> None:
    backwards = []
    for path in modules():
        name = pysource.module_name(path)
        if "." not in name:
            continue  # __main__ and the package itself sit above everything
        for target in sorted(pysource.imports(path)):
            if LAYERS.index(package_of(target)) > LAYERS.index(package_of(name)):
                backwards.append(f"{name} -> {target}")
    assert backwards == []


def test_the_import_graph_is_read() -> None:
    # the graph the test checks is the real one: a known import of each kind is seen
    assert "core.errors" in pysource.imports(PACKAGE / "kernel" / "hooks.py")
    assert "kernel.hooks" in pysource.imports(PACKAGE / "build" / "kbuild.py")
    assert "build.toolchain" in pysource.imports(PACKAGE / "build" / "kbuild.py")


def test_commands_do_not_import_each_other_but_through_main_and_prepare() -> None:
    shared = {"commands.main", "commands.prepare", "commands.common"}
    crossing = []
    for path in (PACKAGE / "commands").glob("*.py"):
        name = pysource.module_name(path)
        if name in shared:
            continue
        crossing += [f"{name} -> {t}" for t in pysource.imports(path)
                     if package_of(t) == "commands" and t not in shared]
    assert crossing == []


def test_the_edges_the_review_named_are_gone() -> None:
    assert "guest.scenario" not in pysource.imports(PACKAGE / "verdict" / "census.py")
    assert not any(t.startswith("fetch.") for t in pysource.imports(PACKAGE / "kernel" / "kconfig.py"))


def test_the_readme_layout_table_names_every_package_and_module() -> None:
    readme = (PACKAGE.parents[1] / "README.md").read_text()
    rows = {m.group(1): m.group(2) for m in re.finditer(r"^\| `tools/kvmnull/(\w+)/` \| (.*) \|$", readme, re.M)}
    assert set(rows) == set(LAYERS)
    for layer, text in rows.items():
        listed = set(re.findall(r"`(\w+)`", text))
        present = {p.stem for p in (PACKAGE / layer).glob("*.py")} - {"__init__"}
        assert listed == present, layer
