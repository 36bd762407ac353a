"""The outbox after a crash: events stored but never published go out when the service restarts."""

from __future__ import annotations

import threading

import pytest

from kafkalab.clients import Producer
from kafkalab.orders import PaymentService, Store, new_event, read_topic
from kafkalab.orders.runner import ServiceRunner

pytestmark = pytest.mark.slow


def test_events_left_in_the_outbox_by_a_crash_are_published_on_restart(make_config, tmp_path):
    config = make_config()
    config.ensure_topics()
    path = tmp_path / "payment.db"
    # "Before the crash": the handler ran and committed its transaction (state, id,
    # outbox), but the process died before publishing.
    crashed = PaymentService(Store(path))
    charge = new_event("ChargePayment", "ORD-1", {"customerId": "C", "amount": 10}, source="order")
    (reply,) = crashed.process(charge)
    crashed.store.close()

    # Restart: the runner publishes what the outbox holds before consuming anything.
    producer = Producer()
    runner = ServiceRunner(PaymentService(Store(path)), producer, topics=config.topics,
                           group_prefix=config.prefix)
    thread = threading.Thread(target=runner.run, kwargs={"timeout": 30})
    thread.start()
    try:
        assert runner.ready.wait(30)
        published = [m.value for m in read_topic(config.topics.name("payment-events"))]
        assert [p["eventId"] for p in published] == [reply.event_id]
        assert runner.service.store.outbox_pending() == []
        # The command itself is redelivered too (its offset was never committed): skipped.
        producer.send(config.topics.name("payment-commands"), charge.to_record(),
                      key=charge.order_id).get(timeout=10)
        for _ in range(100):
            if runner.service.duplicates:
                break
            threading.Event().wait(0.1)
        assert runner.service.duplicates == 1
        assert runner.service.ledger()["charged"] == 10
    finally:
        runner.stop()
        thread.join(30)
        producer.close()


def test_an_outbox_row_that_cannot_be_encoded_is_dead_lettered_and_the_rest_go_out(make_config,
                                                                                     tmp_path):
    # A reply carrying NaN used to fail every publish attempt, across restarts,
    # and every row behind it waited for good.
    config = make_config()
    config.ensure_topics()
    store = Store(tmp_path / "payment.db")
    store.outbox_add("payment-events", "ORD-1", {"eventId": "bad", "amount": float("nan")})
    store.outbox_add("payment-events", "ORD-2", {"eventId": "good", "amount": 10})
    producer = Producer()
    try:
        runner = ServiceRunner(PaymentService(store), producer, topics=config.topics,
                               group_prefix=config.prefix)
        assert runner.publish_outbox() == 2
        assert store.outbox_pending() == []
        published = [m.value for m in read_topic(config.topics.name("payment-events"))]
        assert [p["eventId"] for p in published] == ["good"]
        (dead,) = [m.value for m in read_topic(config.topics.dead_letter)]
        assert dead["error"]["stage"] == "outbox" and "NaN" in dead["originalMessage"]
        assert "JSON" in dead["error"]["message"]
    finally:
        producer.close()
        store.close()


def test_an_outbox_published_without_waiting_deletes_each_row_once_acknowledged(make_config,
                                                                                tmp_path):
    config = make_config()
    config.ensure_topics()
    store = Store(tmp_path / "payment.db")
    for i in range(5):
        store.outbox_add("payment-events", f"ORD-{i}", {"eventId": f"e{i}", "amount": i})
    producer = Producer()
    try:
        runner = ServiceRunner(PaymentService(store), producer, topics=config.topics,
                               group_prefix=config.prefix)
        runner.publish_outbox(wait=False)  # handed over; the acks come later
        runner.publish_outbox(wait=False)  # rows on their way are not sent again
        producer.flush()
        for _ in range(50):  # collected by a later call, as the runner's next batch or tick does
            runner.publish_outbox(wait=False)
            if not store.outbox_pending():
                break
            threading.Event().wait(0.1)
        assert store.outbox_pending() == [] and runner.published == 5
        published = [m.value["eventId"] for m in read_topic(config.topics.name("payment-events"))]
        assert sorted(published) == [f"e{i}" for i in range(5)]  # each once
    finally:
        producer.close()
        store.close()
