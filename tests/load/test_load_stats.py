"""Failure reasons in the load counters: every failed session is counted once, under a bounded
number of distinct reasons, however the workers' counters are merged."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from harness.load.stats import DISTINCT_REASONS, OTHER_REASONS, Counters

failures = st.lists(
    st.tuples(st.sampled_from(["connect", "disconnected", "timeout"]), st.text(max_size=300) | st.none()),
    max_size=60,
)


@given(st.lists(failures, min_size=1, max_size=4))
def test_merged_failure_reasons_count_every_failed_session_under_few_keys(
    workers: list[list[tuple[str, str | None]]],
) -> None:
    total = Counters()
    for failed in workers:
        counters = Counters()
        for kind, message in failed:
            counters.count_failures(kind, message)
        total.add(counters)
    assert total.sessions_failed == sum(len(failed) for failed in workers)
    assert sum(total.failure_reasons.values()) == total.sessions_failed
    assert sum(total.failures_by_kind.values()) == total.sessions_failed
    assert len(total.failure_reasons) <= DISTINCT_REASONS + 1
    assert all(len(reason) <= 200 for reason in total.failure_reasons)
    if len({(k, m) for failed in workers for k, m in failed}) <= DISTINCT_REASONS:
        assert OTHER_REASONS not in total.failure_reasons


def test_a_reason_names_the_kind_and_the_message() -> None:
    counters = Counters()
    counters.count_failures("disconnected", "the data channel closed", 3)
    counters.count_failures("timeout", None)
    assert counters.failure_reasons == {"disconnected: the data channel closed": 3, "timeout: no message": 1}
