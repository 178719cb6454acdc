"""The patched kvm.ko with kvm-null and a real vendor (kvm-amd, hooks knocked out or not) in a live guest."""

from __future__ import annotations

from pathlib import Path

import pytest

from kvmnull.core.progress import Progress
from kvmnull.evidence import ktap
from kvmnull.guest.qemu import Accel, Guest, GuestConfig
from kvmnull.guest.scenario import GuestSession, Policy, Scenario
from kvmnull.kernel.hooks import HookSet, Table
from kvmnull.verdict.contract import Outcome, observation_of


@pytest.mark.guest
def test_a_real_vendor_leaves_a_fresh_kvm_ko_behind(guest_config: GuestConfig, tmp_path: Path) -> None:
    """kvm.missing_hook is back at its default only in a freshly loaded kvm.ko: after kvm-amd, not after kvm-null."""
    policy = "cat /sys/module/kvm/parameters/missing_hook"
    with GuestSession(guest_config, tmp_path / "console.log", Progress(quiet=True)) as session:
        null = session.run(Scenario("control-kvm-null", Policy.WARN, "kvm-null"))
        after_null = session.guest().check(policy, stage="policy after kvm-null").strip()
        amd = session.run(Scenario("control-kvm-amd", Policy.WARN, "kvm-amd"))
        after_amd = session.guest().check(policy, stage="policy after kvm-amd").strip()
        assert session.boots == 1
    assert null.crash is None and amd.crash is None and not null.hung and not amd.hung
    assert (after_null, after_amd) == ("warn", "refuse"), amd.output


@pytest.mark.guest
def test_kvm_null_refuses_bare_metal_without_allow_bare_metal(guest_config: GuestConfig, tmp_path: Path) -> None:
    # clearcpuid=hypervisor: the guest kernel sees a CPU without X86_FEATURE_HYPERVISOR
    bare = GuestConfig(guest_config.kernel, guest_config.initrd, Accel.TCG, cpus=1,
                       extra_append=("clearcpuid=hypervisor",))
    with Guest(bare, tmp_path / "console.log", Progress(quiet=True)) as guest:
        _, status = guest.run("grep -qw hypervisor /proc/cpuinfo", stage="checking the CPU flags")
        assert status == 1, "clearcpuid=hypervisor left the flag in place"
        guest.check("insmod /modules/irqbypass.ko && insmod /modules/kvm.ko", stage="loading kvm.ko")
        output, status = guest.run("load_test", timeout=60, stage="load_test")
    report = ktap.parse(output)
    assert status == 0 and report.valid, output
    results = {r.name: r.status for r in report.results}
    assert results["bare_metal_refusal"] is ktap.Status.PASS, output
    assert results["load"] is ktap.Status.PASS and results["reload"] is ktap.Status.PASS


@pytest.mark.guest
def test_a_failing_selftest_leaves_no_vendor_behind(guest_config: GuestConfig, tmp_path: Path) -> None:
    with Guest(guest_config, tmp_path / "console.log", Progress(quiet=True)) as guest:
        guest.check("insmod /modules/irqbypass.ko && insmod /modules/kvm.ko && dmesg -n 1", stage="loading kvm.ko")
        # kvm-amd posing as kvm-null: api_test loads a real vendor, and fails (no kvm-null exit, no
        # kvm_null to unload) with that vendor registered and a policy it changed
        guest.check("mkdir /tmp/m && cp /modules/kvm-amd.ko /tmp/m/kvm-null.ko && "
                    "echo warn > /sys/module/kvm/parameters/missing_hook", stage="disguising kvm-amd")
        output, status = guest.run("KVMNULL_MODULES=/tmp/m api_test", timeout=60, stage="failing api_test")
        assert status == 1 and "not ok" in output, output
        state, _ = guest.run("ls /sys/module | grep -c kvm_; [ -e /dev/kvm ] && echo kvm || echo no-kvm; "
                             "cat /sys/module/kvm/parameters/missing_hook", stage="state after the failed test")
        assert state.split() == ["0", "no-kvm", "warn"], state
        # so the next test runs instead of skipping with "a KVM vendor is already registered"
        output, status = guest.run("optional_null_test", timeout=60, stage="the next test")
    assert status == 0 and not ktap.parse(output).count(ktap.Status.SKIP), output


@pytest.mark.guest
def test_a_real_vendor_with_hooks_knocked_out_is_refused_by_name_and_unwinds_cleanly(
        guest_config: GuestConfig, hooks: HookSet, tmp_path: Path) -> None:
    vcpu_create, get_cpl, refresh, vm_destroy = (hooks.find(t, n) for t, n in (
        (Table.X86, "vcpu_create"), (Table.X86, "get_cpl"), (Table.PMU, "refresh"), (Table.X86, "vm_destroy")))
    assert vcpu_create and get_cpl and refresh and vm_destroy
    with GuestSession(guest_config, tmp_path / "console.log", Progress(quiet=True)) as session:
        refused = session.run(Scenario("knockout", Policy.REFUSE, "kvm-amd", (vcpu_create, get_cpl, refresh)))
        # nothing of the refused kvm-amd is left behind: the complete one registers and runs a VM
        complete = session.run(Scenario("control-kvm-amd", Policy.REFUSE, "kvm-amd"))
        # an optional hook knocked out: SVM itself clears some for absent features, kvm-amd registers
        optional = session.run(Scenario("optional", Policy.REFUSE, "kvm-amd", (vm_destroy,)))
    observed = observation_of(refused, hooks)
    assert observed.outcome is Outcome.REFUSED
    assert observed.named == {"x86.vcpu_create", "x86.get_cpl", "pmu.refresh"}
    assert "vendor kvm_amd refused: 3 mandatory hooks NULL" in refused.output
    assert observation_of(complete, hooks).outcome is Outcome.LOADED
    assert "kvmnull-probe: step run ok" in complete.output
    assert observation_of(optional, hooks).outcome is Outcome.LOADED
    assert "kvm_amd: knockout: x86.vm_destroy left NULL" in optional.output


@pytest.mark.guest
def test_a_real_vendor_rejects_an_unknown_knockout_naming_it(guest_config: GuestConfig, hooks: HookSet,
                                                              tmp_path: Path) -> None:
    with GuestSession(guest_config, tmp_path / "console.log", Progress(quiet=True)) as session:
        guest = session.guest()
        output, _ = guest.run("insmod /modules/kvm-amd.ko knockout=x86.vcpu_creat; echo status=$?; dmesg",
                              timeout=30, stage="bad knockout")
    assert "status=0" not in output
    assert "knockout=: unknown hook 'x86.vcpu_creat' (table.hook; tables x86, pmu)" in output
