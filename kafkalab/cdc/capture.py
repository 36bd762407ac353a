"""What every change capture does: read changes, publish, then remember how far.

A source (SQLite triggers, PostgreSQL logical decoding) implements two steps:
``_read(limit)`` returns the next changes and a *mark* saying how far they go,
``_record(mark)`` stores that mark in the source. :meth:`Capture.poll_once`
runs them in the one safe order: read, publish, wait until the broker has
every record, and only then record. Crashing after publishing but before
recording publishes the same changes again on restart: at-least-once, with
the ``position`` of each change telling consumers which ones they have seen.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any, Self

from kafkalab.cdc.envelope import CDC_TOPIC, ChangeEvent
from kafkalab.clients.bounds import Bounds

__all__ = ["Capture", "CaptureStats", "NoPrimaryKeyError"]

log = logging.getLogger(__name__)


class NoPrimaryKeyError(ValueError):
    """The table has no primary key, so a change could not say which row it is."""


@dataclass
class CaptureStats:
    """What a capture did: changes published, polls, and the last published position."""

    published: int = 0
    polls: int = 0
    position: int = 0


class Capture:
    """Base class of the change captures; see :class:`~kafkalab.cdc.SQLiteCapture`.

    Parameters
    ----------
    topic
        Where changes go (``db-changes``).
    producer
        A :class:`kafkalab.clients.Producer` (JSON values); made on the first
        publish when ``None`` (and then closed by :meth:`close`).
    batch_size
        About this many changes per :meth:`poll_once`.
    """

    def __init__(self, *, topic: str = CDC_TOPIC, producer: Any = None,
                 batch_size: int = 1000) -> None:
        self.topic = topic
        self.producer = producer
        self.batch_size = batch_size
        self.stats = CaptureStats()
        self._own_producer = False

    # -- what a source implements ------------------------------------------------

    def install(self) -> None:
        """Prepare the source for capture (idempotent)."""
        raise NotImplementedError

    def _read(self, limit: int | None) -> tuple[list[ChangeEvent], Any]:
        """The next unpublished changes and the mark to record once they are published."""
        raise NotImplementedError

    def _record(self, mark: Any) -> None:
        """Remember, in the source, that everything up to ``mark`` is published."""
        raise NotImplementedError

    # -- shared --------------------------------------------------------------------

    def pending(self, limit: int | None = None) -> list[ChangeEvent]:
        """Changes not yet published, oldest first (nothing is published)."""
        return self._read(limit)[0]

    def _producer(self) -> Any:
        if self.producer is None:
            from kafkalab.clients import Producer

            self.producer = Producer()
            self._own_producer = True
        return self.producer

    def poll_once(self, limit: int | None = None) -> list[ChangeEvent]:
        """Publish the pending changes (about ``limit``), wait for the broker, then
        record how far we got. Returns the published events.

        The order matters: recording first would lose the changes if we
        crashed before they reached the broker.
        """
        events, mark = self._read(limit)
        self.stats.polls += 1
        if events:
            producer = self._producer()
            # Key = "<table>:<pk>": every change of a row goes to one partition,
            # so consumers see a row's changes in order.
            futures = [producer.send(self.topic, e.to_record(), key=e.record_key) for e in events]
            producer.flush()
            for f in futures:
                f.get(timeout=30)  # raises if a send failed: then nothing is recorded
        if mark is not None:
            self._record(mark)
        if events:
            self.stats.published += len(events)
            self.stats.position = events[-1].position
            log.debug("published %d changes up to position %d", len(events), events[-1].position)
        return events

    def run(self, bounds: Bounds | None = None, *, max_messages: int | None = None,
            timeout: float | None = None, idle_timeout: float | None = None,
            interval: float = 0.1) -> CaptureStats:
        """Poll until ``max_messages`` changes are published, ``timeout`` seconds
        pass or nothing changes for ``idle_timeout`` seconds (at least one bound
        is required); sleep ``interval`` seconds after a poll that found nothing.
        """
        run = (bounds or Bounds(max_messages, timeout, idle_timeout)).require().start()
        published = 0
        while True:
            events = self.poll_once(run.limit(published, self.batch_size))
            published += len(events)
            if events:
                run.busy()  # after the work: publishing a large batch is not idleness
            if run.stop_reason(published) is not None:
                break
            if not events:
                time.sleep(interval)
        return self.stats

    def close(self) -> None:
        """Close the producer, if this capture made it."""
        if self._own_producer and self.producer is not None:
            self.producer.close()
            self.producer = None
            self._own_producer = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
