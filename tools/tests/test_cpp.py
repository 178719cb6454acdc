"""The preprocessor subset, with kernel semantics for CONFIG_ symbols."""

from __future__ import annotations

import pytest

from kvmnull.core.cpp import Evaluator, logical_lines, preprocess
from kvmnull.core.errors import ParseError

CONFIG = {"KVM_SMM": "y", "HYPERV": "m", "KVM_AMD_SEV": "n", "NR_CPUS": "8192", "LOCALVERSION": ""}


def ev(expr: str) -> bool:
    return Evaluator(lambda s: CONFIG.get(s, "n")).evaluate(expr)


@pytest.mark.parametrize(("expr", "value"), [
    ("IS_ENABLED(CONFIG_HYPERV)", True),        # =m counts for IS_ENABLED
    ("defined(CONFIG_HYPERV)", False),          # ... but CONFIG_HYPERV itself is not defined for =m
    ("defined(CONFIG_HYPERV_MODULE)", True),
    ("IS_MODULE(CONFIG_HYPERV)", True),
    ("IS_BUILTIN(CONFIG_HYPERV)", False),
    ("defined CONFIG_KVM_SMM", True),
    ("IS_ENABLED(CONFIG_KVM_AMD_SEV)", False),
    ("IS_ENABLED(CONFIG_NOT_A_SYMBOL)", False),
    ("CONFIG_NR_CPUS > 4096 && !defined(CONFIG_KVM_AMD_SEV)", True),
    ("(CONFIG_NR_CPUS == 8192) || 0", True),
    ("UNDEFINED_MACRO", False),                 # C: unknown identifiers are 0
    ("0x10 == 16", True),
])
def test_expressions(expr: str, value: bool) -> None:
    assert ev(expr) is value


def test_bad_expression_names_the_text() -> None:
    with pytest.raises(ParseError, match="CONFIG_X &&"):
        ev("CONFIG_X && ")


def test_unknown_function_like_macro_is_an_error() -> None:
    with pytest.raises(ParseError, match="FOO"):
        ev("FOO(CONFIG_X)")


def test_preprocess_keeps_active_lines_with_their_guards() -> None:
    text = ("a\n#ifdef CONFIG_KVM_SMM\nb\n#else\nc\n#endif\n"
            "#if IS_ENABLED(CONFIG_HYPERV) /* c */\nd \\\n e\n#elif 1\nf\n#endif\n")
    evaluator = Evaluator(lambda s: CONFIG.get(s, "n"))
    out = [(g.line.number, g.line.text, g.guards) for g in preprocess(logical_lines(text), evaluator)]
    assert out == [
        (1, "a", ()),
        (3, "b", ("defined(CONFIG_KVM_SMM)",)),
        (8, "d   e", ("IS_ENABLED(CONFIG_HYPERV)",)),
    ]


def test_unbalanced_directives_are_errors() -> None:
    with pytest.raises(ParseError, match="unterminated"):
        list(preprocess(logical_lines("#if 1\nx\n"), Evaluator(lambda s: CONFIG.get(s, "n"))))
    with pytest.raises(ParseError, match="#endif without #if"):
        list(preprocess(logical_lines("#endif\n"), Evaluator(lambda s: CONFIG.get(s, "n"))))
