"""Short load runs shared by the local and the Ray tests: the scenario, and what any short closed
run of it must report, whoever hosted its workers (the same checks make "the same shape")."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

# One typed turn (a session of about 4 s): each user completes sessions within a short run even on
# a loaded machine, where sessions of two turns could all still be running when the time was up.
SHORT = """
name: short
turns:
  - {say: Please book a table for two., expect: {output_transcript_contains: book a table}}
"""


def check_short_load(report: dict[str, Any], run_dir: Path, users: int, workers: set[str]) -> None:
    """A short closed run of SHORT that held: merged figures, every worker, one sampled session
    recorded and scored with its timeline and audio in the run directory."""
    figures = report["load"]
    assert figures["model"] == "closed" and figures["users"] == users
    assert figures["peak_active_sessions"] == users
    assert figures["sessions_started"] >= users and figures["sessions_completed"] >= users
    assert figures["sessions_failed"] == 0 and figures["failures_by_kind"] == {}
    assert figures["turns_completed"] >= figures["sessions_completed"]
    assert figures["latency_ms"]["first_audio_ms"]["count"] >= users
    assert figures["send_lag_ms"]["count"] > 100
    assert figures["packets_sent"] > 100 and figures["packets_received"] > 100
    assert figures["remote_packets_lost"] == 0  # loopback: the target lost nothing we sent
    assert {w["worker"] for w in figures["workers"]} == workers
    assert all(w["rss_mb"] > 0 and w["node"] for w in figures["workers"])
    assert figures["rss_mb_per_session"] > 0
    assert figures["series"] and figures["series"][0]["t_s"] == 0
    assert figures["workers_lost"] == []
    sampled = report["scenarios"]
    assert sampled and sampled[0]["turns"][0]["assistant_transcript"]
    rtp = sampled[0]["rtp"]  # a decoding session: aiortc's own counters
    assert rtp["packets_sent"] > 50 and rtp["packets_received"] > 50 and rtp["packets_lost"] == 0
    assert (run_dir / sampled[0]["turns"][0]["audio_received"]).is_file()
    timeline = (run_dir / "timeline.jsonl").read_text().splitlines()
    assert sampled[0]["instance"] in {json.loads(line)["session"] for line in timeline}
    assert not list(run_dir.glob("timeline.w*.jsonl"))  # merged into timeline.jsonl
    assert {"report.json", "junit.xml", "summary.md", "index.html"} <= {p.name for p in run_dir.iterdir()}
