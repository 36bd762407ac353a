"""The counting rules (error rate, burst) on the windowing engine: windows, fresh bursts, checkpoints."""

from __future__ import annotations

import json

import pytest

from kafkalab.logs import BurstRule, ErrorBurst, ErrorRateRule, make_record, simulate, validate

T0 = 1_767_603_600_000


def err(service: str, s: float, level: str = "ERROR") -> dict:
    return validate(make_record(service=service, level=level, message="db down",
                                timestamp_ms=T0 + int(s * 1000)))


def test_a_burst_counts_the_last_within_s_and_the_next_alert_needs_a_fresh_burst() -> None:
    rule = BurstRule("b", count=3, within_s=10)
    fired = [s for s in (0, 9.999, 10, 11, 12, 13, 14, 30) if rule.process(err("api", s))]
    # 0 is exactly 10 s before 10: outside. Fires at 11 (10, 9.999, 11); 12, 13 start afresh.
    assert fired == [11, 14]
    other = BurstRule("b", count=3, within_s=10)
    assert [bool(other.process(err(svc, 0))) for svc in ("api", "web", "api", "web", "api")] == [
        False, False, False, False, True]          # one window per service


@pytest.mark.parametrize("make", [
    lambda: ErrorRateRule("r", threshold=0.2, window_s=30, min_records=10),
    lambda: BurstRule("b", count=5, within_s=3),
], ids=["error_rate", "burst"])
def test_a_rule_restored_from_its_snapshot_raises_the_same_alerts(make) -> None:
    records = [validate(r) for r in simulate(
        400, seed=7, start_ms=T0, incidents=[ErrorBurst("payments", start_s=100, duration_s=60),
                                             ErrorBurst("api", start_s=250, duration_s=40)])]

    def run(rule, recs):
        return [a.to_record() for a in map(rule.process, recs) if a is not None]

    whole = make()
    expected = run(whole, records) + [a.to_record() for a in whole.flush()]
    assert len(expected) >= 2
    cut = next(i for i, r in enumerate(records)              # mid-burst, windows half counted
               if r["service"] == "payments" and r["timestamp"] >= "2026-01-05T09:01:50")
    first = make()
    got = run(first, records[:cut])
    second = make()
    second.restore(json.loads(json.dumps(first.snapshot())))
    got += run(second, records[cut:]) + [a.to_record() for a in second.flush()]
    assert got == expected
