"""The record a kafkalab consumer hands you.

>>> m = Message(topic="orders", partition=0, offset=7, key="CUST-001",
...             value={"total": 1500}, headers=(("source", b"api"),), timestamp_ms=0)
>>> m.header("source")
b'api'
>>> m.ok
True
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kafka.structs import TopicPartition

__all__ = ["Message"]


@dataclass(frozen=True, slots=True)
class Message:
    """One record read from Kafka, already decoded.

    When decoding failed, ``error`` holds the reason, ``value`` is ``None`` and
    ``raw_value`` keeps the original bytes, so the record can go to a
    dead-letter topic intact.
    """

    topic: str
    partition: int
    offset: int
    key: Any
    value: Any
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int = 0
    raw_key: bytes | None = None
    raw_value: bytes | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        """True when the record decoded cleanly."""
        return self.error is None

    @property
    def tp(self) -> TopicPartition:
        return TopicPartition(self.topic, self.partition)

    def header(self, name: str, default: bytes | None = None) -> bytes | None:
        """The last header called ``name`` (Kafka allows repeats), or ``default``."""
        for key, value in reversed(self.headers):
            if key == name:
                return value
        return default
