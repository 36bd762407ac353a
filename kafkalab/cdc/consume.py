"""The consuming side of CDC: read ``db-changes`` batch by batch, safely.

:class:`ChangeConsumer` is the one base class for everything that reacts to
change events (the data lake, the cache invalidator, your own). It polls a
batch, parses each record into a :class:`~kafkalab.cdc.ChangeEvent`, sends a
record that is not a valid change (not JSON, a field missing, an unknown
operation) to ``dead-letter-queue`` with the reason, hands the valid ones to
:meth:`ChangeConsumer.handle_batch`, and only then commits. A crash before the
commit re-delivers the batch, so ``handle_batch`` must be idempotent: the
``position`` of each event tells a re-delivered change from a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Self

from kafkalab.cdc.envelope import CDC_TOPIC, ChangeEvent
from kafkalab.clients.bounds import Bounds
from kafkalab.clients.loop import Batch, ConsumerLoop, LoopStats

__all__ = ["ChangeConsumer", "ConsumeStats", "parse"]

log = logging.getLogger(__name__)


@dataclass
class ConsumeStats(LoopStats):
    """The loop's counts (records ``seen``, ``dead_lettered``, ...), and changes
    applied and changes that changed nothing (duplicates for the lake, keys not
    cached for a cache)."""

    applied: int = 0
    skipped: int = 0


def parse(message: Any) -> ChangeEvent:
    """The change event in a consumed record; ``ValueError`` saying what is wrong if none.

    >>> from kafkalab.testing import make_message
    >>> parse(make_message(b"not json")).operation
    Traceback (most recent call last):
    ...
    ValueError: change event: not valid JSON (Expecting value: line 1 column 1 (char 0))
    """
    if getattr(message, "error", None):
        # The consumer could not decode it as JSON: parse the raw bytes for the reason.
        return ChangeEvent.from_record(message.raw_value or b"")
    return ChangeEvent.from_record(message.value)


class ChangeConsumer:
    """Consume change events and hand them, a batch at a time, to :meth:`handle_batch`.

    Parameters
    ----------
    topic
        The change topic (``db-changes``).
    group_id
        A consumer group (committed offsets, resumable). ``False`` reads every
        partition with no group and commits nothing.
    from_beginning
        Where to start without a committed offset: the oldest record, or only
        changes published from now on.
    dead_letter_topic
        Where malformed records go, with the reason.
    consumer, producer
        Ready-made :class:`kafkalab.clients.Consumer` / ``Producer`` (made on
        first use when omitted; no I/O in the constructor).
    """

    def __init__(self, topic: str = CDC_TOPIC, *, group_id: str | bool | None = False,
                 from_beginning: bool = True, dead_letter_topic: str = "dead-letter-queue",
                 consumer: Any = None, producer: Any = None) -> None:
        self.topic = topic
        self.group_id = group_id
        self.from_beginning = from_beginning
        self.dead_letter_topic = dead_letter_topic
        self.stats = ConsumeStats()
        self._consumer = consumer
        self._producer = producer
        self._dlq: Any = None
        # Close only what we made; a consumer or producer passed in is the caller's.
        self._own_consumer = consumer is None
        self._own_producer = producer is None

    # -- the one verb to implement --------------------------------------------

    def handle_batch(self, events: Sequence[ChangeEvent]) -> int:
        """Apply valid events; return how many changed something (the rest were
        duplicates). Must be idempotent: it may see an event again after a crash."""
        raise NotImplementedError

    # -- plumbing ---------------------------------------------------------------

    @property
    def consumer(self) -> Any:
        if self._consumer is None:
            from kafkalab.clients import Consumer

            self._consumer = Consumer(self.topic, group_id=self.group_id,
                                      from_beginning=self.from_beginning)
        return self._consumer

    @property
    def dead_letter(self) -> Any:
        if self._dlq is None:
            from kafkalab.clients import DeadLetterQueue, Producer

            if self._producer is None:
                self._producer = Producer()
            self._dlq = DeadLetterQueue(self._producer, self.dead_letter_topic)
        return self._dlq

    def ready(self, timeout: float = 30.0) -> ChangeConsumer:
        """Connect now (and join the group), so a bounded run times only the work."""
        # Also without a group: the position of a consumer that reads only new
        # records (from_beginning=False) is the end *when it is looked up*,
        # which kafka-python does lazily. Looking it up now means every change
        # published from here on is read.
        self.consumer.wait_for_assignment(timeout)
        return self

    def process(self, messages: Sequence[Any]) -> int:
        """Parse, dead-letter the malformed, apply the rest. Returns changes applied.

        The consume loop calls it with each :class:`~kafkalab.clients.Batch`;
        it is public so tests and notebooks can feed records they built by hand.
        """
        events = []
        for msg in messages:
            try:
                events.append(parse(msg))
            except ValueError as exc:
                # Nothing is lost: the record goes whole to the dead-letter
                # topic (and we wait for the broker to have it) before the
                # batch is committed.
                if isinstance(messages, Batch):
                    messages.dead_letter(msg, exc, stage="parse")
                else:
                    self.dead_letter.send(msg, exc, stage="parse")
                    self.stats.dead_lettered += 1
                    self.stats.errors.append(f"{msg.topic}[{msg.partition}]@{msg.offset}: {exc}")
        if not isinstance(messages, Batch):
            self.stats.seen += len(messages)
        applied = self.handle_batch(events) if events else 0
        self.stats.applied += applied
        self.stats.skipped += len(events) - applied
        return applied

    def run(self, bounds: Bounds | None = None, *, max_messages: int | None = None,
            timeout: float | None = None, idle_timeout: float | None = None,
            poll_timeout: float = 0.5) -> ConsumeStats:
        """Consume until a bound: a number of records, seconds in total, or seconds idle.

        Each batch is applied, and its malformed records dead-lettered, before
        it is committed: a crash before the commit re-delivers it.
        """
        bounds = (bounds or Bounds(max_messages, timeout, idle_timeout)).require()
        loop = ConsumerLoop(self.consumer, batch_handler=self.process,
                            dead_letter=self.dead_letter, poll_timeout=poll_timeout,
                            stats=self.stats, name=f"cdc-{self.topic}")
        loop.run(bounds, handle_signals=False)
        return self.stats

    def close(self) -> None:
        """Close the consumer and producer this object made (not ones passed in)."""
        if self._consumer is not None and self._own_consumer:
            self._consumer.close()
            self._consumer = None
        if self._producer is not None and self._own_producer:
            self._producer.close()
            self._producer = None
            self._dlq = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
