"""The event contract of the order system: topics, keys, event types and fields.

This module is the one source of truth. The services build and check events
with it, ``docs/orders.md`` shows it as a table rendered from it
(:func:`contract_table`), and a test keeps the two equal.

Every record is keyed by ``orderId``, so all records of one order land on the
same partition of each topic and are read in the order they were written.
Every record is an *envelope*::

    {"eventId": "...", "eventType": "OrderPlaced", "orderId": "ORD-...",
     "timestamp": 1700000000000, "source": "api", "causationId": null,
     "data": {...}}

``eventId`` is what consumers deduplicate on. Services derive the ids of the
events they emit from the id of the event that caused them
(:func:`derived_id`), so re-processing a redelivered record emits the *same*
ids again, and the next service drops the copies.

>>> e = new_event("OrderPlaced", "ORD-1", {"customerId": "CUST-001", "items": [], "total": 0},
...               source="api", now_ms=1_700_000_000_000, event_id="e-1")
>>> e.topic
'orders'
>>> Event.from_record(e.to_record()) == e
True
>>> new_event("PaymentCharged", "ORD-1", {"amount": 10}, source="payment")
Traceback (most recent call last):
...
kafkalab.orders.events.InvalidEvent: PaymentCharged needs field 'paymentId' in data
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from kafkalab.clients.serdes import unstorable

__all__ = [
    "COMMAND_TOPICS",
    "EVENT_TOPICS",
    "EVENT_TYPES",
    "Event",
    "EventType",
    "InvalidEvent",
    "Topics",
    "contract_table",
    "derived_id",
    "new_event",
]

#: Namespace for ids derived from other ids (uuid5): same input, same id.
_ID_NAMESPACE = uuid.UUID("6f1d7c52-3f4e-4a57-9a55-4b0a5c7e0d11")


class InvalidEvent(ValueError):
    """A record is not a valid envelope or lacks a field its type needs.

    Services treat it as a poison message: it goes to the dead-letter topic
    with this message as the reason.
    """


@dataclass(frozen=True)
class EventType:
    """One row of the contract."""

    name: str
    topic: str
    producer: str
    kind: str  # "event" (a fact) or "command" (a request to one service)
    fields: tuple[str, ...]
    meaning: str


def _t(name: str, topic: str, producer: str, kind: str, fields: str, meaning: str) -> EventType:
    return EventType(name, topic, producer, kind, tuple(fields.split()), meaning)


#: Every event and command type, in saga order.
EVENT_TYPES: dict[str, EventType] = {t.name: t for t in [
    _t("OrderPlaced", "orders", "api", "event", "customerId items total",
       "A customer placed an order; the saga starts."),
    _t("ReserveInventory", "inventory-commands", "order", "command", "items",
       "Reserve every item of the order, all or nothing."),
    _t("InventoryReserved", "inventory-events", "inventory", "event", "items",
       "Stock is set aside for the order."),
    _t("InventoryRejected", "inventory-events", "inventory", "event", "reason",
       "Not enough stock (or the order was already released): nothing reserved."),
    _t("ReleaseInventory", "inventory-commands", "order", "command", "reason",
       "Compensation: put the order's reserved stock back."),
    _t("InventoryReleased", "inventory-events", "inventory", "event", "items",
       "The reservation is undone (items is empty if nothing was reserved)."),
    _t("ChargePayment", "payment-commands", "order", "command", "customerId amount",
       "Charge the customer for the order."),
    _t("PaymentCharged", "payment-events", "payment", "event", "paymentId amount",
       "The money is charged (held until captured)."),
    _t("PaymentDeclined", "payment-events", "payment", "event", "reason",
       "The charge was refused; nothing was taken."),
    _t("RefundPayment", "payment-commands", "order", "command", "reason",
       "Compensation: give the charged money back."),
    _t("PaymentRefunded", "payment-events", "payment", "event", "amount",
       "The charge is refunded (amount 0 if nothing had been charged)."),
    _t("CapturePayment", "payment-commands", "order", "command", "amount",
       "The order completed: the charged money is captured for good."),
    _t("PaymentCaptured", "payment-events", "payment", "event", "amount",
       "The charge is final."),
    _t("CreateShipment", "shipping-commands", "order", "command", "customerId items",
       "Ship the order."),
    _t("ShipmentCreated", "shipping-events", "shipping", "event", "shipmentId",
       "A shipment exists for the order."),
    _t("ShipmentFailed", "shipping-events", "shipping", "event", "reason",
       "No shipment could be created."),
    _t("CancelShipment", "shipping-commands", "order", "command", "reason",
       "Compensation: cancel the order's shipment, if any."),
    _t("ShipmentCancelled", "shipping-events", "shipping", "event", "shipmentId",
       "The shipment is cancelled (shipmentId null if there was none)."),
    _t("OrderCompleted", "orders", "order", "event", "total",
       "Every step succeeded: the saga ends well."),
    _t("OrderCancelled", "orders", "order", "event", "reason compensated",
       "A step failed or timed out and every earlier step was compensated."),
]}

#: Topics of facts (what happened) and of commands (what a service is asked to do).
EVENT_TOPICS = ("orders", "inventory-events", "payment-events", "shipping-events")
COMMAND_TOPICS = ("inventory-commands", "payment-commands", "shipping-commands")


@dataclass(frozen=True)
class Topics:
    """Topic names with an optional prefix, so tests and notebooks can run
    several order systems side by side on one broker.

    >>> Topics("t1-").name("orders")
    't1-orders'
    >>> Topics().name("orders")
    'orders'
    """

    prefix: str = ""

    def name(self, base: str) -> str:
        if base not in EVENT_TOPICS + COMMAND_TOPICS + ("dead-letter-queue",):
            raise ValueError(f"unknown topic {base!r}; the contract has {EVENT_TOPICS + COMMAND_TOPICS}")
        return f"{self.prefix}{base}"

    def base(self, name: str) -> str:
        """The contract name of a (possibly prefixed) topic."""
        return name[len(self.prefix):] if name.startswith(self.prefix) else name

    def all(self) -> list[str]:
        return [self.name(t) for t in EVENT_TOPICS + COMMAND_TOPICS]

    @property
    def dead_letter(self) -> str:
        return self.name("dead-letter-queue")


@dataclass(frozen=True)
class Event:
    """One envelope. ``topic`` comes from the contract, never from the caller."""

    event_id: str
    event_type: str
    order_id: str
    timestamp: int
    source: str
    data: dict[str, Any] = field(default_factory=dict)
    causation_id: str | None = None

    @property
    def spec(self) -> EventType:
        return EVENT_TYPES[self.event_type]

    @property
    def topic(self) -> str:
        """The contract (unprefixed) topic this type lives on."""
        return self.spec.topic

    def to_record(self) -> dict[str, Any]:
        return {"eventId": self.event_id, "eventType": self.event_type, "orderId": self.order_id,
                "timestamp": self.timestamp, "source": self.source,
                "causationId": self.causation_id, "data": self.data}

    @classmethod
    def from_record(cls, value: Any) -> Event:
        """Check and parse an envelope; raise :class:`InvalidEvent` saying what is wrong."""
        if not isinstance(value, dict):
            raise InvalidEvent(f"expected a JSON object envelope, got {type(value).__name__}")
        for name, typ in (("eventId", str), ("eventType", str), ("orderId", str),
                          ("timestamp", int), ("source", str), ("data", dict)):
            if name not in value:
                raise InvalidEvent(f"envelope has no field {name!r}")
            if not isinstance(value[name], typ) or isinstance(value[name], bool):
                raise InvalidEvent(f"envelope field {name!r} must be {typ.__name__}, "
                                   f"got {type(value[name]).__name__}")
        _check(value["eventType"], value["data"])
        return cls(event_id=value["eventId"], event_type=value["eventType"],
                   order_id=value["orderId"], timestamp=value["timestamp"],
                   source=value["source"], data=value["data"],
                   causation_id=value.get("causationId"))


def _check(event_type: str, data: dict[str, Any]) -> None:
    spec = EVENT_TYPES.get(event_type)
    if spec is None:
        raise InvalidEvent(f"unknown eventType {event_type!r}")
    for name in spec.fields:
        if name not in data:
            raise InvalidEvent(f"{event_type} needs field {name!r} in data")
    # A charge of NaN would be booked, then its reply could never be encoded.
    reason = unstorable(data, "data")
    if reason:
        raise InvalidEvent(f"{event_type}: {reason}")
    for name in ("amount", "total"):
        if name in data and (isinstance(data[name], bool)
                             or not isinstance(data[name], (int, float)) or data[name] < 0):
            raise InvalidEvent(f"{event_type}: data.{name} must be a number of 0 or more; "
                               f"got {data[name]!r}")


def derived_id(cause: str, event_type: str) -> str:
    """The id of the ``event_type`` event caused by ``cause``: the same every time.

    >>> derived_id("e-1", "InventoryReserved") == derived_id("e-1", "InventoryReserved")
    True
    >>> derived_id("e-1", "InventoryReserved") == derived_id("e-2", "InventoryReserved")
    False
    """
    return str(uuid.uuid5(_ID_NAMESPACE, f"{cause}/{event_type}"))


def new_event(event_type: str, order_id: str, data: dict[str, Any], *, source: str,
              cause: Event | str | None = None, now_ms: int | None = None,
              event_id: str | None = None) -> Event:
    """Build a checked event. With a ``cause``, the id is derived from it
    (deterministic); otherwise it is random unless ``event_id`` is given."""
    _check(event_type, data)
    cause_id = cause.event_id if isinstance(cause, Event) else cause
    if event_id is None:
        event_id = derived_id(cause_id, event_type) if cause_id else str(uuid.uuid4())
    return Event(event_id=event_id, event_type=event_type, order_id=order_id,
                 timestamp=int(time.time() * 1000) if now_ms is None else now_ms,
                 source=source, data=data,
                 causation_id=cause_id if isinstance(cause, Event) else None)


def contract_table() -> str:
    """The contract as a Markdown table (it is pasted into ``docs/orders.md``)."""
    rows = ["| event type | kind | topic (key: orderId) | produced by | data fields | meaning |",
            "|---|---|---|---|---|---|"]
    for t in EVENT_TYPES.values():
        rows.append(f"| `{t.name}` | {t.kind} | `{t.topic}` | {t.producer} | "
                    f"{', '.join(f'`{f}`' for f in t.fields)} | {t.meaning} |")
    return "\n".join(rows)
