"""Partitioners: pure rules first, then the real broker agreeing with them."""

from __future__ import annotations

import collections
import uuid

import pytest
from kafka.partitioner import DefaultPartitioner

from kafkalab import clients
from kafkalab.partitioners import (
    KeyHash,
    KeyPartitioner,
    RoundRobin,
    SaltedHotKeys,
    hot_keys,
    key_partition,
    simulate,
    skew,
)
from kafkalab.sampledata import HOT_CUSTOMER, customer_ids, orders


class _Cluster:
    """The two methods of kafka-python's ClusterMetadata a partitioner uses."""

    def __init__(self, n: int) -> None:
        self.n = n

    def topics(self):
        return {"t"}

    def partitions_for_topic(self, topic):
        return set(range(self.n))

    def available_partitions_for_topic(self, topic):
        return set(range(self.n))


def test_key_hash_matches_kafka_pythons_default_partitioner():
    default = DefaultPartitioner()
    for key in customer_ids(50):
        raw = key.encode()
        for n in (1, 3, 4, 6, 12):
            assert key_partition(key, n) == default.partition("t", raw, raw, None, None, _Cluster(n))
            assert KeyHash().partition("t", raw, raw, None, None, _Cluster(n)) == key_partition(key, n)


def test_key_partition_rejects_zero_partitions():
    with pytest.raises(ValueError, match="at least one partition"):
        key_partition("k", 0)


def test_round_robin_is_even_but_splits_a_key():
    counts = simulate(["same"] * 12, RoundRobin(), 4)
    assert counts == {0: 3, 1: 3, 2: 3, 3: 3}
    assert skew(counts) == 1.0


def test_key_hash_keeps_a_hot_key_on_one_partition_and_salting_spreads_it():
    keys = [o["customerId"] for o in orders(2000, hot_share=0.5, seed=5)]
    assert hot_keys(keys, top=1)[0][0] == HOT_CUSTOMER
    plain = simulate(keys, KeyHash(), 4)
    salted = simulate(keys, SaltedHotKeys({HOT_CUSTOMER}, fanout=4), 4)
    assert sum(plain.values()) == sum(salted.values()) == 2000
    assert skew(salted) < skew(plain)
    # Other keys are untouched by salting.
    p = SaltedHotKeys({HOT_CUSTOMER}, fanout=4)
    for key in customer_ids(20)[1:]:
        assert {p.choose(key.encode(), [0, 1, 2, 3]) for _ in range(5)} == {key_partition(key, 4)}


def test_salted_hot_keys_validates_fanout():
    with pytest.raises(ValueError, match="fanout"):
        SaltedHotKeys({"x"}, fanout=0)


def test_skew_needs_records():
    with pytest.raises(ValueError, match="at least one record"):
        skew([0, 0])


class _Broken(KeyPartitioner):
    def choose(self, key, partitions):
        return 99


def test_a_partitioner_returning_a_missing_partition_fails_loudly():
    with pytest.raises(ValueError, match="returned 99, not one of the partitions"):
        _Broken().partition("t", b"k", b"k", None, None, _Cluster(3))


def test_custom_partitioner_decides_placement_on_the_broker():
    topic = f"test-partitioners-{uuid.uuid4().hex[:8]}"
    with clients.Admin() as admin:
        admin.ensure_topic(topic, partitions=4)
    with clients.Producer(partitioner=RoundRobin()) as rr, clients.Producer() as default:
        placed_rr = [rr.send_and_wait(topic, {"i": i}, key="same").partition for i in range(8)]
        placed_default = {k: default.send_and_wait(topic, {"k": k}, key=k).partition
                          for k in customer_ids(10)}
        with pytest.raises(ValueError, match="not one of the partitions"):
            with clients.Producer(partitioner=_Broken()) as broken:
                broken.send(topic, {"x": 1}, key="k").get(timeout=10)
    assert placed_rr == [0, 1, 2, 3, 0, 1, 2, 3]
    assert placed_default == {k: key_partition(k, 4) for k in customer_ids(10)}


def test_round_robin_stays_even_when_keyless_sends_open_new_batches():
    # kafka-python asks a partitioner twice for a keyless record that opens a
    # new batch; without the on_new_batch hook, round robin skipped partitions.
    topic = f"test-partitioners-rr-{uuid.uuid4().hex[:8]}"
    with clients.Admin() as admin:
        admin.ensure_topic(topic, partitions=4)
    with clients.Producer(partitioner=RoundRobin(), linger_ms=0) as producer:
        futures = [producer.send(topic, {"i": i}) for i in range(40)]
        producer.flush()
    placed = collections.Counter(f.get(timeout=10).partition for f in futures)
    assert placed == {0: 10, 1: 10, 2: 10, 3: 10}


def _partitioner_classes():
    import kafkalab.partitioners as mod

    return [getattr(mod, n) for n in mod.__all__
            if isinstance(getattr(mod, n), type) and issubclass(getattr(mod, n), KeyPartitioner)
            and getattr(mod, n) is not KeyPartitioner]


@pytest.mark.parametrize("cls", _partitioner_classes(), ids=lambda c: c.__name__)
def test_every_partitioner_returns_a_valid_partition_for_any_key(cls):
    # Contract: for keys and no keys, any partition layout (ids need not start
    # at 0), the answer is one of the given partitions.
    p = cls({"CUST-001"}) if cls is SaltedHotKeys else cls()
    for partitions in ([0], [0, 1, 2], [3, 5, 7, 9]):
        for key in [None, b"", b"CUST-001", b"CUST-002", "é".encode()] * 3:
            assert p.choose(key, partitions) in partitions
            assert p.partition("t", key, key, None, None, _Layout(partitions)) \
                in partitions


class _Layout(_Cluster):
    def __init__(self, partitions):
        self.parts = set(partitions)

    def partitions_for_topic(self, topic):
        return self.parts


def test_the_contract_covers_every_partitioner():
    assert {c.__name__ for c in _partitioner_classes()} == {"KeyHash", "RoundRobin", "SaltedHotKeys"}
