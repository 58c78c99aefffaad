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
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def tree_rss_mb(root_pid: int) -> float:
    """Resident memory of ``root_pid`` and every descendant, MB (VmRSS from /proc)."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    total_kb, stack = 0, [root_pid]
    while stack:
        pid = stack.pop()
        stack.extend(children.get(pid, []))
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total_kb += int(line.split()[1])
        except OSError:
            continue
    return total_kb / 1024


def slope_per_hour(points: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) in MB per hour."""
    if len(points) < 2:
        return 0.0
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    mx, my = statistics.fmean(xs), statistics.fmean(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return 0.0 if den == 0 else 3600 * sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den


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
    with tempfile.TemporaryDirectory() as out:
        command = [str(rth), "load", str(args.suite), "--users", str(args.users)]
        command += ["--duration", str(args.duration), "--ramp-up", str(args.ramp_up), "--out", out]
        print(" ".join(command[1:]), flush=True)
        started = time.monotonic()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        samples: list[tuple[float, float]] = []
        while process.poll() is None:
            time.sleep(args.every)
            elapsed = time.monotonic() - started
            rss = tree_rss_mb(process.pid)
            if process.poll() is None and rss > 0:
                samples.append((elapsed, rss))
                print(f"  {elapsed:7.0f} s  RSS {rss:7.1f} MB", flush=True)
        _, stderr = process.communicate()
        report = json.loads(((Path(out) / "latest").resolve() / "report.json").read_text())
    load = report["load"]
    steady = [s for s in samples if s[0] > args.ramp_up + 60]
    print(f"\nexit {process.returncode}; {load['sessions_started']} sessions started, "
          f"{load['sessions_completed']} completed, {load['sessions_failed']} failed "
          f"{load['failures_by_kind']}, error rate {load['error_rate']:.4f}")  # fmt: skip
    if steady:
        print(f"RSS of the process tree: {steady[0][1]:.0f} MB after the ramp -> {steady[-1][1]:.0f} MB at "
              f"the end; slope {slope_per_hour(steady):+.1f} MB/hour")  # fmt: skip
    series = load.get("series") or []
    print(f"latency drift: first tenth {window(series, True)}; last tenth {window(series, False)}")
    print(f"error events: {sum(r['error_events'] for r in series)}")
    if process.returncode not in (0, 1):
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
    main(parser.parse_args())
