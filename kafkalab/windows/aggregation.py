"""The windowed aggregation of one partition: windows, grace, late records, emit modes.

This is the heart of ``stream.group_by_key().window(...).aggregate(...)``,
written as plain Python with no Kafka in it, so it is tested with fixed
timestamps and can be read top to bottom. For every record it:

1. advances stream time (:class:`~kafkalab.windows.watermark.Watermark`);
2. adds the record to each of its windows that is still open, or, if a window
   is already closed, reports the record as **late** (a :class:`LateRecord`
   for the side output; never a silent drop);
3. closes the windows that stream time has passed (end + grace) and forgets
   them.

Two emit modes, as in Kafka Streams:

* ``"update"``: a :class:`WindowResult` after *every* change (a live table;
  downstream keeps the latest value per window);
* ``"final"``: one result per window, when it closes (Kafka Streams'
  ``suppress(untilWindowCloses)``; what you want for alerts and billing);
* ``"both"``: every update, and the final value once more at close (a live
  dashboard that also feeds an anomaly detector).

>>> from kafkalab.windows import Tumbling, Count
>>> agg = WindowedAggregation(Tumbling(60_000), Count(), grace_ms=10_000, emit="final")
>>> agg.process("shop", {"n": 1}, 5_000)            # window [0, 60 s) is open
[]
>>> agg.process("shop", {"n": 2}, 65_000)           # stream time 65 s: still in grace
[]
>>> agg.process("shop", {"n": 3}, 71_000)           # 71 s >= 60 s + 10 s: closes
[WindowResult(key='shop', window=Window(start_ms=0, end_ms=60000), value=1, final=True)]
>>> agg.process("shop", {"n": 4}, 30_000)           # too late for [0, 60 s)
[LateRecord(key='shop', value={'n': 4}, timestamp_ms=30000, stream_time_ms=71000, windows=(Window(start_ms=0, end_ms=60000),))]
>>> agg.late_count
1
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import Any, Literal

from kafkalab.windows.aggregators import Aggregator
from kafkalab.windows.session import Session
from kafkalab.windows.watermark import Watermark
from kafkalab.windows.window import Window, WindowSpec, iso

__all__ = ["EmitMode", "LateRecord", "WindowResult", "WindowedAggregation"]

EmitMode = Literal["update", "final", "both"]


@dataclass(frozen=True)
class WindowResult:
    """The aggregate of one key in one window.

    ``final`` is True when the window has closed and the value will not change.
    ``value`` is ``None`` for a *tombstone*: a session window that was merged
    into a bigger one no longer exists.
    """

    key: Any
    window: Window
    value: Any
    final: bool = False

    def as_record(self) -> dict[str, Any]:
        """The JSON written to an output topic."""
        return {"key": self.key, "windowStart": self.window.start_ms,
                "windowEnd": self.window.end_ms, "start": iso(self.window.start_ms),
                "value": self.value, "final": self.final}


@dataclass(frozen=True)
class LateRecord:
    """A record that arrived after (some of) its windows closed: the side output."""

    key: Any
    value: Any
    timestamp_ms: int
    stream_time_ms: int
    windows: tuple[Window, ...]

    @property
    def lateness_ms(self) -> int:
        return self.stream_time_ms - self.timestamp_ms

    def as_record(self) -> dict[str, Any]:
        """The JSON written to a late-records topic: the record and why it was late."""
        return {"key": self.key, "value": self.value, "timestamp_ms": self.timestamp_ms,
                "stream_time_ms": self.stream_time_ms, "lateness_ms": self.lateness_ms,
                "closed_windows": [[w.start_ms, w.end_ms] for w in self.windows],
                "reason": f"arrived {self.lateness_ms} ms behind stream time, after its "
                          f"window(s) closed"}


Emitted = WindowResult | LateRecord


class WindowedAggregation:
    """Aggregate records per key and window, for one partition.

    Parameters
    ----------
    spec
        :class:`~kafkalab.windows.Tumbling`, :class:`~kafkalab.windows.Hopping`
        or :class:`~kafkalab.windows.Session`.
    aggregator
        An :class:`~kafkalab.windows.aggregators.Aggregator`.
    grace_ms
        How long after its end a window still accepts late-arriving records.
    emit
        ``"update"`` (every change), ``"final"`` (once, on close) or ``"both"``.

    Notes
    -----
    Stream time belongs to one partition. A processor keeps one
    ``WindowedAggregation`` per input partition, so the results do not depend
    on how partitions are spread over processors or interleaved when read.
    """

    def __init__(self, spec: WindowSpec | Session, aggregator: Aggregator, *,
                 grace_ms: int = 0, emit: EmitMode = "update") -> None:
        if emit not in ("update", "final", "both"):
            raise ValueError(f"emit must be 'update', 'final' or 'both'; got {emit!r}")
        if isinstance(spec, Session) and type(aggregator).merge is Aggregator.merge:
            raise TypeError(f"session windows merge accumulators, but {aggregator!r} has no "
                            "merge(); write one")
        self.spec = spec
        self.aggregator = aggregator
        self.emit = emit
        self.clock = Watermark(grace_ms)
        self.late_count = 0
        self.records = 0
        self._state: dict[tuple[Any, Window], Any] = {}
        self._heap: list[tuple[int, int, str, int, Any, Window]] = []
        self._seq = itertools.count()

    # -- reading the state -------------------------------------------------

    @property
    def grace_ms(self) -> int:
        return self.clock.grace_ms

    @property
    def stream_time(self) -> int:
        return self.clock.stream_time

    @property
    def open_windows(self) -> int:
        return len(self._state)

    def current(self) -> list[WindowResult]:
        """The value of every open window now (not final), oldest first."""
        return [WindowResult(k, w, self.aggregator.result(acc))
                for (k, w), acc in sorted(self._state.items(), key=lambda kv: _order(*kv[0]))]

    # -- processing --------------------------------------------------------

    def _expires(self, window: Window) -> int:
        """Event time at which a window stops changing (the grace comes on top)."""
        if isinstance(self.spec, Session):
            return self.spec.close_time(window)
        return window.end_ms

    def _open(self, key: Any, window: Window, acc: Any) -> None:
        self._state[(key, window)] = acc
        skey = "" if key is None else str(key)
        heapq.heappush(self._heap, (self._expires(window), window.start_ms, skey,
                                    next(self._seq), key, window))

    def process(self, key: Any, value: Any, ts_ms: int) -> list[Emitted]:
        """Add one record; return what to emit (results and/or a late record)."""
        self.records += 1
        self.clock.observe(ts_ms)
        out: list[Emitted] = []
        if isinstance(self.spec, Session):
            out.extend(self._process_session(key, value, ts_ms))
        else:
            closed: list[Window] = []
            for window in self.spec.windows_for(ts_ms):
                if self.clock.is_closed(self._expires(window)):
                    closed.append(window)
                    continue
                acc = self._state.get((key, window))
                if acc is None and (key, window) not in self._state:
                    acc = self.aggregator.initialize()
                    self._open(key, window, acc)
                acc = self.aggregator.add(acc, value)
                self._state[(key, window)] = acc
                if self.emit != "final":
                    out.append(WindowResult(key, window, self.aggregator.result(acc)))
            if closed:
                out.append(self._late(key, value, ts_ms, closed))
        out.extend(self.close_expired())
        return out

    def _process_session(self, key: Any, value: Any, ts_ms: int) -> list[Emitted]:
        assert isinstance(self.spec, Session)
        mine = [w for (k, w) in self._state if k == key]
        window, replaced = self.spec.place(mine, ts_ms)
        if self.clock.is_closed(self._expires(window)):
            return [self._late(key, value, ts_ms, [window])]
        acc = self.aggregator.initialize()
        out: list[Emitted] = []
        for old in replaced:
            acc = self.aggregator.merge(acc, self._state.pop((key, old)))
            if self.emit != "final" and old != window:
                out.append(WindowResult(key, old, None))  # tombstone: merged away
        acc = self.aggregator.add(acc, value)
        self._open(key, window, acc)
        if self.emit != "final":
            out.append(WindowResult(key, window, self.aggregator.result(acc)))
        return out

    def _late(self, key: Any, value: Any, ts_ms: int, windows: list[Window]) -> LateRecord:
        self.late_count += 1
        return LateRecord(key, value, ts_ms, self.clock.stream_time, tuple(windows))

    def close_expired(self) -> list[WindowResult]:
        """Close (and in ``"final"`` mode emit) every window stream time has passed."""
        out: list[WindowResult] = []
        while self._heap and self.clock.is_closed(self._heap[0][0]):
            *_, key, window = heapq.heappop(self._heap)
            if (key, window) not in self._state:
                continue  # a session merged into a bigger one: nothing to close
            acc = self._state.pop((key, window))
            if self.emit != "update":
                out.append(WindowResult(key, window, self.aggregator.result(acc), final=True))
        return out

    def advance(self, ts_ms: int) -> list[WindowResult]:
        """Move stream time without a record (a punctuation); close what it passes."""
        self.clock.observe(ts_ms)
        return self.close_expired()

    def flush(self) -> list[WindowResult]:
        """Close every open window now and emit it as final (end of a bounded run)."""
        out = [WindowResult(r.key, r.window, r.value, final=True) for r in self.current()]
        self._state.clear()
        self._heap.clear()
        return out

    # -- checkpoints -------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON: stream time, counters and open windows."""
        return {"stream_time": self.clock.stream_time, "late": self.late_count,
                "records": self.records,
                "windows": [[k, w.start_ms, w.end_ms, acc]
                            for (k, w), acc in sorted(self._state.items(),
                                                      key=lambda kv: _order(*kv[0]))]}

    def restore(self, snap: dict[str, Any]) -> None:
        """Replace the state with a :meth:`snapshot` (after a restart)."""
        self.clock.stream_time = snap["stream_time"]
        self.late_count = snap["late"]
        self.records = snap.get("records", 0)
        self._state.clear()
        self._heap.clear()
        for key, start, end, acc in snap["windows"]:
            self._open(key, Window(start, end), acc)


def _order(key: Any, window: Window) -> tuple[int, str]:
    return (window.start_ms, "" if key is None else str(key))
