"""Week 8's Kafka-touching checkers, against the real broker: the lag probe (exercise 5) and
the ACLs of a consumer group (exercise 6, on the secured node) pass a right kafka-python answer
and fail each wrong one, in words; and the free pass of exercise 1 (returning the course's own
``ops.LagAbove``) fails.

(The in-memory checkers of week 8 are tested in ``tests/ops/test_ops_week08_exercises.py``.)
"""

from __future__ import annotations

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, TopicPartition

from kafkalab import clients, ops
from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week08 import LAG_SCENARIO, check_consumer_acls, check_lag_probe, check_lag_rule

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

@pytest.fixture(scope="module")
def secured():
    from kafkalab import broker

    info, started = broker.up(secure=True)
    yield info
    if started:
        broker.down(1, secure=True)


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
