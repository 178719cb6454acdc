"""kconfiglib 14.1 and newer Kconfig: each construct it lacks is translated, on Kconfig files of real kernels."""

from __future__ import annotations

from kvmnull.kernel.kconfig import TRANSLATIONS, translate

from .conftest import DATA

SRC_7_3 = DATA / "kernels" / "7.3.4+deb13-cloud-amd64" / "src"


def test_bare_modules_keyword_gets_the_old_spelling() -> None:
    text, counts = translate((SRC_7_3 / "kernel/module/Kconfig").read_text())
    assert counts == {"modules": 1}
    assert "\n\toption modules\n" in text


def test_transitional_symbols_become_plain_ones() -> None:
    original = (SRC_7_3 / "arch/Kconfig").read_text()
    text, counts = translate(original)
    assert counts == {"transitional": 1}
    assert "transitional" not in text.split("config CFI_CLANG\n", 1)[1].split("help", 1)[0]
    # nothing else moves: one line less
    assert len(text.splitlines()) == len(original.splitlines()) - 1


def test_a_conditional_dependency_reads_as_its_meaning() -> None:
    text, counts = translate((SRC_7_3 / "drivers/usb/cdns3/Kconfig").read_text())
    assert counts == {"depends on A if B": 2}
    assert "\tdepends on !(!USB_GADGET) || (USB)\n" in text
    assert "\tdepends on !(!USB) || (USB_GADGET)\n" in text
    # a plain dependency stays as it is
    assert "\tdepends on USB || USB_GADGET\n" in text


def test_translation_is_idempotent_and_each_construct_has_a_meaning() -> None:
    once, _ = translate((SRC_7_3 / "kernel/module/Kconfig").read_text())
    assert translate(once) == (once, {})
    assert all(t.meaning for t in TRANSLATIONS)
