"""Checkers for week 6: a custom aggregator, a grace period chosen from data, and a windowed count
written with a raw ``KafkaConsumer`` loop, checked on the broker.

>>> from kafkalab import windows
>>> class Mean(windows.Aggregator):
...     def initialize(self): return [0, 0]
...     def add(self, acc, order): return [acc[0] + order["total"], acc[1] + 1]
...     def result(self, acc): return round(acc[0] / acc[1], 2) if acc[1] else None
...     def merge(self, a, b): return [a[0] + b[0], a[1] + b[1]]
>>> print(check_custom_aggregate(Mean))
Exercise 1: a custom aggregate (average order value): 5 of 5 checks passed
  ✔ it subclasses windows.Aggregator
  ✔ initialize() gives a JSON accumulator
  ✔ an empty window gives None
  ✔ six orders average 107.04
  ✔ merge() of two halves equals the whole
"""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kafkalab.exercises import ExerciseFailed, Result, check_prediction, forbidden, guard_checkers
from kafkalab.windows import Aggregator, Count, Tumbling, WindowedAggregation

__all__ = ["BOUNDARY_OFFSETS_MS", "check_boundary_prediction", "check_custom_aggregate", "check_grace_period",
           "check_windowed_count", "late_share", "lateness_ms", "probe_timestamps", "reference_counts"]

_ORDERS = [{"total": t} for t in (120.0, 80.5, 99.5, 300.0, 0.0, 42.25)]


def _mean(values: Sequence[float]) -> float:
    return round(sum(values) / len(values), 2)


def check_custom_aggregate(cls: type) -> Result:
    """Exercise 1: ``AverageOrderValue``, the mean ``total`` of a window's orders.

    It must subclass :class:`kafkalab.windows.Aggregator`, give ``None`` for
    an empty window, keep a JSON accumulator (the processor
    checkpoints it), not change the accumulator it is given, and merge.
    """
    r = Result("Exercise 1: a custom aggregate (average order value)")
    if not r.check(isinstance(cls, type) and issubclass(cls, Aggregator),
                   "it subclasses windows.Aggregator",
                   f"{cls!r} is not a subclass of windows.Aggregator: write "
                   "`class AverageOrderValue(windows.Aggregator):`"):
        return r.done()
    agg = cls()
    try:
        acc = agg.initialize()
        json.dumps(acc)
        r.check(True, "initialize() gives a JSON accumulator", "")
    except Exception as exc:  # noqa: BLE001 - the learner's code: say what happened
        r.check(False, "", f"initialize() failed or is not JSON ({type(exc).__name__}: {exc}); "
                "use numbers, lists or dicts")
        return r.done()
    try:
        empty = agg.result(acc)
        r.check(empty is None, "an empty window gives None",
                f"an empty window gave {empty!r}: it should give None (there is no average yet)")
    except Exception as exc:  # noqa: BLE001
        r.check(False, "", f"result() of an empty window raised {type(exc).__name__}: an empty "
                "window (no orders yet) should give None")
    try:
        whole = agg.initialize()
        for order in _ORDERS:
            before = copy.deepcopy(whole)
            new = agg.add(whole, order)
            if whole != before:
                r.check(False, "", "add() changed the accumulator it was given: return a new "
                        "one (a checkpoint may still hold the old one)")
                return r.done()
            whole = json.loads(json.dumps(new))
        got = agg.result(whole)
        want = _mean([o["total"] for o in _ORDERS])
        r.check(isinstance(got, (int, float)) and math.isclose(got, want, abs_tol=0.006),
                f"six orders average {want}",
                f"six orders with totals {[o['total'] for o in _ORDERS]} gave {got!r}; "
                f"expected their mean, {want}: what does result() compute from your accumulator?")
    except Exception as exc:  # noqa: BLE001
        r.check(False, "", f"add() or result() raised {type(exc).__name__}: {exc}")
        return r.done()
    try:
        left, right = agg.initialize(), agg.initialize()
        for o in _ORDERS[:2]:
            left = agg.add(left, o)
        for o in _ORDERS[2:]:
            right = agg.add(right, o)
        merged = agg.result(agg.merge(left, right))
        same = (merged == agg.result(whole) or isinstance(merged, float)
                and math.isclose(merged, agg.result(whole), abs_tol=1e-9))
        r.check(same, "merge() of two halves equals the whole",
                f"merge() of two halves gave {merged!r} but the whole gives "
                f"{agg.result(whole)!r}: two means alone cannot be combined; what must each half keep?")
    except NotImplementedError:
        r.check(False, "", "merge() is missing: session windows need it; combine two "
                "accumulators into one")
    except Exception as exc:  # noqa: BLE001
        r.check(False, "", f"merge() raised {type(exc).__name__}: {exc}")
    return r.done()


def lateness_ms(timestamps: Sequence[int]) -> list[int]:
    """How far behind stream time (the largest timestamp so far) each record arrived.

    >>> lateness_ms([1000, 3000, 2500, 4000, 1000])
    [0, 0, 500, 0, 3000]
    """
    out, high = [], None
    for ts in timestamps:
        high = ts if high is None else max(high, ts)
        out.append(high - ts)
    return out


def late_share(timestamps: Sequence[int], grace_ms: int, size_ms: int = 60_000) -> float:
    """Share of records a tumbling window with ``grace_ms`` would report late.

    >>> late_share([0, 61_000, 30_000], grace_ms=0, size_ms=60_000)
    0.3333333333333333
    """
    agg = WindowedAggregation(Tumbling(size_ms), Count(), grace_ms=grace_ms)
    for ts in timestamps:
        agg.process("k", None, ts)
    return agg.late_count / len(timestamps) if timestamps else 0.0


def check_grace_period(grace_ms: Any, timestamps: Sequence[int], *, max_late_share: float = 0.01,
                       size_ms: int = 60_000) -> Result:
    """Exercise 2: a grace period that loses at most 1 % of records, and waits no longer than needed.

    "No longer than needed": at most the largest lateness seen plus one
    window, since beyond that no record would gain anything, while every
    final result would come out later.
    """
    r = Result("Exercise 2: choose a grace period")
    if not r.check(isinstance(grace_ms, int) and not isinstance(grace_ms, bool) and grace_ms >= 0,
                   f"GRACE_MS is a whole number of milliseconds ({grace_ms})",
                   f"GRACE_MS should be a non-negative int of milliseconds; got {grace_ms!r}"):
        return r.done()
    share = late_share(timestamps, grace_ms, size_ms)
    r.check(share <= max_late_share,
            f"{share:.2%} of records would be late (at most {max_late_share:.0%})",
            f"with {grace_ms} ms of grace {share:.2%} of records are late, more than "
            f"{max_late_share:.0%}: read the lateness plot again and wait longer")
    worst = max(lateness_ms(timestamps), default=0)
    r.check(grace_ms <= worst + size_ms,
            f"results are not delayed for nothing (worst lateness {worst} ms)",
            f"{grace_ms} ms is far more than needed: no record is more than {worst} ms late, "
            "and every final result waits for the grace period to pass")
    return r.done()


#: Where exercise 3's probe records sit, relative to a window boundary: just before, on, just after.
BOUNDARY_OFFSETS_MS = (-60_001, -1, 0, 1, 59_999, 60_000)


def probe_timestamps(boundary_ms: int) -> list[int]:
    """Record timestamps around ``boundary_ms`` (a multiple of one minute) that test the window edges.

    >>> probe_timestamps(1_438_189_200_000)[:3]
    [1438189139999, 1438189199999, 1438189200000]
    """
    return [boundary_ms + d for d in BOUNDARY_OFFSETS_MS]


def reference_counts(timestamps_by_key: Mapping[str, Sequence[int]], size_ms: int) -> dict[tuple[str, int], int]:
    """Records per ``(key, window start)`` in tumbling windows of ``size_ms``, by record time.

    The course's windows (:class:`kafkalab.windows.Tumbling`) are the reference.

    >>> reference_counts({"k": [59_999, 60_000, 60_001]}, 60_000)
    {('k', 0): 1, ('k', 60000): 2}
    """
    spec = Tumbling(size_ms)
    out: dict[tuple[str, int], int] = {}
    for key, stamps in timestamps_by_key.items():
        for ts in stamps:
            start = spec.windows_for(ts)[0].start_ms
            out[(key, start)] = out.get((key, start), 0) + 1
    return dict(sorted(out.items()))


class _Spy:
    """Notes, while the learner's function runs, each send's future and whether any was unfinished at commit."""

    def __init__(self) -> None:
        self.futures: list[Any] = []
        self.commits = 0
        self.unfinished_at_commit = 0
        self.sends_at_last_commit = 0

    def __enter__(self) -> _Spy:
        import kafka

        self._send, self._commit = kafka.KafkaProducer.send, kafka.KafkaConsumer.commit
        spy = self

        def send(producer: Any, *args: Any, **kwargs: Any) -> Any:
            future = spy._send(producer, *args, **kwargs)
            spy.futures.append(future)
            return future

        def commit(consumer: Any, *args: Any, **kwargs: Any) -> Any:
            spy.commits += 1
            spy.sends_at_last_commit = len(spy.futures)
            spy.unfinished_at_commit = max(spy.unfinished_at_commit, sum(not f.is_done for f in spy.futures))
            return spy._commit(consumer, *args, **kwargs)

        kafka.KafkaProducer.send = send
        kafka.KafkaConsumer.commit = commit
        return self

    def __exit__(self, *exc: object) -> None:
        import kafka

        kafka.KafkaProducer.send = self._send
        kafka.KafkaConsumer.commit = self._commit


# The course's windowing and reading helpers refuse to run inside the learner's function.
_WINDOWING = ("kafkalab.windows.Tumbling", "kafkalab.windows.WindowedAggregation", "kafkalab.windows.window_start",
              "kafkalab.windows.window.window_start", "kafkalab.frames.read_topic", "kafkalab.clients.Consumer",
              "kafkalab.streams.Stream", "kafkalab.exercises.week06.reference_counts")


def _input_records(size_ms: int, lines: int) -> list[tuple[str, int, dict[str, Any]]]:
    """(key, timestamp, value): real ZooKeeper lines keyed by level, and probes on a window boundary."""
    from kafkalab.logs import timestamp_ms, zookeeper

    out = [(rec["level"], timestamp_ms(rec), {"line": rec["metadata"]["line"], "message": rec["message"]})
           for rec in zookeeper.records(limit=lines)]
    boundary = (out[0][1] // size_ms + 2) * size_ms
    out += [("probe", ts, {"probe": i}) for i, ts in enumerate(probe_timestamps(boundary))]
    return out


def check_windowed_count(fn: Callable[[str, str, int, str], Any], *, size_ms: int = 60_000,
                         lines: int = 300, settings: Any = None) -> Result:
    """Exercise 3: ``fn(topic, group_id, size_ms, out_topic)``, a windowed count with a raw consumer loop.

    The checker writes real ZooKeeper log lines (keyed by level, with their
    2015 timestamps as the records' timestamps) and six probe records around a
    window boundary to a new topic, then calls ``fn``. It must read the topic
    with a ``KafkaConsumer`` in a bounded poll loop, count records per key in
    tumbling windows of ``size_ms`` by each record's own timestamp, send one
    result per (key, window) to ``out_topic`` (key = the record key, value =
    JSON ``{"window_start": ms, "count": n}``), and commit its offsets only
    once those results are on the broker; it returns ``{(key, window_start):
    count}``. The truth is :func:`reference_counts` over the same topic.
    """
    import json
    import uuid

    from kafka import KafkaProducer

    from kafkalab import fresh
    from kafkalab.clients import bootstrap_servers
    from kafkalab.clients.admin import Admin
    from kafkalab.frames import read_topic

    r = Result("Exercise 3: a windowed count from a topic")
    run = uuid.uuid4().hex[:8]
    topic, out_topic, group = f"week06-in-{run}", f"week06-counts-{run}", f"week06-count-{run}"
    fresh.fresh_topic(topic, partitions=3)
    fresh.fresh_topic(out_topic, partitions=3)
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers(settings), acks="all", linger_ms=5)
    try:
        for key, ts, value in _input_records(size_ms, lines):
            producer.send(topic, key=key.encode(), value=json.dumps(value).encode(), timestamp_ms=ts)
        producer.flush(timeout=30)
    finally:
        producer.close(timeout=5)
    # The truth, from the broker: each record's key and timestamp as stored, windowed by kafkalab.windows.
    stored = read_topic(topic, timeout=20, settings=settings)
    stamps: dict[str, list[int]] = {}
    for key, ts in zip(stored["key"], stored["timestamp"], strict=True):
        stamps.setdefault(str(key), []).append(int(ts.value // 1_000_000))
    truth = reference_counts(stamps, size_ms)
    spy = _Spy()
    try:
        with forbidden(*_WINDOWING), spy:
            got = fn(topic, group, size_ms, out_topic)
    except ExerciseFailed as exc:
        r.check(False, "", f"{exc}: count the windows yourself, from each record's timestamp")
        return r.done()
    except Exception as exc:  # noqa: BLE001 - the learner's code: say what happened
        r.check(False, "", f"your function raised {type(exc).__name__}: {exc}")
        return r.done()
    try:
        mine = {(str(k), int(s)): int(n) for (k, s), n in dict(got).items()}
    except (TypeError, ValueError):
        r.check(False, "", f"it returned {type(got).__name__}; return a dict {{(key, window_start_ms): count}}")
        return r.done()
    r.check(sum(mine.values()) == len(stored), f"it counted all {len(stored)} records",
            f"it counted {sum(mine.values())} records; the topic holds {len(stored)}: poll until every "
            "partition is read to its end offset (and no longer)")
    _compare_windows(r, mine, truth, size_ms, "your counts")
    written = read_topic(out_topic, timeout=20, settings=settings)
    table: dict[tuple[str, int], int] = {}
    if len(written) and {"window_start", "count"} <= set(written.columns):
        for key, start, n in zip(written["key"], written["window_start"], written["count"], strict=True):
            table[(str(key), int(start))] = int(n)      # a later result for a window replaces an earlier one
    r.check(table == truth, f"{out_topic!r} holds one result per (key, window), {len(truth)} in all",
            f"{out_topic!r} holds {len(table)} (key, window) results, not the {len(truth)} the topic has: "
            "send each window's count, keyed by the record key, with JSON window_start and count")
    with Admin(settings) as admin:
        ends = {tp.partition: off for tp, off in admin.end_offsets(topic).items() if off > 0}
        committed = {tp.partition: off for tp, off in admin.group_offsets(group).items()
                     if tp.topic == topic and tp.partition in ends}   # an empty partition needs no commit
    r.check(committed == ends, f"group {group!r} committed the end of every partition",
            f"group {group!r} committed {committed or 'nothing'} but the partitions end at {ends}: commit "
            "what you processed (the next offset to read) when the results are out")
    after = len(spy.futures) - spy.sends_at_last_commit
    r.check(spy.commits > 0 and spy.unfinished_at_commit == 0 and after == 0,
            "it committed only once its results were on the broker",
            "it never called consumer.commit(): turn auto-commit off and commit yourself" if not spy.commits
            else f"it sent {after} window results after its last commit: a crash between the two loses "
            "them, while the committed offsets say their records are done" if after
            else f"when it committed, {spy.unfinished_at_commit} window results were still in the producer's "
            "memory: a crash then loses them, while the committed offsets say their records are done")
    fresh.drop_topic(topic)
    fresh.drop_topic(out_topic)
    return r.done()


def _compare_windows(r: Result, mine: Mapping[tuple[str, int], int], truth: Mapping[tuple[str, int], int],
                     size_ms: int, what: str) -> None:
    import time

    if r.check(dict(mine) == dict(truth), f"{what} match kafkalab.windows on the same topic "
               f"({len(truth)} windows)", ""):
        return
    r.lines.pop()
    now = time.time() * 1000
    recent = [s for _, s in mine if abs(s - now) < 86_400_000]
    probe_mine = {s: n for (k, s), n in mine.items() if k == "probe"}
    probe_truth = {s: n for (k, s), n in truth.items() if k == "probe"}
    if recent:
        r.check(False, "", f"{what} put records in windows around the time you ran it; the records were "
                "written in 2015. Which time decides a record's window: when you read it, or the time it carries?")
    elif probe_mine != probe_truth:
        r.check(False, "", f"{what} put the records around a window edge in the wrong windows (you: "
                f"{probe_mine}, the records' windows: {probe_truth}). A window covers [start, start + size): "
                "which window holds a record stamped exactly on a boundary?")
    else:
        diff = sorted(k for k in set(mine) | set(truth) if mine.get(k) != truth.get(k))
        r.check(False, "", f"{what} differ in {len(diff)} (key, window) cells, first {diff[0]}: you "
                f"{mine.get(diff[0], 0)}, the topic {truth.get(diff[0], 0)}")


def check_boundary_prediction(predicted: Mapping[int, int], topic: str, *, size_ms: int = 60_000,
                              key: str = "probe") -> Result:
    """Exercise 4 (predict, then run): how many of ``key``'s records fall in each window?

    ``predicted`` maps window start (ms) to a count, written down before
    running; the observed counts come from the records' timestamps as the
    broker stored them, windowed by :class:`kafkalab.windows.Tumbling`.
    """
    from kafkalab.clients.admin import UnknownTopicError
    from kafkalab.frames import read_topic

    r = Result("Exercise 4: records on a window boundary")
    try:
        said = {int(k): v for k, v in dict(predicted).items()}
    except (TypeError, ValueError):
        r.check(False, "", f"write the prediction as {{window_start_ms: count}} with whole-number starts; "
                f"got {predicted!r}")
        return r.done()
    try:
        stored = read_topic(topic, timeout=20)
    except UnknownTopicError:
        r.check(False, "", f"there is no topic {topic!r}: run the cell that writes the six records first")
        return r.done()
    stamps = [int(ts.value // 1_000_000) for k, ts in zip(stored["key"], stored["timestamp"], strict=True)
              if str(k) == key] if len(stored) else []
    observed = {start: n for (_, start), n in reference_counts({key: stamps}, size_ms).items()}
    check_prediction(r, said, observed, "window counts")
    return r.done()


# An exercise cell not written yet leaves its answer None: say "not done yet" in one line.
guard_checkers(globals())
