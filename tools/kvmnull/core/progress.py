"""Progress lines for long work: stage, what, elapsed; exact commands when verbose."""

from __future__ import annotations

import shlex
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO


@dataclass
class Progress:
    """Writes ``[  12.3s] stage: what`` lines to stderr (stdout stays for results)."""

    verbose: bool = False
    quiet: bool = False
    stream: TextIO = field(default_factory=lambda: sys.stderr)
    started: float = field(default_factory=time.monotonic)

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def stage(self, stage: str, what: str) -> None:
        if not self.quiet:
            print(f"[{self.elapsed():7.1f}s] {stage}: {what}", file=self.stream, flush=True)

    def command(self, argv: Sequence[str], cwd: str | None = None) -> None:
        """Print the exact command line (verbose only)."""
        if self.verbose and not self.quiet:
            where = f"(cd {shlex.quote(cwd)} && " if cwd else ""
            close = ")" if cwd else ""
            print(f"[{self.elapsed():7.1f}s] $ {where}{shlex.join(argv)}{close}", file=self.stream, flush=True)

    def note(self, text: str) -> None:
        if not self.quiet:
            print(f"[{self.elapsed():7.1f}s] {text}", file=self.stream, flush=True)
