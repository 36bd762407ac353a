"""Checkers for week 3: an idempotent handler, and a read model folded from events.

>>> from kafkalab.orders import Store
>>> def count_units(store, event):
...     with store.transaction():
...         if store.seen(event.event_id):
...             return
...         for item in event.data["items"]:
...             key = f"units/{item['productId']}"
...             store.put(key, store.get(key, 0) + item["quantity"])
...         store.mark(event.event_id)
>>> print(check_idempotent_handler(count_units))
Exercise 1: make a handler idempotent: 4 of 4 checks passed
  ✔ it counts every unit of every order once (3 orders, 2 products)
  ✔ redelivered events (the same eventId again) change nothing
  ✔ replaying the whole stream a second time changes nothing
  ✔ the processed ids are stored in the same store as the counts (3 ids)

A wrong answer says what is wrong (and, under the test suite, raises)::

    ✘ after redelivery ITEM-001 has 5 units, expected 3: a redelivered event was counted again.
      Check store.seen(event.event_id) first, and store.mark(...) it with the counts
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kafkalab.exercises import Result, guard_checkers
from kafkalab.orders.events import Event, new_event
from kafkalab.orders.store import Store

__all__ = ["check_idempotent_handler", "check_spend_view", "sample_events"]


def _placed(oid: str, customer: str, items: list[tuple[str, int, int]], ts: int) -> Event:
    return new_event("OrderPlaced", oid, {
        "customerId": customer, "total": sum(p * q for _, p, q in items),
        "items": [{"productId": pid, "name": pid, "price": p, "quantity": q} for pid, p, q in items]},
        source="api", now_ms=ts, event_id=f"placed-{oid}")


def sample_events() -> list[Event]:
    """A small, fixed stream: three orders, one cancelled, one event delivered twice."""
    a = _placed("ORD-A", "CUST-001", [("ITEM-001", 1500, 1), ("ITEM-002", 25, 2)], 1_000)
    b = _placed("ORD-B", "CUST-002", [("ITEM-001", 1500, 2)], 2_000)
    c = _placed("ORD-C", "CUST-001", [("ITEM-002", 25, 4)], 3_000)
    done_a = new_event("OrderCompleted", "ORD-A", {"total": 1550}, source="order", now_ms=1_500,
                       event_id="done-A")
    cancel_b = new_event("OrderCancelled", "ORD-B", {"reason": "payment failed", "compensated": []},
                         source="order", now_ms=2_500, event_id="cancel-B")
    done_c = new_event("OrderCompleted", "ORD-C", {"total": 100}, source="order", now_ms=3_500,
                       event_id="done-C")
    return [a, b, done_a, c, cancel_b, done_a, done_c]


def check_idempotent_handler(handler: Callable[[Store, Event], Any]) -> Result:
    """Exercise 1: ``handler(store, event)`` counts units per product from ``OrderPlaced``,
    once per event, however often an event is delivered."""
    r = Result("Exercise 1: make a handler idempotent")
    placed = [e for e in sample_events() if e.event_type == "OrderPlaced"]
    expected = {"ITEM-001": 3, "ITEM-002": 6}
    store = Store()

    def units() -> dict[str, Any]:
        return {k.split("/", 1)[1]: v for k, v in store.items("units/")}

    try:
        for e in placed:
            handler(store, e)
        first = units()
        if not r.check(first == expected,
                       f"it counts every unit of every order once ({len(placed)} orders, 2 products)",
                       f"after one delivery of each order the counts are {first}, expected "
                       f"{expected}. Add item['quantity'] to store key 'units/<productId>'"):
            return r.done()
        for e in [placed[0], placed[0], placed[2]]:  # redelivered after a "crash"
            handler(store, e)
        after = units()
        bad = next((p for p in expected if after.get(p) != expected[p]), None)
        r.check(bad is None, "redelivered events (the same eventId again) change nothing",
                f"after redelivery {bad} has {after.get(bad)} units, expected {expected.get(bad)}: "
                "a redelivered event was counted again. Check store.seen(event.event_id) first, "
                "and store.mark(...) it with the counts" if bad else "")
        for e in placed:
            handler(store, e)
        r.check(units() == expected, "replaying the whole stream a second time changes nothing",
                f"after a full replay the counts are {units()}, expected {expected}")
    except Exception as exc:  # the learner's code raised: say so plainly
        r.check(False, "", f"your handler raised {type(exc).__name__}: {exc}")
        return r.done()
    n = store.processed_count()
    r.check(n == len(placed),
            f"the processed ids are stored in the same store as the counts ({n} ids)",
            f"the store holds {n} processed ids, expected {len(placed)}: call "
            "store.mark(event.event_id) inside the same store.transaction() as the counts, so "
            "a crash cannot keep one without the other")
    return r.done()


def check_spend_view(fold: Callable[[dict[str, Any], Event], dict[str, Any]]) -> Result:
    """Exercise 2: ``fold(view, event)`` builds ``{customerId: {"orders": n, "spent": total}}``
    where ``spent`` counts completed orders only; folding a duplicate changes nothing."""
    r = Result("Exercise 2: a read model of customer spend")
    expected = {"CUST-001": {"orders": 2, "spent": 1650}, "CUST-002": {"orders": 1, "spent": 0}}
    view: dict[str, Any] = {}
    try:
        for e in sample_events():
            out = fold(view, e)
            if not isinstance(out, dict):
                r.check(False, "", f"fold returned {type(out).__name__}; it must return the view dict")
                return r.done()
            view = out
    except Exception as exc:
        r.check(False, "", f"your fold raised {type(exc).__name__}: {exc} (OrderCompleted has no "
                           "customerId: remember it from the OrderPlaced of the same orderId)")
        return r.done()
    got = {c: view.get(c) for c in expected}
    r.check(all(isinstance(v, dict) and v.get("orders") == expected[c]["orders"]
                for c, v in got.items()),
            "it counts each customer's orders (placed, whatever their outcome)",
            f"orders per customer are {({c: (v or {}).get('orders') for c, v in got.items()})}, "
            "expected CUST-001: 2, CUST-002: 1")
    r.check(all(isinstance(v, dict) and v.get("spent") == expected[c]["spent"]
                for c, v in got.items()),
            "spent counts completed orders once (the duplicate OrderCompleted is ignored)",
            f"spent per customer is {({c: (v or {}).get('spent') for c, v in got.items()})}, "
            "expected CUST-001: 1650, CUST-002: 0. Count only OrderCompleted, once per orderId, "
            "and not the cancelled order")
    return r.done()


# An exercise cell not written yet leaves its answer None: say "not done yet" in one line.
guard_checkers(globals())
