"""The week-8 checkers accept right answers and reject wrong ones in plain words."""

from __future__ import annotations

import math
import subprocess
import time

import pytest

from kafkalab import ops
from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week08 import (
    check_capacity_plan,
    check_lag_rule,
    check_leaders_and_isr,
    check_prediction,
    check_timed,
)


def failing(check, *args):
    """Run a checker on a wrong answer; return the message it would show a learner."""
    with pytest.raises(ExerciseFailed) as info:  # the suite runs in strict mode
        check(*args)
    return str(info.value)


# -- Exercise 1 ------------------------------------------------------------------

class HandWritten(ops.Rule):
    """A learner's answer, written from scratch."""

    name = "my-lag"

    def __init__(self, threshold, for_s, group, *, hold=True, clear=True, any_group=False):
        self.threshold, self.for_s, self.group = threshold, for_s, group
        self.hold, self.clear, self.any_group = hold, clear, any_group

    def check(self, registry, now, active):
        series = [s for s in registry.series("consumer_lag_total")
                  if self.any_group or dict(s.labels).get("group") == self.group]
        if not series:
            return ops.Condition(False, 0, self.threshold, "lag")
        points = list(series[0].points)
        value = points[-1][1]
        if active:
            return ops.Condition(value >= self.threshold or not self.clear, value,
                                 self.threshold, "lag")
        if not self.hold:
            return ops.Condition(value >= self.threshold, value, self.threshold, "lag")
        recent = [v for t, v in points if t >= now - self.for_s]
        held = points[0][0] <= now - self.for_s and min(recent) >= self.threshold
        return ops.Condition(held, value, self.threshold, "lag")


def test_lag_rule_accepts_a_hand_written_rule():
    # (the course's own ops.LagAbove is refused: tests/exercises/test_week08.py)
    assert check_lag_rule(HandWritten)


@pytest.mark.parametrize("make, says", [
    (lambda th, f, g: HandWritten(th, f, g, hold=False), "one-second spike to 500"),
    (lambda th, f, g: HandWritten(th, f, g, clear=False), "it never cleared"),
    (lambda th, f, g: HandWritten(th, f, g, any_group=True), "fired on group 'shipping''s lag"),
    (lambda th, f, g: HandWritten(th * 10, f, g), "it never fired during the incident"),
    (lambda th, f, g: ops.LagAbove(th, for_s=f, group=g, clear_below=20),
     "don't call kafkalab.ops.LagAbove"),
    (lambda th, f, g: "lag > 100", "return an instance of a subclass of ops.Rule"),
    (lambda th, f, g: 1 / 0, "raised ZeroDivisionError"),
])
def test_lag_rule_rejects_wrong_answers_with_a_reason(make, says):
    assert says in failing(check_lag_rule, make)


# -- Exercise 2 ------------------------------------------------------------------

def right_timed(handler, histogram):
    def wrapped(record):
        with histogram.time():
            return handler(record)
    return wrapped


def test_timed_accepts_a_right_wrapper():
    assert check_timed(right_timed)


def no_finally(handler, histogram):
    def wrapped(record):
        start = time.perf_counter()
        result = handler(record)
        histogram.observe(time.perf_counter() - start)
        return result
    return wrapped


def milliseconds(handler, histogram):
    def wrapped(record):
        start = time.perf_counter()
        try:
            return handler(record)
        finally:
            histogram.observe((time.perf_counter() - start) * 1000)
    return wrapped


def swallows(handler, histogram):
    def wrapped(record):
        with histogram.time():
            try:
                return handler(record)
            except ValueError:
                return None
    return wrapped


def forgets_result(handler, histogram):
    def wrapped(record):
        with histogram.time():
            handler(record)
    return wrapped


def times_nothing(handler, histogram):
    def wrapped(record):
        with histogram.time():
            pass
        return handler(record)
    return wrapped


@pytest.mark.parametrize("answer, says", [
    (no_finally, "observe in a `finally:` block"),
    (milliseconds, "these look like milliseconds"),
    (swallows, "ValueError was swallowed"),
    (forgets_result, "not the handler's results"),
    (times_nothing, "start the clock before calling the handler"),
    (lambda h, hist: 42, "raised TypeError"),
])
def test_timed_rejects_wrong_answers_with_a_reason(answer, says):
    assert says in failing(check_timed, answer)


# -- Exercise 3 ------------------------------------------------------------------

def right_plan(per, target, headroom):
    consumers = math.ceil(target * (1 + headroom) / per)
    return consumers, consumers


@pytest.mark.parametrize("answer", [right_plan, lambda p, t, h: (2 * right_plan(p, t, h)[1],
                                                                 right_plan(p, t, h)[1])])
def test_capacity_plan_accepts_right_answers(answer):
    assert check_capacity_plan(answer)


@pytest.mark.parametrize("answer, says", [
    (lambda p, t, h: (int(t * (1 + h) / p), int(t * (1 + h) / p)), "round up, do not truncate"),
    (lambda p, t, h: (right_plan(p, t, h)[1] + 1,) * 2, "each extra one is a process doing nothing"),
    (lambda p, t, h: (1, right_plan(p, t, h)[1]), "members beyond the partition count sit idle"),
    (lambda p, t, h: (100, right_plan(p, t, h)[1]), "more than twice as many"),
    (lambda p, t, h: (t * (1 + h) / p, t * (1 + h) / p), "return two whole numbers"),
    (lambda p, t, h: None, "raised TypeError"),
])
def test_capacity_plan_rejects_wrong_answers_with_a_reason(answer, says):
    assert says in failing(check_capacity_plan, answer)


# -- Exercise 4 ------------------------------------------------------------------


# The three-node cluster with node 1 stopped: what kafka-topics --describe printed (4.4.0),
# and what kafka-python's describe_topics answered at the same moment.
DESCRIBED = """\
Topic: isr\tTopicId: i2Ca4JDBRK6_qSfqeUtH3w\tPartitionCount: 3\tReplicationFactor: 3\tConfigs: min.insync.replicas=2
\tTopic: isr\tPartition: 0\tLeader: 2\tReplicas: 1,2,3\tIsr: 2,3\tElr: \tLastKnownElr:\x20
\tTopic: isr\tPartition: 1\tLeader: 2\tReplicas: 2,3,1\tIsr: 3,2\tElr: \tLastKnownElr:\x20
\tTopic: isr\tPartition: 2\tLeader: 3\tReplicas: 3,1,2\tIsr: 2,3\tElr: \tLastKnownElr:\x20
"""
PARTITIONS = [
    {"error_code": 0, "partition_index": 0, "leader_id": 2, "leader_epoch": 1,
     "replica_nodes": [1, 2, 3], "isr_nodes": [2, 3], "offline_replicas": [1]},
    {"error_code": 0, "partition_index": 1, "leader_id": 2, "leader_epoch": 0,
     "replica_nodes": [2, 3, 1], "isr_nodes": [3, 2], "offline_replicas": [1]},
    {"error_code": 0, "partition_index": 2, "leader_id": 3, "leader_epoch": 0,
     "replica_nodes": [3, 1, 2], "isr_nodes": [2, 3], "offline_replicas": [1]},
]


class FakeAdmin:
    def describe_topics(self, topics):
        return [{"error_code": 0, "name": topics[0], "is_internal": False,
                 "partitions": [dict(p) for p in PARTITIONS]}]


@pytest.fixture
def tool_says(monkeypatch):
    """kafka-topics --describe answers DESCRIBED, without a cluster."""
    from kafkalab import broker

    calls = []

    def fake_tool(name, *args, **kwargs):
        calls.append((name, args))
        return subprocess.CompletedProcess([name, *args], 0, DESCRIBED, "")

    monkeypatch.setattr(broker, "tool", fake_tool)
    return calls


def right_leaders_and_isr(admin, topic):
    (described,) = admin.describe_topics([topic])
    return {p["partition_index"]: (p["leader_id"], p["isr_nodes"]) for p in described["partitions"]}


def _from_partitions(pick):
    def answer(admin, topic):
        return pick(admin.describe_topics([topic])[0]["partitions"])
    return answer


def test_leaders_and_isr_accepts_a_right_answer_in_any_isr_order(tool_says):
    assert check_leaders_and_isr(right_leaders_and_isr, FakeAdmin(), "isr", "127.0.0.1:1")
    (name, args), = tool_says
    assert name == "kafka-topics" and "--describe" in args and args[args.index("--topic") + 1] == "isr"


@pytest.mark.parametrize("answer, says", [
    (_from_partitions(lambda ps: {p["partition_index"]: (p["leader_id"], p["replica_nodes"])
                                  for p in ps}),
     "those are all the replicas ('replica_nodes'); the in-sync ones are 'isr_nodes'"),
    (_from_partitions(lambda ps: {p["partition_index"]: (p["replica_nodes"][0], p["isr_nodes"])
                                  for p in ps}),
     "partition 0: you say leader 1, Kafka says 2: that is the first replica, the *preferred*"),
    (_from_partitions(lambda ps: {ps[0]["partition_index"]: (ps[0]["leader_id"], ps[0]["isr_nodes"])}),
     "you returned partitions [0]; isr has [0, 1, 2]"),
    (_from_partitions(lambda ps: {str(p["partition_index"]): (p["leader_id"], p["isr_nodes"])
                                  for p in ps}),
     "keyed by its 'partition_index'"),
    (_from_partitions(lambda ps: [(p["leader_id"], p["isr_nodes"]) for p in ps]),
     "returned list"),
    (_from_partitions(lambda ps: {p["partition_index"]: p["leader_id"] for p in ps}),
     "map each partition to a pair (leader, [isr])"),
    (_from_partitions(lambda ps: {p["partition_index"]: (p["leader"], p["isr"]) for p in ps}),
     "raised KeyError: 'leader'"),
    (_from_partitions(lambda ps: {p["partition_index"]: (p["leader_id"], p["isr_nodes"][:1])
                                  for p in ps}),
     "partition 0: you say ISR [2], Kafka says [2, 3]; partition 1"),
])
def test_leaders_and_isr_rejects_wrong_answers_with_a_reason(tool_says, answer, says):
    assert says in failing(check_leaders_and_isr, answer, FakeAdmin(), "isr", "127.0.0.1:1")


def test_leaders_and_isr_on_the_real_broker_against_the_real_tool(new_topic):
    """The checker end to end: kafka-python's describe_topics and Kafka's own tool."""
    from kafka import KafkaAdminClient

    from kafkalab.clients import bootstrap_servers

    topic = new_topic(partitions=2, prefix="isr")
    bootstrap = ",".join(bootstrap_servers())
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        assert check_leaders_and_isr(right_leaders_and_isr, admin, topic, bootstrap)
        off_by_one = _from_partitions(lambda ps: {p["partition_index"]: (p["leader_id"] + 1,
                                                                         p["isr_nodes"]) for p in ps})
        assert "Kafka says" in failing(check_leaders_and_isr, off_by_one, admin, topic, bootstrap)
    finally:
        admin.close()


def test_prediction_accepts_the_rule():
    assert check_prediction(1, observed=1)
    assert check_prediction(2, observed=2, replication_factor=5, min_insync=3)


@pytest.mark.parametrize("prediction, observed, says", [
    (2, 1, "1 in-sync copy remains, fewer than min.insync.replicas 2"),
    (3, 1, "0 in-sync copies remain"),
    (0, 1, "2 in-sync copies remain, as many as min.insync.replicas asks for"),
    ("1", 1, "set it to a whole number"),
    (True, 1, "set it to a whole number"),
    (1, 2, "was every node running when it started?"),
])
def test_prediction_rejects_wrong_answers_with_a_reason(prediction, observed, says):
    assert says in failing(check_prediction, prediction, observed)
