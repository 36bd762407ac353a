"""Event sourcing: an order's state is whatever its events say, replayed in order.

No table holds "the status of order X". :func:`apply` folds one event into an
order's view, :func:`replay` folds many, and :func:`rebuild` reads every event
topic from the first offset and folds it all again, from scratch. The read
model (:mod:`kafkalab.orders.projection`) uses the very same :func:`apply`,
which is why a rebuilt state must equal the live one (a test checks it).

:func:`apply` is idempotent (an event already in the history changes nothing)
and order-tolerant across topics: a later saga stage never goes back to an
earlier one, and a final status (``completed``, ``cancelled``) is final.

>>> from kafkalab.orders.events import new_event
>>> evs = [new_event("OrderPlaced", "ORD-1", {"customerId": "C", "items": [], "total": 25},
...                  source="api", now_ms=1000, event_id="a"),
...        new_event("InventoryReserved", "ORD-1", {"items": {}}, source="inventory",
...                  now_ms=1100, event_id="b"),
...        new_event("OrderCompleted", "ORD-1", {"total": 25}, source="order",
...                  now_ms=1500, event_id="c")]
>>> view = replay(evs + evs)["ORD-1"]        # every event twice: no difference
>>> view["status"], len(view["history"]), view["processingMs"]
('completed', 3, 500)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from kafkalab.orders.events import EVENT_TOPICS, Event, InvalidEvent, Topics

__all__ = ["STATUS_OF", "apply", "rebuild", "replay"]

log = logging.getLogger(__name__)

#: The status an event moves an order to, with its rank (higher = later in the saga).
STATUS_OF: dict[str, tuple[str, int]] = {
    "OrderPlaced": ("pending", 1),
    "InventoryReserved": ("inventory_reserved", 2),
    "PaymentCharged": ("payment_charged", 3),
    "ShipmentCreated": ("shipped", 4),
    "InventoryRejected": ("compensating", 5),
    "PaymentDeclined": ("compensating", 5),
    "ShipmentFailed": ("compensating", 5),
    "OrderCompleted": ("completed", 9),
    "OrderCancelled": ("cancelled", 9),
}
FINAL = ("completed", "cancelled")


def apply(view: dict[str, Any] | None, event: Event) -> dict[str, Any]:
    """Fold one event into an order's view (a new dict; the input is not changed)."""
    view = {"orderId": event.order_id, "status": "unknown", "rank": 0, "history": [],
            "customerId": None, "items": [], "total": None, "placedAt": None,
            "finishedAt": None, "reason": None} if view is None else {
        **view, "history": list(view["history"])}
    if any(h["eventId"] == event.event_id for h in view["history"]):
        return view  # already applied: folding is idempotent
    view["history"].append({"eventId": event.event_id, "eventType": event.event_type,
                            "timestamp": event.timestamp, "source": event.source,
                            "data": event.data})
    # Events of one order come from four topics, read by independent fetches:
    # sort by time so the history reads as it happened.
    # (The event id breaks ties, so every replay sorts the same way.)
    view["history"].sort(key=lambda h: (h["timestamp"], STATUS_OF.get(h["eventType"], ("", 0))[1],
                                        h["eventId"]))
    t = event.event_type
    if t == "OrderPlaced":
        view.update(customerId=event.data["customerId"], items=event.data["items"],
                    total=event.data["total"], placedAt=event.timestamp)
    elif t in ("OrderCompleted", "OrderCancelled"):
        view["finishedAt"] = event.timestamp
        view["reason"] = event.data.get("reason")
    if t in STATUS_OF and view["status"] not in FINAL:
        status, rank = STATUS_OF[t]
        if rank >= view["rank"]:
            view["status"], view["rank"] = status, rank
    if view["placedAt"] is not None and view["finishedAt"] is not None:
        view["processingMs"] = view["finishedAt"] - view["placedAt"]
    return view


def replay(events: Iterable[Event]) -> dict[str, dict[str, Any]]:
    """Fold events into one view per order id."""
    views: dict[str, dict[str, Any]] = {}
    for e in events:
        views[e.order_id] = apply(views.get(e.order_id), e)
    return views


def rebuild(topics: Topics = Topics(), *, settings: Any = None,
            timeout: float = 60.0) -> dict[str, dict[str, Any]]:
    """Read every event topic from offset 0 to its current end and replay it all.

    Uses no consumer group (nothing is committed, nothing is shared): it reads
    each partition up to the high watermark measured when it starts.
    Records that are not valid events are skipped with a warning (the live
    services sent them to the dead-letter topic).
    """
    from kafkalab.clients import Admin
    from kafkalab.orders.reader import read_topic

    with Admin(settings) as admin:
        existing = set(admin.topics())
    names = [n for n in (topics.name(t) for t in EVENT_TOPICS) if n in existing]
    if not names:
        return {}
    events: list[Event] = []
    for msg in read_topic(names, settings=settings, timeout=timeout):
        try:
            events.append(Event.from_record(msg.value))
        except InvalidEvent as exc:
            log.warning("rebuild: skipping %s[%d]@%d: %s", msg.topic, msg.partition, msg.offset, exc)
    return replay(events)
