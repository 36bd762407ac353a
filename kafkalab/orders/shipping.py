"""The shipping service: at most one shipment per order, ever.

>>> from kafkalab.orders.events import new_event
>>> from kafkalab.orders.store import Store
>>> ship = ShippingService(Store())
>>> cmd = new_event("CreateShipment", "ORD-1", {"customerId": "C", "items": []}, source="order")
>>> again = new_event("CreateShipment", "ORD-1", {"customerId": "C", "items": []}, source="order")
>>> [e.data["shipmentId"] for e in ship.process(cmd) + ship.process(again)], ship.shipments_created()
(['SHP-ORD-1', 'SHP-ORD-1'], 1)
"""

from __future__ import annotations

import logging

from kafkalab.orders.events import Event
from kafkalab.orders.service import Service, UnexpectedEvent

__all__ = ["ShippingService"]

log = logging.getLogger(__name__)


class ShippingService(Service):
    """Shipments per order: ``created -> cancelled``, or ``failed``."""

    name = "shipping"
    consumes = ("shipping-commands",)

    def shipments_created(self) -> int:
        return self.store.get("created", 0)

    def handle(self, event: Event) -> list[Event]:
        key = f"shipment/{event.order_id}"
        s = self.store.get(key)
        if event.event_type == "CreateShipment":
            if s is None:
                if self.faults.shipping_fails(event.order_id):
                    s = {"state": "failed"}
                else:
                    s = {"state": "created", "shipmentId": f"SHP-{event.order_id}"}
                    self.store.put("created", self.shipments_created() + 1)
                self.store.put(key, s)
            if s["state"] == "created":
                return [self.reply("ShipmentCreated", event, {"shipmentId": s["shipmentId"]})]
            reason = ("carrier refused the parcel (injected fault)" if s["state"] == "failed"
                      else f"shipment already {s['state']}")
            return [self.reply("ShipmentFailed", event, {"reason": reason})]
        if event.event_type == "CancelShipment":
            if s is not None and s["state"] == "created":
                self.store.put(key, {**s, "state": "cancelled"})
                return [self.reply("ShipmentCancelled", event, {"shipmentId": s["shipmentId"]})]
            if s is None:
                self.store.put(key, {"state": "cancelled"})
            return [self.reply("ShipmentCancelled", event, {"shipmentId": None})]
        raise UnexpectedEvent(f"the shipping service does not handle {event.event_type}")
