"""Week 5 checkers: each passes a right answer and rejects wrong ones (and the free pass) in plain words.

The suite runs in strict mode (conftest sets KAFKALAB_STRICT_CHECKS=1), so a
failed check raises ExerciseFailed carrying the learner's message.
"""

from __future__ import annotations

import functools
import re
import uuid

import pytest
from kafka import KafkaProducer
from kafka.serializer import DefaultSerializer, JsonSerializer

from kafkalab import clients, logs
from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week05 import check_log_shipper, check_mask_ids, check_resend_prediction

ID = re.compile(r"\b(?:ORD|CUST|ITEM)-\d+\b|\bpay_[0-9a-f]+\b")


def right_mask(message):
    return re.sub(r"\b\d+\b", "<num>", ID.sub("<id>", message))


def test_right_mask_passes():
    assert check_mask_ids(right_mask).passed


# The free pass of issue 11: the course's own reference answer, handed in or called.
@pytest.mark.parametrize("free_pass", [
    logs.template,                                   # handed in as is
    functools.partial(logs.template),                # wrapped
    lambda m: logs.template(m),                      # called through the module, as lessons do
    lambda m: logs.Templater()(m),                   # the class behind it
], ids=["as-is", "partial", "called", "templater"])
def test_reference_templater_is_refused(free_pass):
    with pytest.raises(ExerciseFailed, match="logs.template"):
        check_mask_ids(free_pass)


def test_reference_imported_by_name_is_refused():
    from kafkalab.logs.templates import template  # bound before the check: forbidden() alone misses it

    with pytest.raises(ExerciseFailed, match="don't call kafkalab.logs.template"):
        check_mask_ids(lambda m: template(m))
    assert logs.template("refund for ORD-1 issued") == "refund for <id> issued"   # restored afterwards


def test_numbers_before_ids_fails():
    with pytest.raises(ExerciseFailed, match="kept an id"):
        check_mask_ids(lambda m: ID.sub("<id>", re.sub(r"\d+", "<num>", m)))


# --- exercise 4: the log shipper, on the broker -------------------------------------------------

def make_producer(**overrides):
    config = dict(linger_ms=20, batch_size=64 * 1024, compression_type="gzip", acks="all")
    config.update(overrides)
    return KafkaProducer(bootstrap_servers=clients.bootstrap_servers(), key_serializer=DefaultSerializer(),
                         value_serializer=JsonSerializer(), **config)


def ship_batch(producer, records, topic):
    futures = [producer.send(topic, key=r["logger"], value=r) for r in records]
    producer.flush(timeout=30)
    for f in futures:
        f.get(timeout=30)          # raises if the broker refused this record
    return len(futures)


def test_right_shipper_passes():
    result = check_log_shipper(make_producer, ship_batch, lines=200)
    assert result.passed, str(result)
    assert "a line the broker refused made ship_batch fail" in str(result)


def test_shipper_that_forgets_flush_fails():
    def no_flush(producer, records, topic):
        for r in records:
            producer.send(topic, key=r["logger"], value=r)
        return len(records)

    with pytest.raises(ExerciseFailed, match="still waiting in the producer's memory"):
        check_log_shipper(make_producer, no_flush, lines=100)


def test_shipper_that_drops_failures_fails():
    def flush_only(producer, records, topic):   # flushes, but never looks at a send's outcome
        for r in records:
            producer.send(topic, key=r["logger"], value=r)
        producer.flush(timeout=30)
        return len(records)

    with pytest.raises(ExerciseFailed, match="nobody looked at it"):
        check_log_shipper(make_producer, flush_only, lines=100)


def test_shipper_with_callbacks_that_record_errors_passes():
    def with_callbacks(producer, records, topic):
        errors = []
        for r in records:
            producer.send(topic, key=r["logger"], value=r).add_errback(errors.append)
        producer.flush(timeout=30)
        if errors:
            raise RuntimeError(f"{len(errors)} lines refused, first: {errors[0]}")
        return len(records)

    assert check_log_shipper(make_producer, with_callbacks, lines=100).passed


def test_keyless_shipper_fails():
    def keyless(producer, records, topic):
        futures = [producer.send(topic, key="", value=r) for r in records]
        producer.flush(timeout=30)
        for f in futures:
            f.get(timeout=30)
        return len(futures)

    with pytest.raises(ExerciseFailed, match="have another key"):
        check_log_shipper(make_producer, keyless, lines=100)


def test_default_settings_fail():
    def defaults():
        return KafkaProducer(bootstrap_servers=clients.bootstrap_servers(), key_serializer=DefaultSerializer(),
                             value_serializer=JsonSerializer())

    with pytest.raises(ExerciseFailed, match=r"state each setting .*linger_ms.*compression_type"):
        check_log_shipper(defaults, ship_batch, lines=50)


def test_uncompressed_fire_and_forget_settings_fail():
    with pytest.raises(ExerciseFailed, match=r"linger_ms=0, compression_type=None, acks=1"):
        check_log_shipper(lambda: make_producer(linger_ms=0, compression_type=None, acks=1), ship_batch,
                          lines=50)


def test_kafkalab_producer_is_refused():
    with pytest.raises(ExerciseFailed, match="build a kafka.KafkaProducer|don't call kafkalab.clients.Producer"):
        check_log_shipper(lambda: clients.Producer(), ship_batch, lines=50)


def test_resend_prediction_is_compared_with_the_broker():
    from kafkalab.logs import zookeeper

    topic = f"test-w5-resend-{uuid.uuid4().hex[:8]}"
    with clients.Admin() as admin:
        admin.ensure_topic(topic, partitions=3)
    producer = make_producer()
    try:
        batch = zookeeper.records(limit=30)
        ship_batch(producer, batch, topic)
        ship_batch(producer, batch, topic)     # an application-level resend: idempotence does not dedupe it
    finally:
        producer.close()
    assert check_resend_prediction({"records": 60, "distinct lines": 30}, topic).passed
    with pytest.raises(ExerciseFailed, match="records you said 30, the broker says 60"):
        check_resend_prediction({"records": 30, "distinct lines": 30}, topic)


def test_shipper_that_reorders_lines_fails():
    def newest_first(producer, records, topic):
        return ship_batch(producer, list(reversed(records)), topic)

    with pytest.raises(ExerciseFailed, match="split across partitions or out of order"):
        check_log_shipper(make_producer, newest_first, lines=100)


def test_shipper_that_crashes_says_so():
    def broken(producer, records, topic):
        raise KeyError("service")

    with pytest.raises(ExerciseFailed, match="ship_batch raised KeyError"):
        check_log_shipper(make_producer, broken, lines=10)


def test_drop_failures_is_caught_whatever_the_batch_size():
    # The refused line must travel alone, or kafka-python's handling of a too-large batch of several
    # records (split and retry; flush() raising UnknownError once) would decide the outcome instead.
    def flush_only(producer, records, topic):
        for r in records:
            producer.send(topic, key=r["logger"], value=r)
        producer.flush(timeout=30)
        return len(records)

    with pytest.raises(ExerciseFailed, match="nobody looked at it"):
        check_log_shipper(lambda: make_producer(batch_size=256 * 1024), flush_only, lines=50)


def test_make_producer_that_crashes_says_so():
    def broken():
        raise ValueError("no brokers")

    with pytest.raises(ExerciseFailed, match="make_producer\\(\\) raised ValueError: no brokers"):
        check_log_shipper(broken, ship_batch, lines=10)


def test_shipper_that_miscounts_fails():
    def says_zero(producer, records, topic):
        ship_batch(producer, records, topic)
        return 0

    with pytest.raises(ExerciseFailed, match="it returned 0; return how many records the broker acknowledged"):
        check_log_shipper(make_producer, says_zero, lines=20)


def test_resend_prediction_on_a_missing_topic_says_so():
    with pytest.raises(ExerciseFailed, match="run the cell that ships the batch twice first"):
        check_resend_prediction({"records": 2, "distinct lines": 1}, f"test-w5-none-{uuid.uuid4().hex[:8]}")
