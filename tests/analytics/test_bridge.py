"""The bridge turns week 3 order events and week 5 logs into shop events, on the broker."""

from __future__ import annotations

import uuid

import pytest

from kafkalab.analytics import bridge, to_shop_event
from kafkalab.clients import Admin, Consumer, Producer
from kafkalab.logs.record import make_record
from kafkalab.orders.events import new_event

T = 1_767_225_600_000


def test_unreadable_records_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="neither an order event"):
        to_shop_event({"hello": "world"})
    with pytest.raises(ValueError, match="OrderPlaced without a usable"):
        to_shop_event({"eventType": "OrderPlaced", "orderId": "O", "timestamp": 1, "data": {}})


@pytest.mark.slow
def test_bridge_copies_orders_and_logs_and_dead_letters_the_rest():
    orders, logs, target, dlq = (f"{n}-{uuid.uuid4().hex[:8]}"
                                 for n in ("orders", "logs", "shop", "dlq"))
    placed = [new_event("OrderPlaced", f"ORD-{i}", {"customerId": "CUST-001", "items": [],
                                                    "total": 100 * i},
                        source="api", now_ms=T + i) for i in (1, 2)]
    other = new_event("OrderCancelled", "ORD-1", {"reason": "x", "compensated": []},
                      source="order", now_ms=T + 5)
    records = [make_record(service="payments", level="ERROR", message="timeout",
                           timestamp_ms=T + 10, metadata={"duration_ms": 2500}),
               make_record(service="api", level="INFO", message="started", timestamp_ms=T + 11)]
    with Admin() as admin:
        admin.ensure_topic(orders, partitions=3)
        admin.ensure_topic(logs, partitions=3)
    with Producer() as p:
        for e in [*placed, other]:
            p.send(orders, e.to_record(), key=e.order_id)
        for r in records:
            p.send(logs, r, key=r["service"])
        p.raw.send(logs, value=b"{not json", key=b"api")
        p.flush()

    stats = bridge([orders, logs, f"missing-{uuid.uuid4().hex[:6]}"], target,
                   idle_timeout=3, timeout=60, dead_letter_topic=dlq)
    assert (stats.seen, stats.written, stats.ignored, stats.dead_lettered) == (6, 3, 2, 1)
    with Consumer(target, group_id=False) as c:
        events = sorted((m.value for m in c.messages(idle_timeout=1.5, timeout=20)),
                        key=lambda e: e["timestamp"])
    assert [(e["type"], e.get("total"), e.get("status")) for e in events] == [
        ("order", 100.0, None), ("order", 200.0, None), ("request", None, 500)]
    with Consumer(dlq, group_id=False) as c:
        (dead,) = list(c.messages(idle_timeout=1.5, timeout=20))
    assert "not valid JSON" in dead.value["error"]["message"]
