"""Command-line errors: named bad values, the valid ones, a remedy, exit status 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvmnull.cli import main
from kvmnull.packages import KernelTree


def test_unknown_hook_is_rejected_before_any_boot(tree: KernelTree, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "-q", "--offline", "--null", "vcpu_creat"]) == 2
    err = capsys.readouterr().err
    assert "'vcpu_creat' is not a kvm_x86_ops hook" in err and "vcpu_create" in err
    assert main(["run", "-q", "--offline", "--null-pmu", "refesh"]) == 2
    assert "did you mean refresh" in capsys.readouterr().err


def test_unsupported_series(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--kernel", "6.1"]) == 2
    err = capsys.readouterr().err
    assert "no kvm.ko patches for series 6.1" in err and "supported series: 6.12" in err


def test_bad_policy_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["run", "--policy", "ignore"])
    assert info.value.code == 2
    assert "invalid choice: 'ignore'" in capsys.readouterr().err


def test_list_hooks_json(tree: KernelTree, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "hooks.json"
    assert main(["build", "-q", "--offline", "--list-hooks", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    classified = [h for h in data["hooks"] if h["class"] != "unclassified"]
    assert len([h for h in classified if h["table"] == "x86"]) == 122
    assert len([h for h in classified if h["table"] == "pmu"]) == 11
    assert "122 x86 hooks, 11 PMU hooks" in capsys.readouterr().out


def test_census_json_static(tree: KernelTree, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "census.json"
    assert main(["census", "-q", "--offline", "--json", str(out)]) == 0
    hooks = {(h["table"], h["hook"]): h for h in json.loads(out.read_text())["hooks"]}
    assert len(hooks) == 133
    assert (hooks[("x86", "vm_destroy")]["class"], hooks[("x86", "vm_destroy")]["vmx"],
            hooks[("x86", "vm_destroy")]["svm"]) == ("optional", True, True)
    assert (hooks[("x86", "vcpu_precreate")]["vmx"], hooks[("x86", "vcpu_precreate")]["svm"]) == (True, False)
    assert (hooks[("x86", "post_set_cr3")]["vmx"], hooks[("x86", "post_set_cr3")]["svm"]) == (False, True)
    assert "oddity: kvm_x86_ops header line 136: stray ';'" in capsys.readouterr().out
