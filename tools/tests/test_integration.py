"""Helpers the integration modules share (``REPO``, ``doc_section``; test_history.py imports them too).

The integration tests, real parts really exercised (the modules are built, a real guest kernel boots
under QEMU), are one module per stage: ``test_integration_build``, ``_fetch``, ``_guest``, ``_vendors``,
``_evidence``, and one per command run end to end: ``_run``, ``_matrix``, ``_selftest``, ``_census``,
``_bitemap``.  Their shared fixtures, ``built`` and ``guest_config``, are in conftest.py.

One quick CLI test stays here, test_an_internal_error_is_named_not_hidden: the message it checks
names the file its failing function is defined in (``test_integration.broken``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from kvmnull.commands.main import main

from .conftest import DATA

REPO = Path(__file__).resolve().parents[2]


def doc_section(text: str, name: str) -> str:
    return text.split(f"<!-- kvmnull:{name} -->\n", 1)[1].split(f"<!-- /kvmnull:{name} -->", 1)[0].strip()


def test_an_internal_error_is_named_not_hidden(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    from kvmnull.evidence import kernel_log as evidence

    def broken(*args: object, **kwargs: object) -> list[object]:
        raise ValueError("parser bug")

    monkeypatch.setattr(evidence, "parse", broken)
    assert main(["evidence", "--no-kernel", str(DATA / "refused.log")]) == 3
    err = capsys.readouterr().err
    assert "internal error in test_integration.broken: ValueError: parser bug" in err
    assert "-v" in err
