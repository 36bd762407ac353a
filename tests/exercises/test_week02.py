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
