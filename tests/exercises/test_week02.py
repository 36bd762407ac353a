"""Week 2 checkers: each passes a right answer and rejects a wrong one in plain words."""

from __future__ import annotations

import uuid

import pandas as pd
import pytest

from kafkalab import clients
from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week02 import (
    check_dead_letters,
    check_partitioner,
    check_safe_producer,
    check_smallest_codec,
    is_poison,
)
from kafkalab.partitioners import KeyHash, KeyPartitioner, key_partition


def test_check_safe_producer():
    assert check_safe_producer({"acks": "all", "enable_idempotence": True}).passed
    assert check_safe_producer({}).passed   # kafka-python 3's defaults are safe
    with pytest.raises(ExerciseFailed, match="acks=1: with 0 or 1 a record"):
        check_safe_producer({"acks": 1})
    with pytest.raises(ExerciseFailed, match="enable_idempotence=False: a retry"):
        check_safe_producer({"enable_idempotence": False})
    with pytest.raises(ExerciseFailed, match="retries=0: one network hiccup"):
        check_safe_producer({"retries": 0})
    with pytest.raises(ExerciseFailed, match="max_in_flight_requests_per_connection=10"):
        check_safe_producer({"max_in_flight_requests_per_connection": 10})


def test_is_poison_rules():
    assert is_poison(b'{"customerId": "C", "total": 1}') is None
    assert is_poison(b'{"total": 1}') == "customerId is missing"
    assert is_poison(b"[1, 2]") == "customerId is missing"
    assert is_poison(b'{"customerId": "C", "total": "7"}') == "total must be positive"
    assert is_poison(b"\xff") == "not valid JSON"
    assert is_poison(None) == "customerId is missing"


def _dead_letter_setup():
    source = f"test-w2-src-{uuid.uuid4().hex[:8]}"
    dlq = f"test-w2-dlq-{uuid.uuid4().hex[:8]}"
    with clients.Admin() as admin:
        admin.ensure_topic(source, partitions=2)
        admin.ensure_topic(dlq, partitions=1)
    with clients.Producer(value_format="raw") as p:
        for i in range(10):
            p.send(source, f'{{"customerId": "CUST-00{i % 3}", "total": {10 + i}}}'.encode(),
                   key=f"CUST-00{i % 3}")
        p.send(source, b'{"customerId": ', key="CUST-000")
        p.send(source, b'{"total": 5}', key="CUST-001")
        p.send(source, b'{"customerId": "CUST-002", "total": -1}', key="CUST-002")
    return source, dlq


def _run(source: str, dlq: str, handler) -> None:
    with clients.Consumer(source, group_id=f"g-{uuid.uuid4().hex[:8]}") as consumer, \
            clients.Producer() as producer:
        clients.run(consumer, handler, dead_letter=clients.DeadLetterQueue(producer, dlq),
                    max_messages=13, timeout=20, handle_signals=False)


@pytest.mark.slow
def test_check_dead_letters_right_and_wrong_handlers():
    def right(msg):
        if not isinstance(msg.value, dict) or not msg.value.get("customerId"):
            raise clients.PermanentError("customerId is missing")
        if not msg.value.get("total", 0) > 0:
            raise clients.PermanentError("total must be positive")

    source, dlq = _dead_letter_setup()
    _run(source, dlq, right)
    assert check_dead_letters(source, dlq).passed

    def too_lenient(msg):   # only the undecodable record fails (the loop does that)
        return None

    source, dlq = _dead_letter_setup()
    _run(source, dlq, too_lenient)
    with pytest.raises(ExerciseFailed, match="2 poison records are not in"):
        check_dead_letters(source, dlq)

    def too_strict(msg):
        raise clients.PermanentError("no")

    source, dlq = _dead_letter_setup()
    _run(source, dlq, too_strict)
    with pytest.raises(ExerciseFailed, match="10 good orders were dead-lettered"):
        check_dead_letters(source, dlq)


def test_check_dead_letters_missing_topic():
    with pytest.raises(ExerciseFailed, match="there is no topic"):
        check_dead_letters(f"test-w2-none-{uuid.uuid4().hex[:8]}", "dead-letter-queue")


def test_check_smallest_codec():
    table = pd.DataFrame({"label": ["none", "gzip", "lz4"],
                          "wire_bytes_per_record": [250.0, 26.0, 52.0]})
    assert check_smallest_codec(table, "gzip").passed
    with pytest.raises(ExerciseFailed, match="'lz4' is not the smallest: 'gzip' sent 26.0"):
        check_smallest_codec(table, "lz4")
    with pytest.raises(ExerciseFailed, match="pass the DataFrame"):
        check_smallest_codec(pd.DataFrame({"x": [1]}), "gzip")


class Isolate(KeyPartitioner):
    def choose(self, key, partitions):
        if key == b"CUST-001":
            return partitions[0]
        return partitions[1 + key_partition(key, len(partitions) - 1)]


def test_check_partitioner():
    assert check_partitioner(Isolate()).passed
    assert check_partitioner(Isolate().choose).passed        # a plain function works too
    with pytest.raises(ExerciseFailed, match="CUST-001 went to partitions \\[2\\]"):
        check_partitioner(KeyHash())
    import random

    rng = random.Random(0)
    with pytest.raises(ExerciseFailed, match="keys changed partition between sends"):
        check_partitioner(lambda k, ps: 0 if k == b"CUST-001" else rng.choice(ps[1:]))
    with pytest.raises(ExerciseFailed, match="your partitioner raised ZeroDivisionError"):
        check_partitioner(lambda k, ps: 1 // 0)
    with pytest.raises(ExerciseFailed, match="use only partitions \\[1\\]"):
        check_partitioner(lambda k, ps: 0 if k == b"CUST-001" else 1)
