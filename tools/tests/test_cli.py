"""Command-line errors: named bad values, the valid ones, a remedy, exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvmnull.commands.main import main
from kvmnull.fetch.packages import KernelTree, supported_series
from kvmnull.kernel.hooks import HookClass, HookSet, Table


def test_unknown_hook_is_rejected_before_any_boot(tree: KernelTree, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "-q", "--offline", "--null", "vcpu_creat"]) == 2
    err = capsys.readouterr().err
    assert "'vcpu_creat' is not a kvm_x86_ops hook" in err and "vcpu_create" in err
    assert main(["run", "-q", "--offline", "--null-pmu", "refesh"]) == 2
    assert "did you mean refresh" in capsys.readouterr().err


def test_unsupported_series(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--kernel", "5.10"]) == 2
    err = capsys.readouterr().err
    assert "no kvm.ko patches for series 5.10" in err
    assert f"supported series: {', '.join(supported_series())}" in err and "6.12" in supported_series()


def test_bad_policy_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--policy", "ignore"])
    assert info.value.code == 2
    assert "invalid choice: 'ignore'" in capsys.readouterr().err


def test_list_hooks_json(tree: KernelTree, hooks: HookSet, tmp_path: Path,
                         capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hooks.json"
    assert main(["build", "-q", "--offline", "--list-hooks", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["kernel"] == tree.release
    listed = [(h["table"], h["hook"], h["class"], h["header_line"]) for h in data["hooks"]]
    assert listed == [(h.table.value, h.name, h.hook_class.value, h.header_line) for h in hooks.hooks]
    x86 = [h for h in hooks.table(Table.X86) if h.hook_class is not HookClass.UNCLASSIFIED]
    pmu = [h for h in hooks.table(Table.PMU) if h.hook_class is not HookClass.UNCLASSIFIED]
    assert f"{tree.release}: {len(x86)} x86 hooks, {len(pmu)} PMU hooks" in capsys.readouterr().out


def test_census_json_static(tree: KernelTree, hooks: HookSet, tmp_path: Path,
                            capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "census.json"
    assert main(["census", "-q", "--offline", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["kernel"] == tree.release
    rows = {(h["table"], h["hook"]): h for h in data["hooks"]}
    assert set(rows) == {(h.table.value, h.name) for h in hooks.classified()}
    assert all(isinstance(row["vmx"], bool) and isinstance(row["svm"], bool) for row in rows.values())
    printed = capsys.readouterr().out
    for hook in hooks.hooks:
        if hook.stray_semicolon:
            assert f"oddity: {hook.table.struct} header line {hook.header_line}: stray ';'" in printed
