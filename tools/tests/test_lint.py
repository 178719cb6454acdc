"""``kvmnull lint``: every call kvm.ko makes of a vendor hook, and what stands between a NULL hook and it.

The verdicts expected below come from reading each kernel's source (the function named in each
case), not from the lint's own output; the real call sites are read from the kernel cache (the
tests are marked ``cache``; spatch's facts are kept in the cache entry, so a second run takes a
second).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from kvmnull.commands.main import main
from kvmnull.commands.prepare import KernelRequest, load
from kvmnull.core.progress import Progress
from kvmnull.fetch import packages
from kvmnull.kernel.hooks import HookClass
from kvmnull.verdict import census as cz
from kvmnull.verdict import lint as lz

from .conftest import reads_cache

SERIES = ("6.1", "6.12", "7.2", "7.3")
needs_spatch = pytest.mark.skipif(shutil.which(lz.SPATCH) is None, reason="Coccinelle's spatch is not installed")


# ---- the condition reader, on conditions as spatch prints them ----

def test_a_condition_that_holds_requires_its_conjuncts_not_its_negations() -> None:
    # irq.c kvm_cpu_has_interrupt() (7.x): the TDX case
    assert [(t.what, t.name) for t in lz.tests("lapic_in_kernel ( v ) && v -> arch . apic -> guest_apic_protected")] \
        == [("predicate", "lapic_in_kernel"), ("member", "guest_apic_protected")]
    # irq.c kvm_cpu_has_injectable_intr(): a negated test requires no state to be set
    assert [t.name for t in lz.tests("! is_guest_mode ( v ) && kvm_vcpu_apicv_active ( v )")] == \
        ["kvm_vcpu_apicv_active"]
    # the else of `if (!A || B)` runs when A holds
    assert [t.name for t in lz.tests("! ( ! s -> a || s -> b )")] == ["a"]
    # kvm_cache_regs.h is_guest_mode(): a flag of a member
    flag = lz.tests("vcpu -> arch . hflags & HF_GUEST_MASK")[0]
    assert (flag.what, flag.name, flag.mask) == ("member", "hflags", "HF_GUEST_MASK")
    # x86.c vcpu_enter_guest(): a pending request
    request = lz.tests("kvm_check_request ( KVM_REQ_GET_NESTED_STATE_PAGES , vcpu )")[0]
    assert (request.what, request.name) == ("request", "KVM_REQ_GET_NESTED_STATE_PAGES")
    assert lz.tests("unlikely ( ! kvm_x86_ops . nested_ops -> get_nested_state_pages ( vcpu ) )") == []


def test_a_pointer_read_is_a_check_and_a_call_is_not() -> None:
    # x86.c kvm_check_and_inject_events() (6.12): `kvm_x86_ops.nested_ops->has_events && ...has_events(vcpu, true)`
    assert lz.reads_pointer("is_guest_mode ( vcpu ) && kvm_x86_ops . nested_ops -> has_events", "has_events")
    assert lz.reads_pointer("kvm_x86_ops . flush_remote_tlbs", "flush_remote_tlbs")
    assert not lz.reads_pointer("kvm_x86_ops . nested_ops -> has_events ( vcpu , true )", "has_events")
    assert not lz.reads_pointer("kvm_x86_ops . has_events_too", "has_events")


def test_conditions_are_printed_as_written() -> None:
    assert lz.pretty("! reinject && is_guest_mode ( vcpu )") == "!reinject && is_guest_mode(vcpu)"
    assert lz.pretty("vcpu -> arch . apic -> guest_apic_protected") == "vcpu->arch.apic->guest_apic_protected"


def test_paging_tmpl_function_names_are_parsed_at_their_own_columns() -> None:
    text = "#define FNAME(name) ept_##name\nstatic int FNAME(update_accessed_dirty_bits)(struct kvm_vcpu *v)\n"
    seen = lz.parsable(text)
    assert "FNAME_update_accessed_dirty_bits_(" in seen
    assert [len(line) for line in seen.splitlines()] == [len(line) for line in text.splitlines()]
    assert lz.parsable("x = FNAME(y);\n") == "x = FNAME(y);\n"  # only where the file defines FNAME


# ---- real call sites ----

@pytest.fixture(scope="module")
@reads_cache
def linted() -> dict[str, lz.Lint]:
    """Each series' lint: every hook of every table, with its census (as `kvmnull lint` runs it)."""
    if shutil.which(lz.SPATCH) is None:
        pytest.skip("Coccinelle's spatch is not installed")
    progress = Progress(quiet=True)
    found = {}
    for series in SERIES:
        target = load(KernelRequest(packages.KernelSpec.parse(series), packages.cache_root(), offline=True), progress)
        census = cz.take(target.tree.source, target.hooks, target.config.evaluator(), unclassified=True)
        found[series] = lz.lint(target.tree.source, target.hooks, target.hooks.hooks, target.tree.path / "derived",
                                progress, census)
    return found


def sites(result: lz.Lint, key: str, function: str) -> list[lz.CallSite]:
    found = [s for s in result.sites if s.hook.key == key and s.function == function]
    assert found, f"no call of {key} in {function}()"
    return found


def kind(result: lz.Lint, key: str, function: str) -> lz.Kind:
    """The one kind of every call of ``key`` in ``function``."""
    kinds = {s.kind for s in sites(result, key, function)}
    assert len(kinds) == 1, kinds
    return kinds.pop()


@pytest.mark.parametrize("series", SERIES)
def test_every_hook_that_returns_a_value_has_each_call_classified(linted: dict[str, lz.Lint], series: str) -> None:
    result = linted[series]
    valued = [h for h in result.hooks if not h.declaration.returns_void]
    assert all(result.of(h) for h in valued), [h.key for h in valued if not result.of(h)]
    assert all(s.kind in lz.Kind for s in result.sites)
    # no call is left unread: the parser saw them all, or their class settles them (TP_fast_assign())
    assert [r for r in result.remarks if "is not a call Coccinelle parsed" in r.text] == []
    assert all(s.file.startswith(("arch/x86/kvm/", "virt/kvm/", "arch/x86/include/")) for s in result.sites)
    assert not any(s.file.startswith(("arch/x86/kvm/vmx/", "arch/x86/kvm/svm/")) for s in result.sites)


def test_6_12(linted: dict[str, lz.Lint]) -> None:
    r = linted["6.12"]
    K = lz.Kind
    assert kind(r, "x86.vcpu_create", "kvm_arch_vcpu_create") is K.MANDATORY
    assert kind(r, "x86.vm_destroy", "kvm_arch_destroy_vm") is K.VOID_OR_DISCARDED  # void, optional
    # vcpu_enter_guest(): `kvm_x86_call(sync_pir_to_irr)(vcpu);`, an int nobody reads
    assert kind(r, "x86.sync_pir_to_irr", "vcpu_enter_guest") is K.VOID_OR_DISCARDED
    assert kind(r, "x86.set_tss_addr", "kvm_vm_ioctl_set_tss_addr") is K.RET0
    # `if (!kvm_x86_ops.mem_enc_ioctl) goto out;` in the KVM_MEMORY_ENCRYPT_OP case
    assert kind(r, "x86.mem_enc_ioctl", "kvm_arch_vm_ioctl") is K.CHECKED
    assert kind(r, "x86.get_untagged_addr", "emulator_get_untagged_addr") is K.CHECKED
    # the pointer read in the same condition: `...->has_events && ...->has_events(vcpu, true)`
    assert kind(r, "nested.has_events", "kvm_check_and_inject_events") is K.CHECKED
    # `r = kvm_x86_ops.nested_ops->get_state ? kvm_x86_ops.nested_ops->get_state(NULL, NULL, 0) : 0;`
    assert kind(r, "nested.get_state", "kvm_vm_ioctl_check_extension") is K.CHECKED
    # start_hv_timer() returns early unless kvm_can_use_hv_timer(), which returns kvm_x86_ops.set_hv_timer && ...
    helped = sites(r, "x86.set_hv_timer", "start_hv_timer")
    assert [s.kind for s in helped] == [K.HELPER_CHECKED] and "kvm_can_use_hv_timer()" in helped[0].why
    # `if (is_guest_mode(vcpu)) kvm_x86_ops.nested_ops->triple_fault(vcpu);`: HF_GUEST_MASK is set only in
    # enter_guest_mode(), which only vmx/nested.c and svm/nested.c call
    triple = sites(r, "nested.triple_fault", "vcpu_enter_guest")
    assert [s.kind for s in triple] == [K.STATE_ONLY]
    assert "enter_guest_mode()" in triple[0].why and "arch/x86/kvm/kvm_cache_regs.h:" in triple[0].why
    assert triple[0].severity is lz.Severity.WARNING
    # KVM_REQ_GET_NESTED_STATE_PAGES is made in vmx/nested.c and svm/nested.c (and re-made by kvm.ko only
    # inside its own test, when the hook fails)
    pages = sites(r, "nested.get_nested_state_pages", "vcpu_enter_guest")
    assert [s.kind for s in pages] == [K.STATE_ONLY] and "KVM_REQ_GET_NESTED_STATE_PAGES" in pages[0].why
    # kvm_arch_irq_bypass_add_producer(): `ret = kvm_x86_call(pi_update_irte)(...); if (ret) ...`, nothing before
    irte = sites(r, "x86.pi_update_irte", "kvm_arch_irq_bypass_add_producer")
    assert [(s.kind, s.severity) for s in irte] == [(K.NOTHING, lz.Severity.ERROR)]
    # kvm_check_nested_events(): `return kvm_x86_ops.nested_ops->check_events(vcpu);`, no table on 6.12
    events = sites(r, "nested.check_events", "kvm_check_nested_events")
    assert [(s.kind, s.severity, s.spelling) for s in events] == [(K.NOTHING, lz.Severity.WARNING,
                                                                     lz.Spelling.POINTER)]
    assert "called through kvm_x86_ops.nested_ops, with no load-time check" in events[0].why
    assert all(s.spelling is lz.Spelling.KVM_X86_CALL for s in r.sites if s.hook.key.startswith("x86."))


def test_7_3(linted: dict[str, lz.Lint]) -> None:
    r = linted["7.3"]
    K = lz.Kind
    assert kind(r, "x86.vcpu_create", "kvm_arch_vcpu_create") is K.MANDATORY
    assert kind(r, "x86.pi_update_irte", "kvm_pi_update_irte") is K.MANDATORY  # KVM_X86_OP since 7.x
    assert kind(r, "x86.vm_destroy", "kvm_arch_destroy_vm") is K.VOID_OR_DISCARDED
    assert kind(r, "x86.set_tss_addr", "kvm_vm_ioctl_set_tss_addr") is K.RET0
    # KVM_X86_NESTED_OP_OPTIONAL_RET0(has_events), through kvm_nested_call()
    has_events = sites(r, "nested.has_events", "kvm_check_and_inject_events")
    assert [(s.kind, s.spelling) for s in has_events] == [(K.RET0, lz.Spelling.KVM_NESTED_CALL)]
    # paging_tmpl.h FNAME(update_accessed_dirty_bits): KVM_X86_NESTED_OP_OPTIONAL_RET0(write_log_dirty)
    assert kind(r, "nested.write_log_dirty", "FNAME(update_accessed_dirty_bits)") is K.RET0
    # `if (!kvm_nested_ops.enabled || !kvm_nested_ops.enable_evmcs) return -ENOTTY;`
    assert kind(r, "nested.enable_evmcs", "kvm_vcpu_ioctl_enable_cap") is K.CHECKED
    # `if (!kvm_x86_ops.vcpu_mem_enc_ioctl) goto out; r = kvm_x86_ops.vcpu_mem_enc_ioctl(vcpu, argp);`
    enc = sites(r, "x86.vcpu_mem_enc_ioctl", "kvm_arch_vcpu_ioctl")
    assert [(s.kind, s.spelling) for s in enc] == [(K.CHECKED, lz.Spelling.POINTER)]
    assert kind(r, "x86.set_hv_timer", "start_hv_timer") is K.HELPER_CHECKED
    # kvm_cpu_has_interrupt(): `if (lapic_in_kernel(v) && v->arch.apic->guest_apic_protected)`;
    # guest_apic_protected is set only in vmx/tdx.c, which sets the hook at run time (tdx_hardware_setup())
    tdx = sites(r, "x86.protected_apic_has_interrupt", "kvm_cpu_has_interrupt")
    assert [s.kind for s in tdx] == [K.STATE_ONLY]
    assert "guest_apic_protected is set only by vmx (arch/x86/kvm/vmx/tdx.c:" in tdx[0].why
    # kvm_init_pmu_capability(struct kvm_pmu_ops *pmu_ops): `!pmu_ops->is_mediated_pmu_supported(&kvm_host_pmu)`
    # on the vendor's own table, a member kvm-x86-pmu-ops.h does not list
    mediated = sites(r, "pmu.is_mediated_pmu_supported", "kvm_init_pmu_capability")
    assert [(s.kind, s.severity, s.spelling) for s in mediated] == [(K.NOTHING, lz.Severity.WARNING,
                                                                       lz.Spelling.POINTER)]
    assert "called through pmu_ops" in mediated[0].why
    assert [s for s in r.sites if s.severity is lz.Severity.ERROR] == []
    # trace.h TRACE_EVENT(kvm_emulate_insn): `__entry->csbase = kvm_x86_call(get_segment_base)(...)`
    assert kind(r, "x86.get_segment_base", "TRACE_EVENT(kvm_emulate_insn)") is K.MANDATORY


def test_6_1_static_call_spellings(linted: dict[str, lz.Lint]) -> None:
    r = linted["6.1"]
    K = lz.Kind
    create = sites(r, "x86.vcpu_create", "kvm_arch_vcpu_create")
    assert [(s.kind, s.spelling) for s in create] == [(K.MANDATORY, lz.Spelling.STATIC_CALL)]
    # `static_call_cond(kvm_x86_vm_destroy)(kvm);`
    destroy = sites(r, "x86.vm_destroy", "kvm_arch_destroy_vm")
    assert [(s.kind, s.spelling) for s in destroy] == [(K.VOID_OR_DISCARDED, lz.Spelling.STATIC_CALL_COND)]
    # `ret = static_call(kvm_x86_set_tss_addr)(kvm, addr);`
    assert kind(r, "x86.set_tss_addr", "kvm_vm_ioctl_set_tss_addr") is K.RET0
    assert kind(r, "x86.mem_enc_ioctl", "kvm_arch_vm_ioctl") is K.CHECKED
    assert kind(r, "x86.set_hv_timer", "start_hv_timer") is K.HELPER_CHECKED
    assert kind(r, "nested.triple_fault", "vcpu_enter_guest") is K.STATE_ONLY
    assert kind(r, "x86.pi_update_irte", "kvm_arch_irq_bypass_add_producer") is K.NOTHING
    # trace.h TRACE_EVENT(kvm_emulate_insn): `static_call(kvm_x86_get_segment_base)(vcpu, VCPU_SREG_CS)`
    assert kind(r, "x86.get_segment_base", "TRACE_EVENT(kvm_emulate_insn)") is K.MANDATORY
    spellings = {s.spelling for s in r.sites}
    assert spellings == {lz.Spelling.STATIC_CALL, lz.Spelling.STATIC_CALL_COND, lz.Spelling.POINTER}


def test_7_2_nested_ops_are_static_calls(linted: dict[str, lz.Lint]) -> None:
    r = linted["7.2"]
    nested = [s for s in r.sites if s.hook.key.startswith("nested.")]
    assert nested and {s.hook.hook_class for s in nested} <= set(HookClass) - {HookClass.UNCLASSIFIED}
    assert lz.Spelling.KVM_NESTED_CALL in {s.spelling for s in nested}


def test_remarks_name_the_calls_around_the_static_call_and_the_unclassified(linted: dict[str, lz.Lint]) -> None:
    r = linted["7.3"]
    texts = [(m.key, m.text) for m in r.remarks]
    assert ("x86.vcpu_mem_enc_ioctl", "called as kvm_x86_ops.vcpu_mem_enc_ioctl(...), around the static call") \
        in texts
    assert any(k == "pmu.is_mediated_pmu_supported" and "no ops table classifies" in t for k, t in texts)
    assert any(k == "x86.vm_destroy" and "candidate for mandatory" in t for k, t in texts)


# ---- the command ----

LINE = re.compile(r"^(?P<file>[\w/.-]+):(?P<line>\d+): (?P<severity>error|warning): (?P<key>\w+\.\w+): ")


@needs_spatch
def test_json_on_standard_output_and_compiler_style_lines(linted: dict[str, lz.Lint],
                                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["lint", "-q", "--offline", "--kernel", "6.12", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    data = json.loads(out)
    assert data["kernel"].startswith("6.12.")
    assert sum(data["summary"].values()) == len(linted["6.12"].sites)
    rows = {(h["table"], h["hook"]): h for h in data["hooks"]}
    irte = rows[("x86", "pi_update_irte")]
    assert irte["class"] == "optional" and {c["kind"] for c in irte["calls"]} == {"nothing"}
    assert all(c["kind"] for h in data["hooks"] if h["return_type"] != "void" for c in h["calls"])
    findings = [LINE.match(line) for line in err.splitlines() if LINE.match(line)]
    assert ("x86.pi_update_irte", "error") in {(m.group("key"), m.group("severity")) for m in findings}
    assert all(not m.group("file").startswith("/") for m in findings)  # relative to the kernel's root
    assert "| table" in err or "table    hook" in err


@needs_spatch
@pytest.mark.parametrize(("series", "fail_on", "status"), [
    ("6.12", None, 0), ("6.12", "error", 1), ("7.3", "error", 0), ("7.3", "warning", 1)])
def test_fail_on(linted: dict[str, lz.Lint], series: str, fail_on: str | None, status: int, tmp_path: Path,
                 capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["lint", "-q", "--offline", "--kernel", series, "--json", str(tmp_path / "l.json")]
    assert main(argv + (["--fail-on", fail_on] if fail_on else [])) == status
    capsys.readouterr()


@needs_spatch
def test_hooks_choose_what_is_linted(linted: dict[str, lz.Lint], tmp_path: Path,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "l.json"
    assert main(["lint", "-q", "--offline", "--kernel", "7.3", "--hooks", "x86.@ret0", "--json", str(out)]) == 0
    capsys.readouterr()
    data = json.loads(out.read_text())
    assert data["hooks"] and {h["class"] for h in data["hooks"]} == {"optional_ret0"}


def test_a_bad_hooks_value_is_an_error_before_anything_slow(monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("spatch ran: the error came too late")
    monkeypatch.setattr(lz, "run_spatch", refuse)
    with pytest.raises(SystemExit) as info:
        main(["lint", "--hooks", "x86.@sometimes"])
    assert info.value.code == 2
    assert "--hooks" in capsys.readouterr().err


@needs_spatch
def test_an_unknown_hook_is_named_with_a_suggestion(linted: dict[str, lz.Lint], monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(lz, "run_spatch", lambda *a, **k: pytest.fail("spatch ran: the error came too late"))
    assert main(["lint", "-q", "--offline", "--kernel", "6.12", "--hooks", "vcpu_creat"]) == 2
    assert "did you mean vcpu_create" in capsys.readouterr().err


def test_without_spatch_the_remedy_is_named(monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(lz.shutil, "which", lambda name: None)
    assert main(["lint", "-q", "--offline"]) == 2
    err = capsys.readouterr().err
    assert "spatch" in err and "coccinelle" in err


@pytest.mark.parametrize("series", SERIES)
def test_the_walkthrough_shows_each_series_lint_as_the_command_makes_it(linted: dict[str, lz.Lint], series: str,
                                                                        tmp_path: Path) -> None:
    committed = (Path(__file__).resolve().parents[2] / "docs" / "teaching.md").read_text()
    doc = tmp_path / "teaching.md"
    doc.write_text(committed)
    assert main(["lint", "-q", "--offline", "--kernel", series, "--update-doc", str(doc)]) == 0

    def section(text: str) -> str:
        return text.split(f"<!-- kvmnull:lint-{series} -->\n")[1].split(f"<!-- /kvmnull:lint-{series} -->")[0]
    new, old = section(doc.read_text()), section(committed)
    if new.split(":")[0] != old.split(":")[0]:
        pytest.skip(f"docs/teaching.md's {series} lint is of another release: regenerate it as it says")
    assert new == old
    # the table holds every warning and error, and only those
    findings = [s for s in linted[series].sites if s.severity is not lz.Severity.FINE]
    assert len([line for line in new.splitlines() if line.startswith(("| warning", "| error"))]) == len(findings)
