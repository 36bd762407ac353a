"""Week 3's ``OrderPlaced`` event as an Avro record, in two versions.

The JSON envelope of :mod:`kafkalab.orders.events` carries no schema: a
consumer learns a field is gone when its code raises ``KeyError``. Written as
Avro, the record names its schema (by id, in the Confluent wire format), and a
registry can refuse a change that would break the consumers already running.

Version 1 is the event as the services publish it, flattened (envelope fields
and ``data`` side by side), plus two optional fields the shop had at the
start: ``note`` and ``channel``, each with a default. Version 2 adds
``currency`` (default ``"EUR"``) and drops ``note``. Because every field added
or dropped has a default, each version reads the other's records: the change
is *fully* compatible (:mod:`kafkalab.schemas`).

>>> from kafkalab.schemas import incompatibilities
>>> incompatibilities(ORDER_PLACED_V1.parsed(), ORDER_PLACED_V2.parsed())
[]
>>> incompatibilities(ORDER_PLACED_V2.parsed(), ORDER_PLACED_V1.parsed())
[]
"""

from __future__ import annotations

import json
from typing import Any

from kafkalab.orders.events import Event
from kafkalab.schemas import Schema

__all__ = ["ORDER_PLACED_V1", "ORDER_PLACED_V2", "ITEM", "order_placed_record"]

#: One line of an order (the course brief's item fields).
ITEM: dict[str, Any] = {
    "type": "record", "name": "Item", "fields": [
        {"name": "productId", "type": "string"},
        {"name": "name", "type": "string"},
        {"name": "price", "type": "long"},
        {"name": "quantity", "type": "int"},
    ]}


def _order_placed(extra: list[dict[str, Any]]) -> Schema:
    return Schema(json.dumps({
        "type": "record", "name": "OrderPlaced", "namespace": "kafkalab.orders",
        "doc": "A customer placed an order; the saga starts.",
        "fields": [
            {"name": "eventId", "type": "string"},
            {"name": "orderId", "type": "string"},
            {"name": "timestamp", "type": "long"},
            {"name": "customerId", "type": "string"},
            {"name": "items", "type": {"type": "array", "items": ITEM}},
            {"name": "total", "type": "long"},
            *extra,
        ]}, indent=1))


#: Version 1: as the shop started.
ORDER_PLACED_V1 = _order_placed([
    {"name": "note", "type": ["null", "string"], "default": None},
    {"name": "channel", "type": "string", "default": "web"},
])

#: Version 2: ``currency`` added (with a default), ``note`` dropped (it had one).
ORDER_PLACED_V2 = _order_placed([
    {"name": "channel", "type": "string", "default": "web"},
    {"name": "currency", "type": "string", "default": "EUR"},
])


def order_placed_record(event: Event, **extra: Any) -> dict[str, Any]:
    """The flat Avro record of an ``OrderPlaced`` event (``extra``: optional fields to set).

    >>> from kafkalab.orders.events import new_event
    >>> e = new_event("OrderPlaced", "ORD-1", {"customerId": "CUST-001", "total": 25, "items": [
    ...     {"productId": "ITEM-002", "name": "Mouse", "price": 25, "quantity": 1}]},
    ...     source="api", now_ms=1, event_id="e-1")
    >>> sorted(order_placed_record(e, channel="app"))
    ['channel', 'customerId', 'eventId', 'items', 'orderId', 'timestamp', 'total']
    """
    if event.event_type != "OrderPlaced":
        raise ValueError(f"expected an OrderPlaced event, got {event.event_type}")
    return {"eventId": event.event_id, "orderId": event.order_id, "timestamp": event.timestamp,
            "customerId": event.data["customerId"], "total": int(event.data["total"]),
            "items": [{k: item[k] for k in ("productId", "name", "price", "quantity")}
                      for item in event.data["items"]], **extra}
