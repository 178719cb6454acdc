"""Command-line errors: named bad values, the valid ones, a remedy, exit status 2."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from kvmnull.commands import bitemap, census, common, matrix, run
from kvmnull.commands.main import COMMANDS, main, parser
from kvmnull.commands.prepare import load
from kvmnull.core.progress import Progress
from kvmnull.fetch.packages import KernelTree, supported_series
from kvmnull.guest.scenario import Policy
from kvmnull.kernel.hooks import HookClass, HookSet, Table


@pytest.fixture
def no_guest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if a command gets as far as building or booting."""
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("reached prepare(): the error came too late")
    for module in (bitemap, census, matrix, run):
        monkeypatch.setattr(module, "prepare", refuse)


def argparse_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """What argparse said rejecting ``argv`` (exit status 2)."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    return capsys.readouterr().err


def test_unknown_hook_is_rejected_before_any_boot(tree: KernelTree, no_guest: None,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "-q", "--offline", "--null", "vcpu_creat"]) == 2
    err = capsys.readouterr().err
    assert f"'vcpu_creat' is not a hook of {tree.release}; did you mean vcpu_create" in err
    assert main(["run", "-q", "--offline", "--null", "pmu.refesh"]) == 2
    assert "did you mean refresh" in capsys.readouterr().err


def chosen(argv: list[str]) -> set[str]:
    """The hooks a command line's selection resolves to on the default cached kernel."""
    args = parser().parse_args(argv)
    selection = args.hooks if hasattr(args, "hooks") else args.null
    request = common.kernel_request(args)
    return {h.key for h in common.chosen_hooks(selection, load(request, Progress(quiet=True)), request)}


def test_the_selection_grammar_in_every_command(hooks: HookSet) -> None:
    mandatory = {h.key for h in hooks.hooks if h.hook_class is HookClass.MANDATORY}
    assert len(mandatory) > 80
    assert chosen(["bitemap", "--offline", "--hooks", "@mandatory"]) == mandatory
    assert chosen(["matrix", "--offline", "--hooks", "x86.@optional"]) == {
        h.key for h in hooks.table(Table.X86) if h.hook_class is HookClass.OPTIONAL}
    assert chosen(["run", "--offline", "--null", "x86.vcpu_create"]) == {"x86.vcpu_create"}
    assert chosen(["run", "--offline", "--null", "x86.vcpu_create,pmu.refresh"]) == {"x86.vcpu_create", "pmu.refresh"}
    assert chosen(["census", "--offline", "--bitemap", "--hooks", "vcpu_create"]) == {"x86.vcpu_create"}


def test_a_selection_of_nothing_is_an_error_before_any_boot(tree: KernelTree, no_guest: None,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    assert tree.series == "6.12"  # whose nested ops no header classifies
    assert main(["bitemap", "-q", "--offline", "--hooks", "nested.get_state"]) == 2
    err = capsys.readouterr().err
    assert "nested.get_state" in err and "do not classify kvm_x86_nested_ops" in err
    assert "remedy: kvm_x86_nested_ops is classified on 7." in err  # the cached 7.x kernels
    assert main(["run", "-q", "--offline", "--null", "get_msr"]) == 2
    assert "x86.get_msr, pmu.get_msr" in capsys.readouterr().err
    assert main(["census", "-q", "--offline", "--bitemap", "--hooks", "vm_destroy"]) == 2
    assert "chooses no mandatory hook" in capsys.readouterr().err


@pytest.mark.parametrize(("argv", "said"), [
    (["bitemap", "--guests", "0"], "argument --guests: 0 is out of range: it must be 1 or more"),
    (["matrix", "--guests", "-2"], "argument --guests: -2 is out of range"),
    (["matrix", "--guests", "two"], "argument --guests: 'two' is not a whole number"),
    (["run", "--timeout-multiplier", "-1"], "argument --timeout-multiplier: -1 is out of range: it must be a "
                                            "finite number above 0"),
    (["selftest", "--timeout-multiplier", "nan"], "argument --timeout-multiplier: nan is out of range"),
    (["matrix", "--scenario-timeout", "0"], "argument --scenario-timeout: 0 is out of range"),
    (["bitemap", "--scenario-timeout", "inf"], "argument --scenario-timeout: inf is out of range"),
    (["census", "--scenario-timeout", "-5"], "argument --scenario-timeout: -5 is out of range"),
    (["selftest", "--test-timeout", "0"], "argument --test-timeout: 0 is out of range"),
    (["build", "-j", "0"], "argument -j/--jobs: 0 is out of range"),
])
def test_bad_numbers_are_argparse_errors(argv: list[str], said: str, no_guest: None,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert said in argparse_error(argv, capsys)


@pytest.mark.parametrize(("argv", "remedy"), [
    (["run", "--null-pmu", "refresh,@optional"], "use --null pmu.refresh,pmu.@optional"),
    (["run", "--null-nested", "check_events"], "use --null nested.check_events"),
    (["matrix", "--pmu-hooks", "@ret0"], "use --hooks pmu.@ret0"),
    (["matrix", "--nested-hooks", "get_state"], "use --hooks nested.get_state"),
    (["run", "--policy", "upstream"], "use --kvm stock instead of --policy upstream"),
    (["matrix", "--policy", "upstream"], "use --kvm stock instead of --policy upstream"),
])
def test_old_spellings_name_the_new_one(argv: list[str], remedy: str, no_guest: None,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    assert remedy in argparse_error(argv, capsys)


def test_kvm_choice(no_guest: None, capsys: pytest.CaptureFixture[str]) -> None:
    def policies(argv: list[str], default: tuple[Policy, ...]) -> tuple[Policy, ...]:
        return common.policies_of(parser().parse_args(argv), default)
    refuse = (Policy.REFUSE,)
    assert policies(["run"], refuse) == refuse
    assert policies(["run", "--policy", "warn"], refuse) == (Policy.WARN,)
    assert policies(["run", "--kvm", "stock"], refuse) == (Policy.UPSTREAM,)
    both = (Policy.REFUSE, Policy.WARN)
    assert policies(["matrix", "--kvm", "both"], both) == (*both, Policy.UPSTREAM)
    assert policies(["matrix", "--policy", "warn", "--kvm", "both"], both) == (Policy.WARN, Policy.UPSTREAM)
    assert policies(["bitemap", "--kvm", "stock"], (Policy.WARN,)) == (Policy.UPSTREAM,)
    assert main(["run", "--kvm", "stock", "--policy", "warn"]) == 2
    assert "--kvm stock runs Debian's own kvm.ko" in capsys.readouterr().err
    assert "invalid choice: 'both'" in argparse_error(["run", "--kvm", "both"], capsys)


def test_at_most_one_output_is_standard_output(no_guest: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["matrix", "--json", "-", "--junit", "-"]) == 2
    assert "--json and --junit each ask for standard output" in capsys.readouterr().err
    assert main(["run", "--json", "/nonexistent-folder/run.json"]) == 2
    assert "no folder /nonexistent-folder" in capsys.readouterr().err


def test_json_on_standard_output_puts_the_table_on_standard_error(tree: KernelTree, hooks: HookSet,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "-q", "--offline", "--list-hooks", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    assert len(json.loads(out)["hooks"]) == len(hooks.hooks)
    assert f"{tree.release}: " in err
    assert main(["census", "-q", "--offline", "--json", "-"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["kernel"] == tree.release and "| table" in err


# what README's "Every command ..." paragraph promises
COMMON = {"-v", "-q", "--kernel", "--patch", "--cache", "--offline"}
PROMISED = {
    "fetch": COMMON, "build": COMMON, "run": COMMON, "census": COMMON, "lint": COMMON, "review": COMMON,
    "bitemap": COMMON,
    "matrix": COMMON, "selftest": COMMON,
    "kernels": {"-v", "--cache", "--offline"},  # it lists every series
    "evidence": {"-v", "--kernel", "--cache"},  # it prints no progress
    "stubs": set(),  # it works on a source tree given by path
}
GUEST = {"--accel", "--timeout-multiplier", "--log-dir"}


def test_every_command_takes_the_options_the_readme_names() -> None:
    sub = next(a for a in parser()._actions if isinstance(a, argparse._SubParsersAction))
    assert set(sub.choices) == set(PROMISED) == {c.__name__.rsplit(".", 1)[1] for c in COMMANDS}
    for name, command in sub.choices.items():
        options = {o for action in command._actions for o in action.option_strings}
        assert PROMISED[name] <= options, (name, PROMISED[name] - options)
        guest = name in ("run", "census", "review", "bitemap", "matrix", "selftest")
        assert (options >= GUEST) == guest, name
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert "Every command that works on one kernel (`fetch`, `build`, `run`, `census`, `lint`, `review`, " \
           "`bitemap`, `matrix`, `selftest`) takes `-v`" in " ".join(readme.split())


def test_unsupported_series(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["build", "--kernel", "5.10"]) == 2
    err = capsys.readouterr().err
    assert "series 5.10 is older than 6.1, the oldest kvmnull can change" in err
    assert f"tested: {', '.join(supported_series())}" in err and "6.12" in supported_series()


def test_bad_policy_is_an_argparse_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert "invalid choice: 'ignore' (choose from refuse, warn)" in argparse_error(["run", "--policy", "ignore"],
                                                                                  capsys)


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
