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

import bisect
import heapq
import itertools
import operator
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from kafkalab.windows.aggregators import Aggregator
from kafkalab.windows.count_based import CountBased
from kafkalab.windows.session import Session
from kafkalab.windows.sliding import Sliding
from kafkalab.windows.watermark import NO_TIME, Watermark
from kafkalab.windows.window import Window, WindowSpec, iso

__all__ = ["Closing", "EmitMode", "LateRecord", "WindowResult", "WindowedAggregation"]

EmitMode = Literal["update", "final", "both"]
Closing = Literal["partition", "key"]

#: The one closing scope of ``closing="partition"`` (a key never equals it).
_PARTITION = object()
#: A window not in the state yet (``None`` may be an accumulator).
_NEW = object()


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
        self._by_key = closing == "key"

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
        """Add one record; return what to emit (results and/or a late record).

        Whatever the aggregator raises for a value it refuses propagates. For
        tumbling and hopping windows such a record changes nothing, not even
        stream time (as in :meth:`process_batch`).
        """
        if self._fixed:
            return self._process_fixed(key, value, ts_ms)
        self.records += 1
        self.clock.observe(ts_ms)
        if self.closing == "key":
            scope: Any = key
            clock = self._clock(key)
            clock.observe(ts_ms)
        else:
            scope, clock = _PARTITION, self.clock
        if isinstance(self.spec, Session):
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

    def process_batch(self, keys: Sequence[Any], values: Sequence[Any], times: Sequence[int]
                      ) -> tuple[list[Emitted], list[tuple[int, Exception]]]:
        """Add many records (``keys[i], values[i], times[i]``) in order: a poll's worth.

        Returns what :meth:`process` on each record in turn would have
        returned, concatenated, and the records the aggregator refused, as
        ``(index, exception)``; the others go on. Tumbling and hopping windows
        take the batch at once (window starts, stream time and lateness of all
        records, then one ``add_all`` per key and window: a few function calls
        per batch instead of several per record); the other window types go
        record by record.
        """
        out: list[Emitted] = []
        errors: list[tuple[int, Exception]] = []
        if self._fixed:
            try:
                return self._fixed_batch(keys, values, times), errors
            except Exception:  # noqa: BLE001 - a value was refused: nothing changed, go one by one
                pass
        for i, (key, value, ts) in enumerate(zip(keys, values, times, strict=True)):
            try:
                out.extend(self.process(key, value, ts))
            except Exception as exc:  # noqa: BLE001 - reported to the caller with its index
                errors.append((i, exc))
        return out, errors

    # Tumbling and hopping, one record or a batch. Both apply the same rules:
    # a record belongs to the windows spec.placements() gives its time; a window
    # takes it unless the window ends at or before the record's watermark (stream
    # time after the record, minus grace: Watermark.is_closed), else the record
    # is late for it; after each record, the windows its watermark has reached
    # close (_close_expired). Per record the outputs are: its updates, its late
    # record, the windows it closed. tests/windows/test_batch.py compares the two.

    def _process_fixed(self, key: Any, value: Any, ts_ms: int) -> list[Emitted]:
        by_key = self._by_key
        clock = self._key_clocks.get(key) if by_key else self.clock
        stream_time = ts_ms if clock is None or ts_ms > clock.stream_time else clock.stream_time
        watermark = stream_time - self.clock.grace_ms
        agg, state = self.aggregator, self._state
        added: list[tuple[Window, Any, bool]] = []
        closed: list[Window] = []
        for window in self.spec.windows_for(ts_ms):  # type: ignore[union-attr]
            if window.end_ms <= watermark:
                closed.append(window)
                continue
            acc = state.get((key, window), _NEW)
            fresh = acc is _NEW
            added.append((window, agg.add(agg.initialize() if fresh else acc, value), fresh))
        # The value is in (add did not raise): only now change the state.
        self.records += 1
        self.clock.observe(ts_ms)
        if by_key:
            clock = self._clock(key)
            clock.observe(ts_ms)
        out: list[Emitted] = []
        for window, acc, fresh in added:
            if fresh:
                self._open(key, window, acc)
            else:
                state[(key, window)] = acc
            if self.emit != "final":
                out.append(WindowResult(key, window, agg.result(acc)))
        if closed:
            out.append(self._late(key, value, ts_ms, closed, clock))  # type: ignore[arg-type]
        scope = key if by_key else _PARTITION
        heap = self._heaps.get(scope)
        if heap and heap[0][0] <= watermark:
            out.extend(self._close_expired(scope, watermark))
        return out

    def _fixed_batch(self, keys: Sequence[Any], values: Sequence[Any],
                     times: Sequence[int]) -> list[Emitted]:
        """The rules above for a whole batch, with the same outputs in the same order.

        Stream time only grows, so a window closes at the first record whose
        watermark reaches its end, and any of its records after that is late:
        a window holds exactly its records that are not late, so its value can
        be computed before deciding where its closing goes among the outputs.
        Nothing changes before every value is added: a refused value raises
        with the state as it was.
        """
        spec: Any = self.spec
        size = spec.size_ms
        grace = self.clock.grace_ms
        n = len(times)
        if not n:
            return []
        by_key = self._by_key
        # 1. Stream time after each record: the running maximum (per key with closing="key").
        if by_key:
            key_times = {k: c.stream_time for k, c in self._key_clocks.items()}
            streams = []
            for k, t in zip(keys, times, strict=True):
                st = key_times.get(k, NO_TIME)
                if t > st:
                    st = key_times[k] = t
                streams.append(st)
        else:
            streams = list(itertools.accumulate(times, max, initial=self.clock.stream_time))
            del streams[0]
        marks = [st - grace for st in streams]
        # 2. Each record's windows (record index, window start); late where the window has closed.
        idx, starts = spec.placements(times)
        one_each = len(starts) == n  # one window per record, in record order: idx[i] == i
        late: dict[int, list[int]] = {}
        if min(map(operator.sub, starts, marks if one_each else [marks[i] for i in idx])) <= -size:
            kept_idx, kept_starts = [], []
            for i, s in zip(idx, starts, strict=True):
                if s + size <= marks[i]:
                    late.setdefault(i, []).append(s)
                else:
                    kept_idx.append(i)
                    kept_starts.append(s)
            idx, starts, one_each = kept_idx, kept_starts, False
        # 3. One add_all per key and window, in the order of their first record
        #    (may raise: nothing is changed yet).
        agg, state = self.aggregator, self._state
        updating = self.emit != "final"
        groups: defaultdict[tuple[Any, int], list[Any]] = defaultdict(list)
        if updating:  # every record's own result: keep indices, add one at a time
            for gk, i in zip(zip([keys[i] for i in idx], starts, strict=True), idx, strict=True):
                groups[gk].append(i)
        else:
            ks = keys if one_each else [keys[i] for i in idx]
            vs = values if one_each else [values[i] for i in idx]
            for gk, v in zip(zip(ks, starts, strict=True), vs, strict=True):
                groups[gk].append(v)
        changed = []
        running: dict[tuple[int, int], Any] = {}  # (record, window start) -> its result after it
        for (key, s), members in groups.items():
            window = Window(s, s + size)
            acc = state.get((key, window), _NEW)
            fresh = acc is _NEW
            if fresh:
                acc = agg.initialize()
            if updating:
                steps = list(itertools.accumulate([values[i] for i in members], agg.add, initial=acc))
                del steps[0]
                running.update(zip([(i, s) for i in members], map(agg.result, steps), strict=True))
                acc = steps[-1]
            else:
                acc = agg.add_all(acc, members)
            changed.append((key, window, acc, fresh))
        # 4. Every value is in: change the state, clocks and counters.
        for key, window, acc, fresh in changed:
            if fresh:
                self._open(key, window, acc)
            else:
                state[(key, window)] = acc
        self.records += n
        self.clock.observe(max(times))
        if by_key:
            for k in dict.fromkeys(keys):  # new clocks in the order record by record makes them
                self._clock(k).stream_time = key_times[k]
        # 5. The outputs, in the order record by record gives them.
        out: list[Emitted] = []
        if not updating and not by_key:
            # Only late records and closings: jump from one to the next (marks only grow).
            heap = self._heaps.get(_PARTITION)
            pending = iter(late.items())
            nxt = next(pending, None)
            pos = 0
            while True:
                c = bisect.bisect_left(marks, heap[0][0], pos) if heap else n
                while nxt is not None and nxt[0] <= c:
                    out.append(self._late_at(nxt[0], nxt[1], keys, values, times, streams, size))
                    nxt = next(pending, None)
                if c >= n:
                    return out
                out.extend(self._close_expired(_PARTITION, marks[c]))
                pos = c + 1
        heaps, p, m = self._heaps, 0, len(idx)
        for i in range(n):
            key = keys[i]
            while p < m and idx[p] == i:
                s = starts[p]
                p += 1
                if updating:
                    out.append(WindowResult(key, Window(s, s + size), running[(i, s)]))
            if i in late:
                out.append(self._late_at(i, late[i], keys, values, times, streams, size))
            scope = key if by_key else _PARTITION
            heap = heaps.get(scope)
            if heap and heap[0][0] <= marks[i]:
                out.extend(self._close_expired(scope, marks[i]))
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
            acc = state.get(state_key, _NEW)
            acc = agg.add(agg.initialize() if acc is _NEW else acc, value)
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

    def _late_at(self, i: int, starts: list[int], keys: Sequence[Any], values: Sequence[Any],
                 times: Sequence[int], streams: list[int], size: int) -> LateRecord:
        """Record ``i`` of a batch, late for the windows starting at ``starts``."""
        self.late_count += 1
        return LateRecord(keys[i], values[i], times[i], streams[i],
                          tuple(Window(s, s + size) for s in starts))

    def close_expired(self) -> list[WindowResult]:
        """Close (and in ``"final"`` mode emit) every window stream time has passed."""
        return [r for scope in list(self._heaps) for r in self._close_expired(scope)]

    def _close_expired(self, scope: Any, watermark: int | None = None) -> list[WindowResult]:
        """Close the scope's windows that expire at or before ``watermark``
        (by default its clock's): oldest expiry first, then start, then key."""
        heap = self._heaps.get(scope, [])
        clock = self._clock(scope)
        if watermark is None:
            watermark = clock.watermark
        out: list[WindowResult] = []
        while heap and heap[0][0] <= watermark:
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
