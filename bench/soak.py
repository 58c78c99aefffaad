"""Soak: `rth load` for a long time at a steady number of sessions; does anything drift or leak?

Why: a load run overnight must end with the same latency, error rate and memory it started with;
a leak of a few KB per session or a slowly growing queue shows only after thousands of sessions.
Runs ``rth load SUITE --users N --duration S`` against the built-in stand-in (127.0.0.1 only),
samples the resident memory of the whole ``rth`` process tree (driver, workers, stand-in) every
``--every`` seconds from /proc, and afterwards reads the run's report.json (its 5 s series):

* RSS: first sample after the ramp vs the last, and the growth per hour (least squares);
* errors: sessions failed by kind, error events, the error rate;
* latency drift: first-audio p50/p95 of the first and the last tenth of the run.

Defaults: 50 users for 30 minutes (issue 11's soak). ``--duration 300`` for a quick look.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def tree_rss(root_pid: int) -> dict[int, tuple[str, float]]:
    """Resident memory (MB) of ``root_pid`` and every descendant, each with its role, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found: dict[int, tuple[str, float]] = {}
    stack = [(root_pid, 0)]
    while stack:
        pid, depth = stack.pop()
        stack.extend((child, depth + 1) for child in children.get(pid, []))
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes()
            status = Path(f"/proc/{pid}/status").read_text().splitlines()
        except OSError:
            continue
        rss = next((int(line.split()[1]) / 1024 for line in status if line.startswith("VmRSS:")), 0.0)
        found[pid] = (role(command, depth), rss)
    return found


def udp_sockets(pid: int) -> int:
    """UDP sockets the driver process holds: with the in-process stand-in, about one per live
    call (its ICE candidate on 127.0.0.1). Calls the stand-in keeps after their client left
    would show as a count above --users that grows."""
    inodes = set()
    try:
        links = list(Path(f"/proc/{pid}/fd").iterdir())
        lines = Path(f"/proc/{pid}/net/udp").read_text().splitlines()[1:]
    except OSError:
        return 0
    for link in links:
        try:
            target = os.readlink(link)
        except OSError:
            continue  # closed in between
        if target.startswith("socket:["):
            inodes.add(target[len("socket:[") : -1])
    return sum(line.split()[9] in inodes for line in lines)


def role(command: bytes, depth: int) -> str:
    """What a process of the tree is: the driver (with the in-process stand-in), a load worker, the
    stand-in's recognition workers, multiprocessing's resource tracker, or a scoring pool (a load
    worker's child)."""
    if depth == 0:
        return "driver+stand-in"
    if b"asr_worker" in command:
        return "stand-in ASR"
    if b"resource_tracker" in command:
        return "resource tracker"
    return "load worker" if depth == 1 else "scoring pool"


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) in MB per hour."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 0.0 if den == 0 else 3600 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


def print_memory(
    samples: list[tuple[float, dict[int, tuple[str, float]]]], args: argparse.Namespace, load: dict[str, Any]
) -> None:
    """Growth of the processes that lived through the whole steady window (from a minute after the
    ramp to the run's end), by role: a pool that starts mid-run is not growth, nor is shutdown.
    The window's second half is given apart: caches and allocator arenas fill early and then
    stay, a leak keeps its slope to the end."""
    steady = [s for s in samples if args.ramp_up + 60 <= s[0] <= args.duration]
    if len(steady) < 4:
        print("RSS: run too short for a steady window")
        return
    lasting = set.intersection(*(set(tree) for _, tree in steady))
    sessions_per_s = load["sessions_started"] / max(args.duration, 1e-9)  # about: they start evenly
    halves = [("steady window", steady), ("second half of that window", steady[len(steady) // 2 :])]
    for label, part in halves:
        points = [(t, sum(tree[pid][1] for pid in lasting)) for t, tree in part]
        grown_mb = points[-1][1] - points[0][1]
        per_session_kb = grown_mb * 1024 / max(1.0, sessions_per_s * (points[-1][0] - points[0][0]))
        print(f"RSS over the {label} ({points[0][0] / 60:.1f} -> {points[-1][0] / 60:.1f} min, "
              f"{len(lasting)} processes): {points[0][1]:.0f} -> {points[-1][1]:.0f} MB, slope "
              f"{slope_per_hour(points):+.1f} MB/hour, {per_session_kb:+.1f} KB per session")  # fmt: skip
        by_role: dict[str, list[float]] = {}
        for pid in lasting:
            grown = by_role.setdefault(part[0][1][pid][0], [0.0, 0.0, 0.0])
            grown[0] += part[0][1][pid][1]
            grown[1] += part[-1][1][pid][1]
            grown[2] += 1
        for name, (before, after, count) in sorted(by_role.items()):
            print(f"  {name} ({count:.0f}): {before:.0f} -> {after:.0f} MB ({after - before:+.1f})")


def window(series: list[dict[str, Any]], first: bool) -> str:
    tenth = max(1, len(series) // 10)
    rows = series[:tenth] if first else series[-tenth:]
    p50 = [r["first_audio_p50_ms"] for r in rows if r.get("first_audio_p50_ms") is not None]
    p95 = [r["first_audio_p95_ms"] for r in rows if r.get("first_audio_p95_ms") is not None]
    if not p50:
        return "no turns"
    return f"first audio p50 {statistics.median(p50):.0f} ms, p95 {statistics.median(p95):.0f} ms"


def main(args: argparse.Namespace) -> None:
    rth = Path(sys.executable).with_name("rth")
    with tempfile.TemporaryDirectory() as scratch:
        out = str(args.out or scratch)
        command = [str(rth), "load", str(args.suite), "--users", str(args.users)]
        command += ["--duration", str(args.duration), "--ramp-up", str(args.ramp_up), "--out", out]
        print(" ".join(command[1:]), flush=True)
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        samples: list[tuple[float, dict[int, tuple[str, float]]]] = []
        while process.poll() is None:
            time.sleep(args.every)
            elapsed = time.monotonic() - started
            tree = tree_rss(process.pid)
            if process.poll() is None and tree:
                samples.append((elapsed, tree))
                total = sum(rss for _, rss in tree.values())
                calls = udp_sockets(process.pid)
                print(f"  {elapsed:7.0f} s  RSS {total:7.1f} MB ({len(tree)} processes); "
                      f"stand-in UDP sockets {calls}", flush=True)  # fmt: skip
        _, stderr = process.communicate()
        report = json.loads(((Path(out) / "latest").resolve() / "report.json").read_text())
    load = report["load"]
    print(f"\nexit {process.returncode}; {load['sessions_started']} sessions started, "
          f"{load['sessions_completed']} completed, {load['sessions_failed']} failed "
          f"{load['failures_by_kind']}, error rate {load['error_rate']:.4f}")  # fmt: skip
    for reason, n in load.get("failure_reasons", {}).items():
        print(f"  {n:>5} x {reason}")
    print_memory(samples, args, load)
    series = load.get("series") or []
    print(f"latency drift: first tenth {window(series, True)}; last tenth {window(series, False)}")
    # Round trips through the stand-in's data channel: how responsive it stayed at this load.
    for metric in ("commit_to_committed_ms", "cancel_to_silence_ms", "first_audio_ms", "connect_total_ms"):
        figures = load["latency_ms"].get(metric) or {}
        if figures.get("count"):
            print(f"{metric}: n={figures['count']} p50 {figures['p50']:.0f} p95 {figures['p95']:.0f} "
                  f"p99 {figures['p99']:.0f} max {figures['max']:.0f}")  # fmt: skip
    print(f"error events by code: {load['error_events'] or 'none'}")
    tracebacks = stderr.count("Traceback (most recent call last)")
    print(f"stderr: {len(stderr.splitlines())} lines, {tracebacks} tracebacks")
    if process.returncode not in (0, 1) or tracebacks:
        print(stderr[-2000:])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suite", type=Path, default=ROOT / "scenarios" / "smoke.yaml")
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--duration", type=float, default=1800.0)
    parser.add_argument("--ramp-up", type=float, default=30.0)
    parser.add_argument("--every", type=float, default=30.0, help="seconds between RSS samples")
    parser.add_argument("--out", type=Path, help="keep the run here (report, sampled timelines)")
    main(parser.parse_args())
