"""The contract lint: for every call kvm.ko makes of a vendor hook, what stands between a NULL hook and its caller.

The facts come from Coccinelle (``spatch``), which parses C into a control-flow graph:
``kbuild/coccinelle/lint-helpers.cocci`` finds functions whose result reads a hook pointer,
``lint-calls.cocci`` (with one rule appended per such helper) finds every call in every
spelling, whether its value is used, whether some path from its function's entry reaches it
without reading the hook pointer (or calling a helper that does), and the ``if`` branches
and short-circuit operands it is evaluated under.  Generated passes then find where the state
those conditions test is set (assignments, requests made, and the callers of a kvm.ko function
that sets it), in kvm.ko and in the vendors.  Python only joins these facts with the hook table.

The lint takes a source folder and a :class:`HookSet`, so it works on any tree.
"""

from __future__ import annotations

import enum
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core import paths, process
from ..core.errors import ConfigError, ParseError
from ..core.progress import Progress
from ..kernel.hooks import Hook, HookClass, HookSet, Table
from .census import VENDOR_DIRS, Census

SPATCH = "spatch"
SPATCH_REMEDY = "install Debian's coccinelle (apt-get install -y coccinelle; scripts/setup.sh does it as root)"
# kvm.ko's own code: the x86 folder but the vendors, the generic KVM code, and the host header's inlines
KVM_DIRS = ("arch/x86/kvm", "virt/kvm")
KVM_HEADERS = ("arch/x86/include/asm/kvm_host.h",)
# a file holding none of these words calls no hook (a prefilter; Coccinelle decides what is a call)
_CALL_WORDS = re.compile(r"static_call|kvm_x86_call|kvm_pmu_call|kvm_nested_call|kvm_x86_ops|kvm_pmu_ops|"
                         r"kvm_nested_ops")
_FALSE = {"0", "false", "NULL", "0UL", "0ULL"}
_TRUE = {"1", "true"}
# the spellings' own text, to find calls the parser did not see (a tracepoint's TP_fast_assign())
_SPELLED = re.compile(r"\b(?P<callee>static_call(?:_cond)?\s*\(\s*(?P<id>kvm_x86_\w+)\s*\)|"
                      r"kvm_(?:x86|pmu|nested)_call\s*\(\s*(?P<name>\w+)\s*\)|"
                      r"(?:kvm_x86_ops|kvm_pmu_ops|kvm_nested_ops)\s*\.\s*(?:nested_ops\s*->\s*)?(?P<member>\w+))"
                      r"\s*\(")
# the tracepoint a call in trace.h sits in
_EVENT = re.compile(r"^\s*(?:TRACE_EVENT\w*|DECLARE_EVENT_CLASS|DEFINE_EVENT\w*)\(\s*(?P<name>\w+)")
# paging_tmpl.h names its functions FNAME(name), a macro it defines per page-table type, which the
# parser cannot see through: spatch reads a copy where each is an identifier of the same length
_FNAME_DEFINED = re.compile(r"^\s*#\s*define\s+FNAME\(", re.M)
_FNAME = re.compile(r"\bFNAME\((\w+)\)")
# a request kvm.ko tests, and the calls that make one (the request is the first argument, or the second)
_REQUEST_TESTS = ("kvm_check_request", "kvm_test_request")
_REQUEST_MAKERS = {"kvm_make_request": 0, "kvm_make_all_cpus_request": 1, "kvm_make_vcpus_request_mask": 1,
                   "kvm_make_all_cpus_request_except": 1}


class Spelling(enum.Enum):
    """How kvm.ko spells a call of a hook."""

    STATIC_CALL = "static_call"  # static_call(kvm_x86_f)(...) (6.1)
    STATIC_CALL_COND = "static_call_cond"  # static_call_cond(kvm_x86_f)(...) (6.1, void optional hooks)
    KVM_X86_CALL = "kvm_x86_call"  # kvm_x86_call(f)(...) (6.11+)
    KVM_PMU_CALL = "kvm_pmu_call"
    KVM_NESTED_CALL = "kvm_nested_call"  # 7.x
    # kvm_x86_ops.f(...), kvm_x86_ops.nested_ops->f(...), pmu_ops->f(...) on the vendor's own table:
    # around the static call
    POINTER = "pointer"

    @property
    def static(self) -> bool:
        """Through a static call, which a NULL hook turns into a NOP (or a return of 0)."""
        return self is not Spelling.POINTER


class Kind(enum.Enum):
    """What stands between a NULL hook and one of its callers."""

    MANDATORY = "mandatory"  # the load-time check (kvmnull's refuse; upstream only WARNs, anonymously)
    VOID_OR_DISCARDED = "void-or-discarded"  # the hook returns void, or this call's value is not used
    RET0 = "ret0"  # OPTIONAL_RET0: a NULL hook returns 0
    CHECKED = "checked"  # dominated by a check of the hook pointer
    HELPER_CHECKED = "helper-checked"  # dominated by a helper whose result reads the hook pointer
    STATE_ONLY = "state-only"  # only by a state that, as far as the source shows, only implementing vendors set
    NOTHING = "nothing"  # a NULL hook hands its caller garbage (or, called through the pointer, oopses)

    @property
    def severity(self) -> Severity:
        return {Kind.NOTHING: Severity.ERROR, Kind.STATE_ONLY: Severity.WARNING}.get(self, Severity.FINE)


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    NOTE = "note"
    FINE = "fine"

    @property
    def rank(self) -> int:
        return {Severity.ERROR: 3, Severity.WARNING: 2, Severity.NOTE: 1, Severity.FINE: 0}[self]


@dataclass(frozen=True)
class CallSite:
    """One call of a hook by kvm.ko, and what stands between a NULL hook and it."""

    hook: Hook
    file: str  # relative to the kernel's root
    line: int
    column: int
    function: str  # or the tracepoint, TRACE_EVENT(name), for a call in its TP_fast_assign()
    spelling: Spelling
    value_used: bool
    kind: Kind
    why: str  # the helper, the condition and where it is set, or what a NULL does

    @property
    def severity(self) -> Severity:
        """The kind's severity, but a hook no table classifies has no contract that allows NULL, so
        nothing in front of it is a warning (the missing table), not an error of the caller."""
        if self.kind is Kind.NOTHING and self.hook.hook_class is HookClass.UNCLASSIFIED:
            return Severity.WARNING
        return self.kind.severity

    @property
    def message(self) -> str:
        """The compiler-style line: ``FILE:LINE: SEVERITY: table.hook: kind: why (in FUNCTION())``."""
        return (f"{self.file}:{self.line}: {self.severity.value}: {self.hook.key}: {self.kind.value}: {self.why} "
                f"(in {self.function}())")

    def to_json(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "column": self.column, "function": self.function,
                "spelling": self.spelling.value, "value_used": self.value_used, "kind": self.kind.value,
                "severity": self.severity.value, "why": self.why}


@dataclass(frozen=True)
class Remark:
    """A finding about a hook or the tables rather than one call: a candidate for mandatory, a member no
    table classifies, a call the parser did not see."""

    severity: Severity
    key: str  # table.hook
    text: str
    file: str | None = None
    line: int | None = None

    @property
    def message(self) -> str:
        """The compiler-style line: ``[FILE:LINE: ]SEVERITY: table.hook: text``."""
        where = f"{self.file}:{self.line}: " if self.file and self.line else ""
        return f"{where}{self.severity.value}: {self.key}: {self.text}"

    def to_json(self) -> dict[str, object]:
        return {"severity": self.severity.value, "hook": self.key, "text": self.text, "file": self.file,
                "line": self.line}


@dataclass(frozen=True)
class Lint:
    """Every call site of the chosen hooks, classified, and the remarks."""

    hooks: tuple[Hook, ...]
    sites: tuple[CallSite, ...]
    remarks: tuple[Remark, ...]

    def of(self, hook: Hook) -> tuple[CallSite, ...]:
        return tuple(s for s in self.sites if s.hook == hook)

    def worst(self) -> Severity:
        found = [s.severity for s in self.sites] + [r.severity for r in self.remarks]
        return max(found, key=lambda s: s.rank, default=Severity.FINE)


# ---- running spatch ----

@dataclass(frozen=True)
class Fact:
    """One ``KVMNULL|what|...`` line a semantic patch printed."""

    what: str
    fields: tuple[str, ...]


def spatch_version() -> str:
    """``spatch --version``'s first line; an error with the remedy when spatch is missing."""
    if shutil.which(SPATCH) is None:
        raise ConfigError("kvmnull lint needs Coccinelle's spatch, which is not on PATH", SPATCH_REMEDY)
    done = subprocess.run([SPATCH, "--version"], capture_output=True, text=True, check=False, timeout=60)
    return (done.stdout.splitlines() or ["?"])[0]


def template(name: str) -> str:
    return paths.data("kbuild", "coccinelle", name).read_text()


def _digest(*parts: bytes) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    return digest.hexdigest()[:16]


def parsable(text: str) -> str:
    """``text`` as spatch reads it: paging_tmpl.h's ``FNAME(walk_addr)`` becomes ``FNAME_walk_addr_``
    (same length, so lines and columns stay those of the file)."""
    if not _FNAME_DEFINED.search(text):
        return text
    return _FNAME.sub(lambda m: f"FNAME_{m.group(1)}_", text)


def run_spatch(cocci: str, source: Path, files: Sequence[str], cache: Path, progress: Progress,
               what: str) -> list[Fact]:
    """The facts ``cocci`` prints over ``files`` (relative to ``source``), in the files' order.  Each
    file's facts are kept in ``cache`` under the spatch, the semantic patch and that file's text, so that
    after a patch only the files it changed are parsed again.  The generated .cocci, and the copies of
    files spatch reads rewritten (:func:`parsable`), live in a temporary folder."""
    if not files:
        return []
    texts = {f: (source / f).read_bytes() for f in files}
    rewritten = {f: parsable(t.decode(errors="surrogateescape")).encode(errors="surrogateescape")
                 for f, t in texts.items()}
    version = spatch_version().encode()
    keys = {f: _digest(version, cocci.encode(), f.encode() + b"\0" + rewritten[f]) for f in files}
    memos = {f: cache / f"lint-{keys[f]}.json" for f in files}
    found: dict[str, list[Fact]] = {}
    for f, memo in memos.items():
        try:
            found[f] = [Fact(str(what_), tuple(fields)) for what_, *fields in json.loads(memo.read_text())]
        except FileNotFoundError:
            pass
        except (OSError, ValueError, TypeError) as exc:
            progress.note(f"ignoring damaged {memo.name}: {exc}")
    missing = [f for f in files if f not in found]
    if missing:
        for f, facts in _spatch(cocci, source, missing, texts, rewritten, cache, progress, what).items():
            found[f] = facts
            with tempfile.NamedTemporaryFile("w", dir=cache, prefix=f".{memos[f].name}.", delete=False) as out:
                json.dump([[fact.what, *fact.fields] for fact in facts], out)
            os.replace(out.name, memos[f])
    return [fact for f in files for fact in found[f]]


def _spatch(cocci: str, source: Path, files: Sequence[str], texts: dict[str, bytes], rewritten: dict[str, bytes],
            cache: Path, progress: Progress, what: str) -> dict[str, list[Fact]]:
    """One spatch run over ``files``: each file's facts (a fact belongs to the file it names)."""
    progress.stage("lint", f"{what}: spatch over {len(files)} files")
    cache.mkdir(parents=True, exist_ok=True)
    facts: dict[str, list[Fact]] = {f: [] for f in files}
    with tempfile.TemporaryDirectory(prefix="kvmnull-lint-") as tmp:
        patch = Path(tmp) / f"{what}.cocci"
        patch.write_text(cocci)
        copies = Path(tmp) / "src"
        argv = []
        for f in files:
            if rewritten[f] == texts[f]:
                argv.append(str(source / f))
            else:
                (copies / f).parent.mkdir(parents=True, exist_ok=True)
                (copies / f).write_bytes(rewritten[f])
                argv.append(str(copies / f))
        done = process.run([SPATCH, "--sp-file", str(patch), "--no-includes", "--very-quiet", *argv],
                           stage=f"lint {what}", log=cache / "lint-spatch.log", progress=progress, timeout=600,
                           error=ParseError, remedy=SPATCH_REMEDY)
        roots = [str(r.resolve()).rstrip("/") + "/" for r in (copies, source)]
        for line in done.output.splitlines():
            if not line.startswith("KVMNULL|"):
                continue
            what_, *fields = line.split("|")[1:]
            # every FILE field relative to the kernel's root
            for index, field in enumerate(fields):
                if field.startswith("/"):
                    resolved = str(Path(field).resolve())
                    for root in roots:
                        if resolved.startswith(root):
                            fields[index] = resolved.removeprefix(root)
                            break
            owner = next((field for field in fields if field in facts), None)
            if owner is None:
                raise ParseError(f"lint {what}: spatch printed a fact that names no file it read: {line}",
                                 "report this: kbuild/coccinelle/ prints a file with every fact")
            facts[owner].append(Fact(what_, tuple(fields)))
    return facts


def kvm_files(source: Path, every: bool = False) -> list[str]:
    """kvm.ko's C files and headers (not the vendors'): those that mention a call spelling or an ops
    table, or with ``every`` all of them (where state is set, a file need not name a hook)."""
    found = []
    vendors = tuple(f"{d}/" for d in VENDOR_DIRS.values())
    for folder in KVM_DIRS:
        for path in sorted((source / folder).rglob("*.[ch]")):
            relative = str(path.relative_to(source))
            if not relative.startswith(vendors) and (every or _CALL_WORDS.search(path.read_text(errors="replace"))):
                found.append(relative)
    return found + [h for h in KVM_HEADERS if (source / h).exists()]


def vendor_files(source: Path) -> list[str]:
    return [str(p.relative_to(source)) for d in VENDOR_DIRS.values() for p in sorted((source / d).rglob("*.[ch]"))]


# ---- the generated rules ----

def helper_rule(index: int, helper: str) -> str:
    """A rule appended to lint-calls.cocci: calls some path reaches without calling ``helper``."""
    return f"""
@unhelped{index} exists@
expression call.E;
position call.p;
position q;
identifier fn;
@@
fn(...) {{
... when != {helper}(...)
    when any
E@p@q(...)
... when any
}}

@script:python@
q << unhelped{index}.q;
@@
print("KVMNULL|unhelped|{helper}|%s" % where(q))
"""


def state_cocci(members: Iterable[str], predicates: Iterable[str], called: Iterable[str]) -> str:
    """Where the ``members`` are assigned (``=`` or ``|=``), what the ``predicates`` return, and every
    call of the ``called`` functions with its arguments."""
    rules = ["// SPDX-License-Identifier: GPL-2.0\n"
             "// generated by kvmnull lint: where the state branch conditions test is set\n"]
    if members := sorted(members):
        rules.append(f"""
@assigned@
identifier X = {{{", ".join(members)}}};
expression S, V;
assignment operator aop = {{=, |=}};
position q;
@@
(
S->X@q aop V
|
S.X@q aop V
)

@script:python@
X << assigned.X;
V << assigned.V;
aop << assigned.aop;
q << assigned.q;
@@
print("KVMNULL|assigned|%s|%s|%s|%s|%s|%s" % (q[0].file, q[0].line, q[0].current_element, X, aop.strip(),
                                              " ".join(V.split())))
""")
    if predicates := sorted(predicates):
        rules.append(f"""
@returns@
expression R;
position q;
@@
return R@q;

@script:python@
R << returns.R;
q << returns.q;
@@
if q[0].current_element in ({", ".join(repr(p) for p in predicates)},):
    print("KVMNULL|returns|%s|%s|%s|%s" % (q[0].file, q[0].line, q[0].current_element, " ".join(R.split())))
""")
    if called := sorted(called):
        rules.append(f"""
@called@
identifier F = {{{", ".join(called)}}};
expression list Es;
position q;
@@
F@q(Es)

@script:python@
F << called.F;
Es << called.Es;
q << called.q;
@@
print("KVMNULL|called|%s|%s|%s|%s|%s" % (q[0].file, q[0].line, q[0].current_element, F, " ".join(str(Es).split())))
""")
    return "".join(rules)


# ---- conditions: what state a condition that holds requires ----

def pretty(text: str) -> str:
    """C as spatch prints it (``! is_guest_mode ( vcpu )``) as a person writes it (``!is_guest_mode(vcpu)``)."""
    text = re.sub(r"\s*(->|\.)\s*", r"\1", " ".join(text.split()))
    text = re.sub(r"(\w)\s+\(", r"\1(", text)
    text = re.sub(r"\(\s+", "(", text)
    text = re.sub(r"\s+([),\]])", r"\1", text)
    return re.sub(r"(^|[\s(])!\s+", r"\1!", text)


def _split(text: str, operator: str) -> list[str]:
    """``text``'s operands of ``operator`` (``&&`` or ``||``) outside parentheses."""
    parts, depth, start, i = [], 0, 0, 0
    while i < len(text):
        c = text[i]
        if c in "([{":
            depth += 1
        elif c in ")]}":
            depth -= 1
        elif depth == 0 and text.startswith(operator, i):
            parts.append(text[start:i])
            start = i = i + len(operator)
            continue
        i += 1
    parts.append(text[start:])
    return [p.strip() for p in parts]


def _unwrap(text: str) -> str:
    """``text`` without enclosing parentheses, ``likely()`` and ``unlikely()``."""
    text = text.strip()
    while True:
        head = re.match(r"^(?:likely|unlikely)\s*\(", text)
        start = head.end() - 1 if head else 0 if text.startswith("(") else -1
        if start < 0 or not text.endswith(")") or _closing(text, start) != len(text) - 1:
            return text
        text = text[start + 1:-1].strip()


def _closing(text: str, start: int) -> int:
    depth = 0
    for i in range(start, len(text)):
        depth += {"(": 1, ")": -1}.get(text[i], 0)
        if depth == 0:
            return i
    return -1


def _arguments(text: str) -> list[str]:
    """The top-level comma-separated arguments of a call's argument text."""
    parts, depth, start = [], 0, 0
    for i, c in enumerate(text):
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(c, 0)
        if c == "," and depth == 0:
            parts.append(text[start:i].strip())
            start = i + 1
    return [*parts, text[start:].strip()]


@dataclass(frozen=True)
class _Test:
    """One atom of a condition: a member read (``S->m``, ``S->m & MASK``, ``S->m == V``), a pending
    request (``kvm_check_request(R, vcpu)``) or a predicate call."""

    what: str  # "member", "request", "predicate"
    name: str
    mask: str | None = None
    value: str | None = None

    def describe(self) -> str:
        if self.what == "request":
            return f"request {self.name}"
        if self.mask:
            return f"{self.mask} in {self.name}"
        return f"{self.name} == {self.value}" if self.value else self.name


_CALL_ATOM = re.compile(r"^(?P<name>[a-z_]\w*)\s*\((?P<args>.*)\)$", re.S)
_MEMBER_ATOM = re.compile(r"^[\w\s.>\-\[\]()*&]*?(?:\.|->)\s*(?P<name>\w+)$")


def _atom(text: str) -> _Test | None:
    text = _unwrap(text)
    call = _CALL_ATOM.match(text)
    if call and _closing(text, text.index("(")) == len(text) - 1:
        name = call.group("name")
        if name in _REQUEST_TESTS:
            return _Test("request", _arguments(call.group("args"))[0])
        return _Test("predicate", name)
    for operator in ("==", "&", "!="):
        parts = [p.strip() for p in re.split(rf"(?<![&=!<>]){re.escape(operator)}(?![&=])", text)]
        if len(parts) == 2 and (member := _MEMBER_ATOM.match(_unwrap(parts[0]))):
            if operator == "&":
                return _Test("member", member.group("name"), mask=_unwrap(parts[1]))
            if operator == "==" and parts[1] not in _FALSE:
                return _Test("member", member.group("name"), value=parts[1])
            if operator == "!=" and parts[1] in _FALSE:
                return _Test("member", member.group("name"))
            return None
    if member := _MEMBER_ATOM.match(text):
        return _Test("member", member.group("name"))
    return None


def _holding(condition: str) -> list[str]:
    """The conjuncts that hold when ``condition`` holds (``!(A || B)`` is ``!A``, ``!B``)."""
    found = []
    for part in _split(_unwrap(condition), "&&"):
        part = _unwrap(part)
        if len(_split(part, "&&")) > 1:
            found += _holding(part)
        elif part.startswith("!") and not part.startswith("!="):
            found += _failing(part[1:])
        else:
            found.append(part)
    return found


def _failing(condition: str) -> list[str]:
    """The conjuncts that hold when ``condition`` does not (``!(!A || B)`` is ``A``)."""
    found = []
    for part in _split(_unwrap(condition), "||"):
        part = _unwrap(part)
        if len(_split(part, "||")) > 1:
            found += _failing(part)
        elif part.startswith("!") and not part.startswith("!="):
            found += _holding(part[1:])
    return found


def tests(condition: str) -> list[_Test]:
    """Every atom a holding ``condition`` requires, and in a disjunct, in every disjunct (flattened)."""
    found = []
    for part in _holding(condition):
        alternatives = _split(part, "||")
        if len(alternatives) > 1:
            found += [atom for alternative in alternatives for atom in tests(alternative)]
        elif (atom := _atom(part)) is not None:
            found.append(atom)
    return found


# ---- where state is set ----

@dataclass(frozen=True)
class _Set:
    """One place that sets a state: an assignment, or a request made."""

    file: str
    line: int
    function: str
    operator: str  # "=", "|=", or "request"
    value: str


@dataclass(frozen=True)
class _State:
    assigned: dict[str, tuple[_Set, ...]] = field(default_factory=dict)  # member -> its assignments
    requests: dict[str, tuple[_Set, ...]] = field(default_factory=dict)  # KVM_REQ_* -> where it is made
    returns: dict[str, tuple[str, ...]] = field(default_factory=dict)  # predicate -> its return expressions
    callers: dict[str, tuple[_Set, ...]] = field(default_factory=dict)  # kvm.ko setter -> its calls
    rearm: tuple[_Branch, ...] = ()  # the branches of kvm.ko's calls, to skip a request re-made under its test


def _vendor_of(file: str) -> str | None:
    for vendor, folder in VENDOR_DIRS.items():
        if file.startswith(folder + "/"):
            return vendor
    return None


def _setters(test: _Test, state: _State) -> list[_Set]:
    """The places that make ``test`` true (clearing ones, ``= 0``, do not)."""
    if test.what == "request":
        return list(state.requests.get(test.name, ()))
    places = []
    for place in state.assigned.get(test.name, ()):
        if place.value in _FALSE:
            continue
        if test.mask is not None and not re.search(rf"\b{re.escape(test.mask)}\b", place.value):
            continue
        if test.value is not None and place.operator == "=" and place.value != test.value:
            continue
        places.append(place)
    return places


@dataclass(frozen=True)
class _Evidence:
    """A state only vendors set: which vendors, and where, said in words."""

    vendors: frozenset[str]
    text: str


def _where(places: Sequence[_Set]) -> str:
    shown = ", ".join(f"{p.file}:{p.line}" for p in places[:3])
    return shown + (f" and {len(places) - 3} more" if len(places) > 3 else "")


def _vendor_only(test: _Test, state: _State, depth: int = 0) -> _Evidence | None:
    """Whether ``test`` can only be true through vendor code, as far as the source shows: every place
    that makes it true is in a vendor, or in a kvm.ko function that only vendors call.  A predicate
    requires it when every non-false value it returns does."""
    if test.what == "predicate":
        returned = [r for r in state.returns.get(test.name, ()) if r not in _FALSE]
        if depth > 2 or not returned or any(r in _TRUE for r in returned):
            return None
        found = [_requires(r, state, depth + 1) for r in returned]
        if any(e is None for e in found):
            return None
        evidence = [e for e in found if e is not None]
        return _Evidence(frozenset().union(*(e.vendors for e in evidence)),
                         f"{test.name}() is true only when " + "; or ".join(dict.fromkeys(e.text for e in evidence)))
    places = _setters(test, state)
    if not places:
        return None
    vendors: set[str] = set()
    direct, via = [], {}
    for place in places:
        if (vendor := _vendor_of(place.file)) is not None:
            vendors.add(vendor)
            direct.append(place)
            continue
        if test.what == "request" and any(b.taken and b.file == place.file and b.start[0] <= place.line <= b.end[0]
                                          and test.name in b.condition for b in state.rearm):
            continue  # made again under its own test: kvm.ko re-arms a request a vendor made
        calls = state.callers.get(place.function, ())
        if not calls or any(_vendor_of(c.file) is None for c in calls):
            return None
        vendors |= {v for c in calls if (v := _vendor_of(c.file)) is not None}
        via[place.function] = (place, calls)
    if not vendors:
        return None
    said = []
    if direct:
        said.append(f"by {' and '.join(sorted({v for p in direct if (v := _vendor_of(p.file))}))} ({_where(direct)})")
    for function, (place, calls) in via.items():
        callers = " and ".join(sorted({v for c in calls if (v := _vendor_of(c.file))}))
        said.append(f"in {function}() ({place.file}:{place.line}), which only {callers} call ({_where(calls)})")
    return _Evidence(frozenset(vendors), f"{test.describe()} is set only {'; and '.join(said)}")


def _requires(condition: str, state: _State, depth: int = 0) -> _Evidence | None:
    """A state only vendors set that ``condition`` holding requires, if any."""
    for part in _holding(condition):
        alternatives = _split(part, "||")
        if len(alternatives) > 1:
            found = [_requires(a, state, depth) for a in alternatives]
            if all(e is not None for e in found):
                every = [e for e in found if e is not None]
                return _Evidence(frozenset().union(*(e.vendors for e in every)), "; or ".join(e.text for e in every))
            continue
        if (atom := _atom(part)) is not None and (evidence := _vendor_only(atom, state, depth)) is not None:
            return evidence
    return None


# ---- joining the facts ----

@dataclass(frozen=True)
class _Call:
    file: str
    line: int
    column: int
    function: str
    ident: str
    callee: str
    struct: str = ""  # the ops struct of a typed pointer's call (pmu_ops->f())

    @property
    def at(self) -> tuple[str, int, int]:
        return (self.file, self.line, self.column)


@dataclass(frozen=True)
class _Branch:
    file: str
    start: tuple[int, int]
    end: tuple[int, int]
    taken: bool  # the then-branch (the condition holds) or the else-branch
    condition: str

    def holds(self, at: tuple[str, int, int]) -> bool:
        return at[0] == self.file and self.start <= (at[1], at[2]) <= self.end


@dataclass(frozen=True)
class _Guard:
    """A condition a call is evaluated under: the ``if`` around it, or ``C &&`` before it."""

    condition: str
    holds: bool  # False: an else-branch, the condition does not hold
    operand: bool  # a short-circuit operand (``C && call``) rather than an ``if``

    def words(self) -> str:
        condition = pretty(self.condition)
        if self.operand:
            return f"only when `{condition}`"
        return f"only inside `if ({condition})`" if self.holds else f"only in the else of `if ({condition})`"


def _spelling(callee: str) -> Spelling:
    head = callee.replace(" ", "").split("(", 1)[0]
    return {"static_call": Spelling.STATIC_CALL, "static_call_cond": Spelling.STATIC_CALL_COND,
            "kvm_x86_call": Spelling.KVM_X86_CALL, "kvm_pmu_call": Spelling.KVM_PMU_CALL,
            "kvm_nested_call": Spelling.KVM_NESTED_CALL}.get(head, Spelling.POINTER)


_STRUCT_TABLE = {t.struct: t for t in Table}


def _hook_of(call: _Call, hooks: HookSet) -> Hook | None:
    """The hook a call reaches: its table from the spelling (or the typed pointer's struct), its name
    from the member."""
    callee = call.callee.replace(" ", "")
    spelling = _spelling(callee)
    if spelling in (Spelling.STATIC_CALL, Spelling.STATIC_CALL_COND):
        prefixes = (("kvm_x86_pmu_", Table.PMU), ("kvm_x86_nested_", Table.NESTED), ("kvm_x86_", Table.X86))
        for prefix, table in prefixes:
            if call.ident.startswith(prefix) and (hook := hooks.find(table, call.ident[len(prefix):])):
                return hook
        return None
    spelled = {Spelling.KVM_X86_CALL: Table.X86, Spelling.KVM_PMU_CALL: Table.PMU,
               Spelling.KVM_NESTED_CALL: Table.NESTED}.get(spelling)
    if spelled is None:
        spelled = _STRUCT_TABLE.get(call.struct) or (
            Table.NESTED if "nested_ops" in callee else Table.PMU if callee.startswith("kvm_pmu_ops")
            else Table.X86)
    return hooks.find(spelled, call.ident)


_POINTER_READ = r"(?:kvm_x86_ops\s*\.\s*(?:nested_ops\s*->\s*)?|kvm_pmu_ops\s*\.\s*|kvm_nested_ops\s*\.\s*|\w+\s*->\s*)"


def reads_pointer(condition: str, member: str) -> bool:
    """Does ``condition`` read the hook pointer ``member`` (not call it)?"""
    return re.search(rf"{_POINTER_READ}{re.escape(member)}\b(?!\s*\()", condition) is not None


def _implementing(hook: Hook, census: Census | None) -> set[str]:
    """The vendors whose table holds the hook, statically or set at run time."""
    if census is None:
        return set()
    for row in census.rows:
        if row.hook == hook:
            static = {v for v, impl in row.vendors.items() if impl is not None and impl.active}
            return static | {c.vendor for c in row.runtime if not c.clears}
    return set()


def _state_only(hook: Hook, guards: Sequence[_Guard], state: _State, census: Census | None) -> str | None:
    """The condition around a call that, as far as the source shows, only a vendor implementing
    ``hook`` makes true: named with where it is set; None if there is none."""
    implementing = _implementing(hook, census)
    for guard in guards:
        condition = guard.condition if guard.holds else f"!({guard.condition})"
        evidence = _requires(condition, state)
        if evidence is not None and evidence.vendors <= implementing:
            return f"{guard.words()}: {evidence.text}"
    return None


def _nothing(hook: Hook, spelling: Spelling, call: _Call) -> str:
    if hook.hook_class is HookClass.UNCLASSIFIED:
        through = "kvm_x86_ops.nested_ops" if hook.table is Table.NESTED and "nested_ops" in call.callee \
            else call.callee.replace(" ", "").rsplit("->", 1)[0].rsplit(".", 1)[0]
        return (f"no table classifies {hook.table.struct} here: called through {through}, with no load-time "
                "check and nothing in front, so a NULL member oopses")
    if not spelling.static:
        return "called through the pointer, around the static call: a NULL hook oopses here"
    return f"the value of a NULL {hook.hook_class.value} hook is whatever RAX held"


def _kind(hook: Hook, call: _Call, facts: dict[str, set[tuple[str, int, int]]],
          helpers: dict[str, set[str]], unhelped: dict[str, set[tuple[str, int, int]]],
          guards: Sequence[_Guard], state: _State, census: Census | None) -> tuple[Kind, str]:
    spelling = _spelling(call.callee)
    at = call.at
    used = at not in facts["discarded"]
    if hook.hook_class is HookClass.MANDATORY:
        return Kind.MANDATORY, "the load-time check (missing_hook=refuse; upstream: an anonymous WARN)"
    if spelling.static and (hook.declaration.returns_void or not used):
        return Kind.VOID_OR_DISCARDED, ("the hook returns void" if hook.declaration.returns_void
                                        else "the call's value is not used")
    if spelling.static and hook.hook_class is HookClass.OPTIONAL_RET0:
        return Kind.RET0, "OPTIONAL_RET0: a NULL hook returns 0"
    if at not in facts["unchecked"] or any(g.holds and reads_pointer(g.condition, hook.name)
                                           for g in guards if g.operand):
        return Kind.CHECKED, f"dominated by a check of the {hook.table.struct}.{hook.name} pointer"
    for helper in sorted(h for h, members in helpers.items() if hook.name in members):
        if at not in unhelped.get(helper, set()):
            return Kind.HELPER_CHECKED, f"dominated by {helper}(), which reads the {hook.name} pointer"
    if (why := _state_only(hook, guards, state, census)) is not None:
        return Kind.STATE_ONLY, why
    return Kind.NOTHING, _nothing(hook, spelling, call)


def _guards(at: tuple[str, int, int], branches: Sequence[_Branch], operands: dict[tuple[str, int, int], list[str]]
            ) -> list[_Guard]:
    """The conditions a call is evaluated under, innermost last."""
    found = [_Guard(b.condition, b.taken, False) for b in branches if b.holds(at)]
    return found + [_Guard(c, True, True) for c in operands.get(at, ())]


def _tested_names(guards: Iterable[_Guard]) -> tuple[set[str], set[str], set[str]]:
    """The members, predicates and requests the guards' conditions test."""
    members: set[str] = set()
    predicates: set[str] = set()
    requests: set[str] = set()
    for guard in guards:
        for test in tests(guard.condition if guard.holds else f"!({guard.condition})"):
            {"member": members, "predicate": predicates, "request": requests}[test.what].add(test.name)
    return members, predicates, requests


def _read_state(source: Path, guards: Iterable[_Guard], branches: Sequence[_Branch], cache: Path,
                progress: Progress) -> _State:
    """Where the state the ``guards`` test is set, in kvm.ko and the vendors."""
    members, predicates, requests = _tested_names(guards)
    if not (members or predicates or requests):
        return _State()
    everywhere = kvm_files(source, every=True) + vendor_files(source)
    returns: dict[str, list[str]] = {}
    seen: set[str] = set()
    while predicates - seen:  # what the predicates return, and the predicates those call
        wanted = predicates - seen
        seen |= wanted
        for fact in run_spatch(state_cocci((), wanted, ()), source, everywhere, cache, progress, "predicates"):
            file, line, function, *value = fact.fields
            expression = "|".join(value)
            returns.setdefault(function, []).append(expression)
            more = _tested_names([_Guard(expression, True, True)])
            members |= more[0]
            requests |= more[2]
            predicates |= more[1]
        if len(seen) > 40:
            break
    facts = run_spatch(state_cocci(members, (), _REQUEST_MAKERS if requests else ()), source, everywhere, cache,
                       progress, "state")
    assigned: dict[str, list[_Set]] = {}
    made: dict[str, list[_Set]] = {}
    for fact in facts:
        if fact.what == "assigned":
            file, line, function, member, operator, *value = fact.fields
            assigned.setdefault(member, []).append(_Set(file, int(line), function, operator, "|".join(value)))
        elif fact.what == "called":
            file, line, function, maker, *args = fact.fields
            arguments = _arguments("|".join(args))
            index = _REQUEST_MAKERS[maker]
            if index < len(arguments):
                made.setdefault(arguments[index], []).append(_Set(file, int(line), function, "request", maker))
    # the kvm.ko functions that set the state: who calls them
    setters = {p.function for places in (*assigned.values(), *made.values()) for p in places
               if _vendor_of(p.file) is None}
    callers: dict[str, list[_Set]] = {}
    if setters:
        for fact in run_spatch(state_cocci((), (), setters), source, everywhere, cache, progress, "setters"):
            file, line, function, called, *args = fact.fields
            callers.setdefault(called, []).append(_Set(file, int(line), function, "call", "|".join(args)))
    return _State({k: tuple(sorted(set(v), key=lambda s: (s.file, s.line))) for k, v in assigned.items()},
                  {k: tuple(sorted(set(v), key=lambda s: (s.file, s.line))) for k, v in made.items()},
                  {k: tuple(v) for k, v in returns.items()},
                  {k: tuple(sorted(set(v), key=lambda s: (s.file, s.line))) for k, v in callers.items()},
                  tuple(branches))


def lint(source: Path, hooks: HookSet, chosen: Sequence[Hook], cache: Path, progress: Progress,
         census: Census | None = None) -> Lint:
    """Lint the calls kvm.ko's source under ``source`` makes of the ``chosen`` hooks of ``hooks``.
    ``census`` (the static census of the same source) names the vendors implementing each hook and the
    run-time clearing, for the state-only verdict and the remarks.  ``cache``: where spatch's facts are kept."""
    files = kvm_files(source)
    helper_facts = run_spatch(template("lint-helpers.cocci"), source, files, cache, progress, "helpers")
    helpers: dict[str, set[str]] = {}
    names = {h.name for h in hooks.hooks}
    for fact in helper_facts:
        file, line, column, helper, member = fact.fields
        # spatch's column (from 0) is the member's; a member followed by '(' is a call, not a read
        text = (source / file).read_text(errors="replace").splitlines()[int(line) - 1][int(column):]
        if member in names and text.startswith(member) and not text[len(member):].lstrip().startswith("("):
            helpers.setdefault(helper, set()).add(member)
    cocci = template("lint-calls.cocci") + "".join(helper_rule(i, h) for i, h in enumerate(sorted(helpers)))
    facts = run_spatch(cocci, source, files, cache, progress, "calls")

    calls: list[_Call] = []
    sets: dict[str, set[tuple[str, int, int]]] = {"discarded": set(), "unchecked": set()}
    unhelped: dict[str, set[tuple[str, int, int]]] = {}
    operands: dict[tuple[str, int, int], list[str]] = {}
    branches: list[_Branch] = []
    for fact in facts:
        f = fact.fields
        if fact.what == "call":
            function = re.sub(r"^FNAME_(\w+)_$", r"FNAME(\1)", f[3])  # see parsable()
            calls.append(_Call(f[0], int(f[1]), int(f[2]), function, f[4], f[5], f[6] if len(f) > 6 else ""))
        elif fact.what in sets:
            sets[fact.what].add((f[0], int(f[1]), int(f[2])))
        elif fact.what == "guard":
            operands.setdefault((f[0], int(f[1]), int(f[2])), []).append("|".join(f[3:]))
        elif fact.what == "unhelped":
            unhelped.setdefault(f[0], set()).add((f[1], int(f[2]), int(f[3])))
        elif fact.what in ("then", "else"):
            branches.append(_Branch(f[0], (int(f[1]), int(f[2])), (int(f[3]), int(f[4])), fact.what == "then",
                                    "|".join(f[5:])))
    calls = sorted(set(calls), key=lambda c: c.at)
    wanted = set(chosen)
    resolved = [(call, hook) for call in calls if (hook := _hook_of(call, hooks)) is not None and hook in wanted]
    guards = {call.at: _guards(call.at, branches, operands) for call, _ in resolved}

    # the state the conditions around otherwise unguarded calls test: where it is set
    open_guards = [g for call, hook in resolved
                   if hook.hook_class is not HookClass.MANDATORY and call.at in sets["unchecked"]
                   for g in guards[call.at]]
    state = _read_state(source, open_guards, branches, cache, progress)

    sites = []
    for call, hook in resolved:
        kind, why = _kind(hook, call, sets, helpers, unhelped, guards[call.at], state, census)
        sites.append(CallSite(hook, call.file, call.line, call.column, call.function, _spelling(call.callee),
                              call.at not in sets["discarded"], kind, why))
    unparsed, remarks = _unparsed(source, files, hooks, wanted, calls)
    sites = sorted(sites + unparsed, key=lambda s: (s.file, s.line, s.column))
    remarks = _remarks(hooks, chosen, calls, census) + remarks
    return Lint(tuple(chosen), tuple(sites), tuple(remarks))


def _unparsed(source: Path, files: Sequence[str], hooks: HookSet, wanted: set[Hook], calls: Sequence[_Call]
              ) -> tuple[list[CallSite], list[Remark]]:
    """Calls in the source text that the parser did not see: those in a tracepoint's TP_fast_assign(),
    which is no function.  Their class settles a mandatory, void or OPTIONAL_RET0 hook's; any other is a
    warning that the site is not linted."""
    seen = {(c.file, c.line) for c in calls}
    sites, remarks = [], []
    for file in files:
        text = (source / file).read_text(errors="replace").splitlines()
        event = "?"
        for number, line in enumerate(text, start=1):
            if match := _EVENT.match(line):
                event = f"TRACE_EVENT({match.group('name')})"
            stripped = line.lstrip()
            if (file, number) in seen or stripped.startswith(("#", "*", "//", "/*")):
                continue
            for match in _SPELLED.finditer(line):
                callee = match.group("callee")
                ident = match.group("id") or match.group("name") or match.group("member") or ""
                call = _Call(file, number, match.start(), event, ident, callee)
                hook = _hook_of(call, hooks)
                if hook is not None and hook not in wanted:
                    continue
                spelling = _spelling(callee)
                void = hook is not None and hook.declaration.returns_void
                kind: Kind | None = None
                if hook is not None and hook.hook_class is HookClass.MANDATORY:
                    kind, why = Kind.MANDATORY, "the load-time check (missing_hook=refuse; upstream: an anonymous WARN)"
                elif hook is not None and spelling.static and void:
                    kind, why = Kind.VOID_OR_DISCARDED, "the hook returns void"
                elif hook is not None and spelling.static and hook.hook_class is HookClass.OPTIONAL_RET0:
                    kind, why = Kind.RET0, "OPTIONAL_RET0: a NULL hook returns 0"
                if hook is not None and kind is not None:
                    sites.append(CallSite(hook, file, number, match.start(), event, spelling, not void, kind,
                                          why + " (a call the parser did not see: read from the text)"))
                else:
                    remarks.append(Remark(Severity.WARNING, hook.key if hook else "?",
                                          f"`{match.group(0).strip()}` is not a call Coccinelle parsed: its "
                                          "function could not be parsed, so this site is not linted", file, number))
    return sites, remarks


def _remarks(hooks: HookSet, chosen: Sequence[Hook], calls: Sequence[_Call], census: Census | None) -> list[Remark]:
    remarks = []
    wanted = set(chosen)
    for call in calls:
        hook = _hook_of(call, hooks)
        if hook in wanted and not _spelling(call.callee).static:
            remarks.append(Remark(Severity.NOTE, hook.key, f"called as {pretty(call.callee)}(...), "
                                  "around the static call", call.file, call.line))
    if census is not None:
        for row in census.rows:
            if row.hook in wanted:
                remarks += [Remark(Severity.NOTE, row.hook.key, flag) for flag in row.flags]
    for hook in chosen:
        if hook.hook_class is HookClass.UNCLASSIFIED:
            struct = hook.declaration.table.struct
            remarks.append(Remark(Severity.NOTE, hook.key, f"function pointer of struct {struct} that no ops "
                                  "table classifies: no load-time check, no static call",
                                  None, hook.declaration.line))
    return remarks


def to_json(result: Lint, release: str) -> dict[str, object]:
    return {
        "kernel": release,
        "hooks": [{"table": h.table.value, "hook": h.name, "class": h.hook_class.value,
                   "return_type": h.declaration.return_type,
                   "calls": [s.to_json() for s in result.of(h)]} for h in result.hooks],
        "remarks": [r.to_json() for r in result.remarks],
        "summary": {k.value: sum(1 for s in result.sites if s.kind is k) for k in Kind},
    }


def lines(result: Lint) -> list[str]:
    """Compiler-style lines: ``FILE:LINE: SEVERITY: table.hook: what``, worst first within a file's order."""
    return [s.message for s in result.sites if s.severity is not Severity.FINE] + [r.message for r in result.remarks]


def rows(result: Lint) -> list[list[str]]:
    """One row per hook: its class, return type and how many of its calls are of each kind."""
    table = []
    for hook in result.hooks:
        sites = result.of(hook)
        counts = {k: sum(1 for s in sites if s.kind is k) for k in Kind}
        worst = max((s.severity for s in sites), key=lambda s: s.rank, default=Severity.FINE)
        table.append([hook.table.value, hook.name, hook.hook_class.value, hook.declaration.return_type,
                      str(len(sites)), ", ".join(f"{k.value} {n}" for k, n in counts.items() if n) or "-",
                      worst.value])
    return table


HEADERS = ["table", "hook", "class", "returns", "calls", "kinds", "worst"]
FINDING_HEADERS = ["severity", "hook", "class", "kind", "call site"]


def finding_rows(result: Lint) -> list[list[str]]:
    """One row per call that is a warning or an error, in the source's order: what the docs show."""
    return [[s.severity.value, s.hook.key, s.hook.hook_class.value, s.kind.value,
             f"{s.function}() ({s.file}:{s.line})"] for s in result.sites if s.severity is not Severity.FINE]


def hook_verdicts(result: Lint) -> dict[str, str]:
    """Per hook (``table.hook``), the lint's verdict in a table cell: ``fine``, ``no call``, or the worst
    severity with the kinds that are not fine (``error: nothing 3``)."""
    out = {}
    for hook in result.hooks:
        sites = result.of(hook)
        worst = max((s.severity for s in sites), key=lambda s: s.rank, default=Severity.FINE)
        counts = {k: sum(1 for s in sites if s.kind is k) for k in Kind if k.severity is not Severity.FINE}
        kinds = ", ".join(f"{k.value} {n}" for k, n in counts.items() if n)
        out[hook.key] = "no call" if not sites else worst.value if not kinds else f"{worst.value}: {kinds}"
    return out


def summary(result: Lint, release: str) -> str:
    """``RELEASE: N calls of M hooks: E errors, W warnings``."""
    counts = {s: sum(1 for site in result.sites if site.severity is s) for s in Severity}
    return (f"{release}: {len(result.sites)} calls of {len(result.hooks)} hooks: "
            f"{counts[Severity.ERROR]} errors, {counts[Severity.WARNING]} warnings")
