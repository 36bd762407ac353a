"""Checkers for week 8: a lag alert rule, timing a handler, sizing a consumer group, and
reading leaders and in-sync replicas on the three-node cluster.

>>> from kafkalab import ops
>>> print(check_lag_rule(lambda threshold, for_s, group: ops.LagAbove(
...     threshold, for_s=for_s, group=group, clear_below=threshold)))
Exercise 1: a lag alert rule: 5 of 5 checks passed
  ✔ it is an ops.Rule with a check(registry, now, active) method
  ✔ a one-second spike does not fire it
  ✔ lag above the threshold for the hold time fires it once, at t=13 s
  ✔ it clears once lag falls below the threshold, at t=17 s
  ✔ another group's lag does not fire it

A wrong answer says what is wrong (and, under the test suite, raises)::

    ✘ a one-second spike to 500 (t=2 s) fired it: fire only when every sample of the
      last for_s seconds is at or above the threshold
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from typing import Any

from kafkalab.exercises import Result, guard_checkers

__all__ = ["LAG_SERIES", "check_capacity_plan", "check_lag_rule", "check_leaders_and_isr",
           "check_prediction", "check_timed"]

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
        rule = make_rule(100, 3, "billing")
    except Exception as exc:
        r.check(False, "", f"make_rule(100, 3, 'billing') raised {type(exc).__name__}: {exc}")
        return r.done()
    if not r.check(isinstance(rule, ops.Rule) and callable(getattr(rule, "check", None)),
                   "it is an ops.Rule with a check(registry, now, active) method",
                   f"make_rule returned {rule!r}: return an instance of a subclass of ops.Rule "
                   "that implements check(self, registry, now, active)"):
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


# An exercise cell not written yet leaves its answer None: say "not done yet" in one line.
guard_checkers(globals())
