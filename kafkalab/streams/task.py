"""One partition's share of a pipeline: its aggregation and the offset it has reached.

Kafka Streams calls this a *task*. Keeping state per input partition is what
makes a pipeline scale: partitions move between processors, and each task's
state (checkpointed with the offset it covers) moves with its partition.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from kafkalab.clients.message import Message
from kafkalab.streams.stream import Step, event_time
from kafkalab.windows import LateRecord, WindowResult

if TYPE_CHECKING:
    from kafkalab.streams.stream import WindowedTable

__all__ = ["Task", "apply_steps"]


def apply_steps(steps: Iterable[Step], key: Any, value: Any) -> list[tuple[Any, Any]]:
    """Run the stateless steps on one record; return the ``(key, value)`` pairs that remain.

    >>> apply_steps([Step("filter", lambda k, v: v > 1), Step("map_values", lambda v: v * 10)],
    ...             "k", 2)
    [('k', 20)]
    """
    pairs = [(key, value)]
    for step in steps:
        out: list[tuple[Any, Any]] = []
        for k, v in pairs:
            if step.kind == "filter":
                if step.fn(k, v):
                    out.append((k, v))
            elif step.kind == "map":
                out.append(tuple(step.fn(k, v)))  # type: ignore[arg-type]
            elif step.kind == "map_values":
                out.append((k, step.fn(v)))
            elif step.kind == "flat_map":
                out.extend(tuple(p) for p in step.fn(k, v))  # type: ignore[misc]
            elif step.kind == "peek":
                step.fn(k, v)
                out.append((k, v))
            else:
                raise ValueError(f"unknown step {step.kind!r}")
        pairs = out
    return pairs


class Task:
    """The aggregation of one input partition, plus where it is in that partition.

    Attributes
    ----------
    next_offset
        The first offset not yet in the state. Records below it are skipped:
        after a restart they are already counted (no double counting).
    seen
        For a repartition topic: the last source offset seen per source
        partition, to skip copies a crashed processor wrote twice.
    """

    def __init__(self, table: "WindowedTable", partition: int) -> None:
        self.table = table
        self.partition = partition
        self.aggregation = table.new_aggregation()
        self.next_offset = 0
        self.seen: dict[str, int] = {}
        self.dirty = False

    def process_value(self, key: Any, value: Any, msg: Message) -> list[WindowResult | LateRecord]:
        """Aggregate one (already transformed) value of ``msg``.

        Raises :class:`~kafkalab.streams.stream.EventTimeError` for a bad time,
        and whatever the aggregator raises for a value it cannot take.
        """
        ts = event_time(self.table.windowed.time, msg if value is msg.value else
                        _with_value(msg, value))
        self.dirty = True
        return self.aggregation.process(key, value, ts)

    def snapshot(self) -> dict[str, Any]:
        return {"partition": self.partition, "offset": self.next_offset, "seen": self.seen,
                "state": self.aggregation.snapshot()}

    def restore(self, snap: dict[str, Any]) -> None:
        self.next_offset = snap["offset"]
        self.seen = dict(snap.get("seen", {}))
        self.aggregation.restore(snap["state"])
        self.dirty = False


def _with_value(msg: Message, value: Any) -> Message:
    from dataclasses import replace

    return replace(msg, value=value)
