"""kafkalab.faults: a lost acknowledgement, on a real producer and the real broker."""

from __future__ import annotations

import uuid

import pytest
from kafka import KafkaProducer

from kafkalab import clients, faults, frames


def test_lost_acks_refuses_what_it_cannot_use():
    with pytest.raises(TypeError, match="needs a kafka.KafkaProducer; got dict"):
        with faults.lost_acks({}):
            pass
    producer = KafkaProducer(bootstrap_servers=clients.bootstrap_servers())
    try:
        for bad in (0, 101, 1.5, True):
            with pytest.raises(ValueError, match="count: expected a whole number from 1 to 100"):
                with faults.lost_acks(producer, count=bad):
                    pass
    finally:
        producer.close()


@pytest.mark.parametrize("idempotent", [False, True])
def test_a_lost_ack_is_retried_and_only_idempotence_drops_the_copy(idempotent):
    topic = f"test-faults-{uuid.uuid4().hex[:8]}"
    with clients.Admin() as admin:
        admin.ensure_topic(topic, partitions=1)
    producer = KafkaProducer(bootstrap_servers=clients.bootstrap_servers(), acks="all", retries=3,
                             enable_idempotence=idempotent, linger_ms=50)
    try:
        with faults.lost_acks(producer, count=1) as lost:
            futures = [producer.send(topic, b"%d" % i) for i in range(3)]
            producer.flush(timeout=20)
        assert lost.lost == 1
        assert all(f.get(timeout=5) for f in futures)   # the retry succeeded: no error reaches the caller
    finally:
        producer.close()
    stored = len(frames.read_topic(topic, timeout=10, value_format="raw"))
    # the lost batch was written, then written again by the retry, unless the broker knew its sequence
    assert stored == 3 if idempotent else stored > 3
