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


# a figure inline in prose or a table cell: <!-- kvmnull:NAME -->TEXT<!-- /kvmnull:NAME -->, on one line
_SPAN = re.compile(r"<!-- kvmnull:(?P<name>[\w.-]+) -->(?P<text>[^\n]*?)<!-- /kvmnull:(?P=name) -->")


def spans(document: str) -> list[tuple[str, str]]:
    """Every inline span of the document, as (name, text), in order (a name may recur)."""
    return [(m["name"], m["text"]) for m in _SPAN.finditer(document)]


def replace_spans(document: str, texts: dict[str, str]) -> str:
    """Set the text of every inline span whose name ``texts`` has; other spans stay as they are."""
    def replace(match: re.Match[str]) -> str:
        name = match["name"]
        if name not in texts:
            return match.group(0)
        return f"<!-- kvmnull:{name} -->{texts[name]}<!-- /kvmnull:{name} -->"

    return _SPAN.sub(replace, document)
