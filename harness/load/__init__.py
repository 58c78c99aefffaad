"""``rth load``: many live sessions per core, merged statistics, thresholds, a breakpoint mode.

``driver`` (schedule, merge, report), ``placement`` (users per worker, node caps), ``worker`` (one
event loop hosting sessions), ``host`` (where workers run) with ``local`` (worker processes) and
``ray_host`` (Ray actors, ``--ray``; with ``remote`` and ``bundle``, what crosses machines),
``stats`` + ``histograms`` (HDR histograms merged exactly), ``thresholds`` (k6-style pass/fail),
``summary`` (the ``load`` object of report.json), ``cost`` (the estimate shown before a paid run).
"""

from harness.load.cost import estimate_cost
from harness.load.driver import LoadOptions, run_load
from harness.load.thresholds import Threshold, ThresholdResult, parse_threshold, parse_thresholds

__all__ = [
    "LoadOptions",
    "Threshold",
    "ThresholdResult",
    "estimate_cost",
    "parse_threshold",
    "parse_thresholds",
    "run_load",
]
