"""Exactly-once on Apache Kafka: read_committed hides aborted records, and deduplicating
by event id counts each event once."""

from __future__ import annotations

import uuid

import pytest

from kafkalab.clients import Producer
from kafkalab.orders import AnalyticsService, Event, Store, new_event
from kafkalab.orders.reader import read_topic
from kafkalab.orders.transactions import measure_read_committed

pytestmark = pytest.mark.slow


def test_read_committed_hides_the_aborted_records():
    report = measure_read_committed(f"iso-{uuid.uuid4().hex[:8]}")
    assert sorted(report.read_uncommitted_saw) == sorted(
        [f"committed-{i}" for i in range(3)] + [f"aborted-{i}" for i in range(2)])
    assert report.read_committed_saw == [f"committed-{i}" for i in range(3)]
    assert report.aborted_hidden, str(report)


def test_an_aborted_and_retried_batch_is_delivered_once_to_read_committed():
    """A producer that aborted and retried writes the same events twice; read_committed
    delivers only the committed copy, and the deduplicating service counts it once."""
    topic = f"eo-{uuid.uuid4().hex[:8]}"
    events = [new_event("OrderCompleted", f"ORD-{i}", {"total": 10}, source="order")
              for i in range(5)]
    producer = Producer(transactional_id=f"eo-{uuid.uuid4().hex[:8]}")
    try:
        raw = producer.raw
        raw.init_transactions()
        raw.begin_transaction()
        for e in events:
            producer.send(topic, e.to_record(), key=e.order_id)
        producer.flush()
        raw.abort_transaction()  # "crashed": the whole batch is aborted...
        raw.begin_transaction()
        for e in events:         # ...and written again, same event ids
            producer.send(topic, e.to_record(), key=e.order_id)
        raw.commit_transaction()
    finally:
        producer.close()
    delivered = [Event.from_record(m.value) for m in read_topic(topic, isolation_level="read_committed")]
    analytics = AnalyticsService(Store())
    for e in delivered:
        analytics.process(e)
    assert sorted(e.event_id for e in delivered) == sorted(e.event_id for e in events)  # aborted 5 hidden
    assert analytics.snapshot()["revenue"] == 50
    assert analytics.duplicates == 0
    # read_uncommitted sees both copies; deduplicating by event id still counts each once
    both = [Event.from_record(m.value) for m in read_topic(topic, isolation_level="read_uncommitted")]
    assert len(both) == 10
    dedup = AnalyticsService(Store())
    for e in both:
        dedup.process(e)
    assert dedup.snapshot()["revenue"] == 50 and dedup.duplicates == 5
