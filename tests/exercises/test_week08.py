"""Week 8's Kafka-touching checkers, against the real broker: the lag probe (exercise 5) and
the ACLs of a consumer group (exercise 6, on the secured node) and the learner's own tests
(exercise 7, run with pytest against right and broken code) pass a right kafka-python answer
and fail each wrong one, in words; and the free pass of exercise 1 (returning the course's own
``ops.LagAbove``) fails.

(The in-memory checkers of week 8 are tested in ``tests/ops/test_ops_week08_exercises.py``.)
"""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from kafkalab import clients, ops
from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week08 import (
    LAG_SCENARIO,
    check_consumer_acls,
    check_kafka_tests,
    check_lag_probe,
    check_lag_rule,
)

PREDICTION = {0: 3, 1: 0, 2: 3}


def failing(check, *args):
    """Run a checker on a wrong answer; return the message it would show a learner."""
    with pytest.raises(ExerciseFailed) as info:  # the suite runs in strict mode
        check(*args)
    return str(info.value)


def probe(bootstrap, group, topic, *, no_commit="log-start", join_group=False):
    """A learner's lag probe in plain kafka-python; the keywords make the usual mistakes."""
    admin = KafkaAdminClient(bootstrap_servers=bootstrap)
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                             group_id=group if join_group else None)
    try:
        partitions = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic))]
        committed = admin.list_group_offsets({group: partitions})[group]
        ends = consumer.end_offsets(partitions)
        starts = consumer.beginning_offsets(partitions)
        if join_group:  # a probe that moves what it measures
            consumer.assign(partitions)
            consumer.seek_to_end()
            consumer.commit({tp: __import__("kafka").structs.OffsetAndMetadata(ends[tp], None, -1)
                             for tp in partitions})
        lags = {}
        for tp in partitions:
            offset = committed[tp].offset if tp in committed else -1
            if offset >= 0:
                lags[tp.partition] = ends[tp] - offset
            elif no_commit == "log-start":
                lags[tp.partition] = ends[tp] - starts[tp]
            elif no_commit == "zero-offset":
                lags[tp.partition] = ends[tp]
            elif no_commit == "minus-one":
                lags[tp.partition] = ends[tp] - offset
            # "skip": leave the partition out
        return lags
    finally:
        consumer.close()
        admin.close()


@pytest.fixture(scope="module")
def bootstrap():
    return clients.bootstrap_servers()


def test_the_lessons_scenario_has_the_lags_the_lesson_states():
    assert LAG_SCENARIO.lags() == PREDICTION


def test_a_right_probe_and_prediction_pass(bootstrap):
    result = check_lag_probe(probe, PREDICTION, bootstrap)
    assert result.passed
    assert "the probe left the group's committed offsets alone" in str(result)


@pytest.mark.parametrize("mistake, says", [
    ("minus-one", "list_group_offsets reports offset -1 there"),
    ("zero-offset", "records before the log start offset are gone"),
    ("skip", "every partition counts, including those the group never committed on"),
])
def test_probes_that_mishandle_a_partition_with_no_commit_fail(bootstrap, mistake, says):
    assert says in failing(check_lag_probe,
                           lambda b, g, t: probe(b, g, t, no_commit=mistake), PREDICTION, bootstrap)


def test_a_probe_that_joins_the_group_and_commits_fails(bootstrap):
    assert "a probe only reads" in failing(
        check_lag_probe, lambda b, g, t: probe(b, g, t, join_group=True), PREDICTION, bootstrap)


def test_hard_coding_the_lessons_lags_fails_on_the_checkers_own_group(bootstrap):
    said = failing(check_lag_probe, lambda b, g, t: dict(PREDICTION), PREDICTION, bootstrap)
    assert "on another group (4 partitions) you returned partitions [0, 1, 2]" in said


def test_the_courses_lag_helpers_refuse_to_run_during_the_check(bootstrap):
    def with_monitor(b, g, t):
        monitor = ops.LagMonitor(g, t)
        return {s.partition: s.lag for s in monitor.sample()}

    def with_admin_lag(b, g, t):
        with clients.Admin() as admin:
            return admin.lag(g, t)

    assert "don't call kafkalab.ops.LagMonitor" in failing(check_lag_probe, with_monitor,
                                                           PREDICTION, bootstrap)
    assert "don't call kafkalab's Admin.lag" in failing(check_lag_probe, with_admin_lag,
                                                        PREDICTION, bootstrap)


@pytest.mark.parametrize("prediction, says", [
    ({0: 3, 1: 0, 2: 4}, "2 you said 4, the broker says 3"),
    ({0: 3, 1: 0}, "2 you said nothing"),
    ("3, 0, 3", "write down {partition: lag}"),
    ({}, "write down {partition: lag}"),
])
def test_a_wrong_prediction_fails(bootstrap, prediction, says):
    assert says in failing(check_lag_probe, probe, prediction, bootstrap)


def test_a_probe_that_returns_no_dict_or_raises_fails(bootstrap):
    assert "return a dict {partition: lag}" in failing(check_lag_probe, lambda b, g, t: [3, 0, 3],
                                                        PREDICTION, bootstrap)
    assert "raised ZeroDivisionError" in failing(check_lag_probe, lambda b, g, t: 1 / 0,
                                                 PREDICTION, bootstrap)


# -- Exercise 1's free pass --------------------------------------------------------

class Inherited(ops.LagAbove):
    """A "subclass" that writes nothing of its own."""


@pytest.mark.parametrize("make, says", [
    (lambda th, f, g: ops.LagAbove(th, for_s=f, group=g, clear_below=th),
     "don't call kafkalab.ops.LagAbove"),
    (lambda th, f, g: ops.LagGrowing(group=g, min_rate=1), "don't call kafkalab.ops.LagGrowing"),
    (lambda th, f, g: Inherited(th, for_s=f, group=g, clear_below=th),
     "inherits from) the course's ['LagAbove']"),
])
def test_returning_the_courses_rule_fails_exercise_1(make, says):
    assert says in failing(check_lag_rule, make)


def test_a_rule_made_before_the_check_is_still_refused():
    made = ops.LagAbove(100, for_s=3, group="billing", clear_below=100)
    assert "the course's ['LagAbove']" in failing(check_lag_rule, lambda th, f, g: made)


# -- Exercise 6: the ACLs of a consumer group, on the secured cluster ------------------

def acl(principal, resource_type, name, operation=None, pattern=None):
    from kafka.admin import ACL, ACLOperation, ACLPermissionType, ACLResourcePatternType, ResourcePattern

    return ACL(principal, "*", operation or ACLOperation.READ, ACLPermissionType.ALLOW,
               ResourcePattern(resource_type, name, pattern or ACLResourcePatternType.LITERAL))


def right_grant(admin, principal, topic, group):
    from kafka.admin import ResourceType

    admin.create_acls([acl(principal, ResourceType.TOPIC, topic), acl(principal, ResourceType.GROUP, group)])


GUESS = "GroupAuthorizationFailedError"


def test_exactly_the_two_acls_pass(secured):
    result = check_consumer_acls(right_grant, GUESS, secured)
    assert result.passed
    assert "exactly two ACLs" in str(result)


def test_the_prediction_may_be_the_exception_class_or_its_dotted_name(secured):
    from kafka.errors import GroupAuthorizationFailedError

    assert check_consumer_acls(right_grant, GroupAuthorizationFailedError, secured)
    assert check_consumer_acls(right_grant, "kafka.errors.GroupAuthorizationFailedError", secured)


def grants(*which):
    """A learner's grant made of the named ACL kinds."""
    from kafka.admin import ACLOperation, ACLResourcePatternType, ResourceType

    def grant(admin, principal, topic, group):
        made = {
            "topic": acl(principal, ResourceType.TOPIC, topic),
            "group": acl(principal, ResourceType.GROUP, group),
            "any topic": acl(principal, ResourceType.TOPIC, "*"),
            "any group": acl(principal, ResourceType.GROUP, "*"),
            "topic ALL": acl(principal, ResourceType.TOPIC, topic, ACLOperation.ALL),
            "prefix": acl(principal, ResourceType.TOPIC, "acl-", pattern=ACLResourcePatternType.PREFIXED),
            "describe": acl(principal, ResourceType.TOPIC, topic, ACLOperation.DESCRIBE),
            "write": acl(principal, ResourceType.TOPIC, topic, ACLOperation.WRITE),
        }
        admin.create_acls([made[w] for w in which])
    return grant


@pytest.mark.parametrize("which, says", [
    (("topic",), "joining a group and committing in it is an operation on the group resource"),
    (("group",), "reading records is an operation on the topic resource"),
    ((), "could not read"),
    (("any topic", "group"), "the user read acl-payments-"),
    (("prefix", "group"), "the user read acl-payments-"),
    (("topic ALL", "group"), "ALL, '*' and prefixes open more than this group and topic"),
    (("topic", "any group"), "ALL, '*' and prefixes open more than this group and topic"),
    (("topic", "group", "describe"), "READ implies DESCRIBE"),
    (("topic", "group", "write"), "a consumer writes nothing"),
])
def test_too_narrow_or_too_broad_grants_fail(secured, which, says):
    assert says in failing(check_consumer_acls, grants(*which), GUESS, secured)


@pytest.mark.parametrize("prediction, says", [
    ("TopicAuthorizationFailedError", "you said TopicAuthorizationFailedError, the broker says "
                                      "GroupAuthorizationFailedError"),
    ("read", "you said read"),
])
def test_a_wrong_prediction_of_the_error_fails(secured, prediction, says):
    assert says in failing(check_consumer_acls, right_grant, prediction, secured)


def test_the_acl_checker_refuses_the_plain_broker_and_a_grant_that_raises(secured):
    from kafkalab import broker

    plain = broker.status()
    if plain is not None:
        assert "pass the secured cluster" in failing(check_consumer_acls, right_grant, GUESS, plain)
    assert "raised ZeroDivisionError" in failing(check_consumer_acls, lambda *a: 1 / 0, GUESS, secured)


# -- Exercise 7: tests that can fail ---------------------------------------------------

#: A right answer: a unit, an integration and a failure test of order_totals.
SOLUTION_TESTS = '''
import json
import os
import uuid

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.admin import NewTopic

import order_totals
from kafkalab.testing import make_events

BOOTSTRAP = os.environ["KAFKA_BROKERS"]


def test_total_multiplies_quantity_by_price_and_keeps_the_timestamp():
    (event,) = make_events([{"order_id": "O-1", "items": [{"sku": "A", "qty": 3, "price": 2.5},
                                                          {"sku": "B", "qty": 1, "price": 0.1}]}],
                           start_ms=1_700_000_000_000)
    assert order_totals.total(event.value, event.timestamp_ms) == {
        "order_id": "O-1", "total": 7.6, "at": 1_700_000_000_000}


def fresh_topics():
    run = uuid.uuid4().hex[:8]
    names = [f"orders-{run}", f"totals-{run}", f"dead-{run}"]
    admin = KafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    admin.create_topics([NewTopic(n, 1, 1) for n in names])
    admin.close()
    return names, f"totals-{run}"


def read_all(topic, expect):
    consumer = KafkaConsumer(topic, bootstrap_servers=BOOTSTRAP, auto_offset_reset="earliest",
                             consumer_timeout_ms=5000)
    got = []
    for record in consumer:  # ends after 5 s without a record
        got.append(record)
        if len(got) == expect:
            break
    consumer.close()
    return got


def test_run_writes_one_total_per_order_keyed_like_the_order():
    (orders, totals, dead), group = fresh_topics()
    with KafkaProducer(bootstrap_servers=BOOTSTRAP) as producer:
        for i in range(3):
            order = {"order_id": f"O-{i}", "items": [{"sku": "A", "qty": 1, "price": 10.0}]}
            producer.send(orders, key=f"O-{i}".encode(), value=json.dumps(order).encode())
    assert order_totals.run(BOOTSTRAP, orders, totals, dead, group, max_records=3, timeout_s=5) == 3
    out = read_all(totals, 3)
    assert [(r.key, json.loads(r.value)["total"]) for r in out] == [(f"O-{i}".encode(), 10.0) for i in range(3)]


def test_a_poison_record_goes_to_the_dead_letter_topic_and_the_rest_goes_on():
    (orders, totals, dead), group = fresh_topics()
    with KafkaProducer(bootstrap_servers=BOOTSTRAP) as producer:
        producer.send(orders, key=b"bad", value=b"not json")
        producer.send(orders, key=b"O-9", value=json.dumps(
            {"order_id": "O-9", "items": [{"sku": "A", "qty": 2, "price": 1.0}]}).encode())
    assert order_totals.run(BOOTSTRAP, orders, totals, dead, group, max_records=2, timeout_s=5) == 2
    (poison,) = read_all(dead, 1)
    assert poison.value == b"not json" and dict(poison.headers)["error"].startswith(b"JSONDecodeError")
    assert [json.loads(r.value)["order_id"] for r in read_all(totals, 1)] == ["O-9"]
'''

#: Tests that pass whatever the code does.
CANNOT_FAIL = """
import order_totals


def test_it_imports():
    assert order_totals


def test_total_exists():
    assert callable(order_totals.total)


def test_run_exists():
    assert callable(order_totals.run)
"""

#: Only the unit test of the right answer, plus two that cannot fail.
UNIT_ONLY = SOLUTION_TESTS.split("def fresh_topics")[0] + """

def test_two():
    assert True


def test_three():
    assert True
"""


def test_tests_that_catch_every_broken_version_pass(bootstrap):
    result = check_kafka_tests(SOLUTION_TESTS, ",".join(bootstrap))
    assert result.passed
    assert str(result).count("a test fails when") == 3


def test_tests_that_cannot_fail_fail_the_check(bootstrap):
    said = failing(check_kafka_tests, CANNOT_FAIL, ",".join(bootstrap))
    assert said.count("every test passes when") == 3
    assert "a unit test of total() on an order whose items have a quantity above 1" in said


def test_a_unit_test_alone_misses_the_kafka_bugs(bootstrap):
    said = failing(check_kafka_tests, UNIT_ONLY, ",".join(bootstrap))
    assert "a test fails when total() ignores the quantity" in said
    assert "every test passes when run() starts a new group at the end of the topic" in said
    assert "every test passes when run() stops at a poison record" in said


def test_tests_that_fail_on_the_right_code_fail_the_check(bootstrap):
    wrong = SOLUTION_TESTS.replace('"total": 7.6', '"total": 7.5')
    said = failing(check_kafka_tests, wrong, ",".join(bootstrap))
    assert "on the right order_totals your tests do not pass (1 failed, 2 passed" in said
    assert "test_total_multiplies_quantity_by_price_and_keeps_the_timestamp" in said  # pytest's own lines


@pytest.mark.parametrize("tests, says", [
    ("def test_a(:\n    pass\n", "the test file does not parse: line 1"),
    ("def test_a():\n    assert True\n", "defines 1 test function(s) (test_a)"),
    ("", "set it to the source of a test file"),
    (b"def test_a(): pass", "set it to the source of a test file"),
])
def test_a_file_that_is_not_three_tests_fails_before_running(bootstrap, tests, says):
    assert says in failing(check_kafka_tests, tests, ",".join(bootstrap))
