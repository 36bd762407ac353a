"""What exactly-once means on the broker in use, measured, and the method that works everywhere."""

from __future__ import annotations

import uuid

import pytest

from kafkalab.clients import Producer
from kafkalab.orders import AnalyticsService, Event, Store, new_event
from kafkalab.orders.reader import read_topic
from kafkalab.orders.transactions import measure_read_committed
from kafkalab.settings import get_settings

pytestmark = pytest.mark.slow


def test_read_committed_on_this_broker():
    report = measure_read_committed(f"iso-{uuid.uuid4().hex[:8]}")
    assert sorted(report.read_uncommitted_saw) == sorted(
        [f"committed-{i}" for i in range(3)] + [f"aborted-{i}" for i in range(2)])
    assert {f"committed-{i}" for i in range(3)} <= set(report.read_committed_saw)
    if get_settings().embedded:
        # Measured: the embedded broker (Tansu) delivers aborted records to
        # read_committed consumers. If this starts failing, Tansu was fixed:
        # update docs/orders.md and the week-4 notebook.
        assert not report.aborted_hidden, str(report)
    else:
        assert report.aborted_hidden, str(report)


def test_deduplicating_by_event_id_gives_one_effect_whatever_the_broker_delivers():
    """A producer that aborted and retried writes the same events twice; a consumer
    that dedupes by eventId counts them once, with or without working isolation."""
    topic = f"eo-{uuid.uuid4().hex[:8]}"
    events = [new_event("OrderCompleted", f"ORD-{i}", {"total": 10}, source="order")
              for i in range(5)]
    producer = Producer(transactional_id=f"eo-{uuid.uuid4().hex[:8]}")
    try:
        raw = producer.raw
        raw.init_transactions()
        raw.begin_transaction()
        for e in events:
            producer.send(topic, e.to_dict(), key=e.order_id)
        producer.flush()
        raw.abort_transaction()  # "crashed": the whole batch is aborted...
        raw.begin_transaction()
        for e in events:         # ...and written again, same event ids
            producer.send(topic, e.to_dict(), key=e.order_id)
        raw.commit_transaction()
    finally:
        producer.close()
    delivered = [Event.from_dict(m.value) for m in read_topic(topic, isolation_level="read_committed")]
    analytics = AnalyticsService(Store())
    for e in delivered:
        analytics.process(e)
    assert len(delivered) in (5, 10)  # 10 on the embedded broker, 5 on Apache Kafka
    assert analytics.snapshot()["revenue"] == 50  # either way, counted once
    assert analytics.duplicates == len(delivered) - 5
