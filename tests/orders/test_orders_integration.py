"""The order system against a real Apache Kafka broker: the API, faults, restarts, poison."""

from __future__ import annotations

import collections
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time

import httpx
import pytest

from kafkalab.clients import Consumer, Producer
from kafkalab.orders import ApiServer, Faults, OrderProjection, invariants, poison_record, rebuild_read_model
from kafkalab.orders.api import create_app
from kafkalab.orders.catalog import CATALOG
from kafkalab.orders.reader import read_topic

pytestmark = pytest.mark.slow

VERBATIM = ('{"customerId": "CUST-001", "items": [{"productId": "ITEM-001", "name": "Laptop", '
            '"price": 1500, "quantity": 1}]}')


def poll(fn, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def placed_orders(topic):
    """OrderPlaced records in the topic, read from the start."""
    return sum(m.value["eventType"] == "OrderPlaced" for m in read_topic(topic))


def test_verbatim_post_reaches_completed_and_shows_in_analytics(make_config, start_system, eventually):
    config = make_config()
    system = start_system(config)
    orders_topic = config.topics.name("orders")
    with ApiServer(create_app(config, system.producer)) as api, httpx.Client(base_url=api.url) as http:
        r = http.post("/api/orders", content=VERBATIM, headers={"Content-Type": "application/json"})
        assert r.status_code == 202, r.text
        order_id = r.json()["orderId"]
        assert r.json()["status"] == "pending"
        done = poll(lambda: http.get(f"/api/orders/{order_id}").json()["status"] == "completed")
        order = http.get(f"/api/orders/{order_id}").json()
        assert done, order
        # PaymentCaptured follows OrderCompleted and may or may not be in yet.
        assert [h["eventType"] for h in order["history"] if h["eventType"] != "PaymentCaptured"] == [
            "OrderPlaced", "InventoryReserved", "PaymentCharged", "ShipmentCreated", "OrderCompleted"]
        stats = poll(lambda: (s := http.get("/api/analytics").json())["byStatus"]["completed"] and s)
        assert stats["orders"]["total"] == 1 and stats["revenue"] == 1500
        assert stats["processingTimeMs"]["count"] == 1

        # A retried POST with the same Idempotency-Key returns the same order.
        key = {"Idempotency-Key": "retry-me"}
        first = http.post("/api/orders", content=VERBATIM, headers={**key, "Content-Type": "application/json"})
        again = http.post("/api/orders", content=VERBATIM, headers={**key, "Content-Type": "application/json"})
        assert first.status_code == 202 and again.status_code == 200
        assert again.json()["orderId"] == first.json()["orderId"]
        other = http.post("/api/orders", json={"customerId": "CUST-002", "items": json.loads(VERBATIM)["items"]},
                          headers=key)
        assert other.status_code == 409 and other.json()["field"] == "Idempotency-Key"

        # Rejected requests publish nothing.
        if True:
            bad = [{"items": []}, {"customerId": "C", "items": [{"productId": "ITEM-001", "name": "L",
                                                               "price": -1, "quantity": 1}]},
                   {"customerId": "C", "items": [{"productId": "NOPE", "name": "L", "price": 1,
                                                  "quantity": 1}]}]
            answers = [http.post("/api/orders", json=b) for b in bad]
            answers.append(http.post("/api/orders", content=b"x" * 100_000,
                                     headers={"Content-Type": "application/json"}))
            assert [a.status_code for a in answers] == [422, 422, 422, 413]
            assert [a.json()["field"] for a in answers] == ["customerId", "items[0].price",
                                                            "items[0].productId", "body"]
            assert placed_orders(orders_topic) == 2  # the verbatim one and the keyed one
        assert http.get("/api/orders/ORD-NOPE").status_code == 404
        assert "/api/orders" in http.get("/openapi.json").json()["paths"]
    accepted = [order_id, first.json()["orderId"]]
    assert system.wait_for(accepted, timeout=30) == {i: "completed" for i in accepted}
    assert eventually(lambda: invariants.check(config, accepted)) == []


def test_hundreds_of_orders_with_faults_keep_every_invariant(make_config, start_system, eventually):
    """Declines, shipping failures, a stock shortage and duplicated OrderPlaced events."""
    import random

    rng = random.Random(7)
    stock = {pid: 1000 for pid in CATALOG}
    stock["ITEM-004"] = 15  # monitors run out part-way
    config = make_config(stock=stock, faults=Faults(payment_decline_rate=0.15,
                                                    shipping_failure_rate=0.1, seed=5))
    system = start_system(config)
    events = []
    for _ in range(300):
        items = [{"productId": pid, "name": CATALOG[pid].name, "price": CATALOG[pid].price,
                  "quantity": rng.randint(1, 3)}
                 for pid in rng.sample(sorted(CATALOG), rng.randint(1, 2))]
        events.append(system.place(f"CUST-{rng.randint(1, 50):03d}", items, wait=False))
    system.producer.flush()
    for e in events[:20]:  # the same OrderPlaced published again: must not start a second saga
        system.producer.send(config.topics.name("orders"), e.to_record(), key=e.order_id)
    ids = [e.order_id for e in events]
    status = system.wait_for(ids, timeout=90)
    assert set(status.values()) <= {"completed", "cancelled"}
    problems = eventually(lambda: invariants.check(config, ids))
    assert problems == []
    reasons = collections.Counter(
        (system.view(i)["reason"] or "").split(":")[0] for i in ids if status[i] == "cancelled")
    # Every kind of failure happened (so every compensation path ran).
    assert {"inventory failed", "payment failed", "shipping failed"} <= set(reasons), reasons
    assert sum(s == "completed" for s in status.values()) > 150

    # Event sourcing: the read model rebuilt from the topics equals the live one.
    live = OrderProjection(config.store("projection")).views()
    system.stop_service("projection")
    assert rebuild_read_model(config) == len(ids)
    rebuilt = OrderProjection(config.store("projection")).views()
    assert rebuilt == live


def test_when_all_orders_cancel_stock_returns_to_its_start(make_config, start_system, eventually):
    config = make_config(stock={"ITEM-002": 500}, faults=Faults(payment_decline_rate=1.0))
    system = start_system(config)
    ids = [system.place("CUST-001", [{"productId": "ITEM-002", "name": "Mouse", "price": 25,
                                      "quantity": 2}], wait=False).order_id for _ in range(100)]
    assert set(system.wait_for(ids, timeout=60).values()) == {"cancelled"}
    assert eventually(lambda: invariants.check(config, ids)) == []
    assert system.service("inventory").stock() == {"ITEM-002": 500}
    assert system.service("payment").ledger() == {"charged": 0, "captured": 0, "refunded": 0}


def test_a_service_that_never_answers_times_out_and_is_compensated(make_config, start_system, eventually):
    config = make_config(step_timeout_s=2.0)
    system = start_system(config, services=["order", "inventory", "payment", "analytics", "projection"])
    ids = [system.place("CUST-001", [{"productId": "ITEM-003", "name": "Keyboard", "price": 75,
                                      "quantity": 1}], wait=False).order_id for _ in range(30)]
    assert set(system.wait_for(ids, timeout=60).values()) == {"cancelled"}
    reasons = {system.view(i)["reason"] for i in ids}
    # Shipping never answers, so shipping times out; on a very busy machine an
    # earlier step may occasionally take longer than 2 s and time out first.
    assert "shipping timed out" in reasons and all(r.endswith("timed out") for r in reasons), reasons
    # Shipping comes back late: it sees CreateShipment and then CancelShipment, in order,
    # so nothing stays shipped.
    system.start_service("shipping")
    system.wait_ready()
    assert eventually(lambda: invariants.check(config, ids)) == []
    ledger = system.service("payment").ledger()
    assert ledger["charged"] == ledger["refunded"] and ledger["captured"] == 0


@pytest.mark.parametrize("victim", ["order", "payment"])
def test_service_killed_mid_saga_and_restarted(make_config, start_system, eventually, victim):
    """SIGKILL (no commit, no goodbye) of the saga driver, or of a participant, while
    orders flow; a new process resumes from the store, the outbox and the uncommitted records."""
    config = make_config(step_timeout_s=60)
    system = start_system(config, services=[s for s in ("order", "inventory", "payment", "shipping",
                                                        "analytics", "projection") if s != victim])
    cmd = [sys.executable, "-m", "kafkalab.orders", victim, "--prefix", config.prefix,
           "--data-dir", str(config.path()), "--timeout", "60"]
    env = {**os.environ, "LOG_LEVEL": "warning"}
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ids: list[str] = []
    stop = threading.Event()

    def place_steadily():
        while not stop.is_set() and len(ids) < 250:
            ids.append(system.place("CUST-001", [{"productId": "ITEM-002", "name": "Mouse",
                                                  "price": 25, "quantity": 1}]).order_id)
            time.sleep(0.01)

    placer = threading.Thread(target=place_steadily)
    placer.start()
    try:
        # Kill it once some sagas have completed and others are in flight.
        assert poll(lambda: sum((system.view(i) or {}).get("status") == "completed"
                                for i in list(ids)) >= 10, timeout=60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        killed_at = len(ids)
        order_store = config.store("order")
        in_flight = len(order_store.items("active/"))
        order_store.close()
        assert in_flight > 0, "the service was killed with sagas in flight"
        time.sleep(1.0)
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        placer.join(60)
    finally:
        stop.set()
        placer.join(10)
    try:
        assert killed_at < len(ids), "orders kept coming while the service was down"
        status = system.wait_for(ids, timeout=90)
        assert set(status.values()) == {"completed"}
        assert eventually(lambda: invariants.check(config, ids)) == []
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_poison_messages_go_to_the_dead_letter_topic_and_the_rest_flows(make_config, start_system, eventually):
    config = make_config()
    system = start_system(config)
    raw = Producer(value_format="raw")
    try:
        for kind in ("missing-field", "not-json"):
            raw.send(config.topics.name("payment-commands"), poison_record(kind),
                     key="ORD-POISON").get(timeout=10)
    finally:
        raw.close()
    order = system.place("CUST-001", [{"productId": "ITEM-001", "name": "Laptop", "price": 1500,
                                       "quantity": 1}])
    assert system.wait_for([order.order_id], timeout=30) == {order.order_id: "completed"}
    consumer = Consumer(config.topics.dead_letter, group_id=False)
    try:
        dead = [m.value for m in consumer.messages(max_messages=2, timeout=20)]
    finally:
        consumer.close()
    reasons = sorted(d["error"]["message"] for d in dead)
    assert len(dead) == 2
    assert "needs field 'amount'" in reasons[0] and "not valid JSON" in reasons[1]
    assert all(d["source"]["topic"] == config.topics.name("payment-commands") for d in dead)
    assert eventually(lambda: invariants.check(config, [order.order_id])) == []


def _last_assignment(log_path) -> set[int]:
    lines = [line for line in log_path.read_text().splitlines() if "orders-inventory: assigned" in line]
    if not lines:
        return set()
    return {int(p) for p in re.findall(r"inventory-commands', (\d+)\)", lines[-1])}


def test_two_copies_of_a_service_share_its_partitions(make_config, start_system, eventually,
                                                      tmp_path):
    config = make_config()
    system = start_system(config, services=["order", "payment", "shipping", "analytics", "projection"])
    cmd = [sys.executable, "-m", "kafkalab.orders", "inventory", "--prefix", config.prefix,
           "--data-dir", str(config.path())]
    env = {**os.environ, "LOG_LEVEL": "info"}
    logs = [tmp_path / "inventory-1.log", tmp_path / "inventory-2.log"]
    copies = []
    try:
        copies.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                       stderr=logs[0].open("w")))
        assert poll(lambda: _last_assignment(logs[0]) == {0, 1, 2}, timeout=60)
        copies.append(subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL,
                                       stderr=logs[1].open("w")))
        assert poll(lambda: _last_assignment(logs[1]) and
                    _last_assignment(logs[0]) | _last_assignment(logs[1]) == {0, 1, 2} and
                    not _last_assignment(logs[0]) & _last_assignment(logs[1]), timeout=60)
        ids = [system.place(f"CUST-{i:03d}", [{"productId": "ITEM-005", "name": "Headphones",
                                               "price": 120, "quantity": 1}], wait=False).order_id
               for i in range(100)]
        assert set(system.wait_for(ids, timeout=60).values()) == {"completed"}
        assert eventually(lambda: invariants.check(config, ids)) == []
    finally:
        for p in copies:  # one after the other, gracefully (SIGTERM)
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()
    # Both copies shared one stock (one SQLite file): 100 headphones left the shelf, not 200.
    inv = config.store("inventory")
    assert inv.get("stock/ITEM-005") == 1000 - 100
    inv.close()
