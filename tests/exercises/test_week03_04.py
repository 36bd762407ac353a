"""Week 3 checkers (week 4's are in test_week04.py): each passes a right answer, rejects wrong ones in words."""

from __future__ import annotations

import pytest

from kafkalab.exercises import ExerciseFailed
from kafkalab.exercises.week03 import check_idempotent_handler, check_spend_view


def idempotent(store, event):
    with store.transaction():
        if store.seen(event.event_id):
            return
        for item in event.data["items"]:
            key = f"units/{item['productId']}"
            store.put(key, store.get(key, 0) + item["quantity"])
        store.mark(event.event_id)


def naive(store, event):
    for item in event.data["items"]:
        key = f"units/{item['productId']}"
        store.put(key, store.get(key, 0) + item["quantity"])


def dedupe_in_memory():
    seen = set()

    def handler(store, event):
        if event.event_id in seen:
            return
        seen.add(event.event_id)
        naive(store, event)
    return handler


def test_idempotent_handler():
    assert check_idempotent_handler(idempotent).passed
    with pytest.raises(ExerciseFailed, match="a redelivered event was counted again"):
        check_idempotent_handler(naive)
    with pytest.raises(ExerciseFailed, match="call store.mark"):
        check_idempotent_handler(dedupe_in_memory())  # right counts, but ids not stored with them
    with pytest.raises(ExerciseFailed, match="your handler raised KeyError"):
        check_idempotent_handler(lambda store, e: e.data["nope"])


def spend(view, event):
    view = {**view, "_orders": dict(view.get("_orders", {})), "_done": set(view.get("_done", ()))}
    if event.event_type == "OrderPlaced":
        c = event.data["customerId"]
        view["_orders"][event.order_id] = c
        view.setdefault(c, {"orders": 0, "spent": 0})
        view[c] = {**view[c], "orders": view[c]["orders"] + 1}
    elif event.event_type == "OrderCompleted" and event.order_id not in view["_done"]:
        view["_done"].add(event.order_id)
        c = view["_orders"][event.order_id]
        view[c] = {**view[c], "spent": view[c]["spent"] + event.data["total"]}
    return view


def spend_counting_duplicates(view, event):
    view = dict(view)
    if event.event_type == "OrderPlaced":
        c = event.data["customerId"]
        view[event.order_id] = c
        view[c] = {"orders": view.get(c, {"orders": 0})["orders"] + 1,
                   "spent": view.get(c, {"spent": 0})["spent"]}
    elif event.event_type == "OrderCompleted":
        c = view[event.order_id]
        view[c] = {**view[c], "spent": view[c]["spent"] + event.data["total"]}
    return view


def test_spend_view():
    assert check_spend_view(spend).passed
    with pytest.raises(ExerciseFailed, match="expected CUST-001: 1650"):
        check_spend_view(spend_counting_duplicates)
    with pytest.raises(ExerciseFailed, match="must return the view dict"):
        check_spend_view(lambda view, e: None)
