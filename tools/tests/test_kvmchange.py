# SPDX-License-Identifier: GPL-2.0
"""kvmnull's change generated at anchors in each series' own KVM source (build/kvmchange.py).

The expected facts come from reading each series' source: where kvm_x86_init_ops
keeps the nested table (7.3) or where the runtime ops do (7.2), how a failed
hardware_setup() unwinds (6.1 returns, later series goto out_mmu_exit), which
series restrict kvm.ko's exports (7.x's KVM_SUB_MODULES).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from kvmnull.build import kvmchange
from kvmnull.build.kbuild import copy_for_patching
from kvmnull.core.errors import BuildError
from kvmnull.core.progress import Progress
from kvmnull.fetch import packages
from kvmnull.kernel import kconfig
from kvmnull.kernel.hooks import HookSet, load_hooks
from kvmnull.kernel.tables import Table

from .conftest import reads_cache

# series -> (nested pointer or None, the statement a failed hardware_setup() runs, restricts exports)
READ_FROM_SOURCE = {
    "6.1": (None, "return r", False),
    "6.12": (None, "goto out_mmu_exit", False),
    "7.2": ("ops->runtime_ops->nested_ops", "goto out_mmu_exit", True),
    "7.3": ("ops->nested_ops", "goto out_mmu_exit", True),
}


@pytest.fixture(scope="module", params=sorted(READ_FROM_SOURCE))
@reads_cache
def target(request: pytest.FixtureRequest) -> tuple[packages.KernelTree, HookSet]:
    tree = packages.fetch(packages.KernelSpec(series=str(request.param)), packages.cache_root(), Progress(quiet=True),
                          offline=True)
    config = kconfig.load(tree.source, tree.config, tree.release)
    return tree, load_hooks(tree.source, config.evaluator())


def changed_copy(tree: packages.KernelTree, hooks: HookSet, dest: Path) -> list[kvmchange.Edit]:
    # the copy the build makes for a series without patches: arch/x86/kvm and virt/kvm only
    (dest / "arch" / "x86").mkdir(parents=True)
    for sub in ("arch/x86/kvm", "virt/kvm"):
        shutil.copytree(tree.source / sub, dest / sub)
    return kvmchange.change_kvm(dest, tree.source, hooks)


def test_the_change_lands_at_every_anchor(target: tuple[packages.KernelTree, HookSet], tmp_path: Path) -> None:
    tree, hooks = target
    nested, fail, restricted = READ_FROM_SOURCE[tree.series]
    edits = changed_copy(tree, hooks, tmp_path)
    x86 = (tmp_path / "arch/x86/kvm/x86.c").read_text()
    pmu = (tmp_path / "arch/x86/kvm/pmu.c").read_text()
    # no anonymous WARN_ON() of a hook is left in any table's update macro
    assert not re.search(r"WARN_ON\(!\S+\.func\)", x86 + pmu)
    # the check covers each classified table through the pointer the series hands it over in
    assert 'kvm_check_hook(&check, "kvm_x86_ops", ops->runtime_ops' in x86
    assert 'kvm_check_hook(&check, "kvm_pmu_ops", ops->pmu_ops' in x86
    assert (f'kvm_check_hook(&check, "kvm_x86_nested_ops", {nested},' in x86) == (nested is not None)
    assert ("kvm_x86_nested_ops" in x86.split("static int kvm_check_vendor_ops")[1].split("\n}\n")[0]) \
        == (nested is not None)
    # called once, right after the vendor's hardware_setup(), failing as that call fails
    call = re.search(r"r = ops->hardware_setup\(\);\n\s+if \(r(?: != 0)?\)\n\s+(?:goto \w+|return r);\n\n"
                     r"\s+r = kvm_check_vendor_ops\(ops\);\n\s+if \(r\) \{\n(?:.*\n){3}\s+(?P<fail>[^;]+);", x86)
    assert call is not None and call.group("fail") == fail and x86.count("kvm_check_vendor_ops(ops)") == 1
    # the check precedes kvm_ops_update(), with the parameter it reads
    assert x86.index("static int kvm_check_vendor_ops") < x86.index("void kvm_ops_update(")
    assert "module_param_cb(missing_hook, &missing_hook_ops, &kvm_missing_hook, 0644);" in x86
    # messages carry "kvm: " where x86.c has no pr_fmt (6.1)
    assert ('pr_err("kvm: vendor %s refused' in x86) == (tree.series == "6.1")
    svm = (tmp_path / "arch/x86/kvm/svm/svm.c").read_text()
    assert re.search(r"kvmnull_knockout\(&svm_x86_ops, &amd_pmu_ops, &svm_nested_ops\);\n\tif \(r\)\n\t\tgoto err;\n"
                     r"\n\treturn 0;\n\nerr:\n", svm)
    assert svm.count('#include "knockout.h"') == 1
    types = tmp_path / "include/linux/kvm_types.h"
    assert types.exists() == restricted
    if restricted:
        assert '__stringify(KVM_SUB_MODULES) ",kvm-null")' in types.read_text()
    assert {e.file for e in edits} >= {"arch/x86/kvm/x86.c", "arch/x86/kvm/pmu.c", "arch/x86/kvm/svm/svm.c"}


def test_the_generated_check_is_the_hand_written_one(target: tuple[packages.KernelTree, HookSet],
                                                     tmp_path: Path) -> None:
    # where a series has its own patch, both make kvm_check_vendor_ops() alike, up to layout and comments
    tree, hooks = target
    changed_copy(tree, hooks, tmp_path / "generated")
    copy_for_patching(tree.source, tmp_path / "patched", tree.series)
    for patch in sorted((Path(__file__).resolve().parents[2] / "kbuild" / "patches" / tree.series).glob("*.patch")):
        shutil.copy(patch, tmp_path / patch.name)
        assert subprocess.run(["patch", "-p1", "--batch", "-s", "-d", str(tmp_path / "patched"), "-i",
                               str(tmp_path / patch.name)]).returncode == 0

    def function(root: Path) -> str:
        text = (root / "arch/x86/kvm/x86.c").read_text()
        body = text.split("static int kvm_check_vendor_ops(")[1].split("\n}\n")[0]
        body = re.sub(r"/\*.*?\*/", "", body, flags=re.S)
        return " ".join(body.replace("\\\n", " ").split())
    assert function(tmp_path / "generated") == function(tmp_path / "patched")


def test_a_missing_anchor_is_named(target: tuple[packages.KernelTree, HookSet], tmp_path: Path) -> None:
    tree, hooks = target
    copy = tmp_path / "src"
    (copy / "arch" / "x86").mkdir(parents=True)
    for sub in ("arch/x86/kvm", "virt/kvm"):
        shutil.copytree(tree.source / sub, copy / sub)
    x86 = copy / "arch/x86/kvm/x86.c"
    x86.write_text(x86.read_text().replace("r = ops->hardware_setup();", "r = ops->hardware_setup_v2();"))
    with pytest.raises(BuildError, match=r"arch/x86/kvm/x86.c has no single 'r = ops->hardware_setup\(\)"):
        kvmchange.change_kvm(copy, tree.source, hooks)


def test_the_nested_pointer_is_read_from_kvm_host_h() -> None:
    # 7.2 hands nested ops over in kvm_x86_ops, 7.3 in kvm_x86_init_ops (the two shapes of kvm_host.h)
    old = "struct kvm_x86_ops {\n\tint (*x)(void);\n\tconst struct kvm_x86_nested_ops *nested_ops;\n};\n"
    new = "struct kvm_x86_init_ops {\n\tstruct kvm_x86_nested_ops *nested_ops;\n};\n"
    assert kvmchange.table_pointer(old, Table.NESTED) == "ops->runtime_ops->nested_ops"
    assert kvmchange.table_pointer(new, Table.NESTED) == "ops->nested_ops"
    with pytest.raises(BuildError, match="pointing to struct kvm_x86_nested_ops"):
        kvmchange.table_pointer("struct kvm_x86_ops {\n};\n", Table.NESTED)
