"""The KTAP reader, on selftest binaries run by hand in a real guest (kernel lines interleaved)."""

from __future__ import annotations

from kvmnull.evidence import ktap

from .conftest import log


def test_by_hand_output_is_valid_ktap() -> None:
    reports = ktap.parse_all(log("selftests-by-hand.log"))
    assert [(r.plan, len(r.results), r.count(ktap.Status.PASS)) for r in reports] == [(6, 6, 6), (6, 6, 6), (3, 3, 3)]
    assert all(r.valid and r.version == "TAP version 13" for r in reports)
    assert [r.name for r in reports[1].results] == ["api_version", "create_vm", "create_vcpu", "regs", "run",
                                                    "destroy"]
    assert reports[0].diagnostics[-1].startswith("Totals: pass:6")


def test_interleaved_kernel_lines_are_not_ktap() -> None:
    report = ktap.parse_all(log("selftests-by-hand.log"))[0]
    assert not any("unknown x86 hook" in d for d in report.diagnostics)


def test_a_missing_result_breaks_the_plan() -> None:
    text = log("selftests-by-hand.log").replace("ok 2 create_vm\r\r\n", "")
    report = ktap.parse_all(text)[1]
    assert not report.valid
    assert "plan says 6 results, found 5" in report.problems
    assert any("not numbered" in p for p in report.problems)


def test_failures_skips_and_bail_out() -> None:
    text = log("selftests-by-hand.log")
    text = text.replace("ok 4 regs", "not ok 4 regs").replace("ok 3 tainted_W", "ok 3 tainted_W # SKIP no taint file")
    api, warn = ktap.parse_all(text)[1:]
    assert api.count(ktap.Status.FAIL) == 1 and api.results[3].name == "regs"
    assert warn.results[2].status is ktap.Status.SKIP and warn.results[2].reason == "no taint file"
    bailed = ktap.parse("TAP version 13\nBail out! kvm-null did not load\n")
    assert bailed.bail_out == "kvm-null did not load" and bailed.valid


def test_no_version_line() -> None:
    assert "no version line (KTAP version 1 or TAP version 13)" in ktap.parse("1..1\nok 1 x\n").problems


def test_a_skip_after_a_failure_fails_the_run_and_a_ktap_error_fails_its_test() -> None:
    from kvmnull.commands.selftest import SelftestRun, judge_runs

    failed = "KTAP version 1\n1..1\nnot ok 1 load\n"
    skipped = "KTAP version 1\n1..0 # SKIP a KVM vendor is already registered\n"
    errored = "KTAP version 1\n1..1\nnot ok 1 x # ERROR broken\n"
    passed = "KTAP version 1\n1..1\nok 1 x\n"
    runs = [SelftestRun("a_test", 0, ktap.parse(passed), 0.1, passed),
            SelftestRun("b_test", 4, ktap.parse(skipped), 0.1, skipped),  # an honest skip: nothing failed yet
            SelftestRun("c_test", 1, ktap.parse(failed), 0.1, failed),
            SelftestRun("d_test", 4, ktap.parse(skipped), 0.1, skipped),
            SelftestRun("e_test", 0, ktap.parse(errored), 0.1, errored)]
    verdicts = [(run.name, verdict) for run, verdict, _ in judge_runs(runs)]
    assert verdicts == [("a_test", "pass"), ("b_test", "skip"), ("c_test", "fail"),
                        ("d_test", "skip after failure"), ("e_test", "fail")]
    assert "after c_test failed" in judge_runs(runs)[3][2]
