"""Lose a produce acknowledgement on purpose: the fault an idempotent producer exists for.

A producer retries a batch when it hears nothing back. If the broker had
written the batch and only the answer was lost, the retry is a second copy
of the same records, unless the producer is idempotent: then the retry
carries the same producer id and sequence number, and the broker drops it.

A healthy local broker never loses an answer, so week 4 makes it happen:
inside :func:`lose_produce_acks`, the first ``n`` produce responses that
arrive are thrown away and their connection is cut (as a network failure
would), *after* the broker has written the batch and answered. kafka-python
then fails the request with ``KafkaConnectionError``, a retriable error, and
sends the batch again on a new connection. What ends up in the partition is
the broker's doing, not this module's.

It reaches into kafka-python's connection class (3.x,
``kafka.net.connection.KafkaConnection``), for every client of the process
while the block runs: use it around one producer's sends, nothing else.
``tests/clients/test_lostacks.py`` checks it still works with the installed
kafka-python.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

__all__ = ["LostAcks", "lose_produce_acks"]


class LostAcks:
    """What :func:`lose_produce_acks` did: how many produce answers it threw away."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.remaining = limit        # produce requests still to mark
        self.marked: list[Any] = []   # futures of produce requests whose answer will be lost
        self.lost = 0

    def __repr__(self) -> str:
        return f"LostAcks(lost={self.lost} of {self.limit})"


@contextlib.contextmanager
def lose_produce_acks(n: int = 1) -> Iterator[LostAcks]:
    """Inside the block, lose the answers to the next ``n`` produce requests.

    The requests themselves reach the broker unchanged; only their answers
    are dropped, and the connection closed, when they arrive.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a whole number of acknowledgements to lose (1 or more), not {n!r}")
    from kafka.errors import KafkaConnectionError
    from kafka.net.connection import KafkaConnection
    from kafka.protocol.producer.produce import ProduceRequest

    state = LostAcks(n)
    send_request, data_received = KafkaConnection._send_request, KafkaConnection.data_received

    def _send_request(self: Any, request: Any, future: Any = None, timeout_at: Any = None) -> Any:
        sent = send_request(self, request, future=future, timeout_at=timeout_at)
        if isinstance(request, ProduceRequest) and state.remaining > 0:
            state.remaining -= 1
            state.marked.append(sent)
        return sent

    def _data_received(self: Any, data: bytes) -> Any:
        head = self.in_flight_requests[0][1] if self.in_flight_requests else None
        if head is not None and any(head is f for f in state.marked):
            # The broker answered, so it has written the batch; the answer is lost here.
            state.marked = [f for f in state.marked if f is not head]
            state.lost += 1
            return self.close(KafkaConnectionError("kafkalab lost this produce acknowledgement on purpose"))
        return data_received(self, data)

    KafkaConnection._send_request = _send_request
    KafkaConnection.data_received = _data_received
    try:
        yield state
    finally:
        KafkaConnection._send_request = send_request
        KafkaConnection.data_received = data_received
