"""Checkers for week 8: a lag alert rule, timing a handler, sizing a consumer group,
reading leaders and in-sync replicas on the three-node cluster, and a lag probe written
with plain kafka-python.

The course's own rule is not an answer: it refuses to run during the check.

>>> from kafkalab import ops
>>> from kafkalab.exercises import ExerciseFailed
>>> try:
...     print(check_lag_rule(lambda threshold, for_s, group: ops.LagAbove(
...         threshold, for_s=for_s, group=group, clear_below=threshold)))
... except ExerciseFailed as exc:  # strict mode (the test suite) raises instead of printing
...     print(exc)
Exercise 1: a lag alert rule: 0 of 1 checks passed
  ✘ make_rule(100, 3, 'billing') raised ExerciseFailed: this exercise asks you to write it yourself: \
don't call kafkalab.ops.LagAbove

A right answer prints one line per check::

    Exercise 1: a lag alert rule: 6 of 6 checks passed
      ✔ it is an ops.Rule with a check(registry, now, active) method
      ✔ the rule is your own class
      ✔ a one-second spike does not fire it
      ...

A wrong answer says what is wrong (and, under the test suite, raises)::

    ✘ a one-second spike to 500 (t=2 s) fired it: fire only when every sample of the
      last for_s seconds is at or above the threshold
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kafkalab.exercises import Result, forbidden, guard_checkers
from kafkalab.exercises import check_prediction as _matches_prediction

#: The course's own alert rules: an answer that returns one of them is not the learner's.
_COURSE_RULES = ("LagAbove", "LagGrowing", "ErrorRate", "DeadLetterRate", "P99Above",
                 "BrokerUnreachable")

__all__ = ["LAG_SCENARIO", "LAG_SERIES", "MUTANTS", "check_capacity_plan", "check_consumer_acls", "check_lag_probe",
           "check_kafka_tests", "check_lag_rule",
           "check_leaders_and_isr", "check_prediction", "check_timed", "make_lagging_group"]

#: Total lag of group "billing", one sample per second from t=0: a spike at
#: t=2, then a real incident from t=10 to t=16.
LAG_SERIES = [0, 0, 500, 0, 0, 0, 0, 0, 0, 0, 120, 150, 200, 260, 300, 180, 110, 40, 0, 0]


def _run_rule(rule: Any, series: Sequence[float], group: str = "billing") -> list[tuple[int, str]]:
    from kafkalab import ops
    from kafkalab.testing import FakeClock

    clock = FakeClock()
    reg = ops.Registry(now=clock.now)
    manager = ops.AlertManager([rule], reg, cooldown_s=0)
    out = []
    for lag in series:
        reg.set("consumer_lag_total", lag, group=group)
        out += [(round(clock.now()), e.kind) for e in manager.evaluate()]
        clock.advance(1)
    return out


def check_lag_rule(make_rule: Callable[[float, float, str], Any]) -> Result:
    """Exercise 1: ``make_rule(threshold, for_s, group)`` returns an :class:`ops.Rule`.

    The rule must fire when the group's total lag (``consumer_lag_total``)
    has been at or above ``threshold`` for ``for_s`` seconds, and clear when
    it falls below ``threshold``. Checked with :data:`LAG_SERIES`,
    threshold 100 and ``for_s=3``.
    """
    from kafkalab import ops

    r = Result("Exercise 1: a lag alert rule")
    try:
        # The course's own rules (ops.LagAbove, ops.LagGrowing, ...) refuse to run here.
        with forbidden(*(f"kafkalab.ops.{name}" for name in _COURSE_RULES)):
            rule = make_rule(100, 3, "billing")
    except Exception as exc:
        r.check(False, "", f"make_rule(100, 3, 'billing') raised {type(exc).__name__}: {exc}")
        return r.done()
    if not r.check(isinstance(rule, ops.Rule) and callable(getattr(rule, "check", None)),
                   "it is an ops.Rule with a check(registry, now, active) method",
                   f"make_rule returned {rule!r}: return an instance of a subclass of ops.Rule "
                   "that implements check(self, registry, now, active)"):
        return r.done()
    # A rule made before the check (or a subclass that inherits the course's check) is the
    # course's answer, not the learner's: compare classes, not calls.
    borrowed = [c.__qualname__ for c in type(rule).__mro__
                if c.__module__.startswith("kafkalab.") and c is not ops.Rule
                and issubclass(c, ops.Rule)]
    if not r.check(not borrowed, "the rule is your own class",
                   f"your rule is (or inherits from) the course's {borrowed[:1]}: this exercise "
                   "asks you to write check() yourself, subclassing ops.Rule only"):
        return r.done()
    try:
        events = _run_rule(rule, LAG_SERIES)
        other = _run_rule(make_rule(100, 3, "billing"), LAG_SERIES, group="shipping")
    except Exception as exc:
        r.check(False, "", f"your rule raised {type(exc).__name__}: {exc}. check() must return "
                           "ops.Condition(holds, value, limit, metric)")
        return r.done()
    spike = [e for e in events if e[0] < 10]
    r.check(not spike, "a one-second spike does not fire it",
            f"a one-second spike to 500 (t=2 s) fired it ({spike}): fire only when every sample "
            "of the last for_s seconds is at or above the threshold")
    fired = [t for t, k in events if k == "fired" and t >= 10]
    r.check(fired == [13], "lag above the threshold for the hold time fires it once, at t=13 s",
            "it never fired during the incident (lag 120-300 from t=10 s): compare the lag with "
            "the threshold" if not fired else
            f"it fired at t={fired} s; expected once, at t=13 s (lag >= 100 from t=10 s, held "
            "for 3 s, so t=10..13 are all above)")
    cleared = [t for t, k in events if k == "cleared"]
    r.check(cleared == [17], "it clears once lag falls below the threshold, at t=17 s",
            "it never cleared: when active, return holds=False once lag < threshold"
            if not cleared else f"it cleared at t={cleared} s; expected t=17 s (lag 40)")
    r.check(not other, "another group's lag does not fire it",
            "it fired on group 'shipping''s lag: read only the series whose labels say "
            "group=self.group")
    return r.done()


def check_timed(timed: Callable[..., Callable[[Any], Any]]) -> Result:
    """Exercise 2: ``timed(handler, histogram)`` wraps a handler and observes seconds per call.

    The wrapper must return the handler's result, observe the duration in
    seconds into ``histogram`` (an :class:`ops.Histogram`), also when the
    handler raises, and re-raise the error.
    """
    from kafkalab import ops

    r = Result("Exercise 2: time a handler")
    hist = ops.Histogram("processing_seconds")

    def handler(record: dict) -> Any:
        time.sleep(record["work_s"])
        if record.get("bad"):
            raise ValueError("bad record")
        return record["work_s"] * 2

    try:
        wrapped = timed(handler, hist)
        results = [wrapped({"work_s": 0.02}), wrapped({"work_s": 0.05})]
    except Exception as exc:
        r.check(False, "", f"calling your wrapper raised {type(exc).__name__}: {exc}")
        return r.done()
    r.check(results == [0.04, 0.1], "the wrapper returns the handler's result",
            f"the wrapper returned {results}, not the handler's results [0.04, 0.1]: "
            "`return handler(record)`")
    raised: Exception | None = None
    try:
        wrapped({"work_s": 0.02, "bad": True})
    except ValueError as exc:
        raised = exc
    except Exception as exc:  # a different error: the wrapper changed it
        raised = exc
    r.check(isinstance(raised, ValueError), "a handler's error is re-raised unchanged",
            "the handler's ValueError was swallowed: re-raise it (the consumer loop decides "
            "about retries and dead letters)" if raised is None else
            f"the handler's ValueError came out as {type(raised).__name__}: let it through")
    values = hist.values()
    if not r.check(len(values) == 3, "every call is observed, including the one that raised",
                   f"the histogram holds {len(values)} observations after 3 calls: observe in a "
                   "`finally:` block (or use `with histogram.time():`) so failures count too"):
        return r.done()
    r.check(all(v >= w for v, w in zip(values, (0.02, 0.05, 0.02), strict=False)) and max(values) < 10,
            "durations are in seconds and cover the handler's work",
            f"observed {[round(v, 4) for v in values]}: "
            + ("these look like milliseconds; observe seconds (time.perf_counter() differences)"
               if max(values) >= 10 else
               "each call sleeps at least 0.02 s; start the clock before calling the handler and "
               "stop it after"))
    return r.done()


#: Cases of Exercise 3: (records/s one consumer sustains, target records/s, headroom).
_PLANS = [(180.0, 1000.0, 0.3), (450.0, 400.0, 0.3), (120.0, 2000.0, 0.5), (1000.0, 100.0, 0.0)]


def check_capacity_plan(plan: Callable[[float, float, float], tuple[int, int]]) -> Result:
    """Exercise 3: ``plan(per_consumer, target, headroom)`` returns ``(partitions, consumers)``.

    Enough consumers to carry ``target * (1 + headroom)`` records per second
    at ``per_consumer`` each, no more than needed, and at least as many
    partitions as consumers (a partition is read by one member of a group),
    but not more than twice as many.
    """
    r = Result("Exercise 3: size a consumer group")
    for per, target, headroom in _PLANS:
        try:
            partitions, consumers = plan(per, target, headroom)
        except Exception as exc:
            r.check(False, "", f"plan({per}, {target}, {headroom}) raised "
                               f"{type(exc).__name__}: {exc}; return (partitions, consumers)")
            return r.done()
        need = math.ceil(target * (1 + headroom) / per)
        where = f"for {target:.0f}/s at {per:.0f}/s per consumer with {headroom:.0%} headroom"
        if not (isinstance(consumers, int) and isinstance(partitions, int)):
            r.check(False, "", f"plan returned ({partitions!r}, {consumers!r}) {where}: "
                               "return two whole numbers (use math.ceil)")
            continue
        if consumers < need:
            r.check(False, "", f"{consumers} consumer(s) {where} carry only "
                               f"{consumers * per:.0f}/s; you need "
                               f"{target * (1 + headroom):.0f}/s (round up, do not truncate)")
        elif consumers > need:
            r.check(False, "", f"{consumers} consumers {where}: {need} are enough; "
                               "each extra one is a process doing nothing useful")
        elif partitions < consumers:
            r.check(False, "", f"{partitions} partition(s) for {consumers} consumers {where}: "
                               "members beyond the partition count sit idle, so give at least "
                               "as many partitions as consumers")
        elif partitions > 2 * consumers:
            r.check(False, "", f"{partitions} partitions for {consumers} consumers {where}: "
                               "some room to grow is good, but more than twice as many costs "
                               "broker memory and rebalance time")
        else:
            r.check(True, f"{partitions} partition(s), {consumers} consumer(s) {where}", "")
    return r.done()


def _normalise(answer: Any) -> dict[int, tuple[Any, list[Any]]]:
    """``{partition: (leader, sorted isr)}``, or raise TypeError or ValueError saying what
    is wrong."""
    if not isinstance(answer, dict):
        raise TypeError(f"leaders_and_isr returned {type(answer).__name__} {answer!r:.80}: return "
                         "a dict {partition: (leader, [isr])}")
    out = {}
    for partition, value in answer.items():
        if not (isinstance(value, (tuple, list)) and len(value) == 2
                and isinstance(value[1], (list, tuple, set))):
            raise ValueError(f"partition {partition!r} maps to {value!r}: map each partition to a "
                             "pair (leader, [isr])")
        try:
            isr = sorted(value[1])
        except TypeError:
            isr = list(value[1])
        out[partition] = (value[0], isr)
    return out


def check_leaders_and_isr(leaders_and_isr: Callable[[Any, str], Any], admin: Any, topic: str,
                          bootstrap: str) -> Result:
    """Exercise 4: ``leaders_and_isr(admin, topic)`` returns ``{partition: (leader, [isr])}``.

    ``admin`` is a kafka-python ``KafkaAdminClient``. The answer is compared, partition by
    partition, with what Kafka's own ``kafka-topics --describe`` says about ``topic`` on
    the cluster at ``bootstrap`` (ISR order does not matter).
    """
    from kafkalab import broker
    from kafkalab.ops.replication import parse_topics_describe

    r = Result("Exercise 4: leaders and in-sync replicas")
    answers = []
    for when in ("before", "after"):  # before and after the tool runs, in case the ISR moved
        try:
            raw = leaders_and_isr(admin, topic)
        except Exception as exc:
            r.check(False, "", f"leaders_and_isr(admin, {topic!r}) raised {type(exc).__name__}: "
                               f"{exc}")
            return r.done()
        try:
            answers.append(_normalise(raw))
        except (TypeError, ValueError) as exc:
            r.check(False, "", str(exc))
            return r.done()
        if when == "before":
            described = broker.tool("kafka-topics", "--bootstrap-server", bootstrap,
                                    "--describe", "--topic", topic, timeout=60)
    states = parse_topics_describe(described.stdout, topic)
    truth = {p: (st.leader, sorted(st.isr)) for p, st in states.items()}
    if not r.check(described.returncode == 0 and bool(truth), "kafka-topics --describe answered",
                   f"kafka-topics --describe --topic {topic} gave no partitions (exit "
                   f"{described.returncode}): {described.stderr.strip()[-300:]}"):
        return r.done()
    answer = answers[0] if answers[0] == truth else answers[1]
    if not r.check(set(answer) == set(truth),
                   f"one entry per partition: {sorted(truth)}",
                   f"you returned partitions {sorted(answer, key=str)}; {topic} has "
                   f"{sorted(truth)}: one entry per item of describe_topics' 'partitions', keyed "
                   "by its 'partition_index'"):
        return r.done()
    wrong_leaders = [p for p in truth if answer[p][0] != truth[p][0]]
    r.check(not wrong_leaders, "every leader matches kafka-topics --describe",
            "; ".join(f"partition {p}: you say leader {answer[p][0]!r}, Kafka says {truth[p][0]}"
                      for p in wrong_leaders[:3])
            + (": that is the first replica, the *preferred* leader, not the current one; "
               "read 'leader_id'" if any(answer[p][0] == states[p].replicas[0]
                                          for p in wrong_leaders) else ": read 'leader_id'"))
    wrong_isr = [p for p in truth if answer[p][1] != truth[p][1]]
    sizes = [len(truth[p][1]) for p in sorted(truth)]
    r.check(not wrong_isr, f"every ISR matches kafka-topics --describe (sizes {sizes})",
            "; ".join(f"partition {p}: you say ISR {answer[p][1]}, Kafka says {truth[p][1]}"
                      for p in wrong_isr[:3])
            + (": those are all the replicas ('replica_nodes'); the in-sync ones are "
               "'isr_nodes'" if any(answer[p][1] == sorted(states[p].replicas)
                                    for p in wrong_isr)
               else ": read 'isr_nodes'"))
    return r.done()


def check_prediction(prediction: Any, observed: int, replication_factor: int = 3,
                     min_insync: int = 2) -> Result:
    """Exercise 4, predict then run: how many nodes can stop while ``acks="all"`` writes
    still succeed? ``observed`` is what the experiment saw."""
    r = Result("Exercise 4: predict, then run")
    expected = replication_factor - min_insync
    rule = (f"with replication factor {replication_factor} and min.insync.replicas {min_insync}, "
            f"an acks='all' write needs {min_insync} in-sync copies, so {expected} node(s) can "
            "stop")
    if not r.check(isinstance(prediction, int) and not isinstance(prediction, bool),
                   "the prediction is a whole number",
                   f"prediction = {prediction!r}: set it to a whole number of nodes"):
        return r.done()
    r.check(observed == expected, f"the experiment agrees with the rule: {rule}",
            f"the experiment saw writes succeed with {observed} node(s) stopped, but {rule}: "
            "was every node running when it started?")
    if prediction == expected:
        r.check(True, f"you predicted {prediction}: right, {rule}", "")
    elif prediction > expected:
        left = replication_factor - prediction
        r.check(False, "", f"you predicted {prediction}; it is {expected}: with {prediction} "
                           f"stopped, {left} in-sync cop{'y' if left == 1 else 'ies'} "
                           f"remain{'s' if left == 1 else ''}, fewer than min.insync.replicas "
                           f"{min_insync}, so the leader refuses the write (NotEnoughReplicas)")
    else:
        r.check(False, "", f"you predicted {prediction}; it is {expected}: with one node "
                           f"stopped, {replication_factor - 1} in-sync copies remain, as many as "
                           "min.insync.replicas asks for, so writes go on")
    return r.done()


# -- Exercise 5: a lag probe ------------------------------------------------------

@dataclass(frozen=True)
class LagScenario:
    """A group with known lag: ``records[p]`` records written to partition ``p``; the group
    committed ``committed[p]`` on some partitions (none on the others); the records of
    partition ``p`` before offset ``deleted[p]`` were deleted (its log start offset moved)."""

    records: tuple[int, ...]
    committed: dict[int, int]
    deleted: dict[int, int]

    def lags(self) -> dict[int, int]:
        """What a probe must answer: ``end - committed``; with no commit, what a group
        starting from the earliest offset still has to read, ``end - log start``."""
        return {p: n - self.committed.get(p, self.deleted.get(p, 0))
                for p, n in enumerate(self.records)}


#: The lesson's scenario (the prediction is about this one).
LAG_SCENARIO = LagScenario(records=(5, 7, 4), committed={0: 2, 1: 7}, deleted={2: 1})
#: The checker's own: more partitions, different numbers (an answer that hard-codes the
#: lesson's lags fails here).
_CHECK_SCENARIO = LagScenario(records=(6, 3, 8, 2), committed={0: 6, 2: 3}, deleted={1: 2})


def make_lagging_group(bootstrap: str, topic: str, group: str,
                       scenario: LagScenario = LAG_SCENARIO) -> None:
    """Create ``topic`` (one partition per entry of ``scenario.records``) and ``group``
    with exactly the lag ``scenario`` describes, using plain kafka-python.

    ``topic`` must not exist yet (use a name of its own per run).
    """
    from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
    from kafka.admin import NewTopic
    from kafka.structs import OffsetAndMetadata

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="week08-lag-scenario")
    try:
        admin.create_topics([NewTopic(topic, num_partitions=len(scenario.records),
                                      replication_factor=1)])
        producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
        try:
            for partition, count in enumerate(scenario.records):
                for i in range(count):
                    # partition= pins each record: the lags are then known exactly
                    producer.send(topic, f"record {i}".encode(), partition=partition)
            producer.flush(timeout=30)
        finally:
            producer.close(timeout=5)
        # A group's committed offsets can be written without it ever consuming: commit
        # from a consumer that names the group but never joins it (assign, not subscribe).
        consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                 enable_auto_commit=False)
        try:
            consumer.commit({TopicPartition(topic, p): OffsetAndMetadata(offset, None, -1)
                             for p, offset in scenario.committed.items()})
        finally:
            consumer.close(autocommit=False)
        if scenario.deleted:
            # The records before these offsets go: the log start offset moves up.
            admin.delete_records({TopicPartition(topic, p): before
                                  for p, before in scenario.deleted.items()})
    finally:
        admin.close()


def _committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    from kafka import KafkaAdminClient

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="week08-lag-check")
    try:
        offsets = admin.list_group_offsets({group: None}).get(group, {})
    finally:
        admin.close()
    return {tp.partition: om.offset for tp, om in offsets.items() if tp.topic == topic}


def _lag_answer(raw: Any) -> dict[int, Any]:
    """``{partition: lag}`` from the learner's answer, or raise ValueError saying why not."""
    if not isinstance(raw, dict):
        raise ValueError(f"lag_probe returned {type(raw).__name__} {raw!r:.80}: return a dict "
                         "{partition: lag}")
    out: dict[int, Any] = {}
    for key, value in raw.items():
        partition = getattr(key, "partition", key)  # a TopicPartition key is fine too
        if isinstance(partition, bool) or not isinstance(partition, int):
            raise ValueError(f"key {key!r}: key the dict by partition number (or TopicPartition)")
        out[partition] = value
    return out


def _lag_mistake(partition: int, said: Any, scenario: LagScenario, truth: int) -> str:
    """Why a partition's lag is wrong, pointing at the concept, not the number."""
    end = scenario.records[partition]
    start = scenario.deleted.get(partition, 0)
    where = f"partition {partition}: you say {said!r}, the broker says {truth}"
    if partition in scenario.committed:
        return f"{where}: lag is the end offset minus the group's committed offset"
    if said == end + 1:
        return (f"{where}: the group never committed on this partition; list_group_offsets "
                "reports offset -1 there, which is 'no commit', not an offset")
    if said == end and start:
        return (f"{where}: the group never committed here, so it would start from the earliest "
                "offset it can still read; records before the log start offset are gone "
                "(beginning_offsets)")
    if said is None:
        return f"{where}: a partition with no commit still has lag: the records the group would read"
    return f"{where}: compare end_offsets with the committed offsets, partition by partition"


def check_lag_probe(lag_probe: Callable[[str, str, str], Any], prediction: Any,
                    bootstrap: str) -> Result:
    """Exercise 5: ``lag_probe(bootstrap, group, topic)`` returns ``{partition: lag}``.

    Written with plain kafka-python (``KafkaAdminClient.list_group_offsets`` for the
    group's committed offsets, a consumer's ``end_offsets`` / ``beginning_offsets``).
    ``prediction`` is the learner's ``{partition: lag}`` for :data:`LAG_SCENARIO`, written
    before running. The checker builds groups with known lag on the broker at ``bootstrap``
    (:func:`make_lagging_group`, on topics of its own), runs the probe on each and compares;
    the course's lag helpers refuse to run meanwhile, and the probe must leave the group's
    committed offsets as they were.
    """
    import uuid

    from kafkalab.clients.admin import Admin

    r = Result("Exercise 5: a lag probe")
    if not r.check(isinstance(prediction, dict) and prediction
                   and all(isinstance(v, int) and not isinstance(v, bool)
                           for v in prediction.values()),
                   "the prediction is a dict {partition: lag}",
                   f"prediction = {prediction!r:.80}: write down {{partition: lag}} (whole numbers) "
                   "for every partition of the lesson's topic, before running the probe"):
        return r.done()
    _matches_prediction(r, prediction, LAG_SCENARIO.lags(), "predicted lags")
    refuse_admin_lag = Admin.lag
    for name, scenario in (("the lesson's", LAG_SCENARIO), ("another", _CHECK_SCENARIO)):
        run = uuid.uuid4().hex[:8]
        topic, group = f"week08-check-lag-{run}", f"week08-check-lag-{run}"
        make_lagging_group(bootstrap, topic, group, scenario)
        before = _committed(bootstrap, group, topic)
        truth = scenario.lags()

        def refused(*args: Any, **kwargs: Any) -> Any:
            from kafkalab.exercises import ExerciseFailed
            raise ExerciseFailed("this exercise asks you to write it yourself: don't call "
                                 "kafkalab's Admin.lag")

        try:
            Admin.lag = refused  # type: ignore[method-assign]
            with forbidden("kafkalab.ops.LagMonitor", "kafkalab.ops.lag.LagMonitor"):
                raw = lag_probe(bootstrap, group, topic)
            answer = _lag_answer(raw)
        except Exception as exc:
            r.check(False, "", f"lag_probe(bootstrap, {group!r}, {topic!r}) raised "
                               f"{type(exc).__name__}: {exc}")
            return r.done()
        finally:
            Admin.lag = refuse_admin_lag  # type: ignore[method-assign]
            after = _committed(bootstrap, group, topic)
            _drop(bootstrap, topic, group)
        where = f"on {name} group ({len(truth)} partitions)"
        if not r.check(set(answer) == set(truth), f"one entry per partition {where}",
                       f"{where} you returned partitions {sorted(answer)}; the topic has "
                       f"{sorted(truth)}: every partition counts, including those the group "
                       "never committed on"):
            return r.done()
        wrong = [_lag_mistake(p, answer[p], scenario, truth[p])
                 for p in sorted(truth) if answer[p] != truth[p]]
        r.check(not wrong, f"every partition's lag matches the broker {where}: {truth}",
                "; ".join(wrong[:2]))
        r.check(after == before, f"the probe left the group's committed offsets alone {where}",
                f"{where} the group's committed offsets went from {before} to {after}: a probe "
                "only reads; a consumer that joins the group (and commits) moves what it measures")
    return r.done()


def _drop(bootstrap: str, topic: str, group: str) -> None:
    """Delete a check's topic and group (best effort: a leftover costs little)."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="week08-lag-check")
    try:
        with contextlib.suppress(KafkaError):
            admin.delete_groups([group])
        with contextlib.suppress(KafkaError):
            admin.delete_topics([topic])
    finally:
        admin.close()


# -- Exercise 6: exactly the ACLs a consumer group needs ------------------------------

def _consume_as(login: dict[str, Any], topic: str, group: str, polls: int = 16) -> str:
    """Join ``group`` as the user of ``login`` and read ``topic``: ``"read"`` once a record
    comes, else the name of the error (or ``"nothing"``). Bounded: ``polls`` half-second polls."""
    from kafka import KafkaConsumer
    from kafka.errors import KafkaError

    consumer = KafkaConsumer(topic, **login, group_id=group, auto_offset_reset="earliest",
                             enable_auto_commit=False, client_id="week08-acl-check")
    try:
        for _ in range(polls):
            if any(consumer.poll(timeout_ms=500).values()):
                return "read"
        return "nothing"
    except KafkaError as exc:
        return type(exc).__name__
    finally:
        consumer.close(autocommit=False)


def _acl_rows(admin: Any, principal: str) -> list[tuple[str, str, str, str, str]]:
    """``(resource type, name, pattern, operation, permission)`` of every ACL naming ``principal``."""
    from kafka.admin import (
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        ResourcePatternFilter,
        ResourceType,
    )

    acls, error = admin.describe_acls(ACLFilter(
        principal=principal, host=None, operation=ACLOperation.ANY,
        permission_type=ACLPermissionType.ANY,
        resource_pattern=ResourcePatternFilter(ResourceType.ANY, None, ACLResourcePatternType.ANY)))
    return sorted((a.resource_pattern.resource_type.name, a.resource_pattern.resource_name,
                   a.resource_pattern.pattern_type.name, a.operation.name, a.permission_type.name)
                  for a in acls)


def check_consumer_acls(grant: Callable[[Any, str, str, str], Any], prediction: Any,
                        cluster: Any) -> Result:
    """Exercise 6: ``grant(admin, principal, topic, group)`` creates exactly the ACLs a member
    of consumer group ``group`` needs to read ``topic``, and no more.

    ``cluster`` is the secured cluster (``broker.up(secure=True)[0]``). The checker makes a
    user, two topics with a record each and a group name; calls ``grant`` with an admin
    client logged in as the super user; then, logged in as the user, reads the topic (it must
    work) and the other topic (it must be refused), and compares the ACLs with the two the
    group needs. ``prediction`` is the learner's answer to "with READ on the topic only, what
    does poll raise?" (an exception class name), checked by trying it on a second user.
    """
    import uuid

    from kafka import KafkaAdminClient, KafkaProducer
    from kafka.admin import (
        ACL,
        ACLFilter,
        ACLOperation,
        ACLPermissionType,
        ACLResourcePatternType,
        NewTopic,
        ResourcePattern,
        ResourcePatternFilter,
        ResourceType,
        ScramMechanism,
        UserScramCredentialUpsertion,
    )

    r = Result("Exercise 6: the ACLs of a consumer group")
    if not r.check(getattr(cluster, "secure", False), "the checker runs on the secured cluster",
                   "pass the secured cluster: info, started = broker.up(secure=True)"):
        return r.done()
    run = uuid.uuid4().hex[:8]
    users = {name: uuid.uuid4().hex for name in (f"reader-{run}", f"guess-{run}")}
    topic, other, group = f"acl-orders-{run}", f"acl-payments-{run}", f"acl-billing-{run}"
    admin = KafkaAdminClient(**cluster.client_config(), client_id="week08-acl-check")
    try:
        admin.alter_user_scram_credentials([UserScramCredentialUpsertion(u, ScramMechanism.SCRAM_SHA_256, pw)
                                            for u, pw in users.items()])
        admin.create_topics([NewTopic(topic, 1, 1), NewTopic(other, 1, 1)])
        with KafkaProducer(**cluster.client_config()) as producer:
            for t in (topic, other):
                producer.send(t, b"a record to read").get(timeout=30)
        reader, guesser = list(users)
        # The prediction: a second user gets READ on the topic and nothing else.
        admin.create_acls([ACL(f"User:{guesser}", "*", ACLOperation.READ, ACLPermissionType.ALLOW,
                               ResourcePattern(ResourceType.TOPIC, topic))])
        observed = _consume_as(cluster.client_config(guesser, users[guesser]), topic, group, polls=6)
        # an exception class, or its name (with or without "kafka.errors.")
        said = prediction.__name__ if isinstance(prediction, type) else str(prediction)
        _matches_prediction(r, {"poll with READ on the topic only": said.strip().split(".")[-1]},
                            {"poll with READ on the topic only": observed}, "predicted error")
        principal = f"User:{reader}"
        try:
            grant(admin, principal, topic, group)
        except Exception as exc:
            r.check(False, "", f"grant(admin, {principal!r}, {topic!r}, {group!r}) raised "
                               f"{type(exc).__name__}: {exc}")
            return r.done()
        rows = _acl_rows(admin, principal)
        login = cluster.client_config(reader, users[reader])
        read = _consume_as(login, topic, group)
        r.check(read == "read", f"the user reads {topic} as a member of {group}",
                f"the user could not read {topic} in group {group} ({read}): "
                + ("joining a group and committing in it is an operation on the group resource"
                   if read == "GroupAuthorizationFailedError" else
                   "reading records is an operation on the topic resource"
                   # kafka-python may only log a refused topic and return empty polls
                   if read in ("TopicAuthorizationFailedError", "nothing") else
                   "check describe_acls: which operations on which resources did you allow?"))
        elsewhere = _consume_as(login, other, group, polls=6)
        r.check(elsewhere != "read", f"the user cannot read another topic ({other})",
                f"the user read {other} too: allow the one topic by its literal name, not '*' "
                "or a prefix")
        need = sorted([("GROUP", group, "LITERAL", "READ", "ALLOW"),
                       ("TOPIC", topic, "LITERAL", "READ", "ALLOW")])
        extra = [row for row in rows if row not in need]
        broad = [row for row in extra if row[1] == "*" or row[2] == "PREFIXED" or row[3] == "ALL"]
        r.check(not extra, "exactly two ACLs: READ on the topic, READ on the group",
                f"{len(extra)} ACL(s) beyond what the consumer needs, e.g. "
                f"{' '.join(extra[0][:4]) if extra else ''}: "
                + ("ALL, '*' and prefixes open more than this group and topic; name the "
                   "operation and the resource exactly" if broad else
                   "READ implies DESCRIBE; a consumer writes nothing; grant only what it uses"))
    finally:
        with contextlib.suppress(Exception):
            for name in users:
                admin.delete_acls([ACLFilter(f"User:{name}", None, ACLOperation.ANY,
                                             ACLPermissionType.ANY,
                                             ResourcePatternFilter(ResourceType.ANY, None,
                                                                   ACLResourcePatternType.ANY))])
            # The users stay (unique names, a few bytes each): removing SCRAM users is what
            # once cost the super user a credential at the next restart (docs/local-broker.md).
            admin.delete_topics([topic, other])
        admin.close()
    return r.done()


# -- Exercise 7: tests that can fail ------------------------------------------------

#: Broken versions of kafkalab/ops/order_totals.py the learner's tests must catch:
#: (what is broken, the line replaced, its replacement, a hint that names the kind of test).
MUTANTS = (
    ("total() ignores the quantity",
     'amount = sum(item["qty"] * item["price"] for item in items)',
     'amount = sum(item["price"] for item in items)',
     "a unit test of total() on an order whose items have a quantity above 1 would catch it"),
    ("run() starts a new group at the end of the topic (auto_offset_reset='latest')",
     'auto_offset_reset="earliest"', 'auto_offset_reset="latest"',
     "an integration test that writes orders first, then runs the service as a new group and "
     "reads the totals topic, would catch it"),
    ("run() stops at a poison record instead of sending it to the dead-letter topic",
     "except (ValueError, KeyError, TypeError) as exc:", "except KeyError as exc:",
     "a failure test that writes a record that is not an order and looks for it in the "
     "dead-letter topic would catch it"),
)


def _pytest_in(folder: Any, module: str, tests: str, bootstrap: str, first_failure: bool) -> Any:
    """Start pytest on ``tests`` beside ``module`` (as order_totals.py) in ``folder``; with
    ``first_failure``, stop at the first failed test (one is enough to catch a broken version,
    and the others may each wait out a timeout)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import kafkalab

    folder = Path(folder)
    (folder / "order_totals.py").write_text(module)
    (folder / "test_order_totals.py").write_text(tests)
    env = {**os.environ, "KAFKA_BROKERS": bootstrap,
           "PYTHONPATH": os.pathsep.join([str(Path(kafkalab.__file__).parents[1]),
                                          os.environ.get("PYTHONPATH", "")])}
    env.pop("KAFKALAB_STRICT_CHECKS", None)
    # With CI set (as on CI machines) pytest prints whole assertion diffs, also in the -rf
    # summary, and the failed test's name left the last lines the learner is shown.
    env.pop("CI", None)
    # -rf: each failed test's name and reason near the end (what the learner is shown);
    # kafka-python's deprecation warnings would otherwise push them out of the last lines.
    # nbval and xdist are the course's own plugins, not the learner's: loading them (nbval
    # pulls in nbformat and jsonschema) took 3-4 of the 4-5 s each of these runs took to start.
    return subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-rf", "-p", "no:cacheprovider",
                             "-p", "no:nbval", "-p", "no:xdist", "-p", "no:xdist.looponfail",
                             "-W", "ignore::DeprecationWarning",
                             "-o", "addopts=", "--color=no", *(["-x"] if first_failure else []),
                             "test_order_totals.py"], cwd=folder, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _summary(out: str) -> str:
    """pytest's closing line (``2 passed, 1 failed in 3.1s``), or its last line."""
    import re

    lines = [ln.strip("= ") for ln in out.splitlines() if ln.strip()]
    found = [ln for ln in lines if re.search(r"\d+ (passed|failed|error)|no tests ran", ln)]
    # warnings counts are noise here (kafka-python's deprecations)
    return re.sub(r",? \d+ warnings?", "", (found or lines or ["(no output)"])[-1])


def check_kafka_tests(tests: Any, bootstrap: str, timeout: float = 240.0) -> Result:
    """Exercise 7: ``tests`` is the source of a pytest file that tests ``order_totals``
    (``kafkalab/ops/order_totals.py``, imported as ``import order_totals``) with a unit, an
    integration and a failure test.

    The checker runs the file with pytest (``KAFKA_BROKERS`` = ``bootstrap``) four times, in
    parallel, each in a folder of its own: beside the right ``order_totals.py``, where every
    test must pass, and beside each of the broken versions in :data:`MUTANTS`, where some test
    must fail. A test file that cannot fail catches none of them.
    """
    import ast
    import inspect
    import os
    import tempfile

    from kafkalab.ops import order_totals

    r = Result("Exercise 7: tests that catch bugs")
    if not r.check(isinstance(tests, str) and tests.strip(), "the tests are a pytest file's source",
                   f"tests = {tests!r:.60}: set it to the source of a test file (a string)"):
        return r.done()
    try:
        tree = ast.parse(tests)
    except SyntaxError as exc:
        r.check(False, "", f"the test file does not parse: line {exc.lineno}: {exc.msg}")
        return r.done()
    names = [n.name for n in ast.walk(tree)
             if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name.startswith("test")]
    if not r.check(len(names) >= 3, f"{len(names)} test functions",
                   f"the file defines {len(names)} test function(s) ({', '.join(names) or 'none'}): "
                   "write at least three (a unit, an integration and a failure test), each named test_..."):
        return r.done()
    right = inspect.getsource(order_totals)
    versions = [("the right order_totals", right, "")]
    for what, line, broken, hint in MUTANTS:
        if line not in right:  # the module changed: a mutant that cannot be made is a checker bug
            raise RuntimeError(f"week 8 exercise 7: {line!r} is no longer in order_totals.py")
        versions.append((what, right.replace(line, broken), hint))
    with tempfile.TemporaryDirectory(prefix="week08-tests-") as tmp:
        runs = []
        for i, (what, module, hint) in enumerate(versions):
            folder = f"{tmp}/v{i}"
            os.mkdir(folder)
            runs.append((what, hint, _pytest_in(folder, module, tests, bootstrap, first_failure=i > 0)))
        results = []
        for what, hint, proc in runs:
            try:
                out, _ = proc.communicate(timeout=timeout)
            except Exception:
                proc.kill()
                out, _ = proc.communicate()
                out += f"\n(stopped after {timeout:.0f} s)"
            results.append((what, hint, proc.returncode, out))
    (what, _, code, out) = results[0]
    if not r.check(code == 0, f"every test passes on the right order_totals ({_summary(out)})",
                   f"on the right order_totals your tests do not pass ({_summary(out)}): a test "
                   "that fails on working code tells nothing; last lines:\n"
                   + "\n".join(out.strip().splitlines()[-12:])):
        return r.done()
    for what, hint, code, out in results[1:]:
        r.check(code == 1, f"a test fails when {what} ({_summary(out)})",
                f"every test passes when {what}: {hint}" if code == 0 else
                f"when {what} pytest ended with exit code {code} ({_summary(out)}), not a failed test")
    return r.done()


# An exercise cell not written yet leaves its answer None: say "not done yet" in one line.
guard_checkers(globals())
