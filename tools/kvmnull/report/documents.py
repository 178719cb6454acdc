"""Generated sections of the project's documents, between ``<!-- kvmnull:NAME -->`` markers."""

from __future__ import annotations

import re

from ..core.errors import UsageError


def replace_section(document: str, name: str, body: str) -> str:
    """Replace what stands between ``<!-- kvmnull:NAME -->`` and ``<!-- /kvmnull:NAME -->``."""
    pattern = re.compile(rf"(<!-- kvmnull:{name} -->\n).*?(<!-- /kvmnull:{name} -->)", re.S)
    if not pattern.search(document):
        raise UsageError(f"no <!-- kvmnull:{name} --> section in the document",
                         f"add <!-- kvmnull:{name} --> and <!-- /kvmnull:{name} --> lines where it goes")
    return pattern.sub(lambda m: m.group(1) + body.rstrip("\n") + "\n" + m.group(2), document)
