"""CQRS: the read model that ``GET /api/orders/{id}`` answers from.

Writes (commands) go through the saga; reads never touch it. The projection is
a separate consumer group that folds every event into a per-order view with
:func:`kafkalab.orders.eventsourcing.apply` and keeps the views in its own
store. It can be thrown away and rebuilt from the topics at any time
(:func:`rebuild_projection`), because the events, not the views, are the truth.

>>> from kafkalab.orders.events import new_event
>>> from kafkalab.orders.store import Store
>>> p = OrderProjection(Store())
>>> _ = p.process(new_event("OrderPlaced", "ORD-1",
...     {"customerId": "C", "items": [], "total": 25}, source="api", now_ms=5))
>>> p.view("ORD-1")["status"], p.view("ORD-2")
('pending', None)
"""

from __future__ import annotations

import logging
from typing import Any

from kafkalab.orders.events import EVENT_TOPICS, Event, Topics
from kafkalab.orders.eventsourcing import apply, rebuild
from kafkalab.orders.service import Service
from kafkalab.orders.store import Store

__all__ = ["OrderProjection", "rebuild_projection"]

log = logging.getLogger(__name__)


class OrderProjection(Service):
    """Folds events into ``order/<id>`` views."""

    name = "projection"
    consumes = EVENT_TOPICS

    def handle(self, event: Event) -> list[Event]:
        key = f"order/{event.order_id}"
        self.store.put(key, apply(self.store.get(key), event))
        return []

    def view(self, order_id: str) -> dict[str, Any] | None:
        return self.store.get(f"order/{order_id}")

    def views(self) -> dict[str, dict[str, Any]]:
        return {k.split("/", 1)[1]: v for k, v in self.store.items("order/")}


def rebuild_projection(store: Store, topics: Topics = Topics(), *, settings: Any = None) -> int:
    """Replace every view in ``store`` with one replayed from the topics; return how many.

    Stop the live projection first (or point it at a new store): otherwise
    it keeps writing while the rebuild runs.
    """
    views = rebuild(topics, settings=settings)
    with store.transaction():
        for key, _ in store.items("order/"):
            store.delete(key)
        for order_id, view in views.items():
            store.put(f"order/{order_id}", view)
    log.info("rebuilt %d order views from the event topics", len(views))
    return len(views)
