"""Services called directly, with fixed timestamps: idempotency, compensation semantics, poison input."""

from __future__ import annotations

import pytest

from kafkalab.orders import (
    AnalyticsService,
    Event,
    Faults,
    InvalidEvent,
    InventoryService,
    OrderProjection,
    OrderService,
    PaymentService,
    ShippingService,
    Store,
    new_event,
    poison_record,
    replay,
)
from kafkalab.orders.events import EVENT_TYPES, contract_table, derived_id
from kafkalab.testing import FakeClock

ITEMS = [{"productId": "ITEM-001", "name": "Laptop", "price": 1500, "quantity": 2}]


def ev(t, oid="ORD-1", source="test", **data):
    return new_event(t, oid, data, source=source, now_ms=1_000)


def test_inventory_is_all_or_nothing_and_never_negative():
    inv = InventoryService(Store(), stock={"ITEM-001": 3, "ITEM-002": 0})
    both = [{"productId": "ITEM-001", "quantity": 1}, {"productId": "ITEM-002", "quantity": 1}]
    out = inv.process(ev("ReserveInventory", items=both))
    assert out[0].event_type == "InventoryRejected"
    assert inv.stock() == {"ITEM-001": 3, "ITEM-002": 0}  # nothing half-reserved
    for i in range(5):
        inv.process(ev("ReserveInventory", oid=f"O{i}", items=[{"productId": "ITEM-001", "quantity": 1}]))
    assert inv.stock()["ITEM-001"] == 0


def test_inventory_release_before_reserve_voids_the_order():
    inv = InventoryService(Store(), stock={"ITEM-001": 3})
    assert inv.process(ev("ReleaseInventory", reason="timeout"))[0].data["items"] == {}
    late = inv.process(ev("ReserveInventory", items=ITEMS))
    assert late[0].event_type == "InventoryRejected" and inv.stock() == {"ITEM-001": 3}


def test_a_redelivered_command_changes_nothing_and_emits_nothing():
    pay = PaymentService(Store())
    charge = ev("ChargePayment", customerId="C", amount=100)
    first = pay.process(charge)
    assert pay.process(charge) == []  # same event id: skipped
    assert pay.duplicates == 1 and pay.ledger()["charged"] == 100
    # The same command re-sent with a *new* id is answered the same, still charged once.
    again = pay.process(ev("ChargePayment", customerId="C", amount=100))
    assert again[0].data == first[0].data and pay.ledger()["charged"] == 100


def test_outbox_holds_what_to_publish_until_confirmed():
    inv = InventoryService(Store(), stock={"ITEM-001": 3})
    out = inv.process(ev("ReserveInventory", items=ITEMS))
    pending = inv.store.outbox_pending()
    assert [(t, k, v["eventId"]) for _, t, k, v in pending] == [
        ("inventory-events", "ORD-1", out[0].event_id)]
    inv.store.outbox_done([pending[0][0]])
    assert inv.store.outbox_pending() == []


def test_replies_have_ids_derived_from_their_cause():
    inv = InventoryService(Store(), stock={"ITEM-001": 3})
    cmd = ev("ReserveInventory", items=ITEMS)
    out = inv.process(cmd)
    assert out[0].event_id == derived_id(cmd.event_id, "InventoryReserved")
    assert out[0].causation_id == cmd.event_id


def test_payment_ledger_balances_through_refund_and_capture():
    pay = PaymentService(Store())
    for oid in ("A", "B"):
        pay.process(ev("ChargePayment", oid=oid, customerId="C", amount=10))
    pay.process(ev("RefundPayment", oid="A", reason="x"))
    pay.process(ev("RefundPayment", oid="A", reason="again"))  # second refund: nothing more
    pay.process(ev("CapturePayment", oid="B", amount=10))
    assert pay.ledger() == {"charged": 20, "captured": 10, "refunded": 10}
    # refund before charge voids; a late charge is declined
    assert pay.process(ev("RefundPayment", oid="C", reason="t"))[0].data["amount"] == 0
    assert pay.process(ev("ChargePayment", oid="C", customerId="C", amount=5))[0].event_type == "PaymentDeclined"


def test_injected_faults_are_the_same_for_the_same_order():
    f = Faults(payment_decline_rate=0.5, shipping_failure_rate=0.5, seed=3)
    ids = [f"ORD-{i}" for i in range(400)]
    assert [f.declines(i) for i in ids] == [f.declines(i) for i in ids]
    assert 150 < sum(map(f.declines, ids)) < 250
    assert 150 < sum(map(f.shipping_fails, ids)) < 250
    with pytest.raises(ValueError, match="payment_decline_rate"):
        Faults(payment_decline_rate=1.5)


def test_shipping_never_ships_twice():
    ship = ShippingService(Store())
    for _ in range(3):
        ship.process(ev("CreateShipment", customerId="C", items=ITEMS))
    assert ship.shipments_created() == 1
    ship.process(ev("CancelShipment", reason="x"))
    assert ship.process(ev("CreateShipment", customerId="C", items=ITEMS))[0].event_type == "ShipmentFailed"


def test_order_service_survives_a_restart_on_the_same_store(tmp_path):
    clock = FakeClock(start_ms=0)
    path = tmp_path / "order.db"
    svc = OrderService(Store(path), now_ms=clock.now_ms, timeout_s=5)
    placed = ev("OrderPlaced", source="api", customerId="C", items=ITEMS, total=3000)
    svc.process(placed)
    svc.process(ev("InventoryReserved", items={"ITEM-001": 2}))
    svc.store.close()
    again = OrderService(Store(path), now_ms=clock.now_ms, timeout_s=5)  # "restarted"
    assert again.process(placed) == []  # redelivered after the crash: no new saga
    out = again.process(ev("PaymentCharged", paymentId="P", amount=3000))
    assert [e.event_type for e in out] == ["CreateShipment"]
    clock.advance(10)
    assert [e.event_type for e in again.run_tick()] == ["CancelShipment", "RefundPayment",
                                                         "ReleaseInventory"]


def test_analytics_counts_each_order_once():
    a = AnalyticsService(Store())
    placed = ev("OrderPlaced", source="api", customerId="C", items=ITEMS, total=3000)
    a.process(placed)
    a.process(new_event("OrderPlaced", "ORD-1", placed.data, source="api", now_ms=2_000))  # re-sent
    a.process(new_event("OrderCancelled", "ORD-1", {"reason": "payment failed: declined",
                                                    "compensated": []}, source="order", now_ms=1_500))
    s = a.snapshot()
    assert s["orders"]["total"] == 1 and s["byStatus"]["cancelled"] == 1 and s["revenue"] == 0
    assert s["cancelReasons"] == {"payment failed": 1} and s["processingTimeMs"]["p50"] == 500


def test_projection_equals_replay_whatever_the_order_of_topics():
    evs = [new_event("OrderPlaced", "O", {"customerId": "C", "items": ITEMS, "total": 3000},
                     source="api", now_ms=1),
           new_event("InventoryReserved", "O", {"items": {}}, source="inventory", now_ms=2),
           new_event("PaymentCharged", "O", {"paymentId": "P", "amount": 3000}, source="payment", now_ms=3),
           new_event("ShipmentCreated", "O", {"shipmentId": "S"}, source="shipping", now_ms=4),
           new_event("OrderCompleted", "O", {"total": 3000}, source="order", now_ms=5)]
    shuffled = [evs[4], evs[0], evs[3], evs[1], evs[2], evs[4]]
    proj = OrderProjection(Store())
    for e in shuffled:
        proj.process(e)
    assert proj.view("O")["status"] == "completed"
    assert proj.view("O") == replay(evs)["O"]
    assert [h["eventType"] for h in proj.view("O")["history"]] == [e.event_type for e in evs]


@pytest.mark.parametrize("raw, message", [
    ([1, 2], "JSON object"),
    ({"eventId": "x"}, "no field 'eventType'"),
    ({"eventId": "x", "eventType": "Nope", "orderId": "O", "timestamp": 0, "source": "s",
      "data": {}}, "unknown eventType"),
    ({"eventId": "x", "eventType": "OrderPlaced", "orderId": "O", "timestamp": "noon",
      "source": "s", "data": {}}, "'timestamp' must be int"),
])
def test_bad_envelopes_are_refused_with_the_reason(raw, message):
    with pytest.raises(InvalidEvent, match=message):
        Event.from_record(raw)


def test_poison_records_are_invalid():
    import json

    with pytest.raises(InvalidEvent, match="needs field 'amount'"):
        Event.from_record(json.loads(poison_record("missing-field")))
    with pytest.raises(ValueError):
        json.loads(poison_record("not-json"))


def test_docs_show_the_contract_table_from_the_code():
    from pathlib import Path

    doc = (Path(__file__).resolve().parents[2] / "docs" / "orders.md").read_text()
    assert contract_table() in doc, "docs/orders.md is out of date: paste contract_table() into it"
    assert len(EVENT_TYPES) == 20


@pytest.mark.parametrize("service, event_type, data", [
    (InventoryService, "ChargePayment", {"customerId": "C", "amount": 1}),
    (PaymentService, "ReserveInventory", {"items": []}),
    (ShippingService, "RefundPayment", {"reason": "x"}),
])
def test_a_misrouted_command_is_refused_not_dropped(service, event_type, data):
    svc = service(Store())
    with pytest.raises(ValueError, match="does not handle"):
        svc.process(new_event(event_type, "ORD-1", data, source="test"))
    assert svc.store.processed_count() == 0 and svc.store.outbox_pending() == []


def test_a_reply_for_an_unknown_order_is_refused():
    svc = OrderService(Store())
    with pytest.raises(ValueError, match="never saw placed"):
        svc.process(new_event("PaymentCharged", "ORD-X", {"paymentId": "P", "amount": 1}, source="payment"))


def test_analytics_rates_over_the_run_and_the_last_minute():
    a = AnalyticsService(Store())
    for i in range(4):  # placed at 0 s, finished at 10, 20, 30, 90 s
        a.process(new_event("OrderPlaced", f"O{i}", {"customerId": "C", "items": [], "total": 10},
                            source="api", now_ms=0))
    for i, t in enumerate((10_000, 20_000, 30_000, 90_000)):
        a.process(new_event("OrderCompleted", f"O{i}", {"total": 10}, source="order", now_ms=t))
    from kafkalab.orders import analytics_snapshot

    s = analytics_snapshot(a.store, now_ms=95_000)
    assert s["throughput"]["finishedPerSecond"] == round(4 / 90, 2)
    assert s["throughput"]["lastMinutePerSecond"] == round(1 / 60, 2)   # only the one at 90 s
    assert s["processingTimeMs"]["max"] == 90_000 and s["revenue"] == 40


def test_analytics_keeps_the_latest_finishes_only(monkeypatch):
    from kafkalab.orders import analytics_service

    monkeypatch.setattr(analytics_service, "_MAX_DURATIONS", 4)
    a = AnalyticsService(Store())
    durations = [100, 200, 300, 400, 500, 600, 700]
    for i, d in enumerate(durations):
        a.process(new_event("OrderPlaced", f"O{i}", {"customerId": "C", "items": [], "total": 10},
                            source="api", now_ms=1_000 * i))
        a.process(new_event("OrderCompleted", f"O{i}", {"total": 10}, source="order",
                            now_ms=1_000 * i + d))
    # An order finished without its OrderPlaced seen: it counts as a finish, with no duration.
    a.process(new_event("OrderCancelled", "O-unknown", {"reason": "x", "compensated": []},
                        source="order", now_ms=9_000))
    s = a.snapshot()
    latest = [500, 600, 700]  # the last four finishes: 500, 600, 700 and the unknown one
    assert s["processingTimeMs"]["count"] == 3 and s["processingTimeMs"]["max"] == max(latest)
    assert s["processingTimeMs"]["p50"] == 600 and s["processingTimeMs"]["mean"] == 600
    assert (s["byStatus"]["completed"], s["byStatus"]["cancelled"]) == (7, 1)
    assert len(a.store.items("finish/")) == 4  # bounded: one row per slot of the ring


def test_analytics_reads_a_store_written_before_the_ring():
    from kafkalab.orders import analytics_snapshot

    store = Store()
    store.put("stats", {"placed": 2, "completed": 2, "cancelled": 0, "revenue": 20,
                        "cancelReasons": {}, "firstPlaced": 0, "lastFinished": 2_000,
                        "durations": [1_000, 2_000], "recent": [1_000, 2_000]})
    s = analytics_snapshot(store, now_ms=3_000)
    assert s["processingTimeMs"]["count"] == 2 and s["processingTimeMs"]["max"] == 2_000
    assert s["throughput"]["lastMinutePerSecond"] == round(2 / 60, 2)
