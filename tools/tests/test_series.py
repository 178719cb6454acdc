"""Every series besides the default: golden values on captured headers, and the real thing in a guest.

The default series (6.12) is covered in depth by the test_integration_*.py modules; here each
other supported series gets its build, its hook list, one scenario per outcome
under both policies, and the selftests.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections import Counter
from pathlib import Path

import pytest

from kvmnull.build.kbuild import BuildResult, build, copy_for_patching, patch_files, selftest_names
from kvmnull.build.stubgen import read_facts
from kvmnull.commands.main import main
from kvmnull.core.progress import Progress
from kvmnull.evidence import ktap
from kvmnull.fetch import packages
from kvmnull.kernel import kconfig
from kvmnull.kernel.hooks import HookClass, HookSet, Table, load_hooks, vendor_modules

from .conftest import DATA, reads_cache

CAPTURED_6_1 = DATA / "kernels" / "6.1.0-56-cloud-amd64"


@pytest.fixture(scope="module")
def hooks_6_1() -> HookSet:
    config = kconfig.read_dotconfig(CAPTURED_6_1 / "config")
    return load_hooks(CAPTURED_6_1 / "src", config.evaluator())


def test_6_1_hook_counts_and_names(hooks_6_1: HookSet) -> None:
    counts = Counter((h.table, h.hook_class) for h in hooks_6_1.hooks)
    assert counts[(Table.X86, HookClass.MANDATORY)] == 80
    assert counts[(Table.X86, HookClass.OPTIONAL)] == 29
    assert counts[(Table.X86, HookClass.OPTIONAL_RET0)] == 6
    assert counts[(Table.PMU, HookClass.MANDATORY)] == 12
    assert counts[(Table.PMU, HookClass.OPTIONAL)] == 2
    assert len(hooks_6_1.table(Table.NESTED)) == 11
    # 6.1 names what 6.12 renamed
    assert hooks_6_1.find(Table.X86, "hardware_enable") is not None
    assert hooks_6_1.find(Table.X86, "enable_virtualization_cpu") is None
    assert (hook := hooks_6_1.at_header("arch/x86/include/asm/kvm-x86-ops.h", 25)) and hook.name == "vcpu_create"


def test_6_1_facts_for_kvm_null() -> None:
    config = kconfig.read_dotconfig(CAPTURED_6_1 / "config")
    facts = read_facts(CAPTURED_6_1 / "src", config.evaluator())
    assert facts.kvm_init_takes_opaque
    assert {"cpu_has_kvm_support", "disabled_by_bios", "check_processor_compatibility"} <= set(facts.init_ops_members)
    assert "emergency_disable_virtualization_cpu" not in facts.x86_ops_members
    # KVM_X86 does not exist before 6.10: the requirement does not apply
    assert "KVM_X86" not in kconfig.read_dotconfig(CAPTURED_6_1 / "config").values
    assert config.value("KVM") == "m"


OTHER_SERIES = [s for s in packages.supported_series() if s != packages.DEFAULT_SERIES]


@pytest.fixture(scope="module", params=OTHER_SERIES)
def series(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
@reads_cache
def series_tree(series: str) -> packages.KernelTree:
    return packages.fetch(packages.KernelSpec(series=series), packages.cache_root(), Progress(quiet=True))


@pytest.fixture(scope="module")
def series_build(series_tree: packages.KernelTree) -> BuildResult:
    return build(series_tree, Progress(quiet=True))


@pytest.mark.build
def test_series_builds_warning_free_with_its_patch_applying_cleanly(series_tree: packages.KernelTree,
                                                                   series_build: BuildResult, tmp_path: Path) -> None:
    assert series_build.kvm_null_warnings == ()
    for path in (series_build.kvm_ko, series_build.kvm_amd_ko, series_build.kvm_null_ko):
        assert path.stat().st_size > 0
    copy_for_patching(series_tree.source, tmp_path, series_tree.series)
    checkpatch = series_tree.source / "scripts" / "checkpatch.pl"
    for patch in patch_files(series_tree.series):
        applied = subprocess.run(["patch", "-p1", "--dry-run", "--batch", "-d", str(tmp_path), "-i", str(patch)],
                                 capture_output=True, text=True)
        assert applied.returncode == 0 and "fuzz" not in applied.stdout  # an offset: a later point release
        checked = subprocess.run(["perl", str(checkpatch), "--no-tree", "--strict", "--quiet", str(patch)],
                                 capture_output=True, text=True)
        assert checked.returncode == 0, checked.stdout
    # the C of kvm-null and the selftests, by this series' own checkpatch too
    repo = Path(__file__).resolve().parents[2]
    for path in sorted([*(repo / "module").glob("*.[ch]"), *(repo / "selftests").glob("*.[ch]"),
                        *(repo / "kbuild" / "knockout").glob("*.[ch]"),
                        *(repo / "selftests" / "provoke").glob("*.[ch]")]):
        checked = subprocess.run(["perl", str(checkpatch), "--no-tree", "--strict", "--quiet", "-f", str(path)],
                                 capture_output=True, text=True)
        assert checked.returncode == 0, f"{path.name}:\n{checked.stdout}"
    # built with the compiler the kernel's config names, at its version: on the host for bookworm's 6.1; 7.x's
    # kbuild wants glibc 2.38 (bookworm has 2.36), so a userland of the suite it comes from builds it
    text = re.search(r'^CONFIG_CC_VERSION_TEXT="(\S+) \(.*\) (\S+)"$', series_tree.config.read_text(), re.M)
    assert text, "the config names no compiler"
    where = "the host" if series_tree.series == "6.1" else f"the {series_tree.suite} userland"
    command = text.group(1).removeprefix("x86_64-linux-gnu-")  # 6.1's config says "gcc-12"
    assert series_build.toolchain.startswith(f"x86_64-linux-gnu-{command} in {where}"), series_build.toolchain
    assert text.group(2) in series_build.toolchain


@pytest.mark.guest
@pytest.mark.parametrize(("argv", "observed"), [
    (["--null", "vcpu_create"], "refused"),
    (["--policy", "warn", "--null", "vcpu_create"], "warned"),
    (["--null", "pmu.refresh"], "refused"),
    (["--null", "vm_destroy"], "loaded"),
    (["--kvm", "stock", "--null", "vcpu_create"], "upstream"),
    # the real vendor with a hook knocked out, against the image's own kvm.ko: upstream's anonymous WARN,
    # named through this series' header line (on 7.3 too: its kvm.ko admits kvm-amd)
    (["--kvm", "stock", "--vendor", "kvm-amd", "--null", "vcpu_create", "--no-probe"], "warned"),
    (["--vendor", "kvm-amd", "--null", "get_cpl,pmu.refresh"], "refused"),
    (["--null", "nested.check_events"], "nested"),
    (["--policy", "warn", "--null", "nested.get_state"], "nested-warn"),
])
def test_series_one_scenario_per_outcome(series: str, series_build: BuildResult, tmp_path: Path, argv: list[str],
                                         observed: str, capsys: pytest.CaptureFixture[str]) -> None:
    # Debian's own kvm.ko: an anonymous WARN up to 6.18; from 6.19 it exports its vendor interface to
    # kvm-amd and kvm-intel only, so kvm-null cannot even link against it
    observed = {"upstream": {"6.1": "warned", "7.2": "not_admitted", "7.3": "not_admitted"}[series]}.get(
        observed, observed)
    if observed.startswith("nested"):
        if series == "6.1":  # nested ops are a classified table since 7.x
            pytest.skip(f"{series} has no kvm-x86-nested-ops.h")
        observed = "warned" if observed == "nested-warn" else "refused"
    out = tmp_path / "run.json"
    status = main(["run", "-q", "--offline", "--kernel", series, "--accel", "tcg", "--log-dir", str(tmp_path),
                   "--json", str(out), *argv])
    printed = capsys.readouterr().out
    scenario = json.loads(out.read_text())["scenarios"][0]
    assert status == 0 and scenario["observed"] == observed and scenario["pass"], printed
    assert json.loads(out.read_text())["kernel"].startswith(series + ".")


@pytest.mark.guest
def test_series_selftests(series: str, series_build: BuildResult, tmp_path: Path,
                          capsys: pytest.CaptureFixture[str]) -> None:
    status = main(["selftest", "--offline", "--kernel", series, "--accel", "tcg", "--log-dir", str(tmp_path)])
    printed = capsys.readouterr().out
    assert status == 0, printed
    reports = ktap.parse_all(printed)
    assert len(reports) == len(selftest_names())
    assert all(r.valid and not r.count(ktap.Status.FAIL) for r in reports)


CAPTURED_7_3 = DATA / "kernels" / "7.3.4+deb13-cloud-amd64"


def test_7_3_has_three_classified_tables() -> None:
    from kvmnull.report.hook_list import hook_summary

    config = kconfig.read_dotconfig(CAPTURED_7_3 / "config")
    hooks = load_hooks(CAPTURED_7_3 / "src", config.evaluator())
    counts = Counter((h.table, h.hook_class) for h in hooks.hooks)
    assert [counts[(Table.X86, c)] for c in (HookClass.MANDATORY, HookClass.OPTIONAL, HookClass.OPTIONAL_RET0)] == [
        81, 37, 13]
    assert [counts[(Table.PMU, c)] for c in (HookClass.MANDATORY, HookClass.OPTIONAL, HookClass.OPTIONAL_RET0)] == [
        9, 5, 1]
    assert [counts[(Table.NESTED, c)] for c in (
        HookClass.MANDATORY, HookClass.OPTIONAL, HookClass.OPTIONAL_RET0)] == [9, 1, 3]
    assert hook_summary(hooks) == ("131 x86 hooks, 15 PMU hooks, 13 nested hooks "
                                   "(+1 PMU-ops function pointer, unclassified)")
    # the same hooks sit on other lines than in 6.12
    header = "arch/x86/include/asm/kvm-x86-ops.h"
    assert [h.name for h in (hooks.at_header(header, 27), hooks.at_header(header, 38)) if h] == ["vcpu_create",
                                                                                                  "get_cpl"]
    assert (refresh := hooks.at_header("kvm-x86-pmu-ops.h", 22)) and refresh.name == "refresh"
    assert (nested := hooks.find(Table.NESTED, "has_events")) and nested.hook_class is HookClass.OPTIONAL_RET0
    assert hooks.find(Table.X86, "get_entry_info") is not None
    assert [h.name for h in hooks.hooks if h.stray_semicolon] == ["vcpu_get_apicv_inhibit_reasons"]
    # the three CONFIG_HAVE_KVM_ARCH_GMEM_* hooks are off in the cloud config
    assert all("GMEM" not in (h.guard or "") for h in hooks.hooks)
    facts = read_facts(CAPTURED_7_3 / "src", config.evaluator())
    assert not facts.kvm_init_takes_opaque and "nested_ops" in facts.init_ops_members
    assert facts.loader_eexist_is_ebusy
    assert "KVM_NULL_CLASSIFIED_nested" in facts.defines(hooks)
    # since 6.19 kvm.ko exports its vendor interface to the in-tree vendors only
    assert vendor_modules(CAPTURED_7_3 / "src", config.evaluator()) == ("kvm-amd", "kvm-intel")


def test_6_x_facts_differ_where_the_series_do() -> None:
    for captured in (CAPTURED_6_1, DATA / "kernels" / "6.12.117+deb12-cloud-amd64"):
        config = kconfig.read_dotconfig(captured / "config")
        hooks = load_hooks(captured / "src", config.evaluator())
        facts = read_facts(captured / "src", config.evaluator())
        assert not facts.loader_eexist_is_ebusy
        assert "KVM_NULL_CLASSIFIED_nested" not in facts.defines(hooks)
        assert {"KVM_NULL_CLASSIFIED_x86", "KVM_NULL_CLASSIFIED_pmu"} <= set(facts.defines(hooks))
        assert vendor_modules(captured / "src", config.evaluator()) is None


def test_6_12_summary_keeps_nested_ops_unclassified(captured_hooks: HookSet) -> None:
    from kvmnull.report.hook_list import hook_summary

    assert hook_summary(captured_hooks) == ("122 x86 hooks, 11 PMU hooks "
                                            "(+12 nested-ops function pointers, unclassified)")


def test_7_2_classifies_three_tables_and_keeps_nested_ops_in_kvm_x86_ops() -> None:
    captured = DATA / "kernels" / "7.2.13+deb14-cloud-amd64"
    config = kconfig.read_dotconfig(captured / "config")
    hooks = load_hooks(captured / "src", config.evaluator())
    counts = Counter((h.table, h.hook_class) for h in hooks.hooks)
    classes = (HookClass.MANDATORY, HookClass.OPTIONAL, HookClass.OPTIONAL_RET0)
    # read off the header: gmem_invalidate_range sits under CONFIG_HAVE_KVM_ARCH_GMEM_INVALIDATE, off here
    assert [counts[(Table.X86, c)] for c in classes] == [81, 38, 12]
    assert [counts[(Table.PMU, c)] for c in classes] == [9, 5, 1]
    assert [counts[(Table.NESTED, c)] for c in classes] == [9, 1, 3]
    facts = read_facts(captured / "src", config.evaluator())
    # unlike 7.3, the vendor still hands its nested ops over in kvm_x86_ops
    assert "nested_ops" in facts.x86_ops_members and "nested_ops" not in facts.init_ops_members
    assert facts.loader_eexist_is_ebusy and "KVM_NULL_CLASSIFIED_nested" in facts.defines(hooks)
    assert vendor_modules(captured / "src", config.evaluator()) == ("kvm-amd", "kvm-intel")
