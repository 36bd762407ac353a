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

Stream time is the partition's by default, as in Kafka Streams. With
``closing="key"`` (quix-streams' closing strategy of the same name) each key
has its own: only the key's own records close its windows. That is right when
each key's records arrive in order but keys are interleaved arbitrarily, e.g.
one service's logs or one device's readings, and a busy key must not make a
quiet one's records late.

>>> from kafkalab.windows import Tumbling, Count
>>> agg = WindowedAggregation(Tumbling(60_000), Count(), grace_ms=10_000, emit="final")
>>> agg.process("shop", {"n": 1}, 5_000)            # window [0, 60 s) is open
[]
>>> agg.process("shop", {"n": 2}, 65_000)           # stream time 65 s: still in grace
[]
>>> agg.process("shop", {"n": 3}, 71_000)           # 71 s >= 60 s + 10 s: closes
[WindowResult(key='shop', window=Window(start_ms=0, end_ms=60000), value=1, final=True)]
>>> agg.process("shop", {"n": 4}, 30_000)           # too late for [0, 60 s)
[LateRecord(key='shop', value={'n': 4}, timestamp_ms=30000, stream_time_ms=71000,
 windows=(Window(start_ms=0, end_ms=60000),))]
>>> agg.late_count
1
"""

from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from typing import Any, Literal

from kafkalab.windows.aggregators import Aggregator
from kafkalab.windows.count_based import CountBased
from kafkalab.windows.session import Session
from kafkalab.windows.sliding import Sliding
from kafkalab.windows.watermark import Watermark
from kafkalab.windows.window import Window, WindowSpec, iso

__all__ = ["Closing", "EmitMode", "LateRecord", "WindowResult", "WindowedAggregation"]

EmitMode = Literal["update", "final", "both"]
Closing = Literal["partition", "key"]

#: The one closing scope of ``closing="partition"`` (a key never equals it).
_PARTITION = object()
#: No accumulator yet (``None`` may be one).
_MISSING = object()


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

    def to_record(self) -> dict[str, Any]:
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

    def to_record(self) -> dict[str, Any]:
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
        :class:`~kafkalab.windows.Tumbling`, :class:`~kafkalab.windows.Hopping`,
        :class:`~kafkalab.windows.Session`, :class:`~kafkalab.windows.Sliding`
        or :class:`~kafkalab.windows.CountBased`.
    aggregator
        An :class:`~kafkalab.windows.aggregators.Aggregator`.
    grace_ms
        How long after its end a window still accepts late-arriving records.
    emit
        ``"update"`` (every change), ``"final"`` (once, on close) or ``"both"``.
    closing
        Whose stream time closes windows: the partition's (``"partition"``)
        or each key's own (``"key"``).

    Notes
    -----
    Stream time belongs to one partition. A processor keeps one
    ``WindowedAggregation`` per input partition, so the results do not depend
    on how partitions are spread over processors or interleaved when read.
    """

    def __init__(self, spec: WindowSpec | Session | Sliding | CountBased, aggregator: Aggregator,
                 *, grace_ms: int = 0, emit: EmitMode = "update",
                 closing: Closing = "partition") -> None:
        if emit not in ("update", "final", "both"):
            raise ValueError(f"emit must be 'update', 'final' or 'both'; got {emit!r}")
        if closing not in ("partition", "key"):
            raise ValueError(f"closing must be 'partition' or 'key'; got {closing!r}")
        if isinstance(spec, Session) and type(aggregator).merge is Aggregator.merge:
            raise TypeError(f"session windows merge accumulators, but {aggregator!r} has no "
                            "merge(); write one")
        self.spec = spec
        self.aggregator = aggregator
        self.emit = emit
        self.closing = closing
        self.clock = Watermark(grace_ms)  # the partition's stream time, whatever the closing
        self.late_count = 0
        self.records = 0
        self._state: dict[tuple[Any, Window], Any] = {}
        # Windows by the event time they expire at, one heap per closing scope
        # (the partition, or each key), so closing looks at the oldest only.
        self._heaps: dict[Any, list[tuple[int, int, str, int, Any, Window]]] = {}
        self._key_clocks: dict[Any, Watermark] = {}  # closing="key": each key's stream time
        self._seq = itertools.count()
        self._recent: dict[Any, list[list[Any]]] = {}  # Sliding: a key's recent [ts, value]
        self._counted: dict[Any, int] = {}  # CountBased: records numbered so far per key
        # Which path process() takes, decided once (it runs for every record).
        self._fixed = not isinstance(spec, (Session, Sliding, CountBased))

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

    def _scope(self, key: Any) -> Any:
        return key if self.closing == "key" else _PARTITION

    def _clock(self, scope: Any) -> Watermark:
        if scope is _PARTITION:
            return self.clock
        clock = self._key_clocks.get(scope)
        if clock is None:
            clock = self._key_clocks[scope] = Watermark(self.clock.grace_ms)
        return clock

    def _expires(self, window: Window) -> int:
        """Event time at which a window stops changing (the grace comes on top)."""
        if isinstance(self.spec, Session):
            return self.spec.close_time(window)
        return window.end_ms

    def _open(self, key: Any, window: Window, acc: Any) -> None:
        self._state[(key, window)] = acc
        if isinstance(self.spec, CountBased):
            return  # complete when full, not by time: nothing to expire
        skey = "" if key is None else str(key)
        heapq.heappush(self._heaps.setdefault(self._scope(key), []),
                       (self._expires(window), window.start_ms, skey, next(self._seq), key,
                        window))

    def _add(self, key: Any, window: Window, value: Any) -> Any:
        """Add ``value`` to the key's ``window``, opening it if new; return its accumulator."""
        state_key = (key, window)
        if state_key in self._state:
            acc = self._state[state_key]
        else:
            acc = self.aggregator.initialize()
            self._open(key, window, acc)
        acc = self._state[state_key] = self.aggregator.add(acc, value)
        return acc

    def process(self, key: Any, value: Any, ts_ms: int) -> list[Emitted]:
        """Add one record; return what to emit (results and/or a late record)."""
        self.records += 1
        self.clock.observe(ts_ms)
        if self.closing == "key":
            scope: Any = key
            clock = self._clock(key)
            clock.observe(ts_ms)
        else:
            scope, clock = _PARTITION, self.clock
        if self._fixed:
            out = self._process_fixed(key, value, ts_ms, clock)
        elif isinstance(self.spec, Session):
            out = self._process_session(key, value, ts_ms, clock)
        elif isinstance(self.spec, Sliding):
            out = self._process_sliding(key, value, ts_ms, clock)
        else:
            out = self._process_count(key, value)
        heap = self._heaps.get(scope)
        # Most records close nothing: look at the oldest expiry before calling.
        if heap and heap[0][0] <= clock.stream_time - clock.grace_ms:
            out.extend(self._close_expired(scope))
        return out

    def _process_fixed(self, key: Any, value: Any, ts_ms: int,
                       clock: Watermark) -> list[Emitted]:
        # Tumbling and hopping: a fixed set of windows per event time, each
        # expiring at its end (the hot path: no per-window method calls).
        out: list[Emitted] = []
        closed: list[Window] = []
        watermark = clock.stream_time - clock.grace_ms
        for window in self.spec.windows_for(ts_ms):  # type: ignore[union-attr]
            if window.end_ms <= watermark:
                closed.append(window)
                continue
            acc = self._add(key, window, value)
            if self.emit != "final":
                out.append(WindowResult(key, window, self.aggregator.result(acc)))
        if closed:
            out.append(self._late(key, value, ts_ms, closed, clock))
        return out

    def _process_session(self, key: Any, value: Any, ts_ms: int,
                         clock: Watermark) -> list[Emitted]:
        assert isinstance(self.spec, Session)
        mine = [w for (k, w) in self._state if k == key]
        window, replaced = self.spec.place(mine, ts_ms)
        if clock.is_closed(self._expires(window)):
            return [self._late(key, value, ts_ms, [window], clock)]
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

    def _process_sliding(self, key: Any, value: Any, ts_ms: int,
                         clock: Watermark) -> list[Emitted]:
        assert isinstance(self.spec, Sliding)
        recent = self._recent.setdefault(key, [])
        recent.append([ts_ms, value])
        out: list[Emitted] = []
        changed = []
        # A record out of order also belongs to the later windows that hold its time.
        for k, window in [kw for kw in self._state if kw[0] == key and kw[1].contains(ts_ms)]:
            if not clock.is_closed(self._expires(window)):
                self._state[(k, window)] = self.aggregator.add(self._state[(k, window)], value)
                changed.append(window)
        own = self.spec.window_for(ts_ms)
        if clock.is_closed(self._expires(own)):
            out.append(self._late(key, value, ts_ms, [own], clock))
        elif (key, own) not in self._state:
            # A new window starts from the key's recent records that it reaches back to.
            acc = self.aggregator.initialize()
            for t, v in recent:
                if own.contains(t):
                    acc = self.aggregator.add(acc, v)
            self._open(key, own, acc)
            changed.append(own)
        if self.emit != "final":
            out.extend(WindowResult(key, w, self.aggregator.result(self._state[(key, w)]))
                       for w in sorted(changed))
        self._forget_old(key, clock)
        return out

    def _forget_old(self, key: Any, clock: Watermark) -> None:
        """Drop a key's recent records that no open or future sliding window can hold."""
        assert isinstance(self.spec, Sliding)
        keep = [r for r in self._recent.get(key, ())
                if not self.spec.forgettable(r[0], clock.stream_time, clock.grace_ms)]
        if keep:
            self._recent[key] = keep
        else:
            self._recent.pop(key, None)

    def _process_count(self, key: Any, value: Any) -> list[Emitted]:
        # What _add does, inlined: a count window of N records stepping by 1
        # puts every record in N windows, so this loop runs N times per record
        # (the IoT features' 15 minute-means).
        spec = self.spec
        assert isinstance(spec, CountBased)
        n = self._counted.get(key, 0)
        self._counted[key] = n + 1
        out: list[Emitted] = []
        state, agg = self._state, self.aggregator
        updates, finals = self.emit != "final", self.emit != "update"
        windows = spec.windows_of(n)
        # Only the oldest can be full: the others started later.
        full = windows[0] if spec.is_full(windows[0], n) else None
        for window in windows:
            state_key = (key, window)
            acc = state.get(state_key, _MISSING)
            acc = agg.add(agg.initialize() if acc is _MISSING else acc, value)
            if updates:
                out.append(WindowResult(key, window, agg.result(acc)))
            if window is full:
                state.pop(state_key, None)
                if finals:
                    out.append(WindowResult(key, window, agg.result(acc), final=True))
            else:
                state[state_key] = acc
        return out

    def _late(self, key: Any, value: Any, ts_ms: int, windows: list[Window],
              clock: Watermark) -> LateRecord:
        self.late_count += 1
        return LateRecord(key, value, ts_ms, clock.stream_time, tuple(windows))

    def close_expired(self) -> list[WindowResult]:
        """Close (and in ``"final"`` mode emit) every window stream time has passed."""
        return [r for scope in list(self._heaps) for r in self._close_expired(scope)]

    def _close_expired(self, scope: Any) -> list[WindowResult]:
        heap = self._heaps.get(scope, [])
        clock = self._clock(scope)
        out: list[WindowResult] = []
        while heap and clock.is_closed(heap[0][0]):
            *_, key, window = heapq.heappop(heap)
            if (key, window) not in self._state:
                continue  # a session merged into a bigger one, or flushed: nothing to close
            acc = self._state.pop((key, window))
            if isinstance(self.spec, Sliding):
                self._forget_old(key, clock)
            if self.emit != "update":
                out.append(WindowResult(key, window, self.aggregator.result(acc), final=True))
        return out

    def advance(self, ts_ms: int) -> list[WindowResult]:
        """Move stream time without a record (a punctuation); close what it passes.

        With ``closing="key"`` every key's stream time moves: a punctuation
        from the wall clock closes the windows of keys that went quiet.
        """
        for clock in (self.clock, *self._key_clocks.values()):
            clock.observe(ts_ms)
        return self.close_expired()

    def flush(self, *keys: Any) -> list[WindowResult]:
        """Close every open window now and emit it as final (end of a bounded run).

        Given ``keys``, only theirs: a key's windows start afresh after it,
        e.g. when a device is repaired, or an alert rule has fired on a burst
        and the next alert needs a new one.
        """
        out = [WindowResult(r.key, r.window, r.value, final=True) for r in self.current()
               if not keys or r.key in keys]
        for r in out:
            del self._state[(r.key, r.window)]  # left in a heap, skipped when it expires
        for key in keys or list(self._recent) + list(self._counted):
            self._recent.pop(key, None)
            self._counted.pop(key, None)
        if not keys:
            self._heaps.clear()
        return out

    # -- checkpoints -------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON: stream time, counters and open windows.

        Also, when there are any, each key's stream time (``closing="key"``),
        the recent records sliding windows reach back to, and how many records
        of each key count windows have numbered.
        """
        snap: dict[str, Any] = {
            "stream_time": self.clock.stream_time, "late": self.late_count,
            "records": self.records,
            "windows": [[k, w.start_ms, w.end_ms, acc]
                        for (k, w), acc in sorted(self._state.items(),
                                                  key=lambda kv: _order(*kv[0]))]}
        if self._key_clocks:
            snap["key_times"] = [[k, c.stream_time] for k, c in self._key_clocks.items()]
        if self._recent:
            snap["recent"] = [[k, [list(r) for r in rs]] for k, rs in self._recent.items()]
        if self._counted:
            snap["counted"] = [[k, n] for k, n in self._counted.items()]
        return snap

    def restore(self, snap: dict[str, Any]) -> None:
        """Replace the state with a :meth:`snapshot` (after a restart)."""
        self.clock.stream_time = snap["stream_time"]
        self.late_count = snap["late"]
        self.records = snap.get("records", 0)
        self._state.clear()
        self._heaps.clear()
        self._key_clocks.clear()
        for key, stream_time in snap.get("key_times", []):
            self._clock(key).stream_time = stream_time
        self._recent = {k: [list(r) for r in rs] for k, rs in snap.get("recent", [])}
        self._counted = {k: n for k, n in snap.get("counted", [])}
        for key, start, end, acc in snap["windows"]:
            self._open(key, Window(start, end), acc)


def _order(key: Any, window: Window) -> tuple[int, str]:
    return (window.start_ms, "" if key is None else str(key))
