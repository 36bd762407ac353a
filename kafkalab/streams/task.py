"""One partition's share of a pipeline: its aggregation and the offset it has reached.

Kafka Streams calls this a *task*. Keeping state per input partition is what
makes a pipeline scale: partitions move between processors, and each task's
state (checkpointed with the offset it covers) moves with its partition.

:meth:`Task.process` is the one per-record path: the
:class:`~kafkalab.streams.Processor` and
:meth:`~kafkalab.streams.WindowedTable.run_local` both hand it each record's
transformed pairs, so a bad time or a refused value is treated the same way
over Kafka and over a list.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kafkalab.clients.message import Message
from kafkalab.streams.steps import EventTimeError, event_time
from kafkalab.windows import LateRecord, WindowResult

if TYPE_CHECKING:  # for the annotation only: stream.py imports this module, not the reverse
    from kafkalab.streams.stream import WindowedTable

__all__ = ["Task"]

class Task:
    """The aggregation of one input partition, plus where it is in that partition.

    Attributes
    ----------
    next_offset
        The first offset not yet in the state. Records below it are skipped:
        after a restart they are already counted (no double counting).
    seen
        For a repartition topic: the last ``[offset, index]`` seen per source
        partition, to skip copies a crashed processor wrote twice.
    """

    def __init__(self, table: WindowedTable, partition: int) -> None:
        self.table = table
        self.partition = partition
        self.aggregation = table.new_aggregation()
        self.next_offset = 0
        self.seen: dict[str, list[int]] = {}
        self.dirty = False

    def process(self, msg: Message, pairs: Iterable[tuple[Any, Any]]
                ) -> tuple[list[WindowResult | LateRecord], list[tuple[Exception, str]]]:
        """Aggregate the ``(key, value)`` pairs one message gave, in order.

        Returns the outputs (window results and late records) and the errors,
        each with its stage: ``"event-time"`` for an unusable time,
        ``"aggregate"`` for a value the aggregator refused. A bad pair does not
        stop the others: one bad pair of a ``flat_map`` does not lose its siblings.
        This is :meth:`process_many` with one message.

        >>> from kafkalab import windows
        >>> from kafkalab.streams import Stream
        >>> from kafkalab.testing import make_message
        >>> table = Stream("t").group_by_key().window(windows.Tumbling(1000), time="ts").count()
        >>> out, errors = Task(table, 0).process(make_message({"ts": 1500}),
        ...                                      [("a", {"ts": 1500}), ("b", {})])
        >>> [(r.key, r.value) for r in out], [stage for _, stage in errors]
        ([('a', 1)], ['event-time'])
        """
        out, errors = self.process_many([(msg, pairs)])
        return out, [(exc, stage) for _, exc, stage in errors]

    def process_many(self, items: Iterable[tuple[Message, Iterable[tuple[Any, Any]]]]
                     ) -> tuple[list[WindowResult | LateRecord], list[tuple[Message, Exception, str]]]:
        """Aggregate the pairs of many messages (a poll's worth), in order, at once.

        The outputs are those of :meth:`process` on each message in turn
        (the window engine's :meth:`~kafkalab.windows.WindowedAggregation.process_batch`
        guarantees it); the errors come with their message, in input order.
        """
        keys: list[Any] = []
        values: list[Any] = []
        times: list[int] = []
        sources: list[Message] = []
        errors: list[tuple[int, Message, Exception, str]] = []  # with the pair's position
        time = self.table.windowed.time
        for msg, pairs in items:
            for key, value in pairs:
                # The event time is read from the value as transformed (a map_values
                # may have parsed it), with the Kafka timestamp of the source record.
                try:
                    ts = event_time(time, msg if value is msg.value else replace(msg, value=value))
                except EventTimeError as exc:
                    errors.append((len(keys), msg, exc, "event-time"))
                    continue
                keys.append(key)
                values.append(value)
                times.append(ts)
                sources.append(msg)
        if not keys:
            return [], [e[1:] for e in errors]
        self.dirty = True
        out, refused = self.aggregation.process_batch(keys, values, times)
        if refused:
            errors += [(i, sources[i], exc, "aggregate") for i, exc in refused]
            errors.sort(key=lambda e: e[0])  # stable: a time error before the pair after it
        return out, [e[1:] for e in errors]

    def snapshot(self) -> dict[str, Any]:
        return {"partition": self.partition, "offset": self.next_offset, "seen": self.seen,
                "state": self.aggregation.snapshot()}

    def restore(self, snap: dict[str, Any]) -> None:
        self.next_offset = snap["offset"]
        self.seen = dict(snap.get("seen", {}))
        self.aggregation.restore(snap["state"])
        self.dirty = False
