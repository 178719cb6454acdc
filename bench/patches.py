"""Measure what a patch costs on a cached kernel, against a bare boot of the same kernel, into
docs/performance.md.

    python bench/patches.py [--kernel 7.3] [--out docs/performance.md] [--no-write]

On a kernel already in the cache (fetched and built once), three figures of one run:
the floor, a bare boot of that kernel's guest to its shell and back; ``kvmnull review
P --no-guest`` for a patch that reclassifies a hook (the static part a reviewer waits
for), first with the patch not yet applied and then again; and ``kvmnull matrix
--patch P --hooks x86.NEW`` for a patch that adds a mandatory hook, from the command's
start to its first scenario, with no build of that patch cached (apply, build kvm.ko
twice, kvm-null and the guest programs, boot).  Each is given as seconds and as a
ratio to the floor.

Run alone, this rewrites only its own section of the output file; ``bench.py``
writes the same section when it rewrites the whole file.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
from titles import write  # noqa: E402  (bench/titles.py: one way to rewrite a section)

from kvmnull.commands.prepare import GuestRequest, KernelRequest, load, prepare  # noqa: E402
from kvmnull.core.progress import Progress  # noqa: E402
from kvmnull.fetch import packages  # noqa: E402
from kvmnull.guest.qemu import Guest  # noqa: E402

HEADING = "## A patch on a cached kernel"
PATCHES = REPO / "tools" / "tests" / "test_data" / "patches"
GOALS = "Goals: `review --no-guest` within 10 s; `--patch` to the first scenario within 60 s."


def kvmnull(argv: list[str]) -> tuple[float, str]:
    """Run ``kvmnull ARGV``; its wall time and its standard error (the progress lines)."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "kvmnull", *argv], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(REPO / "tools")}, check=False)
    seconds = time.monotonic() - started
    if done.returncode not in (0, 1):
        sys.exit(f"bench: kvmnull {' '.join(argv)} failed ({done.returncode}):\n{done.stderr}")
    return seconds, done.stderr


def bare_boot(series: str) -> float:
    """The floor: boot the kernel's guest (its usual initramfs) to the shell, and power it off."""
    progress = Progress(quiet=True)
    target = load(KernelRequest(packages.KernelSpec(series=series), packages.cache_root(), offline=True), progress)
    cache = packages.cache_root()
    prepared = prepare(GuestRequest("auto", 1.0, None, "bench", cache), progress, target)
    log = prepared.log_dir / "bare-boot.console.log"
    started = time.monotonic()
    with Guest(prepared.config, log, progress):
        pass
    return time.monotonic() - started


def forget(patch: Path, cache: Path) -> None:
    """Remove what the cache keeps of ``patch``: its patched sources and builds (their manifests name it)."""
    digest = hashlib.sha256(patch.read_bytes()).hexdigest()
    for manifest in [*cache.glob("patched/*/*/patched.json"), *cache.glob("builds/*/*/build.json")]:
        if digest in manifest.read_text():
            shutil.rmtree(manifest.parent)


def section(series: str) -> list[str]:
    cache = packages.cache_root()
    reclassify = PATCHES / f"{series}-reclassify-ret0-to-optional.patch"
    adding = PATCHES / f"{series}-add-mandatory-hook.patch"
    new_hook = re.search(r"^\+KVM_X86_OP\((\w+)\)$", adding.read_text(), re.M)
    if new_hook is None:
        sys.exit(f"bench: {adding.name} adds no KVM_X86_OP() entry")
    floor = bare_boot(series)
    forget(reclassify, cache)
    first, _ = kvmnull(["review", str(reclassify), "--kernel", series, "--offline", "--no-guest", "-q"])
    again, _ = kvmnull(["review", str(reclassify), "--kernel", series, "--offline", "--no-guest", "-q"])
    forget(adding, cache)
    with tempfile.TemporaryDirectory() as logs:
        total, progress = kvmnull(["matrix", "--kernel", series, "--offline", "--patch", str(adding), "--hooks",
                                   f"x86.{new_hook.group(1)}", "--kvm", "both", "--no-bulk", "--no-controls",
                                   "--log-dir", logs, "--json", str(Path(logs) / "m.json")])
        scenarios = json.loads((Path(logs) / "m.json").read_text())["scenarios"]
    first_scenario = next((float(m.group(1)) for m in re.finditer(r"^\[\s*([\d.]+)s\] matrix: 1/", progress, re.M)),
                          None)
    release = packages.fetch(packages.KernelSpec(series=series), cache, Progress(quiet=True), offline=True).release

    def ratio(seconds: float) -> str:
        return f"{seconds:.1f} s ({seconds / floor:.1f}x)"
    return [
        HEADING,
        "",
        "Produced by `bench/patches.py` (also run by `make bench`), on a cached kernel, in one run; each",
        "figure also as a multiple of the floor measured in the same run.",
        "",
        "| measure | figure |",
        "| --- | --- |",
        f"| floor: a bare boot of {release}'s guest to its shell and back | {floor:.1f} s |",
        f"| `review --no-guest` of `{reclassify.name}`, the patch not yet applied | {ratio(first)} |",
        f"| the same again (its patched source and lint cached) | {ratio(again)} |",
        f"| `matrix --patch {adding.name}`: start to the first scenario (apply, build, boot) | "
        + (ratio(first_scenario) if first_scenario is not None else "?") + " |",
        f"| the same command to its end ({len(scenarios)} scenarios) | {ratio(total)} |",
        f"| measured | {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} |",
        "",
        GOALS,
        "",
    ]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--kernel", default="7.3", help="a cached series with test patches (default: %(default)s)")
    parser.add_argument("--out", default=str(REPO / "docs" / "performance.md"))
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()
    lines = section(args.kernel)
    print("\n".join(lines))
    if not args.no_write:
        write(Path(args.out), lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
