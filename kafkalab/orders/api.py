"""The HTTP API: place orders, read them back, see the analytics.

* ``POST /api/orders``: validate, publish ``OrderPlaced``, answer **202
  Accepted** with the order id and status ``pending`` (the saga runs after
  the answer; poll the order to follow it). An ``Idempotency-Key`` header makes
  a retried POST return the first order instead of placing a second one.
* ``GET /api/orders/{orderId}``: status and full event history, from the read
  model (CQRS); 404 for an unknown id.
* ``GET /api/analytics``: totals, throughput and processing times.
* OpenAPI docs at ``/docs`` (and the schema at ``/openapi.json``).

A rejected request publishes nothing: validation happens before the producer
is touched, and every 4xx answer names the field at fault::

    {"error": "items[0].price: must be greater than 0", "field": "items[0].price"}
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import threading
import time
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr

from kafkalab.clients import Producer
from kafkalab.orders.analytics_service import analytics_snapshot
from kafkalab.orders.catalog import CATALOG
from kafkalab.orders.system import OrdersConfig, new_order_id, place_order
from kafkalab.serving import BodyLimit

__all__ = ["MAX_BODY_BYTES", "OrderItem", "OrderRequest", "create_app", "field_name"]

log = logging.getLogger(__name__)

#: Larger request bodies are refused with 413 before they are parsed.
MAX_BODY_BYTES = 64 * 1024
MAX_ITEMS = 100


#: Printable text only: a NUL or another control character in an id reaches
#: every log line, SQLite key and Kafka header downstream.
PRINTABLE = r"^[^\x00-\x1f\x7f]+$"


class OrderItem(BaseModel):
    """One line of an order. Strict types: ``"1500"`` is not a price."""

    model_config = ConfigDict(extra="forbid")
    productId: StrictStr = Field(min_length=1, max_length=64, pattern=PRINTABLE,
                                 examples=["ITEM-001"])
    name: StrictStr = Field(min_length=1, max_length=200, pattern=PRINTABLE, examples=["Laptop"])
    price: Annotated[StrictInt | StrictFloat, Field(gt=0, le=1_000_000, examples=[1500])]
    quantity: StrictInt = Field(gt=0, le=1000, examples=[1])


class OrderRequest(BaseModel):
    """The body of ``POST /api/orders``, as in the course brief."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{
        "customerId": "CUST-001",
        "items": [{"productId": "ITEM-001", "name": "Laptop", "price": 1500, "quantity": 1}]}]})
    customerId: StrictStr = Field(min_length=1, max_length=64, pattern=PRINTABLE)
    items: list[OrderItem] = Field(min_length=1, max_length=MAX_ITEMS)


def field_name(loc: Sequence[Any]) -> str:
    """Pydantic's error location as a learner would write it.

    >>> field_name(("body", "items", 0, "price"))
    'items[0].price'
    >>> field_name(("body", "items", 0, "price", "int"))
    'items[0].price'
    >>> field_name(("body",))
    'body'
    """
    # Drop "body" and the tags pydantic adds inside a union (price: int | float).
    parts = [p for p in loc if p not in ("body", "int", "float")] or ["body"]
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _message(err: dict[str, Any]) -> str:
    kind = err.get("type", "")
    ctx = err.get("ctx") or {}
    if kind == "missing":
        return "is required"
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind in ("string_too_short", "too_short"):
        return "must not be empty"
    if kind == "extra_forbidden":
        return "is not a known field"
    if "int" in err.get("loc", ()) or "float" in err.get("loc", ()):
        return "must be a number"
    if kind in ("int_type", "float_type", "string_type", "list_type", "model_type",
                "dict_type", "model_attributes_type"):
        return err.get("msg", "has the wrong type").replace("Input should be", "must be")
    return err.get("msg", "is invalid")


def _error(status: int, field: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": f"{field}: {message}", "field": field})


def create_app(config: OrdersConfig | None = None, producer: Producer | None = None) -> FastAPI:
    """The FastAPI app for one order system (its topics and read-model stores).

    The producer is created on the first order, not here (no network I/O in
    constructors).
    """
    config = config or OrdersConfig()
    app = FastAPI(title="kafkalab orders", version="1",
                  description="The order system of weeks 3 and 4: every order is a saga "
                              "driven through Kafka topics.")
    state: dict[str, Any] = {"producer": producer}
    # Bodies over the limit are refused while they are read (chunked ones too).
    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.state.orders = state  # tests check no producer was created for rejected requests
    # Requests with the same Idempotency-Key are serialised; all others run in
    # parallel. One lock for every POST held each POST across its wait for the
    # broker's ack, which capped the API at one order per round trip (about
    # 50 orders/s measured with bench/orders.py, POST p50 330 ms at 50/s).
    # 64 locks, a key's lock chosen by its hash: the same key always gets the
    # same lock, and memory stays bounded however many keys arrive.
    key_locks = [threading.Lock() for _ in range(64)]
    key_locks_guard = threading.Lock()

    def lock_for(key: str) -> threading.Lock:
        return key_locks[hash(key) % len(key_locks)]

    def get_producer() -> Producer:
        with key_locks_guard:  # two first POSTs at once must make one producer
            if state["producer"] is None:
                state["producer"] = Producer(config.settings, **config.producer_config)
            return state["producer"]

    stores: dict[str, Any] = {}

    def store(name: str) -> Any:
        # One SQLite connection per store, opened on first use and kept: a
        # Store guards its connection with a lock, so threads can share it, and
        # opening one costs ~0.4 ms against ~0.005 ms for a read on it. In WAL
        # mode each read sees everything the services committed before it.
        with key_locks_guard:
            if name not in stores:
                stores[name] = config.store(name)
            return stores[name]

    def read(name: str, key: str) -> Any:
        """One value from a service's store."""
        return store(name).get(key)

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {"loc": ("body",), "msg": "invalid"}
        if first.get("type") == "json_invalid":
            return _error(400, "body", "is not valid JSON")
        field = field_name(first.get("loc", ("body",)))
        body = {"error": f"{field}: {_message(first)}", "field": field,
                "details": [{"field": field_name(e.get("loc", ())), "message": _message(e)}
                            for e in errors]}
        return JSONResponse(status_code=422, content=body)

    @app.post("/api/orders", status_code=202)
    def create_order(order: OrderRequest,
                     idempotency_key: Annotated[str | None, Header(max_length=200)] = None) -> Any:
        """Place an order. Answers 202: the saga continues after the answer."""
        for i, item in enumerate(order.items):
            # The catalog decides names and prices; the client's copy must agree.
            product = CATALOG.get(item.productId)
            if product is None:
                return _error(422, f"items[{i}].productId",
                              f"unknown product {item.productId!r}; known: {', '.join(CATALOG)}")
            if item.price != product.price:
                return _error(422, f"items[{i}].price",
                              f"is {item.price}; the catalog price of {product.product_id} is "
                              f"{product.price}")
            if item.name != product.name:
                return _error(422, f"items[{i}].name",
                              f"is {item.name!r}; the catalog name of {product.product_id} is "
                              f"{product.name!r}")
        items = [item.model_dump() for item in order.items]
        fingerprint = hashlib.sha256(json.dumps(order.model_dump(), sort_keys=True).encode()).hexdigest()
        api = store("api")
        # One POST per key at a time, so two retries cannot both place.
        with lock_for(idempotency_key) if idempotency_key else contextlib.nullcontext():
            if idempotency_key:
                known = api.get(f"idem/{idempotency_key}")
                if known is not None:
                    if known["fingerprint"] != fingerprint:
                        return _error(409, "Idempotency-Key",
                                      "was already used for a different order body")
                    return JSONResponse(status_code=200, content={
                        "orderId": known["orderId"], "status": _status(known["orderId"]),
                        "replayed": True})
            order_id = new_order_id()
            try:
                event = place_order(get_producer(), order.customerId, items,
                                    topics=config.topics, order_id=order_id)
            except Exception as exc:  # broker down: nothing was accepted
                log.error("could not publish order: %s", exc)
                return JSONResponse(status_code=503, content={
                    "error": f"the order could not be published to Kafka: {exc}"})
            with api.transaction():
                api.put(f"accepted/{order_id}", event.to_record())
                if idempotency_key:
                    api.put(f"idem/{idempotency_key}",
                            {"orderId": order_id, "fingerprint": fingerprint})
        return {"orderId": order_id, "status": "pending", "total": event.data["total"]}

    def _status(order_id: str) -> str:
        view = read("projection", f"order/{order_id}")
        return view["status"] if view else "pending"

    @app.get("/api/orders/{orderId}")
    def get_order(orderId: str) -> Any:
        """Current status and the order's full event history (from the read model)."""
        view = read("projection", f"order/{orderId}")
        if view is None:
            accepted = read("api", f"accepted/{orderId}")
            if accepted is None:
                return _error(404, "orderId", f"no order {orderId!r}")
            # Accepted a moment ago; the read model has not seen it yet.
            return {"orderId": orderId, "status": "pending", "customerId":
                    accepted["data"]["customerId"], "items": accepted["data"]["items"],
                    "total": accepted["data"]["total"], "history": [
                        {k: accepted[k] for k in ("eventId", "eventType", "timestamp", "source",
                                                  "data")}]}
        return {k: v for k, v in view.items() if k != "rank"}

    @app.get("/api/analytics")
    def analytics() -> Any:
        """Totals, by-status counts, throughput and processing-time figures."""
        now = int(time.time() * 1000)
        snap = analytics_snapshot(store("analytics"), now_ms=now)
        snap["generatedAt"] = now
        return snap

    @app.get("/api/health")
    def health() -> Any:
        return {"ok": True, "topicPrefix": config.prefix}

    return app
