"""The order service: hosts the saga orchestrator and turns its decisions into commands.

It reads ``orders`` (to start a saga on ``OrderPlaced``) and every service's
event topic (the replies), and writes commands and the outcome
(``OrderCompleted``/``OrderCancelled``). The saga state of each order is kept
in the service's store, in the same transaction as the processed event ids,
so a restart of this service resumes every saga where it stood.

>>> from kafkalab.orders.events import new_event
>>> from kafkalab.orders.store import Store
>>> from kafkalab.testing import FakeClock
>>> clock = FakeClock(start_ms=0)
>>> svc = OrderService(Store(), now_ms=clock.now_ms, timeout_s=5)
>>> placed = new_event("OrderPlaced", "ORD-1", {"customerId": "C", "total": 25,
...     "items": [{"productId": "ITEM-002", "name": "Mouse", "price": 25, "quantity": 1}]}, source="api")
>>> [e.event_type for e in svc.process(placed)]
['ReserveInventory']
>>> clock.advance(6)          # inventory never answers
>>> [e.event_type for e in svc.run_tick()], svc.saga("ORD-1").status
(['ReleaseInventory', 'OrderCancelled'], 'cancelled')
"""

from __future__ import annotations

import logging
from typing import Any

from kafkalab.orders.events import Event, new_event
from kafkalab.orders.order_saga import order_saga
from kafkalab.orders.service import Service, UnexpectedEvent
from kafkalab.saga import TERMINAL, Command, Orchestrator, SagaState

__all__ = ["OrderService"]

log = logging.getLogger(__name__)


class OrderService(Service):
    """The saga driver.

    Parameters
    ----------
    timeout_s
        Seconds a step may take before it is compensated.
    orchestrator
        Replaces the standard order saga (the week-4 exercise adds a step).
    """

    name = "order"
    consumes = ("orders", "inventory-events", "payment-events", "shipping-events")

    def __init__(self, store: Any, *, timeout_s: float = 10.0,
                 orchestrator: Orchestrator | None = None, **kw: Any) -> None:
        super().__init__(store, **kw)
        self.orchestrator = orchestrator or order_saga(timeout_s)

    def saga(self, order_id: str) -> SagaState | None:
        d = self.store.get(f"saga/{order_id}")
        return None if d is None else SagaState.from_record(d)

    def _save(self, saga: SagaState) -> None:
        self.store.put(f"saga/{saga.saga_id}", saga.to_record())
        # A small index of unfinished sagas, so tick() need not load them all.
        if saga.status in TERMINAL:
            self.store.delete(f"active/{saga.saga_id}")
        else:
            self.store.put(f"active/{saga.saga_id}", saga.deadline_ms)

    def _events(self, saga: SagaState, commands: list[Command]) -> list[Event]:
        out = []
        for c in commands:
            data = dict(c.data)
            if c.type == "OrderCompleted":
                data = {"total": saga.data["total"]}
            # The command id is derived from (order, step, action, attempt): the
            # same decision always yields the same event id.
            out.append(new_event(c.type, saga.saga_id, data, source=self.name,
                                 event_id=c.id, now_ms=self.now_ms()))
        return out

    def handle(self, event: Event) -> list[Event]:
        now = self.now_ms()
        if event.event_type == "OrderPlaced":
            if self.store.get(f"saga/{event.order_id}") is not None:
                return []  # the same order placed twice (a re-sent OrderPlaced)
            started, commands = self.orchestrator.start(
                event.order_id, {k: event.data[k] for k in ("customerId", "items", "total")}, now)
            started.data["placedAt"] = event.timestamp
            self._save(started)
            return self._events(started, commands)
        if event.event_type in self.orchestrator.reply_map:
            saga = self.saga(event.order_id)
            if saga is None:
                raise UnexpectedEvent(f"{event.event_type} for {event.order_id}, an order "
                                      "this service never saw placed")
            commands = self.orchestrator.on_reply(saga, event.event_type, event.data, now)
            self._save(saga)
            return self._events(saga, commands)
        return []  # our own OrderCompleted/OrderCancelled, read back from `orders`

    def tick(self) -> list[Event]:
        now = self.now_ms()
        out: list[Event] = []
        for key, deadline in self.store.items("active/"):
            if deadline and now >= deadline:
                saga = self.saga(key.split("/", 1)[1])
                if saga is None:
                    continue
                commands = self.orchestrator.on_tick(saga, now)
                self._save(saga)
                out += self._events(saga, commands)
        return out
