"""Just enough of the C preprocessor to read kernel headers against a .config.

Evaluates ``#if`` / ``#ifdef`` / ``#ifndef`` / ``#elif`` / ``#else`` / ``#endif``
with kernel semantics for ``CONFIG_*`` symbols: ``CONFIG_FOO`` is defined (as 1)
only for ``=y``; ``=m`` defines ``CONFIG_FOO_MODULE`` instead; ``IS_ENABLED()``
is true for both.  Any other identifier is 0 unless given in ``defines``, as in
C.  Comments are removed and continuation lines joined, so callers see logical
lines with their first physical line number.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from .errors import ParseError

# symbol name (without CONFIG_) -> "y", "m", "n", or a string/int value
ConfigLookup = Callable[[str], str]

_TOKEN = re.compile(
    r"\s*(?:(?P<num>0[xX][0-9a-fA-F]+|\d+)[uUlL]*|(?P<id>[A-Za-z_]\w*)"
    r"|(?P<op>&&|\|\||==|!=|<=|>=|[!()<>+\-*]))"
)


@dataclass(frozen=True)
class Line:
    """One logical source line: its first physical line number and its text."""

    number: int
    text: str


def logical_lines(text: str) -> Iterator[Line]:
    """Yield logical lines with comments removed and continuations joined."""
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    text = re.sub(r"//[^\n]*", "", text)
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        if raw.endswith("\\"):
            pending += raw[:-1] + " "
            continue
        yield Line(start, pending + raw)
        pending = ""
    if pending:
        yield Line(start, pending)


class Evaluator:
    """Evaluates preprocessor conditions against a configuration."""

    def __init__(self, config: ConfigLookup, defines: Mapping[str, int] | None = None) -> None:
        self._config = config
        self._defines = dict(defines or {})

    def _macro(self, name: str) -> int | None:
        """The value of a macro, or None when it is not defined."""
        if name in self._defines:
            return self._defines[name]
        if name.startswith("CONFIG_"):
            symbol = name[len("CONFIG_"):]
            if symbol.endswith("_MODULE") and self._config(symbol[: -len("_MODULE")]) == "m":
                return 1
            value = self._config(symbol)
            if value == "y":
                return 1
            if value in ("", "n", "m"):
                return None
            try:
                return int(value, 0)
            except ValueError:
                return 1
        return None

    def _tristate(self, name: str) -> str:
        if not name.startswith("CONFIG_"):
            raise ParseError(f"{name!r} is not a CONFIG_ symbol", "only CONFIG_* symbols have a tristate value")
        return self._config(name[len("CONFIG_"):]) or "n"

    def evaluate(self, expression: str) -> bool:
        """True when the ``#if`` expression holds."""
        tokens = self._tokenize(expression)
        parser = _Parser(tokens, self)
        value = parser.expression()
        if parser.pos != len(tokens):
            raise ParseError(f"cannot evaluate #if {expression.strip()!r}: unexpected {tokens[parser.pos]!r}")
        return value != 0

    @staticmethod
    def _tokenize(expression: str) -> list[str]:
        tokens: list[str] = []
        pos = 0
        expression = expression.rstrip()
        while pos < len(expression):
            match = _TOKEN.match(expression, pos)
            if not match or match.end() == pos:
                raise ParseError(f"cannot evaluate #if {expression.strip()!r}: bad text at {expression[pos:]!r}")
            tokens.append(match.group("num") or match.group("id") or match.group("op"))
            pos = match.end()
        return tokens


def _apply(op: str, a: int, b: int) -> int:
    if op == "||":
        return int(bool(a) or bool(b))
    if op == "&&":
        return int(bool(a) and bool(b))
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return int({"==": a == b, "!=": a != b, "<": a < b, ">": a > b, "<=": a <= b, ">=": a >= b}[op])


class _Parser:
    """Recursive descent over the usual C precedence for the operators kernels use."""

    _BINARY: tuple[tuple[str, ...], ...] = (
        ("||",), ("&&",), ("==", "!="), ("<", ">", "<=", ">="), ("+", "-"), ("*",))

    def __init__(self, tokens: list[str], evaluator: Evaluator) -> None:
        self.tokens = tokens
        self.pos = 0
        self.ev = evaluator

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token != expected):
            raise ParseError(f"cannot evaluate #if: expected {expected or 'a value'} in {' '.join(self.tokens)!r}")
        self.pos += 1
        return token

    def expression(self, level: int = 0) -> int:
        if level == len(self._BINARY):
            return self.unary()
        left = self.expression(level + 1)
        while self.peek() in self._BINARY[level]:
            op = self.take()
            right = self.expression(level + 1)
            left = _apply(op, left, right)
        return left

    def unary(self) -> int:
        token = self.peek()
        if token == "!":
            self.take()
            return int(not self.unary())
        if token == "-":
            self.take()
            return -self.unary()
        if token == "(":
            self.take()
            value = self.expression()
            self.take(")")
            return value
        token = self.take()
        if token[0].isdigit():
            return int(token, 0)
        if token == "defined":
            parens = self.peek() == "("
            if parens:
                self.take("(")
            name = self.take()
            if parens:
                self.take(")")
            return int(self.ev._macro(name) is not None)
        if token in ("IS_ENABLED", "IS_BUILTIN", "IS_MODULE", "IS_REACHABLE"):
            self.take("(")
            tristate = self.ev._tristate(self.take())
            self.take(")")
            if token == "IS_BUILTIN":
                return int(tristate == "y")
            if token == "IS_MODULE":
                return int(tristate == "m")
            # IS_REACHABLE from a module (kvm.ko and its vendors are modules)
            return int(tristate in ("y", "m"))
        if self.peek() == "(":
            raise ParseError(f"cannot evaluate #if: unknown function-like macro {token}()")
        macro = self.ev._macro(token)
        return macro if macro is not None else 0


@dataclass(frozen=True)
class Guarded:
    """A logical line that survived preprocessing, with the conditions around it."""

    line: Line
    guards: tuple[str, ...]


_DIRECTIVE = re.compile(r"^\s*#\s*(\w+)\s*(.*)$")


def preprocess(lines: Iterator[Line] | list[Line], evaluator: Evaluator,
               keep_directives: bool = False) -> Iterator[Guarded]:
    """Yield the non-directive lines that are active, each with its enclosing conditions
    (with ``keep_directives``, the active ``#define``, ``#include`` ... lines too)."""
    # stack of (active, any branch taken, condition text)
    stack: list[tuple[bool, bool, str]] = []
    for line in lines:
        match = _DIRECTIVE.match(line.text)
        conditional = match and match.group(1) in ("if", "ifdef", "ifndef", "elif", "else", "endif")
        if not conditional:
            if (not match or keep_directives) and all(active for active, _, _ in stack):
                yield Guarded(line, tuple(text for _, _, text in stack))
            continue
        assert match is not None
        directive, rest = match.group(1), match.group(2).strip()
        if directive in ("if", "ifdef", "ifndef"):
            if directive == "ifdef":
                rest = f"defined({rest})"
            elif directive == "ifndef":
                rest = f"!defined({rest})"
            value = evaluator.evaluate(rest)
            stack.append((value, value, rest))
        elif directive == "elif":
            if not stack:
                raise ParseError(f"line {line.number}: #elif without #if")
            _, taken, text = stack.pop()
            value = not taken and evaluator.evaluate(rest)
            stack.append((value, taken or value, f"!({text}) && ({rest})"))
        elif directive == "else":
            if not stack:
                raise ParseError(f"line {line.number}: #else without #if")
            _, taken, text = stack.pop()
            stack.append((not taken, True, f"!({text})"))
        elif directive == "endif":
            if not stack:
                raise ParseError(f"line {line.number}: #endif without #if")
            stack.pop()
    if stack:
        raise ParseError(f"unterminated #if {stack[-1][2]!r}")


def braced_body(lines: list[Line], opening: re.Pattern[str], what: str) -> list[Line]:
    """The lines from the first one matching ``opening`` to its closing brace, braces excluded.

    ``opening`` must match a line that holds the opening ``{`` (``struct foo {``,
    ``... table = {``); the first and last lines keep only what stands inside.
    """
    start = next((i for i, line in enumerate(lines) if opening.search(line.text)), None)
    if start is None:
        raise ParseError(f"{what} not found", "the target's source changed shape: update kvmnull's parser")
    depth = 0
    body: list[Line] = []
    for line in lines[start:]:
        depth += line.text.count("{") - line.text.count("}")
        body.append(line)
        if depth <= 0:
            break
    first, last = body[0], body[-1]
    body[0] = Line(first.number, first.text.split("{", 1)[1])
    if len(body) > 1:
        body[-1] = Line(last.number, last.text.rsplit("}", 1)[0])
    else:
        body[0] = Line(first.number, body[0].text.rsplit("}", 1)[0])
    return body
