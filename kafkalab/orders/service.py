"""The base class of every order-system service: ``handle(event)``, made idempotent.

A service subclasses :class:`Service`, names the topics it ``consumes`` and
writes ``handle(event)``, which reads and writes its :class:`~kafkalab.orders.store.Store`
and returns the events to publish. :meth:`Service.process` wraps ``handle`` in
the three things that make it safe to redeliver and to crash:

1. skip the event if its id was already processed (deduplication);
2. run ``handle``, store its state changes, the event id and the events to
   publish in *one* SQLite transaction;
3. leave publishing to the runner, which reads the outbox
   (:mod:`kafkalab.orders.runner`).

No Kafka here: services are tested by calling ``process`` with events built by
hand, at fixed times.

>>> from kafkalab.orders.events import new_event
>>> from kafkalab.orders.store import Store
>>> class Counter(Service):
...     name, consumes = "counter", ("orders",)
...     def handle(self, event):
...         self.store.put("n", self.store.get("n", 0) + 1)
...         return []
>>> c = Counter(Store())
>>> e = new_event("OrderCompleted", "ORD-1", {"total": 5}, source="order", event_id="e1")
>>> _ = c.process(e); _ = c.process(e)          # delivered twice
>>> c.store.get("n"), c.duplicates
(1, 1)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from kafkalab.orders.events import Event
from kafkalab.orders.faults import Faults
from kafkalab.orders.store import Store

__all__ = ["Service", "UnexpectedEvent"]

log = logging.getLogger(__name__)


class UnexpectedEvent(ValueError):
    """A valid event this service cannot handle (a mis-routed command, a reply
    for an unknown order). Never dropped silently: the runner sends the record
    to the dead-letter topic with this message."""


class Service:
    """One microservice of the order system.

    Parameters
    ----------
    store
        Its private state (no other service reads or writes it).
    faults
        Injected failures (only the payment and shipping services use them).
    now_ms
        The clock, in milliseconds; tests pass ``FakeClock().now_ms``.
    """

    #: Consumer-group id suffix and log name.
    name: str = "service"
    #: Contract topic names this service reads.
    consumes: tuple[str, ...] = ()

    def __init__(self, store: Store, *, faults: Faults | None = None,
                 now_ms: Callable[[], int] | None = None) -> None:
        self.store = store
        self.faults = faults or Faults()
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))
        self.duplicates = 0
        self.handled = 0

    def handle(self, event: Event) -> list[Event]:
        """React to one event: update the store, return the events to publish."""
        raise NotImplementedError(f"{type(self).__name__}.handle")

    def tick(self) -> list[Event]:
        """Called about twice a second even when no events arrive (for timeouts)."""
        return []

    def _emit(self, events: list[Event]) -> None:
        for e in events:
            self.store.outbox_add(e.topic, e.order_id, e.to_record())

    def process(self, event: Event) -> list[Event]:
        """``handle`` once per event id, with state, id and outbox committed together."""
        with self.store.transaction():
            if self.store.seen(event.event_id):
                # Redelivered (a crash before the offset commit, or a duplicate
                # publish): the state already includes it, so do nothing.
                self.duplicates += 1
                log.debug("%s: duplicate %s %s", self.name, event.event_type, event.event_id)
                return []
            out = self.handle(event)
            self.store.mark(event.event_id)
            self._emit(out)
        self.handled += 1
        return out

    def run_tick(self) -> list[Event]:
        """``tick`` inside a transaction, its events into the outbox."""
        with self.store.transaction():
            out = self.tick()
            self._emit(out)
        return out

    def reply(self, event_type: str, cause: Event, data: dict) -> Event:
        """An event caused by ``cause``, with an id derived from it."""
        from kafkalab.orders.events import new_event

        return new_event(event_type, cause.order_id, data, source=self.name, cause=cause,
                         now_ms=self.now_ms())
