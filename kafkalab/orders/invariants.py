"""What must hold after any run of the order system, whatever went wrong in it.

:func:`check` reads the services' stores *and* the event topics, and returns
one sentence per broken rule (an empty list means all is well):

1. every accepted order ends ``completed`` or ``cancelled`` with its
   compensations acknowledged (no saga running, none ``stuck``);
2. stock is never negative, and what left the shelves is exactly what
   completed orders bought (so it returns to its start when all cancel);
3. money charged = money captured + money refunded, in the payment ledger and
   in the events;
4. no order ships twice, and only completed orders keep a shipment;
5. no event is lost: every accepted order has a saga, a read-model view and
   an analytics count.
"""

from __future__ import annotations

import collections
import time
from collections.abc import Iterable
from typing import Any

from kafkalab.orders.catalog import STARTING_STOCK, quantities
from kafkalab.orders.eventsourcing import rebuild
from kafkalab.orders.system import OrdersConfig

__all__ = ["check", "check_settled", "summary"]


def summary(config: OrdersConfig, order_ids: Iterable[str]) -> dict[str, Any]:
    """Counts per final status, and the payment ledger (for printing)."""
    proj = config.store("projection")
    pay = config.store("payment")
    try:
        status = collections.Counter((proj.get(f"order/{i}") or {}).get("status", "missing")
                                     for i in order_ids)
        return {"status": dict(status),
                "ledger": pay.get("ledger", {"charged": 0, "captured": 0, "refunded": 0})}
    finally:
        proj.close()
        pay.close()


def check(config: OrdersConfig, order_ids: Iterable[str], *, read_topics: bool = True) -> list[str]:
    """Check the five invariants for ``order_ids`` (all orders accepted in the run)."""
    ids = list(order_ids)
    problems: list[str] = []
    order, inv, pay, ship, proj, ana = (config.store(n) for n in (
        "order", "inventory", "payment", "shipping", "projection", "analytics"))
    try:
        # 1. every saga finished, compensated where it failed
        completed: list[str] = []
        for i in ids:
            saga = order.get(f"saga/{i}")
            if saga is None:
                problems.append(f"order {i} was accepted but has no saga (an event was lost)")
                continue
            if saga["status"] == "completed":
                completed.append(i)
            elif saga["status"] == "cancelled":
                if saga["pending"]:
                    problems.append(f"order {i} cancelled with compensations pending: {saga['pending']}")
            else:
                problems.append(f"order {i} ended {saga['status']!r}, not completed or cancelled "
                                f"({saga.get('reason')})")
        # 2. stock
        initial = inv.get("initial") or STARTING_STOCK
        sold: collections.Counter[str] = collections.Counter()
        for i in completed:
            sold.update(quantities(order.get(f"saga/{i}")["data"]["items"]))
        for pid, start in initial.items():
            now = inv.get(f"stock/{pid}")
            if now is None or now < 0:
                problems.append(f"stock of {pid} is {now}: never negative")
            elif now != start - sold[pid]:
                problems.append(f"stock of {pid} is {now}, expected {start} - {sold[pid]} sold = "
                                f"{start - sold[pid]}")
        # 3. money
        ledger = pay.get("ledger", {"charged": 0, "captured": 0, "refunded": 0})
        if abs(ledger["charged"] - ledger["captured"] - ledger["refunded"]) > 1e-6:
            problems.append(f"payment ledger does not balance: {ledger}")
        # 4. shipping
        for i in ids:
            s = ship.get(f"shipment/{i}")
            if i in completed and (s is None or s["state"] != "created"):
                problems.append(f"completed order {i} has no live shipment ({s})")
            if i not in completed and s is not None and s["state"] == "created":
                problems.append(f"cancelled order {i} still has a shipment")
        # 5. read model and analytics saw every order
        missing = [i for i in ids if proj.get(f"order/{i}") is None]
        if missing:
            problems.append(f"{len(missing)} orders missing from the read model, e.g. {missing[:3]}")
        counted = sum(1 for i in ids if ana.get(f"placed/{i}") is not None)
        if counted != len(ids):
            problems.append(f"analytics counted {counted} of {len(ids)} orders")
        if read_topics:
            problems += _check_events(config, ids, ledger)
    finally:
        for s in (order, inv, pay, ship, proj, ana):
            s.close()
    return problems


def _check_events(config: OrdersConfig, ids: list[str], ledger: dict[str, Any]) -> list[str]:
    """The same rules, checked from the events in the topics (the source of truth)."""
    problems = []
    views = rebuild(config.topics, settings=config.settings)
    money: collections.Counter[str] = collections.Counter()
    charges: dict[str, Any] = {}
    for i in ids:
        view = views.get(i)
        if view is None:
            problems.append(f"order {i}: no events in the topics")
            continue
        shipments = set()
        for h in view["history"]:
            if h["eventType"] == "ShipmentCreated":
                shipments.add(h["data"]["shipmentId"])
            if h["eventType"] == "PaymentCharged":
                # A charge repeated for one order is answered with the same
                # payment: count each paymentId once.
                charges[h["data"]["paymentId"]] = h["data"]["amount"]
            if h["eventType"] in ("PaymentCaptured", "PaymentRefunded"):
                money[h["eventType"]] += h["data"]["amount"]
        if len(shipments) > 1:
            problems.append(f"order {i} shipped {len(shipments)} times: {sorted(shipments)}")
        if view["status"] not in ("completed", "cancelled"):
            problems.append(f"order {i}: events end in status {view['status']!r}")
    money["PaymentCharged"] = sum(charges.values())
    if money["PaymentCharged"] != money["PaymentCaptured"] + money["PaymentRefunded"]:
        problems.append(f"events do not balance: charged {money['PaymentCharged']} != captured "
                        f"{money['PaymentCaptured']} + refunded {money['PaymentRefunded']}")
    if money["PaymentCharged"] != ledger["charged"]:
        problems.append(f"events say {money['PaymentCharged']} charged, ledger says {ledger['charged']}")
    return problems


def check_settled(config: OrdersConfig, order_ids: Iterable[str], *, timeout: float = 20.0,
                  read_topics: bool = True) -> list[str]:
    """:func:`check`, repeated until it passes or ``timeout`` seconds pass; the last report.

    Some effects trail an order's final status: the payment capture follows
    ``OrderCompleted``. So right after the last order finishes, the ledger can
    still show money charged but not yet captured; the invariants are about
    the system once it is idle.
    """
    ids = list(order_ids)
    deadline = time.monotonic() + timeout
    while True:
        problems = check(config, ids, read_topics=read_topics)
        if not problems or time.monotonic() > deadline:
            return problems
        time.sleep(0.5)
