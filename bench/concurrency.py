"""Wall time of the committed suite at several concurrency levels, side by side in one run.

Why: ``rth run --concurrency N`` should cut a suite's wall time without changing what it finds.
Each level runs the same suite against a fresh built-in stand-in (``--target local``, as a user
would) and is compared with concurrency 1: the wall-time ratio, whether every verdict (per
scenario and per turn, in report order) is the same, whether the report keeps the plan order,
and the floor no concurrency can beat: the longest session's own ``duration_s`` at concurrency 1.
The first session's connect time against the others' median shows whether the stand-in is warm
before the first session. Goals: concurrency 3 takes at most 0.6x the wall time of concurrency 1;
at concurrency 1 every latency budget of the committed suites holds (smoke: first audio <= 3000 ms;
features: cancel-to-silence <= 500 ms, ...). The tests run those suites with room in the budgets
(tests/support/budgets.py): this is where the budgets themselves are measured.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from harness.report.model import RunReport
from harness.runner import RunOptions, run_suite
from harness.runner.plan import build_plan
from harness.scenario import Scenario, load_suite

GOAL_LEVEL, GOAL_RATIO = 3, 0.6
HEADER = "  c  wall s  ratio  verdicts=c1  order=plan  passed  longest s  connect ms 1st/others  cores  load"


@dataclass
class Level:
    concurrency: int
    wall_s: float
    report: RunReport
    load: str  # /proc/loadavg's 1-minute figure before -> after
    cpu_s: float  # CPU time of this process and its workers (ASR, scoring) during the level

    def verdicts(self) -> list[tuple[str, str, bool, str]]:
        """Every verdict in report order: (session[/turn], name, passed, what was measured)."""
        found: list[tuple[str, str, bool, str]] = []
        for s in self.report.scenarios:
            where = s.instance or s.name
            found += [(where, v.name, v.passed, v.describe()) for v in s.verdicts]
            found += [
                (f"{where}/{t.name}", v.name, v.passed, v.describe()) for t in s.turns for v in t.verdicts
            ]
        return found

    def differences(self, base: Level) -> list[str] | None:
        """The verdicts that differ from ``base``'s (None: the same verdicts, same order)."""
        mine, theirs = self.verdicts(), base.verdicts()
        if [v[:3] for v in mine] == [v[:3] for v in theirs]:
            return None
        if [v[:2] for v in mine] != [v[:2] for v in theirs]:
            return ["not the same verdicts, or not in the same order"]
        pairs = zip(mine, theirs, strict=True)
        return [f"{a[0]}: {a[3]} (c={base.concurrency}: {b[3]})" for a, b in pairs if a[2] != b[2]]

    def connects(self) -> list[float]:
        """connect_total_ms of every session, in plan order."""
        return [s.connect_ms.get("connect_total_ms") or float("nan") for s in self.report.scenarios]


def cpu_s() -> float:
    """User + system CPU seconds of this process and its waited-for children (the worker processes)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def load_1min() -> str:
    return Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"


async def run_level(scenarios: list[Scenario], concurrency: int, repeat: int, out: Path) -> Level:
    before = load_1min()
    options = RunOptions(out=out, concurrency=concurrency, repeat=repeat, render=False)
    start, cpu = time.monotonic(), cpu_s()
    report, _ = await run_suite(scenarios, options)
    wall = time.monotonic() - start
    return Level(concurrency, wall, report, f"{before}->{load_1min()}", cpu_s() - cpu)


async def main(suite: Path, levels: list[int], repeat: int) -> None:
    scenarios = load_suite([suite]).scenarios
    plan = [p.instance for p in build_plan(scenarios, repeat, {})]
    shown = plan if len(plan) <= 6 else [*plan[:6], "..."]
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"suite {suite}: {len(plan)} sessions {shown}; {os.cpu_count()} cores; load {load}")
    results: list[Level] = []
    with tempfile.TemporaryDirectory(prefix="rth-bench-") as out:
        for level in levels:
            results.append(await run_level(scenarios, level, repeat, Path(out)))
    base = next((r for r in results if r.concurrency == 1), results[0])
    longest = max(base.report.scenarios, key=lambda s: s.duration_s or 0.0)
    floor = longest.duration_s or 0.0
    print(
        f"floor: longest session at c={base.concurrency}: {floor:.1f} s ({longest.name}), "
        f"x{floor / base.wall_s:.2f} of its wall time; sum of sessions "
        f"{sum(s.duration_s or 0.0 for s in base.report.scenarios):.1f} s"
    )
    print(HEADER)
    for r in results:
        connects = r.connects()
        others = statistics.median(connects[1:]) if len(connects) > 1 else float("nan")
        same = "yes" if r.differences(base) is None else "NO"
        order = "yes" if [s.instance or s.name for s in r.report.scenarios] == plan else "NO"
        longest_s = max(s.duration_s or 0.0 for s in r.report.scenarios)
        print(
            f"{r.concurrency:3d} {r.wall_s:7.1f} {r.wall_s / base.wall_s:6.2f}  {same:>11s}  {order:>10s}  "
            f"{r.report.passed!s:>6s} {longest_s:10.1f} {connects[0]:11.1f} / {others:6.1f}  "
            f"{r.cpu_s / r.wall_s:5.2f}  {r.load}"
        )
    for r in results:
        for line in r.differences(base) or []:
            print(f"  c={r.concurrency} differs: {line}")
    budgets = [v for v in base.verdicts() if v[1].startswith("latency.")]
    held = sum(1 for v in budgets if v[2])
    met = "met" if held == len(budgets) else "NOT met"
    print(f"goal every latency budget holds at c={base.concurrency}: {held}/{len(budgets)} ({met})")
    for where, _, _, described in budgets:
        print(f"  {where}: {described}")
    goal = next((r for r in results if r.concurrency == GOAL_LEVEL), None)
    if goal is not None:
        ratio = goal.wall_s / base.wall_s
        met = "met" if ratio <= GOAL_RATIO else "NOT met"
        print(f"goal c={GOAL_LEVEL} <= {GOAL_RATIO}x c=1: x{ratio:.2f} ({met})")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--suite", type=Path, default=Path(__file__).resolve().parents[1] / "scenarios")
    parser.add_argument("--levels", default="1,3,8", help="comma-separated concurrency levels")
    parser.add_argument("--repeat", type=int, default=1, help="run each scenario N times (more sessions)")
    args = parser.parse_args()
    asyncio.run(main(args.suite, [int(level) for level in args.levels.split(",")], args.repeat))
