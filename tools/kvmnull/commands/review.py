"""``kvmnull review PATCH...``: what a reviewer needs about the hooks a patch touches.

The static part (seconds on a cached kernel): the contract change per table,
the lint before and after with the findings the patch introduces, and
kvm-null's stub for each new hook.  Then, unless ``--no-guest``: the matrix
scenarios of the touched hooks under refuse, warn and the patched source's own
kvm.ko, and each one's kvm-amd knockout row.  A summary no wider than 80
columns for a reply on the list; Markdown for a web review; JSON.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..build.stubgen import stub
from ..core.errors import GuestError, UsageError
from ..core.progress import Progress
from ..fetch.patches import read_patches
from ..kernel.facts import KernelFacts
from ..kernel.hooks import Hook, HookClass
from ..verdict import census as cz
from ..verdict import lint as lz
from ..verdict import review as rv
from .common import (
    STDOUT_EPILOG,
    Outputs,
    common_options,
    guest_options,
    kernel_request,
    progress_of,
)
from .prepare import load

WIDTH = 80


@dataclass(frozen=True)
class GuestPart:
    """The touched hooks' matrix scenarios and kvm-amd knockout rows (the commands' own JSON)."""

    scenarios: tuple[dict[str, object], ...]
    bites: tuple[dict[str, object], ...]


@dataclass(frozen=True)
class Review:
    target: str
    patches: tuple[dict[str, object], ...]
    changes: tuple[rv.ContractChange, ...]
    lint: rv.LintChange
    before: lz.Lint
    after: lz.Lint
    touched: tuple[Hook, ...]
    stubs: dict[str, str]
    guest: GuestPart | None

    @property
    def failed(self) -> bool:
        """Does the patch introduce a warning or an error, or break a scenario?"""
        return (self.lint.worst().rank >= lz.Severity.WARNING.rank
                or any(not s.get("pass") for s in (self.guest.scenarios if self.guest else ())))


def _lint(target: KernelFacts, progress: Progress) -> lz.Lint:
    tree, hooks = target.tree, target.hooks
    census = cz.take(tree.source, hooks, target.config.evaluator(), unclassified=True)
    return lz.lint(tree.source, hooks, hooks.hooks, tree.path / "derived", progress, census)


def _records(data: dict[str, object], key: str) -> list[dict[str, object]]:
    items = data.get(key)
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _run(argv: Sequence[str], progress: Progress) -> tuple[int, dict[str, object]]:
    """Run ``kvmnull ARGV`` as its own process (its tables and progress to standard error) and read its
    JSON; an error of that command (exit 2 and above) is this one's."""
    with tempfile.TemporaryDirectory(prefix="kvmnull-review-") as tmp:
        out = Path(tmp) / "result.json"
        command = [sys.executable, "-m", "kvmnull", *argv, "--json", str(out)]
        progress.command(command, None)
        # its output is relayed to standard error line by line; the child is killed on any exception
        with subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                              text=True, errors="replace") as child:
            try:
                assert child.stdout is not None
                for line in child.stdout:
                    sys.stderr.write(line)
                status = child.wait()
            except BaseException:
                child.kill()
                raise
        if status not in (0, 1):
            raise GuestError(f"review: `kvmnull {argv[0]}` of the touched hooks failed (exit {status})",
                             "see its message above; --no-guest gives the static part alone")
        return status, json.loads(out.read_text()) if out.exists() else {}


def _guest_part(args: argparse.Namespace, hooks: Sequence[Hook], progress: Progress) -> GuestPart:
    common = [*(["--kernel", args.kernel] if args.kernel else []), *(f"--patch={p}" for p in args.patches),
              *(["--cache", args.cache] if args.cache else []), *(["--offline"] if args.offline else []),
              "--accel", args.accel, "--timeout-multiplier", str(args.timeout_multiplier),
              *(["--log-dir", args.log_dir] if args.log_dir else []), *(["-v"] if args.verbose else []),
              *(["-q"] if args.quiet else [])]
    classified = ",".join(h.key for h in hooks if h.hook_class is not HookClass.UNCLASSIFIED)
    scenarios: list[dict[str, object]] = []
    bites: list[dict[str, object]] = []
    if classified:
        _, data = _run(["matrix", *common, "--hooks", classified, "--kvm", "both", "--no-bulk"], progress)
        scenarios = _records(data, "scenarios")
    if classified:  # kvm-amd's knockout= reaches the classified tables' hooks
        _, data = _run(["bitemap", *common, "--vendor", "kvm-amd", "--hooks", classified], progress)
        bites = _records(data, "bites")
    return GuestPart(tuple(scenarios), tuple(bites))


def review(args: argparse.Namespace, progress: Progress) -> Review:
    request = kernel_request(args)
    if request.patches:
        raise UsageError("review takes its patches as arguments, not --patch", "drop --patch: name them after review")
    patches = read_patches(args.patches)
    lz.spatch_version()  # spatch missing: an error with its remedy, before anything slow
    before = load(request, progress)
    after = load(dataclasses.replace(request, patches=patches), progress)
    changes = rv.contract_changes(before.hooks, after.hooks)
    progress.stage("review", "lint of the source before the patch")
    lint_before = _lint(before, progress)
    progress.stage("review", "lint of the source after the patch")
    lint_after = _lint(after, progress)
    lint = rv.lint_change(lint_before, lint_after)
    touched = rv.touched(changes, lint, after.hooks)
    stubs = {c.hook.key: "\n".join(stub(c.hook)).rstrip() + "\n"
             for c in changes if c.change in (rv.Change.ADDED, rv.Change.RENAMED, rv.Change.DECLARATION)
             and c.after is not None}
    guest = None if args.no_guest or not touched else _guest_part(args, touched, progress)
    return Review(after.tree.describe, tuple(p.to_json() for p in patches), changes, lint, lint_before, lint_after,
                  touched, stubs, guest)


# ---- the three renderings ----

def _wrap(text: str, indent: str = "  ") -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent + "  ",
                         break_on_hyphens=False, break_long_words=True)


def _scenario_line(s: dict[str, object]) -> str:
    mark = "ok" if s.get("pass") else "FAIL"
    return (f"{s.get('name')} [{s.get('policy')}]: expected {s.get('expected')}, observed {s.get('observed')}: "
            f"{mark}")


def _bite_line(b: dict[str, object]) -> str:
    step = f" at {b['step']}" if b.get("step") else ""
    return f"{b.get('table')}.{b.get('hook')}: {b.get('divergence')}{step}: {b.get('how')}"


def text(r: Review) -> str:
    """The plain-text summary: no line wider than 80 columns."""
    out = [*_wrap(f"kvmnull review of {r.target}", ""), ""]
    out.append("Contract change:")
    out += [line for c in r.changes for line in _wrap(c.text)] or ["  none: no hook added, removed or reclassified"]
    out += ["", "Lint findings the patch introduces:"]
    out += [line for s in r.lint.introduced for line in _wrap(s.message)]
    out += [line for m in r.lint.introduced_remarks for line in _wrap(m.message)]
    if not r.lint.introduced and not r.lint.introduced_remarks:
        out.append("  none")
    if r.lint.resolved:
        out += ["", "Lint findings the patch resolves:"] + [line for s in r.lint.resolved for line in _wrap(s.message)]
    for key, body in r.stubs.items():
        out += ["", f"kvm-null's stub for {key}:"] + [f"  {line}".expandtabs(8)[:WIDTH] for line in body.splitlines()]
    if r.guest is not None:
        out += ["", "Matrix (the touched hooks alone, each kvm.ko):"]
        out += [line for s in r.guest.scenarios for line in _wrap(_scenario_line(s))] or ["  no scenario"]
        out += ["", "kvm-amd knockout (patched kvm.ko, missing_hook=warn):"]
        out += [line for b in r.guest.bites for line in _wrap(_bite_line(b))] or ["  no knockout"]
    elif r.touched:
        out += ["", "Guest part skipped (--no-guest): run without it for the matrix and knockout rows of",
                "  " + ", ".join(h.key for h in r.touched)]
    out += ["", "Verdict: " + ("the patch introduces findings: see above" if r.failed
                               else "no new warning or error")]
    return "\n".join(line[:WIDTH] for line in out) + "\n"


def markdown(r: Review) -> str:
    out = [f"### kvmnull review of `{r.target}`", "", "**Contract change**", ""]
    out += [f"- `{c.text}`" for c in r.changes] or ["- none"]
    out += ["", "**Lint findings the patch introduces**", ""]
    out += [f"- `{s.file}:{s.line}` **{s.severity.value}** `{s.hook.key}` ({s.kind.value}): {s.why}, "
            f"in `{s.function}()`" for s in r.lint.introduced]
    out += [f"- **{m.severity.value}** `{m.key}`: {m.text}" for m in r.lint.introduced_remarks]
    if not r.lint.introduced and not r.lint.introduced_remarks:
        out.append("- none")
    if r.lint.resolved:
        out += ["", "**Lint findings the patch resolves**", ""]
        out += [f"- `{s.file}:{s.line}` `{s.hook.key}` ({s.kind.value})" for s in r.lint.resolved]
    for key, body in r.stubs.items():
        out += ["", f"**kvm-null's stub for `{key}`**", "", "```c", body.rstrip(), "```"]
    if r.guest is not None:
        out += ["", "| scenario | kvm.ko | expected | observed | |", "|---|---|---|---|---|"]
        out += [f"| {s.get('name')} | {s.get('policy')} | {s.get('expected')} | {s.get('observed')} | "
                f"{'ok' if s.get('pass') else 'FAIL'} |" for s in r.guest.scenarios]
        out += ["", "| knockout | first step that differs | how |", "|---|---|---|"]
        out += [f"| {b.get('table')}.{b.get('hook')} | {b.get('step') or '-'} | {b.get('how')} |"
                for b in r.guest.bites]
    out += ["", "**Verdict:** " + ("the patch introduces findings" if r.failed else "no new warning or error")]
    return "\n".join(out) + "\n"


def to_json(r: Review) -> dict[str, object]:
    return {
        "target": r.target, "patches": list(r.patches),
        "contract": [c.to_json() for c in r.changes],
        "lint": {"introduced": [s.to_json() | {"hook": s.hook.key} for s in r.lint.introduced],
                 "introduced_remarks": [m.to_json() for m in r.lint.introduced_remarks],
                 "resolved": [s.to_json() | {"hook": s.hook.key} for s in r.lint.resolved],
                 "before": {k.value: sum(1 for s in r.before.sites if s.kind is k) for k in lz.Kind},
                 "after": {k.value: sum(1 for s in r.after.sites if s.kind is k) for k in lz.Kind}},
        "touched": [h.key for h in r.touched],
        "stubs": r.stubs,
        "guest": None if r.guest is None else {"scenarios": list(r.guest.scenarios), "bites": list(r.guest.bites)},
        "failed": r.failed,
    }


def cmd_review(args: argparse.Namespace) -> int:
    progress = progress_of(args)
    outputs = Outputs.of(args, "json", "markdown")
    result = review(args, progress)
    print(text(result), end="", file=outputs.human)
    outputs.write("--json", json.dumps(to_json(result), indent=2) + "\n")
    outputs.write("--markdown", markdown(result))
    return 1 if result.failed else 0


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("review", help="what a patch does to the hook contract: the change, the lint's new "
                                           "findings, the stubs, and the touched hooks in guests")
    parser.add_argument("patches", metavar="PATCH", nargs="+",
                        help="the patch (git format-patch, diff -u, or an mbox of a series), in order")
    common_options(parser)
    guest_options(parser)
    parser.add_argument("--no-guest", action="store_true",
                        help="the static part only (contract, lint, stubs): seconds on a cached kernel")
    parser.add_argument("--json", metavar="FILE", help="write the review as JSON")
    parser.add_argument("--markdown", metavar="FILE", help="write the review as Markdown (for a web review)")
    parser.epilog = STDOUT_EPILOG + " Exit status 1: the patch introduces a lint warning or error, or a " \
        "touched hook's scenario fails."
    parser.set_defaults(handler=cmd_review)
