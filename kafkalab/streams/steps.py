"""What happens to one record before it reaches a window: stateless steps and event time.

A pipeline's ``filter`` / ``map`` / ``map_values`` / ``flat_map`` / ``peek``
calls become :class:`Step` objects; :func:`apply_steps` runs them on one
record, and :func:`event_time` says when the record happened. Both the
:class:`~kafkalab.streams.Processor` (over Kafka) and
:meth:`~kafkalab.streams.WindowedTable.run_local` (over a list) go through
them, record by record, via :class:`~kafkalab.streams.Task`.

>>> apply_steps([Step("flat_map", lambda k, v: [(k, v), (k, -v)])], "k", 1)
[('k', 1), ('k', -1)]
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from kafkalab.clients.message import Message
from kafkalab.timeutil import to_epoch_ms

__all__ = ["EventTimeError", "Step", "apply_steps", "event_time"]


@dataclass(frozen=True)
class Step:
    """One stateless step: ``kind`` is filter, map, map_values, flat_map or peek."""

    kind: str
    fn: Callable[..., Any]
    name: str = ""


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
                out.append(tuple(step.fn(k, v)))
            elif step.kind == "map_values":
                out.append((k, step.fn(v)))
            elif step.kind == "flat_map":
                out.extend(tuple(p) for p in step.fn(k, v))
            elif step.kind == "peek":
                step.fn(k, v)
                out.append((k, v))
            else:
                raise ValueError(f"unknown step {step.kind!r}")
        pairs = out
    return pairs


class EventTimeError(ValueError):
    """A record has no usable event time (the message says why)."""


def event_time(time: str | Callable[[Any], Any] | None, msg: Message) -> int:
    """The event time of a record in ms: its Kafka timestamp, a field, or ``time(value)``.

    A field may hold epoch milliseconds or an ISO-8601 string (one without a
    zone is UTC, see :mod:`kafkalab.timeutil`). A missing or unreadable time
    raises ``ValueError`` with the reason (the processor sends the record to
    the dead-letter topic with it).

    >>> from kafkalab.testing import make_message
    >>> event_time("ts", make_message({"ts": "2024-01-01T00:00:01Z"}))
    1704067201000
    >>> event_time(None, make_message({}, timestamp_ms=42))
    42
    >>> event_time("ts", make_message({"other": 1}))
    Traceback (most recent call last):
    ...
    kafkalab.streams.steps.EventTimeError: no event time: field 'ts' is missing from the record
    """
    if time is None:
        return int(msg.timestamp_ms)
    if callable(time):
        raw = time(msg.value)
    else:
        if not isinstance(msg.value, dict) or time not in msg.value:
            raise EventTimeError(f"no event time: field {time!r} is missing from the record")
        raw = msg.value[time]
    if isinstance(raw, bool) or raw is None:
        raise EventTimeError(f"no event time: {raw!r} is not a time")
    if isinstance(raw, (int, float)):
        return int(raw)
    if isinstance(raw, str):
        try:
            return to_epoch_ms(raw)
        except ValueError:
            raise EventTimeError(f"no event time: {raw!r} is not ISO-8601 nor epoch ms") from None
    raise EventTimeError(f"no event time: {raw!r} ({type(raw).__name__}) is not a time")
