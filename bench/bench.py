"""Measure kvmnull's speed and record it in docs/performance.md.

    python bench/bench.py [--cache DIR] [--out docs/performance.md]

One run measures, in order, on an empty cache (a temporary folder unless
--cache is given): the cold build (fetch the packages, build the three
modules), the warm no-op build, one `kvmnull run`, the warm full matrix, the
kvm-amd bite map (every hook of every table knocked out alone, under a real
guest workload), and for every other supported series its cold build and its
matrix.
Every figure is the wall time of the real command line.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tools"))
from kvmnull.fetch.packages import DEFAULT_SERIES, supported_series

KVMNULL = [sys.executable, "-m", "kvmnull"]


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, str]:
    started = time.monotonic()
    result = subprocess.run([*KVMNULL, *argv], env=env, capture_output=True, text=True, cwd=REPO)
    seconds = time.monotonic() - started
    if result.returncode != 0:
        sys.exit(f"bench: `kvmnull {' '.join(argv)}` failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return seconds, result.stdout


def mean_seconds(data: dict[str, list[dict[str, object]]], name: str) -> float:
    """The mean guest time of the scenarios called ``name`` (one per policy)."""
    times = [float(str(s["seconds"])) for s in data["scenarios"] if s["name"] == name]
    return sum(times) / len(times) if times else float("nan")


def machine() -> dict[str, str]:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    mem_kb = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                  if line.startswith("MemTotal"))
    qemu = subprocess.run(["qemu-system-x86_64", "--version"], capture_output=True, text=True).stdout.splitlines()
    return {
        "cpu": model, "cores": str(os.cpu_count()), "memory": f"{mem_kb / 1024 / 1024:.0f} GiB",
        "host kernel": platform.release(), "python": platform.python_version(),
        "qemu": qemu[0] if qemu else "unknown",
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cache", help="cache folder to start from (must be empty for a cold build)")
    parser.add_argument("--out", default=str(REPO / "docs" / "performance.md"))
    args = parser.parse_args()

    cache = Path(args.cache) if args.cache else Path(tempfile.mkdtemp(prefix="kvmnull-bench-"))
    if any(cache.iterdir()) if cache.exists() else False:
        sys.exit(f"bench: {cache} is not empty: a cold build needs an empty cache")
    env = {**os.environ, "KVMNULL_CACHE": str(cache), "PYTHONPATH": str(REPO / "tools")}
    logs = Path(tempfile.mkdtemp(prefix="kvmnull-bench-logs-"))
    try:
        cold, _ = timed(["build", "-q"], env)
        warm, _ = timed(["build", "-q"], env)
        # command start-up on a cached kernel: the first call derives the hook table, later ones read it
        memo = list((cache / "kernels").glob("*/derived/target-*.json"))
        for path in memo:
            path.unlink()
        derive, _ = timed(["build", "-q", "--offline", "--list-hooks"], env)
        startup, _ = timed(["build", "-q", "--offline", "--list-hooks"], env)
        # evidence on a 1 MB console log made of real lines
        big = logs / "big.log"
        sample = (REPO / "tools" / "tests" / "test_data" / "upstream-warn.log").read_bytes()
        big.write_bytes(sample * (1_000_000 // len(sample) + 1))
        big_mb = big.stat().st_size / 1e6
        evidence_seconds, _ = timed(["evidence", str(big)], env)
        # the first guest command decides the accelerator once per host: keep that out of the run figure
        timed(["run", "-q", "--null", "vm_destroy", "--log-dir", str(logs)], env)
        single, _ = timed(["run", "-q", "--null", "vcpu_create", "--log-dir", str(logs)], env)
        report = logs / "matrix.json"
        matrix, _ = timed(["matrix", "-q", "--failures-only", "--json", str(report), "--log-dir", str(logs)], env)
        data = json.loads(report.read_text())
        vendor_report = logs / "bitemap.json"
        vendor_map, _ = timed(["bitemap", "-q", "--json", str(vendor_report), "--log-dir", str(logs)], env)
        vendor = json.loads(vendor_report.read_text())
        # every other series, cold: fetch and build, then its whole matrix
        others = []
        for series in supported_series():
            if series == DEFAULT_SERIES:
                continue
            userlands = set((cache / "userlands").glob("*"))
            series_cold, _ = timed(["build", "-q", "--kernel", series], env)
            made = sorted(set((cache / "userlands").glob("*")) - userlands)
            series_report = logs / f"matrix-{series}.json"
            series_matrix, _ = timed(["matrix", "-q", "--failures-only", "--kernel", series, "--json",
                                      str(series_report), "--log-dir", str(logs)], env)
            others.append((series, series_cold, series_matrix, json.loads(series_report.read_text()),
                           f", making the {made[0].name.split('-')[0]} userland it builds in" if made else ""))
    finally:
        if not args.cache:
            shutil.rmtree(cache, ignore_errors=True)
        shutil.rmtree(logs, ignore_errors=True)

    scenarios = len(data["scenarios"])
    passed = sum(s["pass"] for s in data["scenarios"])
    rows = [
        ("cold build (empty cache: fetch 5 packages, build kvm.ko, kvm-amd.ko, kvm-null.ko)", f"{cold:.1f} s"),
        ("warm no-op build", f"{warm:.2f} s"),
        ("`build --list-hooks` when the hook table is not yet derived (evaluates Kconfig)", f"{derive:.2f} s"),
        ("`build --list-hooks` on a cached kernel (command start-up)", f"{startup:.2f} s"),
        (f"`kvmnull evidence` on a {big_mb:.1f} MB console log", f"{evidence_seconds:.2f} s"),
        ("one `kvmnull run --null vcpu_create` (boot, load, judge)", f"{single:.1f} s"),
        (f"warm full matrix ({scenarios} scenarios, {passed} passed)", f"{matrix:.1f} s"),
        ("matrix throughput", f"{scenarios / matrix:.1f} scenarios/s"),
        ("guest boots in the matrix", str(data["boots"])),
        ("matrix / single run", f"{matrix / single:.1f}x"),
        ("kvm-amd control with the kvm.ko reload after it (mean of both policies)",
         f"{mean_seconds(data, 'control-kvm-amd'):.2f} s"),
        ("kvm-null control (mean of both policies)", f"{mean_seconds(data, 'control-kvm-null'):.2f} s"),
        # what the map found is generated into docs/teaching.md from one run (bitemap --update-doc); here only
        # how long it took, so that the two documents never state two figures for one fact
        (f"kvm-amd bite map, every hook of every table ({len(vendor['bites'])} knockouts and the control, "
         f"{vendor['boots']} boots)", f"{vendor_map:.1f} s"),
    ]
    for series, series_cold, series_matrix, series_data, userland in others:
        total = len(series_data["scenarios"])
        rows += [
            (f"{series}: cold build (fetch{userland}, build the three modules) of {series_data['kernel']}",
             f"{series_cold:.1f} s"),
            (f"{series}: warm full matrix ({total} scenarios, "
             f"{sum(s['pass'] for s in series_data['scenarios'])} passed)", f"{series_matrix:.1f} s"),
        ]
    facts = {**machine(), "accelerator": data["accel"], "target": data["kernel"]}
    lines = [
        "# Performance",
        "",
        "Produced by `make bench` (`bench/bench.py`); do not edit by hand. Wall times of the real",
        "commands, measured in one run, in this order, starting from an empty cache.",
        "",
        "| measure | figure |",
        "| --- | --- |",
        *(f"| {name} | {value} |" for name, value in rows),
        "",
        "Targets: cold build under 2 minutes, no-op rebuild under 5 s, full matrix within 30 s and",
        "no more than 8x a single run, the whole kvm-amd bite map within 5 minutes, on a 2-core",
        "machine under TCG.",
        "",
        "## Machine",
        "",
        "| | |",
        "| --- | --- |",
        *(f"| {key} | {value} |" for key, value in facts.items()),
        f"| measured | {datetime.now(timezone.utc).strftime('%Y-%m-%d %H:%M UTC')} |",
        "",
    ]
    from titles import section as titles_section  # bench/titles.py: report titles against syzbot's

    lines += ["", *titles_section()]
    from patches import section as patches_section  # bench/patches.py: a patch on a cached kernel

    lines += ["", *patches_section("7.3")]
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
