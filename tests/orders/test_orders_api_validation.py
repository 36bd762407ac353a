"""POST /api/orders validation: every rejection is a 4xx naming the field, and publishes nothing.

No broker: a rejected request must never reach the producer, so the app is
built without one and the test checks none was ever created.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from kafkalab.orders.api import MAX_BODY_BYTES, create_app
from kafkalab.orders.system import OrdersConfig

GOOD_ITEM = {"productId": "ITEM-001", "name": "Laptop", "price": 1500, "quantity": 1}


@pytest.fixture
def app(tmp_path):
    return create_app(OrdersConfig(prefix="unit-", data_dir=tmp_path))


def item(**change):
    return {**GOOD_ITEM, **change}


@pytest.mark.parametrize("body, status, field, words", [
    ({"items": [GOOD_ITEM]}, 422, "customerId", "required"),
    ({"customerId": "", "items": [GOOD_ITEM]}, 422, "customerId", "empty"),
    ({"customerId": 7, "items": [GOOD_ITEM]}, 422, "customerId", "string"),
    ({"customerId": "C"}, 422, "items", "required"),
    ({"customerId": "C", "items": []}, 422, "items", "empty"),
    ({"customerId": "C", "items": "ITEM-001"}, 422, "items", "list"),
    ({"customerId": "C", "items": [item(price=0)]}, 422, "items[0].price", "greater than 0"),
    ({"customerId": "C", "items": [item(price=-5)]}, 422, "items[0].price", "greater than 0"),
    ({"customerId": "C", "items": [item(price="1500")]}, 422, "items[0].price", "number"),
    ({"customerId": "C", "items": [GOOD_ITEM, item(quantity=0)]}, 422, "items[1].quantity", "greater than 0"),
    ({"customerId": "C", "items": [item(quantity=1.5)]}, 422, "items[0].quantity", "integer"),
    ({"customerId": "C", "items": [item(quantity=True)]}, 422, "items[0].quantity", "integer"),
    ({"customerId": "C", "items": [item(name="")]}, 422, "items[0].name", "empty"),
    ({"customerId": "C", "items": [{k: v for k, v in GOOD_ITEM.items() if k != "productId"}]},
     422, "items[0].productId", "required"),
    ({"customerId": "C", "items": [item(productId="ITEM-999")]}, 422, "items[0].productId", "unknown product"),
    ({"customerId": "C", "items": [GOOD_ITEM], "coupon": "X"}, 422, "coupon", "not a known field"),
    # The catalog decides prices and names (a Laptop for 0.01 used to ship).
    ({"customerId": "C", "items": [item(price=0.01)]}, 422, "items[0].price",
     "is 0.01; the catalog price of ITEM-001 is 1500"),
    ({"customerId": "C", "items": [item(price=1e-9)]}, 422, "items[0].price", "catalog price"),
    ({"customerId": "C", "items": [item(name="Mouse", price=25)]}, 422, "items[0].price",
     "catalog price of ITEM-001 is 1500"),
    ({"customerId": "C", "items": [item(name="Mouse")]}, 422, "items[0].name",
     "the catalog name of ITEM-001 is 'Laptop'"),
    ({"customerId": "CUST\u0000001", "items": [GOOD_ITEM]}, 422, "customerId", "pattern"),
    ({"customerId": "C", "items": [item(name="Lap\ntop")]}, 422, "items[0].name", "pattern"),
])
def test_rejections_name_the_field_and_publish_nothing(app, body, status, field, words):
    client = TestClient(app)
    r = client.post("/api/orders", json=body)
    assert r.status_code == status, r.text
    assert r.json()["field"] == field
    assert r.json()["error"].startswith(f"{field}: ") and words in r.json()["error"]
    assert app.state.orders["producer"] is None  # nothing could have been published


def test_invalid_json_and_oversized_bodies(app):
    client = TestClient(app)
    r = client.post("/api/orders", content=b'{"customerId": ', headers={"Content-Type": "application/json"})
    assert (r.status_code, r.json()["field"]) == (400, "body")
    big = b'{"customerId": "' + b"x" * MAX_BODY_BYTES + b'", "items": []}'
    r = client.post("/api/orders", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["error"]
    assert app.state.orders["producer"] is None


def test_a_chunked_body_over_the_limit_is_refused_while_it_is_read(app):
    client = TestClient(app)

    def chunks():  # no Content-Length: sent chunked
        yield b'{"customerId": "'
        for _ in range(8):
            yield b"x" * MAX_BODY_BYTES

    r = client.post("/api/orders", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["field"] == "body"
    assert app.state.orders["producer"] is None


def test_body_limit_stops_reading_at_the_first_chunk_over_the_limit():
    import asyncio

    from kafkalab.serving import BodyLimit

    read = []
    sent = []

    async def receive():
        read.append(1)
        return {"type": "http.request", "body": b"x" * 1_000_000, "more_body": len(read) < 50}

    async def send(message):
        sent.append(message)

    async def never(scope, receive, send):
        raise AssertionError("the app must not see a body over the limit")

    scope = {"type": "http", "method": "POST", "headers": []}
    asyncio.run(BodyLimit(never, limit=MAX_BODY_BYTES)(scope, receive, send))
    assert len(read) == 1  # 1 MB read of the 50 MB offered, not all of it
    assert sent[0]["status"] == 413


def test_a_body_within_the_limit_reaches_the_app_whole():
    import asyncio

    from kafkalab.serving import BodyLimit

    parts = [b'{"a": ', b"1}"]
    got = []

    async def receive():
        return {"type": "http.request", "body": parts.pop(0), "more_body": bool(parts)}

    async def app(scope, receive, send):
        message = await receive()
        got.append(message["body"])

    asyncio.run(BodyLimit(app, limit=100)({"type": "http", "method": "POST", "headers": []},
                                          receive, lambda m: None))
    assert got == [b'{"a": 1}']


def test_unknown_order_is_404_and_docs_are_served(app):
    client = TestClient(app)
    r = client.get("/api/orders/ORD-NOPE")
    assert r.status_code == 404 and r.json()["field"] == "orderId"
    assert client.get("/docs").status_code == 200
    schema = client.get("/openapi.json").json()
    assert {"/api/orders", "/api/orders/{orderId}", "/api/analytics"} <= set(schema["paths"])


def test_analytics_is_empty_before_any_order(app):
    body = TestClient(app).get("/api/analytics").json()
    assert body["orders"] == {"total": 0, "finished": 0}
    assert body["byStatus"] == {"pending": 0, "completed": 0, "cancelled": 0}
