"""Run one service against Kafka: consume, ``process``, publish the outbox, commit.

The loop is :class:`kafkalab.clients.ConsumerLoop` (retries, dead-letter
topic, commit after each batch). Around it the runner adds what the order
services need:

* records that are not valid events become :class:`~kafkalab.clients.PermanentError`,
  so they go to the dead-letter topic with the reason instead of blocking the
  partition (a *poison message*);
* after each batch, the outbox is published and each row is deleted only
  once the broker has acknowledged it;
* about twice a second, even when idle, the service's ``tick`` runs (the
  order service checks saga timeouts there);
* on start, anything left in the outbox by a crash is published first.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from typing import Any

from kafkalab.clients import (
    Backoff,
    Batch,
    Consumer,
    ConsumerLoop,
    DeadLetterQueue,
    Message,
    PermanentError,
    Producer,
    SerializationError,
    TransientError,
)
from kafkalab.orders.events import Event, InvalidEvent, Topics
from kafkalab.orders.service import Service

__all__ = ["CONSUMER_CONFIG", "PRODUCER_CONFIG", "ServiceRunner"]

log = logging.getLogger(__name__)

#: The producer settings of the order system. An order is eight hops, and on
#: each one a service waits for its outbox to be acknowledged before it commits,
#: so every millisecond a record waits in the producer is paid eight times.
#: Measured (60 seed orders/s for 3 s, one process, twice each): linger_ms 0, 2
#: and 5 within the runs' noise of each other (p50 89-157 ms); 20 ms doubled the
#: p50 (week 8's tuning notebook). The outbox is flushed after each batch, which
#: sends at once; linger only holds what nobody flushes (the API's OrderPlaced).
PRODUCER_CONFIG: dict[str, Any] = {"linger_ms": 2}

#: The consumer settings of every service. ``fetch_max_wait_ms`` is how long the
#: broker holds a fetch that has no data yet: with ``fetch_min_bytes=1`` (the
#: default) it answers as soon as a record arrives, so this bounds idle round
#: trips, not the latency of a record (500 ms measured the same as 100 ms). A
#: larger ``fetch_min_bytes`` makes every hop wait for it: 64 KiB with 50 ms
#: multiplied the order p50 by about 6 at 30 orders/s (week 8's notebook).
CONSUMER_CONFIG: dict[str, Any] = {"fetch_max_wait_ms": 100}


class ServiceRunner:
    """Drive ``service`` from its topics until stopped or a bound is reached.

    Parameters
    ----------
    service
        The service (it owns its store).
    producer
        Shared by every runner of a process (kafka-python's producer is
        thread-safe).
    topics
        Topic names (with the run's prefix).
    group_prefix
        Prepended to ``orders-<service>`` to make the consumer-group id.
    tick_s
        How often ``tick`` runs.
    poll_timeout
        Seconds a poll waits for records before the loop looks at its tick.
    consumer_config
        kafka-python settings of the service's consumer (default
        :data:`CONSUMER_CONFIG`).
    """

    def __init__(self, service: Service, producer: Producer, *, topics: Topics = Topics(),
                 group_prefix: str = "", settings: Any = None, tick_s: float = 0.5,
                 poll_timeout: float = 0.1, consumer_config: dict[str, Any] | None = None) -> None:
        self.service = service
        self.producer = producer
        self.topics = topics
        self.group_id = f"{group_prefix}orders-{service.name}"
        self.settings = settings
        self.tick_s = tick_s
        self.poll_timeout = poll_timeout
        # kafka-python consumer settings (OrdersConfig.consumer_config says why).
        self.consumer_config = dict(CONSUMER_CONFIG if consumer_config is None else consumer_config)
        self.ready = threading.Event()
        self.loop: ConsumerLoop | None = None
        self.error: BaseException | None = None
        self._stop = threading.Event()
        self.published = 0
        # Outbox rows handed to the producer and not yet acknowledged: row id -> future.
        self._sending: dict[int, Any] = {}

    def stop(self) -> None:
        """Finish the current batch, commit, and return from :meth:`run`."""
        self._stop.set()
        if self.loop is not None:
            self.loop.stop()

    def _on_batch(self, batch: Batch) -> None:
        # One SQLite transaction for the batch, each event a savepoint in it
        # (Store.transaction nests): a commit per event was the largest cost of
        # the order service's work (a write to the WAL of every page it
        # touched). It commits before the outbox is published and the offsets
        # after it, so a crash anywhere redelivers the batch, and every event
        # id it holds is then either stored with its effects or not at all.
        try:
            with self.service.store.transaction():
                batch.each(self._on_message)
        except sqlite3.OperationalError as exc:
            # The batch's transaction could not be had or committed (another copy
            # of the service holding the file past the busy timeout): it rolled
            # back whole, so handle the batch event by event, each retried.
            log.warning("%s: batch of %d in one transaction failed (%s); one by one",
                        self.service.name, len(batch), exc)
            batch.each(self._on_message)

    def _on_message(self, msg: Message) -> None:
        try:
            event = Event.from_record(msg.value)
        except InvalidEvent as exc:
            # Retrying cannot fix bad data: straight to the dead-letter topic.
            raise PermanentError(f"not a valid order event: {exc}") from exc
        try:
            self.service.process(event)
        except sqlite3.OperationalError as exc:  # e.g. "database is locked": worth a retry
            raise TransientError(str(exc)) from exc
        except (KeyError, TypeError, ValueError) as exc:  # incl. UnexpectedEvent: bad data
            raise PermanentError(f"{event.event_type} {event.event_id}: {type(exc).__name__}: {exc}") from exc

    def publish_outbox(self, timeout: float = 30.0, *, wait: bool = True) -> int:
        """Send the outbox rows not already on their way; delete the acknowledged ones.

        With ``wait`` (at start-up, at stop, in tests) it flushes and waits up to
        ``timeout`` seconds for the acks. Without it (after every batch, at each
        tick) it hands the rows to the producer and returns: rows acknowledged
        since the last call are deleted then, and a row whose send failed is
        sent again. Not waiting is safe because a row stays in SQLite until
        its ack: a crash re-publishes it (the next service drops the copy by
        its event id), and the offset commit that follows does not depend on
        it. Waiting for the acks before every commit was a fifth of the order
        service's time at 200 orders/s (py-spy), and every record that arrived
        meanwhile waited with it.

        A row that cannot be encoded at all (it will never be sendable) goes to
        the dead-letter topic with the reason and is deleted: it must not block
        the rows behind it, now or after a restart.
        """
        rows = [r for r in self.service.store.outbox_pending() if r[0] not in self._sending]
        if not rows and not self._sending:
            return 0
        poisoned: list[tuple[int, str, Any, SerializationError]] = []
        try:
            for i, topic, key, value in rows:
                try:
                    self._sending[i] = self.producer.send(self.topics.name(topic), value, key=key)
                except SerializationError as bad:
                    poisoned.append((i, topic, value, bad))
            if wait:
                self.producer.flush(timeout)
        except Exception as exc:  # broker unreachable: the rows stay, we try again next tick
            log.warning("%s: could not publish %d outbox rows (%s: %s); will retry",
                        self.service.name, len(rows), type(exc).__name__, exc)
            return 0
        done = []
        for i, topic, value, reason in poisoned:
            try:
                self._dead_letter_row(i, topic, value, reason)
                done.append(i)
            except Exception as dlq_exc:  # the dead-letter topic unreachable: try again later
                log.warning("%s: could not dead-letter outbox row %d (%s)", self.service.name, i,
                            dlq_exc)
        acked = 0
        for i, f in list(self._sending.items()):
            if not f.is_done and not wait:
                continue  # still on its way: looked at next time
            del self._sending[i]
            if f.is_done and f.succeeded():
                done.append(i)
                acked += 1
            else:  # failed, or not acknowledged within the timeout: sent again next time
                log.warning("%s: outbox row %d not acknowledged (%s); will retry",
                            self.service.name, i, f.exception if f.is_done else "timeout")
        self.service.store.outbox_done(done)
        self.published += acked
        return len(done)

    def _dead_letter_row(self, row_id: int, topic: str, value: Any, error: Exception) -> None:
        raw = json.dumps(value, default=repr).encode()  # as stored: NaN and all
        message = Message(topic=f"outbox:{self.service.name}:{self.topics.name(topic)}",
                          partition=-1, offset=row_id, key=None, value=None, raw_value=raw)
        DeadLetterQueue(self.producer, self.topics.dead_letter).send(message, error, stage="outbox")

    def _tick(self) -> None:
        self.service.run_tick()
        self.publish_outbox(wait=False)

    def run(self, *, timeout: float | None = None, join_timeout: float = 60.0) -> None:
        """Consume until :meth:`stop` or ``timeout`` seconds; always closes the consumer."""
        consumer = Consumer([self.topics.name(t) for t in self.service.consumes],
                            group_id=self.group_id, settings=self.settings,
                            **self.consumer_config)
        dlq = DeadLetterQueue(self.producer, self.topics.dead_letter)
        # The outbox is handed to the producer before each commit (its acks are
        # collected at the next batch or tick); the tick (saga timeouts) runs
        # about every tick_s, busy or idle, and publishes what it wrote.
        self.loop = ConsumerLoop(consumer, batch_handler=self._on_batch, dead_letter=dlq,
                                 poll_timeout=self.poll_timeout,
                                 backoff=Backoff(initial=0.05, max_delay=1.0, attempts=5),
                                 before_commit=lambda _batch: self.publish_outbox(wait=False),
                                 on_tick=self._tick, tick_every=self.tick_s,
                                 name=self.group_id)
        if self._stop.is_set():  # stopped before the loop existed
            self.loop.stop()
        try:
            self.publish_outbox()  # what a crash left behind
            consumer.wait_for_assignment(timeout=join_timeout)
            self.ready.set()
            log.info("%s: running in group %s", self.service.name, self.group_id)
            self.loop.run(timeout=timeout, handle_signals=False)
            self.publish_outbox(timeout=10)  # what is still on its way: acked, then deleted
        except BaseException as exc:
            self.error = exc
            log.exception("%s: stopped by an error", self.service.name)
            raise
        finally:
            consumer.close()
            self.ready.clear()
