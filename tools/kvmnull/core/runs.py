"""One folder per invocation for what a run writes (console logs), so that runs never share a file.

``out/runs/<UTC time>-<pid>-<command>/``, created exclusively, with ``latest``
pointing at the newest.  Two commands started in the same second differ in
their pid; the folder is never reused.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

DEFAULT_PARENT = Path("out") / "runs"
LATEST = "latest"


def create_run_folder(parent: Path | None, command: str) -> Path:
    """A new, empty folder below ``parent`` (default ``out/runs``) for one invocation of ``command``."""
    parent = parent or DEFAULT_PARENT
    parent.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    base = f"{stamp}-{os.getpid()}-{command}"
    for attempt in range(100):  # the same command twice in one second from one process (tests)
        folder = parent / (base if attempt == 0 else f"{base}.{attempt}")
        try:
            folder.mkdir()
        except FileExistsError:
            continue
        _point_latest(parent, folder)
        return folder
    raise FileExistsError(f"no free run folder name below {parent} for {base}")


def _point_latest(parent: Path, folder: Path) -> None:
    """Make ``parent/latest`` name ``folder``, atomically: a reader sees the old or the new link."""
    link = parent / LATEST
    tmp = parent / f".{LATEST}.{os.getpid()}.{time.monotonic_ns()}"
    os.symlink(folder.name, tmp)
    os.replace(tmp, link)
