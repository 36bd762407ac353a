"""The week 6 checkers accept a right answer and reject wrong ones in plain words."""

from __future__ import annotations

import pytest

from kafkalab import windows
from kafkalab.analytics import EventGenerator
from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week06 import check_custom_aggregate, check_grace_period, lateness_ms


class Right(windows.Aggregator):
    def initialize(self):
        return {"sum": 0.0, "n": 0}

    def add(self, acc, order):
        return {"sum": acc["sum"] + order["total"], "n": acc["n"] + 1}

    def result(self, acc):
        return round(acc["sum"] / acc["n"], 2) if acc["n"] else None

    def merge(self, a, b):
        return {"sum": a["sum"] + b["sum"], "n": a["n"] + b["n"]}


class NoMerge(Right):
    merge = windows.Aggregator.merge


class Mutating(Right):
    def add(self, acc, order):
        acc["sum"] += order["total"]
        acc["n"] += 1
        return acc


class ZeroWhenEmpty(Right):
    def result(self, acc):
        return acc["sum"] / acc["n"] if acc["n"] else 0


class SumNotMean(Right):
    def result(self, acc):
        return acc["sum"] if acc["n"] else None


def test_right_aggregate_passes():
    assert check_custom_aggregate(Right).passed


@pytest.mark.parametrize("answer, message", [
    (NoMerge, "merge() is missing"),
    (Mutating, "add() changed the accumulator it was given"),
    (ZeroWhenEmpty, "an empty window gave 0: it should give None"),
    (SumNotMean, "expected 107.04: the sum of the totals divided by the number of orders"),
    (dict, "is not a subclass of windows.Aggregator"),
])
def test_wrong_aggregates_fail_with_a_reason(answer, message):
    with pytest.raises(ExerciseFailed, match="checks passed") as info:
        check_custom_aggregate(answer)   # the test suite runs in strict mode
    assert message in str(info.value)


@pytest.fixture(scope="module")
def timestamps():
    events = EventGenerator(seed=6, minutes=30, late_share=0.1, max_delay_ms=45_000).generate()
    return [e["timestamp"] for e in events]


def test_lateness_is_distance_behind_the_running_maximum():
    assert lateness_ms([5, 3, 9, 1]) == [0, 2, 0, 8]


def test_good_grace_period_passes(timestamps):
    assert check_grace_period(45_000, timestamps).passed


def test_too_short_grace_fails(timestamps):
    with pytest.raises(ExerciseFailed, match="wait longer"):
        check_grace_period(0, timestamps)


def test_needlessly_long_grace_fails(timestamps):
    with pytest.raises(ExerciseFailed, match="far more than needed"):
        check_grace_period(3_600_000, timestamps)


def test_grace_must_be_milliseconds(timestamps):
    with pytest.raises(ExerciseFailed, match="non-negative int"):
        check_grace_period("45s", timestamps)
