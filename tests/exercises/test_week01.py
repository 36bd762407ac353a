"""Week 1 checkers: each passes a right answer and rejects a wrong one in plain words.

The suite runs in strict mode (conftest sets KAFKALAB_STRICT_CHECKS=1), so a
failed check raises ExerciseFailed carrying the learner's message.
"""

from __future__ import annotations

import uuid

import pytest

from kafkalab import clients
from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week01 import check_committed, check_counts, check_keyed_orders, check_topic
from kafkalab.partitioners import RoundRobin
from kafkalab.sampledata import orders


def _name(prefix: str) -> str:
    return f"test-w1-{prefix}-{uuid.uuid4().hex[:8]}"


def _topic(partitions: int = 3) -> str:
    topic = _name("t")
    with clients.Admin() as admin:
        admin.ensure_topic(topic, partitions=partitions)
    return topic


def test_check_topic():
    topic = _topic(4)
    assert check_topic(topic, 4).passed
    with pytest.raises(ExerciseFailed, match="it has 4 partitions, not 6"):
        check_topic(topic, 6)
    with pytest.raises(ExerciseFailed, match="there is no topic called"):
        check_topic(_name("missing"), 4)


def test_check_keyed_orders_passes_keyed_sends():
    topic = _topic()
    with clients.Producer() as p:
        for o in orders(60, customers=4, seed=1):
            p.send(topic, o, key=o["customerId"])
    result = check_keyed_orders(topic)
    assert result.passed and len(result.lines) == 6


def test_check_keyed_orders_catches_sends_without_keys():
    topic = _topic()
    with clients.Producer(partitioner=RoundRobin()) as p:
        for o in orders(60, customers=4, seed=1):
            p.send(topic, o)        # no key: one customer's orders are spread out
    with pytest.raises(ExerciseFailed) as err:
        check_keyed_orders(topic)
    text = str(err.value)
    assert "have a key other than their customerId" in text
    assert "are on several partitions" in text and "Did you pass key= to send()" in text


def test_check_keyed_orders_explains_empty_and_missing_topics():
    with pytest.raises(ExerciseFailed, match="is empty: send your orders"):
        check_keyed_orders(_topic())
    with pytest.raises(ExerciseFailed, match="there is no topic"):
        check_keyed_orders(_name("missing"))


def test_check_counts_against_the_topic():
    topic = _topic()
    data = orders(30, customers=3, seed=2)
    with clients.Producer() as p:
        for o in data:
            p.send(topic, o, key=o["customerId"])
    truth: dict[str, int] = {}
    for o in data:
        truth[o["customerId"]] = truth.get(o["customerId"], 0) + 1
    assert check_counts(truth, topic).passed
    wrong = dict(truth, **{"CUST-001": truth["CUST-001"] + 1})
    with pytest.raises(ExerciseFailed, match=f"CUST-001: you counted {truth['CUST-001'] + 1}, "
                                             f"the topic holds {truth['CUST-001']}"):
        check_counts(wrong, topic)


def test_check_committed():
    topic = _topic(2)
    group = _name("g")
    with clients.Producer() as p:
        for o in orders(20, seed=3):
            p.send(topic, o, key=o["customerId"])
    with pytest.raises(ExerciseFailed, match="has no committed offsets"):
        check_committed(group, topic, 12)
    with clients.Consumer(topic, group_id=group) as c:
        batch = list(c.messages(max_messages=12, timeout=15))
        c.commit(batch)
    assert check_committed(group, topic, 12).passed
    with pytest.raises(ExerciseFailed, match="add up to 12, not 20"):
        check_committed(group, topic, 20)
