"""Orders at a fixed arrival rate: how long from placed to completed, and where the time goes.

A web shop does not wait for one order to finish before the next customer
clicks: orders arrive at their own rate. :func:`at_rate` sends on such a fixed
schedule (an *open loop*), so a system that falls behind shows it as growing
latency, measured from when each order was *due*, not from when a late sender
got round to it. :func:`run_orders` places orders that way on a running
:class:`~kafkalab.orders.OrderSystem`, waits until each one is finished,
checks that every one ``completed``, and reports p50/p95/p99; :func:`hops`
reads the records back to split an order's time into its eight hops.
``bench/orders.py`` drives the HTTP API with the same functions.

>>> at_rate(1000, 3, lambda i, due_ms: None) > 0    # three calls, 1 ms apart
True
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from kafkalab.orders.events import Event, InvalidEvent
from kafkalab.orders.reader import read_topic
from kafkalab.orders.system import OrdersConfig, OrderSystem
from kafkalab.stats import percentile

__all__ = ["CHAIN", "OrderLoad", "at_rate", "hops", "run_orders", "wait_finished"]

#: The seed order's path, in saga order: from each event to the next is one
#: hop through a topic (a produce, a fetch, a handler).
CHAIN = ("OrderPlaced", "ReserveInventory", "InventoryReserved", "ChargePayment",
         "PaymentCharged", "CreateShipment", "ShipmentCreated", "OrderCompleted")

#: What :func:`run_orders` places (the seed order of the course brief).
SEED_ORDER: dict[str, Any] = {"customerId": "CUST-001",
              "items": [{"productId": "ITEM-002", "name": "Mouse", "price": 25, "quantity": 1}]}


def at_rate(rate: float, n: int, send: Callable[[int, float], Any], workers: int = 32) -> float:
    """Call ``send(i, due_ms)`` for i in range(n), ``rate`` calls per second, on a
    fixed schedule; return the wall-clock ms of the first slot.

    ``send`` runs on a pool of ``workers`` threads, so a slow call never delays
    the next arrival; ``due_ms`` (wall clock) is when the call was *meant* to
    start: the start of its latency. An error in any call is raised.
    """
    start_wall = time.time() * 1000
    start = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        futures = []
        for i in range(n):
            delay = start + i / rate - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(send, i, start_wall + i * 1000 / rate))
        for f in futures:
            f.result()
    return start_wall


def wait_finished(config: OrdersConfig, ids: list[str], timeout: float) -> dict[str, Any]:
    """Each order's view in the read model once every one is completed or
    cancelled, or ``timeout`` seconds pass (then unfinished ones are as they
    stand, ``None`` if the read model has not seen them)."""
    store = config.store("projection")
    views: dict[str, Any] = dict.fromkeys(ids)
    pending = list(ids)
    deadline = time.monotonic() + timeout
    try:
        while pending and time.monotonic() < deadline:
            # Only the unfinished ones are read again: re-reading 12,000 views
            # every round would compete with the services for the CPU.
            for i in pending:
                views[i] = store.get(f"order/{i}")
            pending = [i for i in pending
                       if not views[i] or views[i]["status"] not in ("completed", "cancelled")]
            if pending:
                time.sleep(0.1)
    finally:
        store.close()
    return views


def hops(config: OrdersConfig, ids: list[str]) -> dict[str, dict[str, float]]:
    """Where the orders' time went, p50 and p99 in ms per part of each hop.

    Every record carries two times: ``timestamp`` in the envelope, when a
    service decided the event (in ``handle``), and the Kafka record's own
    timestamp, when the producer was handed it (``send``: after the batch,
    from the outbox). So for each step of :data:`CHAIN`, ``"<step> outbox"``
    is decided -> sent, and ``"<step> -> <next>"`` is sent -> decided by the
    next service: the broker, the fetch, and the wait in the consumer's batch.
    """
    wanted = set(ids)
    times: dict[tuple[str, str], tuple[int, int]] = {}
    for msg in read_topic(config.topics.all(), settings=config.settings, timeout=120):
        try:
            e = Event.from_record(msg.value)
        except InvalidEvent:
            continue
        if e.order_id in wanted and e.event_type in CHAIN and msg.timestamp_ms is not None:
            times.setdefault((e.order_id, e.event_type), (e.timestamp, msg.timestamp_ms))
    parts: dict[str, list[float]] = defaultdict(list)
    for i in ids:
        steps = [times.get((i, t)) for t in CHAIN]
        for t, nxt, here, there in zip(CHAIN, CHAIN[1:], steps, steps[1:], strict=False):
            if here is None or there is None:
                continue  # not on the happy path (cancelled), or not sent yet
            parts[f"{t} outbox"].append(here[1] - here[0])
            parts[f"{t} -> {nxt}"].append(there[0] - here[1])
    return {k: {"p50": round(percentile(v, 50) or 0.0, 1), "p99": round(percentile(v, 99) or 0.0, 1)}
            for k, v in parts.items()}


@dataclass
class OrderLoad:
    """What :func:`run_orders` measured (times in ms, from each order's due time)."""

    label: str
    rate: float
    orders: int
    completed: int
    per_s: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    hops: dict[str, dict[str, float]] = field(default_factory=dict)

    def row(self) -> dict[str, Any]:
        return {k: v for k, v in vars(self).items() if k not in ("hops", "statuses")}


def summarise(label: str, rate: float, due: dict[str, float], views: dict[str, Any],
              *, strict: bool = True) -> OrderLoad:
    """Latency and rate of orders that were due at ``due[id]`` (wall ms) and
    ended as ``views``. ``strict`` raises unless every order completed: a rate
    of orders that were cancelled or lost is not a rate."""
    statuses: dict[str, int] = defaultdict(int)
    for v in views.values():
        statuses[v["status"] if v else "missing"] += 1
    done = [i for i, v in views.items() if v and v["status"] == "completed"]
    if strict and len(done) != len(due):
        raise RuntimeError(f"{label}: {len(due) - len(done)} of {len(due)} orders did not complete "
                           f"({dict(statuses)})")
    latencies = [views[i]["finishedAt"] - due[i] for i in done]
    span_s = (max(views[i]["finishedAt"] for i in done) - min(due.values())) / 1000 if done else 0

    def q(p: float) -> float:
        return round(percentile(latencies, p) or 0.0, 1)

    return OrderLoad(label, rate, len(due), len(done), round(len(done) / span_s, 1) if span_s else 0.0,
                     q(50), q(95), q(99), round(max(latencies, default=0.0), 1), dict(statuses))


def run_orders(system: OrderSystem, rate: float, seconds: float, *, label: str = "",
               with_hops: bool = False, timeout: float = 60.0) -> OrderLoad:
    """Place ``rate`` seed orders per second for ``seconds`` seconds on ``system``
    (through its producer, as ``POST /api/orders`` does), wait until all have
    finished, check every one completed and measure.

    Raises ``RuntimeError`` if an order did not complete within ``timeout``
    seconds after the last one was placed.
    """
    n = max(1, round(rate * seconds))
    due: dict[str, float] = {}

    def place(_i: int, due_ms: float) -> None:
        event = system.place(SEED_ORDER["customerId"], SEED_ORDER["items"], wait=False)
        due[event.order_id] = due_ms

    at_rate(rate, n, place, workers=1)  # sends are queued, not awaited: one thread keeps up
    system.producer.flush()
    views = wait_finished(system.config, list(due), timeout)
    report = summarise(label or f"{rate:g} orders/s", rate, due, views)
    if with_hops:
        report.hops = hops(system.config, list(due))
    return report
