"""The replication lab (week 8, lesson 4) on a private three-node cluster.

The scenario of notebooks/week08-production-readiness/04-replication-and-failover.ipynb:
a topic with replication factor 3 and ``min.insync.replicas=2``; stop the leader's node
while an ``acks="all"`` producer writes (a new leader from the ISR, the ISR shrinks to 2,
writes go on); stop a second node (``acks="all"`` refused); start both (the ISR heals to 3);
every acknowledged record is in the topic. The cluster lives in a temporary state
directory and is always stopped at the end.
"""

from __future__ import annotations

import time
from collections import Counter

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import NotEnoughReplicasError

from kafkalab import broker
from kafkalab.ops.replication import KeepWriting, parse_topics_describe, partition_states, wait_until

pytestmark = pytest.mark.slow

TOPIC = "replicated"


@pytest.fixture
def cluster(tmp_path, monkeypatch):
    monkeypatch.setenv("KAFKALAB_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("KAFKALAB_BROKER_PORT", raising=False)
    try:
        info, started = broker.up(nodes=3)
        assert started and len(info.nodes) == 3
        yield info
    finally:
        broker.down(3)
    assert broker.status(3) is None


def read_keys(bootstrap: str, topic: str, partitions: list[int], timeout: float = 30) -> Counter:
    """Every record's key in ``topic``, counted; bounded by ``timeout``."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        consumer.seek_to_beginning()
        ends = consumer.end_offsets(tps)
        keys: Counter = Counter()
        deadline = time.monotonic() + timeout
        while any(consumer.position(tp) < ends[tp] for tp in tps):
            assert time.monotonic() < deadline, "the read-back did not finish in time"
            for batch in consumer.poll(timeout_ms=1000).values():
                keys.update(r.key for r in batch)
        return keys
    finally:
        consumer.close()


def test_failover_keeps_every_acknowledged_record(cluster):
    bootstrap = cluster.bootstrap
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    producer = few_retries = None
    try:
        admin.create_topics([NewTopic(TOPIC, replica_assignments={0: [1, 2, 3], 1: [2, 3, 1],
                                                                  2: [3, 1, 2]},
                                      topic_configs={"min.insync.replicas": "2"})],
                            wait_for_metadata=True)

        def in_sync(n):
            states = partition_states(admin, TOPIC)
            return states if states and all(len(s.isr) == n for s in states.values()) else None

        before = wait_until(lambda: in_sync(3), timeout=30, what="three in-sync replicas")
        assert [s.leader for s in before.values()] == [1, 2, 3]

        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5,
                                 request_timeout_ms=5_000, delivery_timeout_ms=30_000,
                                 max_block_ms=10_000)
        # Made (and given its producer id) while the controller quorum is up.
        few_retries = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=2,
                                    request_timeout_ms=2_000, max_block_ms=10_000)
        few_retries.send(TOPIC, key=b"ready", value=b"{}").get(timeout=20)

        # One node down: the leader of partition 0, while the producer writes.
        writer = KeepWriting(producer, TOPIC, interval=0.01).start()
        try:
            wait_until(lambda: writer.acked_count() >= 50, timeout=30, what="50 acks")
            leader = before[0].leader
            broker.stop_node(leader, nodes=3)
            at_stop = writer.acked_count()
            after = wait_until(lambda: in_sync(2), timeout=30, what="the ISR shrinks to 2")
            wait_until(lambda: writer.acked_count() >= at_stop + 50, timeout=30,
                       what="50 more acks with one node down")
        finally:
            writer.stop(timeout=30)
        assert after[0].leader != leader and after[0].leader in before[0].isr
        assert all(s.leader != leader and leader not in s.isr for s in after.values())
        assert writer.pending == 0 and not writer.failed, writer.errors()

        # Two nodes down: acks="all" is refused.
        second = after[0].leader
        broker.stop_node(second, nodes=3)
        survivor = ({1, 2, 3} - {leader, second}).pop()
        alone = wait_until(lambda: in_sync(1), timeout=30, what="the ISR shrinks to 1")
        assert all(s.leader == survivor for s in alone.values())
        with pytest.raises(NotEnoughReplicasError):
            few_retries.send(TOPIC, key=b"refused", value=b"{}").get(timeout=20)

        # Both back: the ISR heals, nothing acknowledged is lost.
        broker.up(nodes=3)
        healed = wait_until(lambda: in_sync(3), timeout=90, what="the ISR heals to 3")
        assert all(s.isr == (1, 2, 3) for s in healed.values())
        keys = read_keys(bootstrap, TOPIC, list(healed))
        acked = {f"{seq:06d}".encode() for seq in writer.acked}
        assert not acked - set(keys), "acknowledged records lost"
        assert set(keys) == acked | {b"ready"} and all(n == 1 for n in keys.values())

        # Kafka's own tool sees the same leaders, replicas and ISR.
        described = broker.tool("kafka-topics", "--bootstrap-server", bootstrap, "--describe",
                                "--topic", TOPIC, timeout=60)
        assert described.returncode == 0, described.stderr
        assert parse_topics_describe(described.stdout, TOPIC) == partition_states(admin, TOPIC)
    finally:
        for p in (producer, few_retries):
            if p is not None:
                p.close(timeout=5)
        admin.close()
