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
