"""The fluent DSL: describe a stream-processing pipeline the way Kafka Streams does.

A pipeline is built step by step, each call returning a new object, and
nothing runs until you hand it to a :class:`~kafkalab.streams.Processor` (to
read a topic) or call :meth:`WindowedTable.run_local` (to try it on a list)::

    orders_per_minute = (
        Stream("orders")                                   # read a topic
        .filter(lambda key, order: order["total"] > 0)     # keep some records
        .map_values(lambda order: {**order, "eur": order["total"] / 100})
        .group_by(lambda key, order: order["customerId"])  # choose the key
        .window(windows.Tumbling(60_000), grace_ms=10_000, emit="final")
        .aggregate(windows.Sum("eur"))                     # one value per window
        .to("revenue-per-minute")                          # write the results
    )

The four classes mirror Kafka Streams' ``KStream``, ``KGroupedStream``,
``TimeWindowedKStream`` and windowed ``KTable``.

>>> from kafkalab import windows
>>> from kafkalab.testing import make_events
>>> table = (Stream("clicks").filter(lambda k, v: v["page"] != "/health")
...          .group_by_key().window(windows.Tumbling(1000)).count())
>>> run = table.run_local(make_events(
...     [{"page": "/"}, {"page": "/health"}, {"page": "/buy"}], step_ms=600, key="u1"))
>>> [(r.key, r.window.start_ms, r.value) for r in run.final()]
[('u1', 0, 1), ('u1', 1000, 1)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from kafkalab.clients.message import Message
from kafkalab.streams.steps import EventTimeError, Step, apply_steps
from kafkalab.streams.task import Task
from kafkalab.windows import (
    Aggregator,
    Count,
    EmitMode,
    LateRecord,
    Reduce,
    Session,
    WindowedAggregation,
    WindowResult,
    WindowSpec,
)

__all__ = [
    "GroupedStream",
    "LocalRun",
    "Stream",
    "WindowedStream",
    "WindowedTable",
]

Sink = str | Callable[[Any], Any]


@dataclass(frozen=True)
class Stream:
    """An unbounded sequence of ``(key, value)`` records read from ``topic``.

    Every method returns a *new* Stream with one more step, so a half-built
    pipeline can be reused.
    """

    topic: str
    steps: tuple[Step, ...] = ()
    rekeyed: bool = False  # a map or flat_map may have changed the keys

    def _with(self, step: Step, rekeyed: bool = False) -> Stream:
        return replace(self, steps=(*self.steps, step), rekeyed=self.rekeyed or rekeyed)

    def filter(self, predicate: Callable[[Any, Any], bool]) -> Stream:
        """Keep the records for which ``predicate(key, value)`` is true."""
        return self._with(Step("filter", predicate))

    def map(self, fn: Callable[[Any, Any], tuple[Any, Any]]) -> Stream:
        """Replace each record by ``fn(key, value) -> (new_key, new_value)``."""
        return self._with(Step("map", fn), rekeyed=True)

    def map_values(self, fn: Callable[[Any], Any]) -> Stream:
        """Replace each value by ``fn(value)``; the key stays."""
        return self._with(Step("map_values", fn))

    def flat_map(self, fn: Callable[[Any, Any], Iterable[tuple[Any, Any]]]) -> Stream:
        """Replace each record by zero or more ``(key, value)`` pairs."""
        return self._with(Step("flat_map", fn), rekeyed=True)

    def peek(self, fn: Callable[[Any, Any], Any]) -> Stream:
        """Call ``fn(key, value)`` for its side effect (logging, a counter); records pass."""
        return self._with(Step("peek", fn))

    def group_by_key(self) -> GroupedStream:
        """Group by the record key.

        No repartitioning is needed when the keys are the ones the records were
        written with. After a ``map`` or ``flat_map`` the keys may have changed,
        so, as Kafka Streams does, the records are repartitioned first.
        """
        return GroupedStream(self, _same_key if self.rekeyed else None)

    def group_by(self, key_fn: Callable[[Any, Any], Any]) -> GroupedStream:
        """Group by a new key ``key_fn(key, value)``.

        Records of one new key may sit on different partitions, so the
        processor first writes them, keyed by the new key, to a *repartition
        topic*, and aggregates from there: exactly what Kafka Streams does.
        """
        return GroupedStream(self, key_fn)


def _same_key(key: Any, value: Any) -> Any:
    return key


@dataclass(frozen=True)
class GroupedStream:
    """A stream grouped by key: next choose a window."""

    stream: Stream
    key_fn: Callable[[Any, Any], Any] | None

    def window(self, spec: WindowSpec | Session, *, grace_ms: int = 0,
               emit: EmitMode = "update",
               time: str | Callable[[Any], Any] | None = None) -> WindowedStream:
        """Cut the grouped stream into windows.

        Parameters
        ----------
        spec
            ``windows.Tumbling(...)``, ``windows.Hopping(...)`` or ``windows.Session(...)``.
        grace_ms
            How long a window waits for out-of-order records after its end.
        emit
            ``"update"``: a result per change; ``"final"``: one when the window closes.
        time
            Where event time comes from: ``None`` for the record's Kafka
            timestamp, a field name, or a function of the value.
        """
        return WindowedStream(self, spec, grace_ms, emit, time)


@dataclass(frozen=True)
class WindowedStream:
    """A grouped, windowed stream: next say how to aggregate each window."""

    grouped: GroupedStream
    spec: WindowSpec | Session
    grace_ms: int
    emit: EmitMode
    time: str | Callable[[Any], Any] | None

    def aggregate(self, aggregator: Aggregator) -> WindowedTable:
        """Fold each window's records with an aggregator (``initialize / add / result``)."""
        return WindowedTable(self, aggregator)

    def count(self) -> WindowedTable:
        """Records per key and window."""
        return self.aggregate(Count())

    def reduce(self, fn: Callable[[Any, Any], Any]) -> WindowedTable:
        """Combine the values of a window pairwise with ``fn(a, b)``."""
        return self.aggregate(Reduce(fn))


@dataclass
class LocalRun:
    """What :meth:`WindowedTable.run_local` produced."""

    results: list[WindowResult] = field(default_factory=list)
    late: list[LateRecord] = field(default_factory=list)
    dead: list[tuple[Message, str]] = field(default_factory=list)

    def final(self) -> list[WindowResult]:
        """The last value of each (key, window), ordered by window then key."""
        latest: dict[tuple[Any, Any], WindowResult] = {}
        for r in self.results:
            if r.value is None:
                latest.pop((r.key, r.window), None)  # a merged-away session
            else:
                latest[(r.key, r.window)] = r
        return sorted(latest.values(), key=lambda r: (r.window, str(r.key)))


@dataclass(frozen=True)
class WindowedTable:
    """The result: one value per key and window, updated as records arrive.

    Add outputs with :meth:`to` (a topic) and :meth:`foreach` (a callback);
    late records go where :meth:`late_to` says (by default a topic named
    ``<application id>-late``).
    """

    windowed: WindowedStream
    aggregator: Aggregator
    sinks: tuple[Sink, ...] = ()
    late_sinks: tuple[Sink, ...] = ()

    @property
    def source(self) -> Stream:
        return self.windowed.grouped.stream

    @property
    def repartitions(self) -> bool:
        """True when records must be re-keyed through a repartition topic."""
        return self.windowed.grouped.key_fn is not None

    def to(self, topic: str) -> WindowedTable:
        """Also write every emitted result to ``topic`` (JSON, keyed by the group key)."""
        return replace(self, sinks=(*self.sinks, topic))

    def foreach(self, fn: Callable[[WindowResult], Any]) -> WindowedTable:
        """Also call ``fn(result)`` for every emitted :class:`~kafkalab.windows.WindowResult`."""
        return replace(self, sinks=(*self.sinks, fn))

    def late_to(self, sink: Sink) -> WindowedTable:
        """Send late records to a topic or a callback (instead of ``<app>-late``)."""
        return replace(self, late_sinks=(*self.late_sinks, sink))

    def new_aggregation(self) -> WindowedAggregation:
        """A fresh per-partition aggregation for this pipeline."""
        w = self.windowed
        return WindowedAggregation(w.spec, self.aggregator, grace_ms=w.grace_ms, emit=w.emit)

    def transform(self, msg: Message, *, rekey: bool) -> list[tuple[Any, Any]]:
        """The stateless steps on one record, then (if ``rekey``) the ``group_by`` key.

        Whatever a step raises propagates: the caller reports the record.

        >>> from kafkalab import windows
        >>> from kafkalab.testing import make_message
        >>> t = (Stream("t").map_values(lambda v: v * 2).group_by(lambda k, v: v % 3)
        ...      .window(windows.Tumbling(1000)).count())
        >>> msg = make_message(5, key="k")
        >>> t.transform(msg, rekey=False), t.transform(msg, rekey=True)
        ([('k', 10)], [(1, 10)])
        """
        pairs = apply_steps(self.source.steps, msg.key, msg.value)
        if rekey:
            key_fn = self.windowed.grouped.key_fn
            # rekey is only asked for (self.repartitions) when group_by(key_fn) set one
            pairs = [(key_fn(k, v), v) for k, v in pairs]  # type: ignore[misc]
        return pairs

    def run_local(self, messages: Iterable[Message], *, flush: bool = True) -> LocalRun:
        """Run the pipeline over in-memory messages, no broker (lessons, tests, benches).

        Each input partition gets its own aggregation, as in the processor.
        When the pipeline re-keys (``group_by``), all re-keyed records share one
        aggregation, as if the repartition topic had one partition.
        ``flush`` closes the windows still open at the end and emits them.
        Records go through :meth:`Task.process <kafkalab.streams.Task.process>`,
        the processor's own per-record path.
        """
        run = LocalRun()
        tasks: dict[int, Task] = {}
        for msg in messages:
            try:
                pairs = self.transform(msg, rekey=self.repartitions)
            except Exception as exc:  # noqa: BLE001 - reported, never dropped
                run.dead.append((msg, _reason(exc)))
                continue
            part = 0 if self.repartitions else msg.partition
            task = tasks.get(part) or tasks.setdefault(part, Task(self, part))
            outputs, errors = task.process(msg, pairs)
            run.dead.extend((msg, _reason(exc)) for exc, _stage in errors)
            for out in outputs:
                if isinstance(out, LateRecord):
                    run.late.append(out)
                else:
                    run.results.append(out)
        if flush:
            for task in tasks.values():
                run.results.extend(task.aggregation.flush())
        return run


def _reason(exc: BaseException) -> str:
    # An event-time error is already a sentence; other errors need their type
    # ("ZeroDivisionError: ...") to make sense.
    return str(exc) if isinstance(exc, EventTimeError) else f"{type(exc).__name__}: {exc}"
