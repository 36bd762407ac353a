"""Faults injected into a real kafka-python client, to show what Kafka does about them.

A healthy local broker never loses an acknowledgement, so the one failure that
idempotence exists for (the broker wrote the batch, its answer never reached
the producer, the producer sends the batch again) cannot be seen by waiting
for it. :func:`lost_acks` makes it happen on purpose: the produce request
really reaches the broker and is written; the producer then throws away the
broker's answer, as if the connection had dropped, and treats the batch as
failed. What the producer does next (retry or give up) and what the broker
does with the retry (write it again, or recognise the sequence number and
drop the copy) are the real client's and the real broker's.

>>> from kafka import KafkaProducer
>>> with lost_acks(object(), count=1):    # anything but a KafkaProducer is refused
...     pass
Traceback (most recent call last):
...
TypeError: lost_acks needs a kafka.KafkaProducer; got object
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

from kafka import KafkaProducer
from kafka import errors as kafka_errors

__all__ = ["LostAcks", "lost_acks"]


class LostAcks:
    """How many acknowledgements :func:`lost_acks` has thrown away so far (``.lost``)."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.lost = 0
        self._lock = threading.Lock()

    def take(self) -> bool:
        """True if this acknowledgement is to be lost (the first ``count`` are)."""
        with self._lock:
            if self.lost >= self.count:
                return False
            self.lost += 1
            return True


@contextlib.contextmanager
def lost_acks(producer: Any, count: int = 1) -> Iterator[LostAcks]:
    """Within the block, the first ``count`` produce responses of ``producer`` are lost.

    Each lost response fails its batches with ``KafkaConnectionError`` (a
    retriable error, what a dropped connection raises), after the broker has
    already written them. With ``acks=0`` there is no response to lose.

    Parameters
    ----------
    producer : kafka.KafkaProducer
        A producer made by the caller; only this producer is affected.
    count : int
        How many responses to lose (1 to 100).

    Yields
    ------
    LostAcks
        ``.lost`` says how many were really lost (0 if nothing was sent).
    """
    if not isinstance(producer, KafkaProducer):
        raise TypeError(f"lost_acks needs a kafka.KafkaProducer; got {type(producer).__name__}")
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 100:
        raise ValueError(f"count: expected a whole number from 1 to 100; got {count!r}")
    # kafka-python's sender thread looks the handler up on its instance for
    # every request, so replacing it there touches this producer only.
    sender = producer._sender
    original = sender._handle_produce_response
    state = LostAcks(count)

    def handle(node_id: int, send_time: float, batches: list, response: Any) -> Any:
        if response and state.take():
            return sender._failed_produce(
                batches, node_id, kafka_errors.KafkaConnectionError("acknowledgement lost (injected by kafkalab)"))
        return original(node_id, send_time, batches, response)

    sender._handle_produce_response = handle
    try:
        yield state
    finally:
        # Requests still in flight keep the handler they were sent with; only
        # new ones get the original back (flush() before leaving the block).
        sender._handle_produce_response = original
