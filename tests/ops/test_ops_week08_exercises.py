"""The week-8 checkers accept right answers and reject wrong ones in plain words."""

from __future__ import annotations

import math
import time

import pytest

from kafkalab import ops
from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week08 import check_capacity_plan, check_lag_rule, check_timed


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


def test_lag_rule_accepts_the_package_rule_and_a_hand_written_one():
    assert check_lag_rule(lambda th, f, g: ops.LagAbove(th, for_s=f, group=g, clear_below=th))
    assert check_lag_rule(HandWritten)


@pytest.mark.parametrize("make, says", [
    (lambda th, f, g: HandWritten(th, f, g, hold=False), "one-second spike to 500"),
    (lambda th, f, g: HandWritten(th, f, g, clear=False), "it never cleared"),
    (lambda th, f, g: HandWritten(th, f, g, any_group=True), "fired on group 'shipping''s lag"),
    (lambda th, f, g: HandWritten(th * 10, f, g), "it never fired during the incident"),
    (lambda th, f, g: ops.LagAbove(th, for_s=f, group=g, clear_below=20), "cleared at t=[18] s"),
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
