"""The inventory service: reserves stock for an order, all or nothing, and releases it.

>>> from kafkalab.orders.events import new_event
>>> from kafkalab.orders.store import Store
>>> inv = InventoryService(Store(), stock={"ITEM-001": 1})
>>> cmd = new_event("ReserveInventory", "ORD-1",
...                 {"items": [{"productId": "ITEM-001", "quantity": 1}]}, source="order")
>>> [e.event_type for e in inv.process(cmd)], inv.stock()
(['InventoryReserved'], {'ITEM-001': 0})
>>> cmd2 = new_event("ReserveInventory", "ORD-2",
...                  {"items": [{"productId": "ITEM-001", "quantity": 1}]}, source="order")
>>> out = inv.process(cmd2)
>>> out[0].event_type, out[0].data["reason"]
('InventoryRejected', 'out of stock: ITEM-001 (wanted 1, had 0)')
>>> rel = new_event("ReleaseInventory", "ORD-1", {"reason": "payment declined"}, source="order")
>>> [e.event_type for e in inv.process(rel)], inv.stock()
(['InventoryReleased'], {'ITEM-001': 1})
"""

from __future__ import annotations

import logging
from typing import Any

from kafkalab.orders.catalog import STARTING_STOCK, quantities
from kafkalab.orders.events import Event
from kafkalab.orders.service import Service, UnexpectedEvent
from kafkalab.orders.store import Store

__all__ = ["InventoryService"]

log = logging.getLogger(__name__)


class InventoryService(Service):
    """Stock per product, and one reservation per order.

    A reservation moves ``reserved -> released`` at most once, so a repeated
    Reserve or Release command (even with a new id) cannot move stock twice.
    A Release that arrives first leaves a ``released`` marker, so a late
    Reserve for that order is refused instead of taking stock nobody will free.
    """

    name = "inventory"
    consumes = ("inventory-commands",)

    def __init__(self, store: Store, *, stock: dict[str, int] | None = None, **kw: Any) -> None:
        super().__init__(store, **kw)
        with store.transaction():
            if not store.get("initialized"):
                for pid, n in (STARTING_STOCK if stock is None else stock).items():
                    store.put(f"stock/{pid}", int(n))
                store.put("initial", dict(STARTING_STOCK if stock is None else stock))
                store.put("initialized", True)

    def stock(self) -> dict[str, int]:
        """Units available now, per product."""
        return {k.split("/", 1)[1]: v for k, v in self.store.items("stock/")}

    def handle(self, event: Event) -> list[Event]:
        key = f"reservation/{event.order_id}"
        res = self.store.get(key)
        if event.event_type == "ReserveInventory":
            if res is not None:
                if res["state"] == "reserved":  # asked again: same answer, no new reservation
                    return [self.reply("InventoryReserved", event, {"items": res["items"]})]
                return [self.reply("InventoryRejected", event,
                                   {"reason": f"reservation already {res['state']}"})]
            want = quantities(event.data["items"])
            for pid, n in want.items():
                have = self.store.get(f"stock/{pid}")
                if have is None:
                    return [self.reply("InventoryRejected", event,
                                       {"reason": f"unknown product {pid}"})]
                if have < n:
                    return [self.reply("InventoryRejected", event,
                                       {"reason": f"out of stock: {pid} (wanted {n}, had {have})"})]
            for pid, n in want.items():
                self.store.put(f"stock/{pid}", self.store.get(f"stock/{pid}") - n)
            self.store.put(key, {"state": "reserved", "items": want})
            return [self.reply("InventoryReserved", event, {"items": want})]
        if event.event_type == "ReleaseInventory":
            if res is not None and res["state"] == "reserved":
                for pid, n in res["items"].items():
                    self.store.put(f"stock/{pid}", self.store.get(f"stock/{pid}") + n)
                self.store.put(key, {"state": "released", "items": res["items"]})
                return [self.reply("InventoryReleased", event, {"items": res["items"]})]
            if res is None:
                self.store.put(key, {"state": "released", "items": {}})
            return [self.reply("InventoryReleased", event, {"items": {}})]
        raise UnexpectedEvent(f"the inventory service does not handle {event.event_type}")
