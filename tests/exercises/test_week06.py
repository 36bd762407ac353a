"""The week 6 checkers accept a right answer and reject wrong ones in plain words."""

from __future__ import annotations

import json
import re
import time

import pytest
from kafka import KafkaConsumer, KafkaProducer
from kafka.serializer import DefaultSerializer
from kafka.structs import OffsetAndMetadata

from kafkalab import clients, windows
from kafkalab.analytics import EventGenerator
from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week06 import (
    check_boundary_prediction,
    check_custom_aggregate,
    check_grace_period,
    check_windowed_count,
    lateness_ms,
    probe_timestamps,
)


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
    (SumNotMean, "expected their mean, 107.04"),
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


# --- exercise 3: a windowed count with a raw KafkaConsumer loop, on the broker ------------------



def counting(window_of, *, commit_first=False, max_polls=50):
    """A windowed count written as a learner would; ``window_of(ts, size, record)`` picks the window."""

    def window_counts(topic, group_id, size_ms, out_topic):
        consumer = KafkaConsumer(topic, bootstrap_servers=clients.bootstrap_servers(), group_id=group_id,
                                 auto_offset_reset="earliest", enable_auto_commit=False,
                                 key_deserializer=DefaultSerializer())
        producer = KafkaProducer(bootstrap_servers=clients.bootstrap_servers(), acks="all", linger_ms=10)
        counts, last = {}, {}
        try:
            ends = None
            for _ in range(max_polls):                       # bounded: at most max_polls polls
                batch = consumer.poll(timeout_ms=500)
                for tp, records in batch.items():
                    for rec in records:
                        start = window_of(rec.timestamp, size_ms, rec)
                        counts[(rec.key, start)] = counts.get((rec.key, start), 0) + 1
                        last[tp] = rec.offset
                if consumer.assignment():
                    ends = ends or consumer.end_offsets(list(consumer.assignment()))
                    if all(last.get(tp, -1) + 1 >= end for tp, end in ends.items()):
                        break
            offsets = {tp: OffsetAndMetadata(off + 1, None, -1) for tp, off in last.items()}
            if commit_first:
                consumer.commit(offsets)
            for (key, start), n in counts.items():
                producer.send(out_topic, key=key.encode(),
                              value=json.dumps({"window_start": start, "count": n}).encode())
            if not commit_first:
                producer.flush(timeout=30)
                consumer.commit(offsets)
            return counts
        finally:
            producer.close(timeout=10)
            consumer.close()

    return window_counts


def by_record_time(ts, size, rec):
    return ts - ts % size


def test_right_windowed_count_passes():
    result = check_windowed_count(counting(by_record_time))
    assert result.passed, str(result)


def test_processing_time_windows_fail():
    def by_clock(ts, size, rec):
        now = int(time.time() * 1000)
        return now - now % size

    with pytest.raises(ExerciseFailed, match="around the time you ran it"):
        check_windowed_count(counting(by_clock))


@pytest.mark.parametrize("off_by_one", [
    lambda ts, size, rec: (ts - 1) // size * size,          # a record on the boundary goes to the window before
    lambda ts, size, rec: -(-ts // size) * size - size if ts % size else ts - size,  # (start, end] windows
], ids=["start-minus-one", "end-inclusive"])
def test_off_by_one_boundaries_fail(off_by_one):
    with pytest.raises(ExerciseFailed, match="around a window edge in the wrong windows"):
        check_windowed_count(counting(off_by_one))


def test_commit_before_the_results_are_out_fails():
    with pytest.raises(ExerciseFailed, match="sent 40 window results after its last commit"):
        check_windowed_count(counting(by_record_time, commit_first=True))


def test_calling_the_course_windows_is_refused():
    from kafkalab import windows

    def with_course_windows(ts, size, rec):
        return windows.Tumbling(size).windows_for(ts)[0].start_ms

    with pytest.raises(ExerciseFailed, match="don't call kafkalab.windows.Tumbling"):
        check_windowed_count(counting(with_course_windows))


def test_unbounded_reading_that_stops_early_fails():
    with pytest.raises(ExerciseFailed, match="poll until every partition is read"):
        check_windowed_count(counting(by_record_time, max_polls=0))


def test_boundary_prediction_is_compared_with_the_broker():
    topic = f"test-w6-probe-{time.time_ns()}"
    with clients.Admin() as admin:
        admin.ensure_topic(topic, partitions=1)
    boundary = 1_438_189_200_000
    producer = KafkaProducer(bootstrap_servers=clients.bootstrap_servers())
    for ts in probe_timestamps(boundary):
        producer.send(topic, key=b"probe", value=b"{}", timestamp_ms=ts)
    producer.flush()
    producer.close()
    right = {boundary - 120_000: 1, boundary - 60_000: 1, boundary: 3, boundary + 60_000: 1}
    assert check_boundary_prediction(right, topic).passed
    wrong = {boundary - 120_000: 1, boundary - 60_000: 2, boundary: 2, boundary + 60_000: 1}
    with pytest.raises(ExerciseFailed, match="you said 2, the broker says 1"):
        check_boundary_prediction(wrong, topic)


def test_commit_while_results_are_still_queued_fails():
    def no_flush(topic, group_id, size_ms, out_topic):
        # Sends, then commits without flushing: the results are still in the producer's memory.
        import kafka

        original = kafka.KafkaProducer.flush
        kafka.KafkaProducer.flush = lambda self, timeout=None: None
        try:
            return counting(by_record_time)(topic, group_id, size_ms, out_topic)
        finally:
            kafka.KafkaProducer.flush = original

    with pytest.raises(ExerciseFailed, match="still in the producer's memory"):
        check_windowed_count(no_flush)


@pytest.mark.parametrize("answer, says", [
    (lambda topic, group, size, out: [("probe", 0, 1)], "return a dict {(key, window_start_ms): count}"),
    (lambda topic, group, size, out: 1 / 0, "your function raised ZeroDivisionError"),
], ids=["not-a-dict", "raises"])
def test_windowed_count_answers_it_cannot_read_are_refused_in_one_line(answer, says):
    with pytest.raises(ExerciseFailed, match=re.escape(says)):
        check_windowed_count(answer, lines=20)


def test_boundary_prediction_that_is_not_a_mapping_of_starts_is_refused():
    with pytest.raises(ExerciseFailed, match="write the prediction as"):
        check_boundary_prediction({"B": 3}, f"test-w6-none-{time.time_ns()}")


def test_boundary_prediction_on_a_missing_topic_says_so():
    with pytest.raises(ExerciseFailed, match="run the cell that writes the six records first"):
        check_boundary_prediction({0: 1}, f"test-w6-none-{time.time_ns()}")
