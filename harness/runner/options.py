"""The options of a run, as given on the command line or by the pytest plugin."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.client import ConnectMode
from harness.errors import TargetError
from harness.protocol import DEFAULT_MODEL
from harness.protocol.faults import NetworkSpec
from harness.protocol.urls import base_url_problem, redact_url

LOCAL_TARGET = "local"
# Sessions side by side when neither --concurrency nor a suite's `concurrency:` says: see README.
DEFAULT_CONCURRENCY = 4


def check_target(target: str) -> None:
    """Raise :class:`TargetError` unless ``target`` is 'local' or a usable base URL (no credentials:
    the key comes from the environment; the message shows the URL without them)."""
    problem = None if target == LOCAL_TARGET else base_url_problem(target)
    if problem is not None:
        raise TargetError(f"--target {redact_url(target)}: {problem} (or use 'local')")


@dataclass
class RunOptions:
    target: str = LOCAL_TARGET
    connect: ConnectMode = ConnectMode.UNIFIED
    out: Path = Path("reports")
    model: str = DEFAULT_MODEL
    api_key: str | None = field(default=None, repr=False)
    run_id: str | None = None
    repeat: int = 1
    matrix: dict[str, list[str]] = field(default_factory=dict)
    prices: Path | None = None
    concurrency: int = DEFAULT_CONCURRENCY
    standin_load: bool = False  # the built-in stand-in in load mode (`rth serve --load`), for `rth load`
    # The built-in stand-in on this process's event loop (default), or a process of its own
    # (`--standin process`): more exact first audio at low concurrency, a worse tail when the cores
    # are oversubscribed (docs/performance.md); the default stays until that is settled.
    standin_in_process: bool = True
    render: bool = True  # junit.xml, summary.md and index.html at the end
    # Impair the RTP the client sends (`--client-network`), for scenarios without their own.
    client_network: NetworkSpec | None = None

    def __post_init__(self) -> None:
        check_target(self.target)  # before anything is written: the target is recorded in the report

    def describe(self) -> dict[str, Any]:
        """The options as recorded in report.json (never the key)."""
        return {
            "target": self.target,
            "connect": str(self.connect),
            "model": self.model,
            "out": str(self.out),
            "repeat": self.repeat,
            "matrix": self.matrix,
            "prices": str(self.prices) if self.prices else None,
            "concurrency": self.concurrency,
            "client_network": self.client_network
            if isinstance(self.client_network, str | None)
            else self.client_network.model_dump(),
        }
