"""The replication lab's helpers, without a cluster: parsing Kafka's tool output, bounded
waits, and the bookkeeping of KeepWriting (with a fake producer)."""

from __future__ import annotations

import time

import pytest
from kafka.errors import NotEnoughReplicasError
from kafka.future import Future

from kafkalab.ops.replication import KeepWriting, PartitionState, parse_topics_describe, partition_states, wait_until

# What `kafka-topics --describe` printed on the three-node cluster with node 3 down (4.4.0).
DESCRIBE = """\
Topic: lab\tTopicId: mjOd9iv7RZi5WAWQYFxCBw\tPartitionCount: 3\tReplicationFactor: 3\tConfigs: min.insync.replicas=2
\tTopic: lab\tPartition: 0\tLeader: 2\tReplicas: 3,1,2\tIsr: 2,1\tElr: \tLastKnownElr:\x20
\tTopic: lab\tPartition: 1\tLeader: 1\tReplicas: 1,2,3\tIsr: 1,2\tElr: \tLastKnownElr:\x20
\tTopic: lab\tPartition: 2\tLeader: none\tReplicas: 2,3,1\tIsr: \tElr: \tLastKnownElr:\x20
Topic: other\tTopicId: x\tPartitionCount: 1\tReplicationFactor: 1\tConfigs:\x20
\tTopic: other\tPartition: 0\tLeader: 1\tReplicas: 1\tIsr: 1\tElr: \tLastKnownElr:\x20
"""


def test_parse_topics_describe_reads_leader_replicas_and_sorted_isr():
    states = parse_topics_describe(DESCRIBE, "lab")
    assert states == {
        0: PartitionState(0, leader=2, replicas=(3, 1, 2), isr=(1, 2)),
        1: PartitionState(1, leader=1, replicas=(1, 2, 3), isr=(1, 2)),
        2: PartitionState(2, leader=None, replicas=(2, 3, 1), isr=()),
    }


def test_parse_topics_describe_without_a_topic_reads_every_line_and_ignores_noise():
    # Without a topic name, the last topic's partition 0 wins: name it when there are several.
    assert parse_topics_describe(DESCRIBE)[0].replicas == (1,)
    assert parse_topics_describe("WARN some log line\nError while executing topic command") == {}


class FakeAdmin:
    def __init__(self, answer):
        self.answer = answer

    def describe_topics(self, topics):
        return [self.answer]


def test_partition_states_reads_kafka_pythons_describe_topics():
    admin = FakeAdmin({"error_code": 0, "name": "lab", "partitions": [
        {"error_code": 0, "partition_index": 1, "leader_id": -1, "replica_nodes": [2, 3, 1],
         "isr_nodes": [], "offline_replicas": [2, 3]},
        {"error_code": 0, "partition_index": 0, "leader_id": 2, "replica_nodes": [3, 1, 2],
         "isr_nodes": [2, 1], "offline_replicas": [3]}]})
    assert partition_states(admin, "lab") == {
        0: PartitionState(0, leader=2, replicas=(3, 1, 2), isr=(1, 2)),
        1: PartitionState(1, leader=None, replicas=(2, 3, 1), isr=())}


def test_partition_states_of_an_unknown_topic_is_empty_and_other_errors_raise():
    assert partition_states(FakeAdmin({"error_code": 3, "partitions": []}), "nope") == {}
    with pytest.raises(Exception, match="TopicAuthorizationFailed|describing topic 'x'"):
        partition_states(FakeAdmin({"error_code": 29, "partitions": []}), "x")


def test_wait_until_returns_the_first_true_value_and_is_bounded():
    values = iter([None, 0, {}, {"ok": 1}])
    assert wait_until(lambda: next(values), timeout=5, what="x", interval=0.01) == {"ok": 1}
    start = time.monotonic()
    with pytest.raises(TimeoutError, match=r"the ISR heals: not within 0.2 s \(last seen: \[2\]\)"):
        wait_until(lambda: NotYet([2]), timeout=0.2, what="the ISR heals", interval=0.05)
    assert time.monotonic() - start < 2


class NotYet(list):
    """What a check returns while the answer is 'not yet': false, but showing what it saw."""

    def __bool__(self):
        return False


class FakeProducer:
    """Acknowledges even sequence numbers, fails odd ones, answers the last one never."""

    def __init__(self, hold_last_after: int | None = None):
        self.sent = []
        self.held = []
        self.hold_last_after = hold_last_after

    def send(self, topic, key=None, value=None):
        self.sent.append((topic, key, value))
        seq = int(key)
        future = Future()
        if self.hold_last_after is not None and seq >= self.hold_last_after:
            self.held.append(future)
        elif seq % 2:
            future.failure(NotEnoughReplicasError())
        else:
            future.success(object())
        return future


def test_keep_writing_counts_what_was_acknowledged_and_what_failed():
    producer = FakeProducer()
    writer = KeepWriting(producer, "lab", interval=0, max_records=10).start()
    wait_until(lambda: writer.next_seq == 10 and writer.pending == 0, timeout=5, what="10 sends")
    writer.stop(timeout=5)
    assert sorted(writer.acked) == [0, 2, 4, 6, 8]
    assert writer.failed == {s: "NotEnoughReplicasError" for s in (1, 3, 5, 7, 9)}
    assert dict(writer.errors()) == {"NotEnoughReplicasError": 5}
    assert producer.sent[3] == ("lab", b"000003", b'{"seq": 3}')


def test_keep_writing_stop_is_bounded_when_answers_never_come():
    producer = FakeProducer(hold_last_after=4)
    writer = KeepWriting(producer, "lab", interval=0.001, max_records=6).start()
    wait_until(lambda: writer.next_seq == 6, timeout=5, what="6 sends")
    start = time.monotonic()
    writer.stop(timeout=0.3)
    assert time.monotonic() - start < 2
    assert writer.pending == 2 and writer.acked_count() == 2  # 0 and 2; 1 and 3 failed
