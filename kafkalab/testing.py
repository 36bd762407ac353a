"""Helpers for testing pure stream logic with fixed time: no broker, no sleeping.

Windows, saga state machines, CDC envelopes and detectors take timestamps and
records as plain values, so they are tested here with a fake clock and
in-memory sources and sinks. Integration tests do *not* use these as a stand-in
for Kafka: they run against a real Apache Kafka broker.

>>> clock = FakeClock(start_ms=1_700_000_000_000)
>>> clock.now_ms()
1700000000000
>>> clock.advance(1.5)
>>> clock.now_ms()
1700000001500
>>> events = make_events([{"v": 1}, {"v": 2}], start_ms=0, step_ms=1000, key="k")
>>> [(e.timestamp_ms, e.value["v"]) for e in events]
[(0, 1), (1000, 2)]
>>> sink = MemorySink()
>>> for e in MemorySource(events):
...     sink(e)
>>> len(sink), sink.values()
(2, [{'v': 1}, {'v': 2}])
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from typing import Any

from kafkalab.clients.message import Message

__all__ = ["FakeClock", "MemorySink", "MemorySource", "make_events", "make_message", "seeded"]


class FakeClock:
    """A clock that moves only when told to. Pass ``clock.now`` / ``clock.sleep``
    where code takes a ``now`` or ``sleep`` callable."""

    def __init__(self, start_ms: int = 0) -> None:
        self._ms = start_ms
        self.slept: list[float] = []

    def now_ms(self) -> int:
        return self._ms

    def now(self) -> float:
        """Seconds, like ``time.time()``."""
        return self._ms / 1000

    def advance(self, seconds: float) -> None:
        self._ms += round(seconds * 1000)

    def sleep(self, seconds: float) -> None:
        """Record the sleep and advance instead of waiting."""
        self.slept.append(seconds)
        self.advance(seconds)


def make_message(value: Any, *, topic: str = "test", partition: int = 0, offset: int = 0,
                 key: Any = None, timestamp_ms: int = 0,
                 headers: Iterable[tuple[str, bytes]] = ()) -> Message:
    """A decoded :class:`~kafkalab.clients.message.Message`, as a consumer would give it."""
    import json

    raw_value = value if isinstance(value, bytes) else (
        None if value is None else json.dumps(value).encode())
    return Message(topic=topic, partition=partition, offset=offset, key=key, value=value,
                   headers=tuple(headers), timestamp_ms=timestamp_ms,
                   raw_key=None if key is None else str(key).encode(), raw_value=raw_value)


def make_events(values: Iterable[Any], *, start_ms: int = 0, step_ms: int = 1000,
                key: Any = None, topic: str = "test", partition: int = 0) -> list[Message]:
    """Messages with consecutive offsets and evenly spaced, fixed timestamps."""
    return [make_message(v, topic=topic, partition=partition, offset=i, key=key,
                         timestamp_ms=start_ms + i * step_ms) for i, v in enumerate(values)]


class MemorySource:
    """Iterate over prepared messages, like a consumer that never waits."""

    def __init__(self, messages: Iterable[Message]) -> None:
        self.messages = list(messages)

    def __iter__(self) -> Iterator[Message]:
        return iter(self.messages)


class MemorySink:
    """Collect what a pipeline emits; callable, so it fits wherever a callback does."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def __call__(self, item: Any) -> None:
        self.items.append(item)

    def __len__(self) -> int:
        return len(self.items)

    def values(self) -> list[Any]:
        return [getattr(i, "value", i) for i in self.items]


def seeded(seed: int = 42) -> random.Random:
    """A private random generator: seeded, so notebooks and tests are reproducible."""
    return random.Random(seed)
