"""A lost produce acknowledgement, on the real broker: the retry duplicates unless the producer is idempotent."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.structs import TopicPartition

from kafkalab.clients import Admin, bootstrap_servers
from kafkalab.clients.lostacks import lose_produce_acks


def _records_in(topic: str) -> int:
    reader = KafkaConsumer(bootstrap_servers=bootstrap_servers())
    tp = TopicPartition(topic, 0)
    try:
        return reader.end_offsets([tp])[tp]
    finally:
        reader.close()


@pytest.mark.parametrize(("config", "copies"), [({}, 1), ({"enable_idempotence": False}, 2)])
def test_a_lost_ack_is_retried_and_only_idempotence_drops_the_copy(config, copies):
    topic = f"lostack-{uuid.uuid4().hex[:8]}"
    with Admin() as admin:
        admin.ensure_topic(topic, partitions=1)
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers(), **config)
    try:
        with lose_produce_acks(1) as lost:
            producer.send(topic, b"order-1").get(timeout=30)
    finally:
        producer.close()
    assert lost.lost == 1, lost      # the answer really was thrown away, so the send was retried
    assert _records_in(topic) == copies


def test_nothing_is_lost_outside_the_block_and_bad_counts_are_refused():
    topic = f"lostack-{uuid.uuid4().hex[:8]}"
    with Admin() as admin:
        admin.ensure_topic(topic, partitions=1)
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers(), enable_idempotence=False)
    try:
        with lose_produce_acks(1):
            producer.send(topic, b"a").get(timeout=30)
        producer.send(topic, b"b").get(timeout=30)      # patched methods are restored
    finally:
        producer.close()
    assert _records_in(topic) == 3                      # a twice (the lost ack), b once
    for bad in (0, -1, 1.5, True, "1"):
        with pytest.raises(ValueError, match="whole number"):
            with lose_produce_acks(bad):
                pass
