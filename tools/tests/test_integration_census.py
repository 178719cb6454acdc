"""`kvmnull census --dynamic --bitemap` end to end, in real guests, and the walkthrough it regenerates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from kvmnull.build.kbuild import BuildResult
from kvmnull.commands.main import main
from kvmnull.fetch.packages import KernelTree
from kvmnull.kernel.hooks import HookClass, HookSet

from .test_integration import REPO, doc_section


@pytest.mark.guest
def test_census_dynamic_bitemap_and_the_teaching_doc(built: BuildResult, tree: KernelTree, hooks: HookSet,
                                                     tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    committed = (REPO / "docs" / "teaching.md").read_text()
    doc = tmp_path / "teaching.md"
    doc.write_text(committed)
    out = tmp_path / "census.json"
    assert main(["census", "-q", "--offline", "--accel", "tcg", "--log-dir", str(tmp_path), "--dynamic",
                 "--bitemap", "--json", str(out), "--update-doc", str(doc)]) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    mandatory = [h for h in data["hooks"] if h["class"] == "mandatory"]
    assert [(b["table"], b["hook"]) for b in data["bitemap"]] == [(h["table"], h["hook"]) for h in mandatory]
    assert len(mandatory) == sum(1 for h in hooks.classified() if h.hook_class is HookClass.MANDATORY)
    assert all(b["how"] for b in data["bitemap"])  # every mandatory hook has an observed result
    assert all(len(h["phase_runs"]) == 5 and h["first_phase"] in h["phase_runs"] for h in data["hooks"])
    regenerated = doc.read_text()
    for name in ("census", "bitemap"):
        assert doc_section(regenerated, name) in printed
    assert doc_section(regenerated, "release") == f"Linux {tree.release}"
    if doc_section(committed, "release") != doc_section(regenerated, "release"):
        pytest.skip(f"docs/teaching.md shows {doc_section(committed, 'release')}, the cache holds {tree.release}: "
                    "regenerate it with the command the document states")
    # the committed walkthrough is what the stated command produces today: the same text, except
    # that a first phase may differ where it is one this run also observed in some lifecycle
    assert doc_section(regenerated, "bitemap") == doc_section(committed, "bitemap")
    column = 7
    seen = {(h["table"], h["hook"]): set(h["phase_runs"]) for h in data["hooks"]}
    old_rows = doc_section(committed, "census").splitlines()
    new_rows = doc_section(regenerated, "census").splitlines()
    assert len(old_rows) == len(new_rows)
    for old, new in zip(old_rows, new_rows, strict=True):
        old_cells = [c.strip() for c in old.strip("|").split("|")]
        new_cells = [c.strip() for c in new.strip("|").split("|")]
        if old_cells[:column] != new_cells[:column] or old_cells[column + 1:] != new_cells[column + 1:]:
            pytest.fail(f"census row changed:\n{old}\n{new}")
        if old_cells[column] != new_cells[column]:
            assert old_cells[column] in seen[(new_cells[0], new_cells[1])], (old, new)
