"""ShopAnalytics against a real Apache Kafka broker: metrics, detectors, alerts on a topic."""

from __future__ import annotations

import uuid

import pytest

from kafkalab.analytics import EventGenerator, ShopAnalytics, flatten, produce_events, shop_metrics
from kafkalab.clients import Consumer

pytestmark = pytest.mark.slow


def test_alerts_reach_the_alerts_topic_with_metric_value_range_and_detector():
    topic, app, alerts_topic = (f"{n}-{uuid.uuid4().hex[:8]}" for n in ("events", "sa", "alerts"))
    gen = EventGenerator(seed=42, minutes=60)
    events = gen.generate()
    produce_events(topic, events)
    with ShopAnalytics(topic, application_id=app, alerts_topic=alerts_topic) as analytics:
        stats = analytics.run(idle_timeout=4, timeout=90)
    assert stats.seen == len(events) and stats.dead_lettered == 0

    # The live table holds what the pipeline computes on the same records.
    with Consumer(topic, group_id=False) as c:
        read_back = list(c.messages(idle_timeout=2, timeout=30))
    expected = {r.window.start_ms: flatten(r.value)
                for r in shop_metrics(topic).run_local(read_back, flush=False).final()}
    assert {r["windowStart"]: {k: v for k, v in r.items()
                               if k not in ("windowStart", "start", "final")}
            for r in analytics.table.rows()} == expected

    with Consumer(alerts_topic, group_id=False) as c:
        published = [m.value for m in c.messages(idle_timeout=2, timeout=30)]
    assert len(published) == len(analytics.alerts) > 0
    for alert in published:
        assert set(alert) >= {"metric", "value", "expected", "rule", "timestampMs"}
        assert alert["rule"] in {"zscore", "halfspacetrees"}
        assert not alert["expected"]["low"] <= alert["value"] <= alert["expected"]["high"] \
            or alert["rule"] == "halfspacetrees"
    # The injected anomalies (two minutes in this seed) are among the alerts.
    flagged = {(a["timestampMs"], a["metric"]) for a in published}
    injected = {(ws, m) for ws in gen.labels for m in
                ("orders.count", "orders.revenue", "performance.avgResponseTime",
                 "performance.errorRate", "users.new") if gen.is_anomalous(ws, m)}
    assert injected and injected & flagged
