"""Week 2 checkers: each passes a right answer and rejects a wrong one in plain words."""

from __future__ import annotations

import json
import random

import pandas as pd
import pytest
from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata
from kafka.consumer.subscription_state import AsyncConsumerRebalanceListener, ConsumerRebalanceListener
from kafka.partitioner import DefaultPartitioner, Partitioner
from kafka.partitioner.default import murmur2

from kafkalab import clients
from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week02 import (
    check_commit_on_revoke,
    check_dead_letters,
    check_partitioner,
    check_rebalance_prediction,
    check_safe_producer,
    check_smallest_codec,
    is_poison,
)

SAFE = {"acks": "all", "enable_idempotence": True, "retries": 5, "max_in_flight_requests_per_connection": 5}


def test_check_safe_producer_passes_a_safe_config_on_the_broker():
    result = check_safe_producer(SAFE)
    assert result.passed
    assert "exactly once" in str(result) and "producer id" in str(result)
    # delivery_timeout_ms bounds the retries instead of a count: stated, so it passes too
    assert check_safe_producer({"acks": -1, "enable_idempotence": True, "delivery_timeout_ms": 30000,
                                "max_in_flight_requests_per_connection": 1}).passed


def test_check_safe_producer_refuses_the_free_pass_of_defaults():
    # kafka-python 3's defaults are safe, but the exercise is about stating them
    with pytest.raises(ExerciseFailed, match="not stated: acks, enable_idempotence, "
                       "max_in_flight_requests_per_connection, retries \\(or delivery_timeout_ms\\)"):
        check_safe_producer({})
    with pytest.raises(ExerciseFailed, match="not stated: enable_idempotence, max_in_flight"):
        check_safe_producer({"acks": "all", "retries": 3})


def test_check_safe_producer_rejects_each_wrong_setting_by_what_the_broker_holds():
    # acks=1: idempotence needs acks=all, so kafka-python refuses the pair
    with pytest.raises(ExerciseFailed, match="acks=1: when the producer hears back"):
        check_safe_producer({**SAFE, "acks": 1})
    # acks=1 without idempotence is accepted by kafka-python: the lost answer makes a copy on the broker
    with pytest.raises(ExerciseFailed, match=r"holds \d+ records for 20 sends \([1-9]\d* written twice\)"):
        check_safe_producer({**SAFE, "acks": 1, "enable_idempotence": False})
    with pytest.raises(ExerciseFailed, match="enable_idempotence=False") as no_idem:
        check_safe_producer({**SAFE, "enable_idempotence": False})
    assert "written twice" in str(no_idem.value) and "holds no producer id" in str(no_idem.value)
    # no retries: the record is on the broker, but the producer reports a failure
    with pytest.raises(ExerciseFailed, match="20 sends failed after an acknowledgement was lost") as no_retry:
        check_safe_producer({**SAFE, "enable_idempotence": False, "retries": 0})
    assert "retries=0" in str(no_retry.value)
    with pytest.raises(ExerciseFailed, match="max_in_flight_requests_per_connection=10") as inflight:
        check_safe_producer({**SAFE, "max_in_flight_requests_per_connection": 10})
    assert "refused it: KafkaConfigurationError" in str(inflight.value)


def test_check_safe_producer_rejects_what_it_cannot_use():
    with pytest.raises(ExerciseFailed, match="config must be a dict of KafkaProducer settings; got list"):
        check_safe_producer([("acks", "all")])
    with pytest.raises(ExerciseFailed, match="leave bootstrap_servers out"):
        check_safe_producer({**SAFE, "bootstrap_servers": "elsewhere:9092"})
    with pytest.raises(ExerciseFailed, match="refused it: ValueError: Unrecognized configs"):
        check_safe_producer({**SAFE, "ack": "all"})


def test_is_poison_rules():
    assert is_poison(b'{"customerId": "C", "total": 1}') is None
    assert is_poison(b'{"total": 1}') == "customerId is missing"
    assert is_poison(b"[1, 2]") == "customerId is missing"
    assert is_poison(b'{"customerId": "C", "total": "7"}') == "total must be positive"
    assert is_poison(b"\xff") == "not valid JSON"
    assert is_poison(None) == "customerId is missing"


def raw_loop(judge=is_poison, commit=True, letter=None):
    """A plain kafka-python dead-letter loop, as exercise 2 asks; ``judge`` says why a value is poison."""
    def loop(source, dead_letters, group):
        consumer = KafkaConsumer(source, bootstrap_servers=clients.bootstrap_servers(), group_id=group,
                                 auto_offset_reset="earliest", enable_auto_commit=False)
        producer = KafkaProducer(bootstrap_servers=clients.bootstrap_servers(), acks="all")
        try:
            for _ in range(30):
                batch = consumer.poll(timeout_ms=500)
                for tp, records in batch.items():
                    for record in records:
                        reason = judge(record.value)
                        if reason:
                            body = letter(record, reason) if letter else {
                                "originalMessage": record.value.decode("utf-8", "replace"),
                                "error": {"message": reason},
                                "source": {"topic": tp.topic, "partition": tp.partition, "offset": record.offset}}
                            producer.send(dead_letters, json.dumps(body).encode())
                producer.flush()
                if batch and commit:
                    consumer.commit({tp: OffsetAndMetadata(records[-1].offset + 1, None, -1)
                                     for tp, records in batch.items()})
                assigned = consumer.assignment()
                if assigned and all(consumer.position(tp) >= end
                                    for tp, end in consumer.end_offsets(list(assigned)).items()):
                    break
        finally:
            consumer.close()
            producer.close()
    return loop


@pytest.mark.slow
def test_check_dead_letters_passes_a_raw_loop():
    assert check_dead_letters(raw_loop()).passed


@pytest.mark.slow
def test_check_dead_letters_rejects_wrong_loops():
    with pytest.raises(ExerciseFailed, match="2 of 3 poison records are not in the dead-letter topic"):
        check_dead_letters(raw_loop(judge=lambda v: None if v.startswith(b"{") else "not JSON"))
    with pytest.raises(ExerciseFailed, match="17 good orders were dead-lettered"):
        check_dead_letters(raw_loop(judge=lambda v: "no"))
    with pytest.raises(ExerciseFailed, match="the group's committed offsets .* are \\{0: \\(None"):
        check_dead_letters(raw_loop(commit=False))
    with pytest.raises(ExerciseFailed, match="3 dead letters have no error.message"):
        check_dead_letters(raw_loop(letter=lambda rec, why: {
            "originalMessage": rec.value.decode("utf-8"), "error": why,
            "source": {"topic": rec.topic, "partition": rec.partition, "offset": rec.offset}}))
    with pytest.raises(ExerciseFailed, match="3 dead letters have no originalMessage"):
        check_dead_letters(raw_loop(letter=lambda rec, why: {
            "error": {"message": why}, "source": {"topic": rec.topic, "partition": rec.partition,
                                                  "offset": rec.offset}}))


def test_check_dead_letters_refuses_the_course_loop_and_bad_input():
    def course_loop(source, dead_letters, group):
        with clients.Consumer(source, group_id=group) as consumer:
            clients.run(consumer, lambda msg: None, max_messages=20, timeout=10)

    with pytest.raises(ExerciseFailed, match="don't call kafkalab.clients.Consumer"):
        check_dead_letters(course_loop)
    with pytest.raises(ExerciseFailed, match="loop raised ZeroDivisionError"):
        check_dead_letters(lambda s, d, g: 1 // 0)
    with pytest.raises(ExerciseFailed, match="loop must be a function"):
        check_dead_letters("week02-exercise-orders")


def test_check_smallest_codec():
    table = pd.DataFrame({"label": ["none", "gzip", "lz4"],
                          "wire_bytes_per_record": [250.0, 26.0, 52.0]})
    assert check_smallest_codec(table, "gzip").passed
    with pytest.raises(ExerciseFailed, match="'lz4' is not the smallest: 'gzip' sent 26.0"):
        check_smallest_codec(table, "lz4")
    with pytest.raises(ExerciseFailed, match="pass the DataFrame"):
        check_smallest_codec(pd.DataFrame({"x": [1]}), "gzip")


class Isolate(Partitioner):
    """kafka-python's Partitioner: the hot key on partition 0, the rest murmur2-hashed over 1..n-1."""

    def partition(self, topic, key, serialized_key, value, serialized_value, cluster):
        partitions = sorted(cluster.partitions_for_topic(topic))
        if serialized_key == b"CUST-001":
            return partitions[0]
        return partitions[1 + (murmur2(serialized_key) & 0x7FFFFFFF) % (len(partitions) - 1)]


class Picks(Partitioner):
    def __init__(self, choose):
        self.choose = choose

    def partition(self, topic, key, serialized_key, value, serialized_value, cluster):
        return self.choose(serialized_key, sorted(cluster.partitions_for_topic(topic)))


def test_check_partitioner_on_the_broker():
    assert check_partitioner(Isolate()).passed
    assert check_partitioner(Isolate).passed                  # the class: the checker makes one
    with pytest.raises(ExerciseFailed, match="CUST-001 went to partitions \\[2\\]"):
        check_partitioner(Picks(lambda k, ps: ps[(murmur2(k) & 0x7FFFFFFF) % len(ps)]))   # plain murmur2
    with pytest.raises(ExerciseFailed, match="this is kafka-python's own DefaultPartitioner"):
        check_partitioner(DefaultPartitioner())
    rng = random.Random(0)
    with pytest.raises(ExerciseFailed, match="keys changed partition between sends"):
        check_partitioner(Picks(lambda k, ps: 0 if k == b"CUST-001" else rng.choice(ps[1:])))
    with pytest.raises(ExerciseFailed, match="your partitioner raised ZeroDivisionError"):
        check_partitioner(Picks(lambda k, ps: 1 // 0))
    with pytest.raises(ExerciseFailed, match="use only partitions \\[1\\]"):
        check_partitioner(Picks(lambda k, ps: 0 if k == b"CUST-001" else 1))
    with pytest.raises(ExerciseFailed, match="other keys went to partition 0"):
        check_partitioner(Picks(lambda k, ps: 0 if k == b"CUST-001" else ps[murmur2(k) % 4]))
    with pytest.raises(ExerciseFailed, match="is not a kafka.partitioner.Partitioner"):
        check_partitioner(lambda k, ps: 0)


def test_check_rebalance_prediction_runs_both_assignors_on_the_broker():
    assert check_rebalance_prediction({"range": 4, "cooperative-sticky": 2}).passed
    with pytest.raises(ExerciseFailed, match="cooperative-sticky you said 4, the broker says 2"):
        check_rebalance_prediction({"range": 4, "cooperative-sticky": 4})
    with pytest.raises(ExerciseFailed, match='write predicted = {"range": ..., "cooperative-sticky": ...}'):
        check_rebalance_prediction({"eager": 4})


class CommitProcessed(AsyncConsumerRebalanceListener):
    """The right answer: commit last processed + 1, awaited on kafka-python's IO loop."""

    def __init__(self, consumer, processed):
        self.consumer, self.processed = consumer, processed

    def offsets(self, revoked):
        return {tp: OffsetAndMetadata(self.processed[tp] + 1, None, -1) for tp in revoked if tp in self.processed}

    async def on_partitions_revoked(self, revoked):
        if self.offsets(revoked):
            await self.consumer.commit_async(self.offsets(revoked))

    async def on_partitions_assigned(self, assigned):
        pass


class CommitsNothing(CommitProcessed):
    async def on_partitions_revoked(self, revoked):
        pass


class CommitsPosition(CommitProcessed):
    """Commits where the consumer has *read* to, not what was processed."""

    def offsets(self, revoked):
        return {tp: OffsetAndMetadata(self.consumer.position(tp), None, -1) for tp in revoked}


class CommitsLastOffset(CommitProcessed):
    def offsets(self, revoked):
        return {tp: OffsetAndMetadata(self.processed[tp], None, -1) for tp in revoked if tp in self.processed}


class BlockingCommit(ConsumerRebalanceListener):
    """A sync listener with a blocking commit: kafka-python 3 refuses it on its IO thread."""

    def __init__(self, consumer, processed):
        self.consumer, self.processed = consumer, processed

    def on_partitions_revoked(self, revoked):
        self.consumer.commit({tp: OffsetAndMetadata(self.processed[tp] + 1, None, -1)
                              for tp in revoked if tp in self.processed})

    def on_partitions_assigned(self, assigned):
        pass


@pytest.mark.slow
def test_check_commit_on_revoke_passes_the_right_listener():
    assert check_commit_on_revoke(CommitProcessed).passed


@pytest.mark.slow
def test_check_commit_on_revoke_rejects_wrong_listeners():
    with pytest.raises(ExerciseFailed, match="nothing is committed for the group"):
        check_commit_on_revoke(CommitsNothing)
    with pytest.raises(ExerciseFailed, match="committed past what was processed \\(partition 0: 10, partition 1: 10"):
        check_commit_on_revoke(CommitsPosition)
    with pytest.raises(ExerciseFailed, match="committed partition 0: 3, partition 1: 6, but the last records"):
        check_commit_on_revoke(CommitsLastOffset)
    with pytest.raises(ExerciseFailed, match="your listener raised during a rebalance: RuntimeError: Cannot block"):
        check_commit_on_revoke(BlockingCommit)
    with pytest.raises(ExerciseFailed, match="is not a class deriving from kafka's ConsumerRebalanceListener"):
        check_commit_on_revoke(lambda consumer, processed: None)
