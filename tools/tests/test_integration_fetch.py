"""The fetch, really done: a download killed half way leaves nothing the cache trusts."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kvmnull.fetch.packages import KernelTree


@pytest.mark.build
def test_fetch_killed_mid_download_leaves_nothing_trusted(tree: KernelTree, tmp_path: Path) -> None:
    from kvmnull.fetch.packages import cached_trees

    cache = tmp_path / "cache"
    env = {**os.environ, "KVMNULL_CACHE": str(cache)}
    child = subprocess.Popen([sys.executable, "-m", "kvmnull", "fetch", "-q"], env=env,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not list((cache / "kernels").glob(".tmp-*/debs/*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(child.pid, signal.SIGKILL)  # no cleanup handler runs
    child.wait()
    assert list((cache / "kernels").glob(".tmp-*")), "the kill came too late to test anything"
    assert cached_trees(cache) == []
    # the next run fetches a complete entry despite the leftover
    done = subprocess.run([sys.executable, "-m", "kvmnull", "fetch", "-q"], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    # the same newest set the default cache holds
    assert [t.abi for t in cached_trees(cache)] == [tree.abi]
