"""The whole order system in one process: topics, the six consumers, and a way to place orders.

Each service runs in its own thread with its own consumer group, exactly as
it would in its own process (``python -m kafkalab.orders inventory``): the
threads share nothing but one producer and the broker.

>>> cfg = OrdersConfig(prefix="demo-", data_dir="/tmp/x")
>>> cfg.topics.name("orders"), cfg.group_prefix
('demo-orders', 'demo-')
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kafkalab.clients import Admin, Producer
from kafkalab.orders.analytics_service import AnalyticsService
from kafkalab.orders.catalog import order_total
from kafkalab.orders.events import Event, Topics, new_event
from kafkalab.orders.faults import Faults
from kafkalab.orders.inventory import InventoryService
from kafkalab.orders.order import OrderService
from kafkalab.orders.payment import PaymentService
from kafkalab.orders.projection import OrderProjection
from kafkalab.orders.runner import CONSUMER_CONFIG, PRODUCER_CONFIG, ServiceRunner
from kafkalab.orders.service import Service
from kafkalab.orders.shipping import ShippingService
from kafkalab.orders.store import Store
from kafkalab.settings import Settings, get_settings

__all__ = ["SERVICES", "OrderSystem", "OrdersConfig", "default_data_dir", "new_order_id",
           "place_order"]

log = logging.getLogger(__name__)

#: Service name -> class. ``projection`` is the CQRS read model behind the API.
SERVICES: dict[str, type[Service]] = {
    "order": OrderService, "inventory": InventoryService, "payment": PaymentService,
    "shipping": ShippingService, "analytics": AnalyticsService, "projection": OrderProjection,
}


def default_data_dir(prefix: str = "", settings: Settings | None = None) -> Path:
    """Where the services keep their SQLite stores.

    With the local broker the folder is named after its cluster id: after
    ``kafkalab broker reset`` every event is gone, so the services start empty
    too; a plain restart keeps both.
    """
    from kafkalab import broker

    settings = settings or get_settings()
    base = broker.state_dir() / "orders"
    if settings.local:
        info = broker.ensure()
        return base / f"{prefix or 'default-'}{info.cluster_id}"
    return base / f"{prefix or 'default-'}{'_'.join(settings.brokers or ())}".replace(":", "_")


@dataclass
class OrdersConfig:
    """Everything that varies between runs of the order system.

    Parameters
    ----------
    prefix
        Prepended to every topic (and group) name: lets tests and notebooks
        run side by side on one broker. Empty for the real thing.
    data_dir
        Folder of the services' SQLite files (see :func:`default_data_dir`).
    partitions
        Partitions per topic: the most copies of one service that can share work.
    stock
        Starting stock per product (default: 1000 of each).
    faults
        Injected failures.
    step_timeout_s
        Seconds a saga step may take before it is compensated.
    producer_config, consumer_config
        kafka-python settings of every producer (the services' outboxes and
        the API) and of every service's consumer: see :data:`PRODUCER_CONFIG`
        and :data:`CONSUMER_CONFIG` for what they are tuned for.
    """

    prefix: str = ""
    data_dir: str | Path | None = None
    partitions: int = 3
    stock: dict[str, int] | None = None
    faults: Faults = field(default_factory=Faults)
    step_timeout_s: float = 10.0
    settings: Settings | None = None
    producer_config: dict[str, Any] = field(default_factory=lambda: dict(PRODUCER_CONFIG))
    consumer_config: dict[str, Any] = field(default_factory=lambda: dict(CONSUMER_CONFIG))

    @property
    def topics(self) -> Topics:
        return Topics(self.prefix)

    @property
    def group_prefix(self) -> str:
        return self.prefix

    def path(self) -> Path:
        if self.data_dir is None:
            self.data_dir = default_data_dir(self.prefix, self.settings)
        return Path(self.data_dir)

    def store(self, name: str) -> Store:
        """The store of service ``name`` (or ``"api"``)."""
        return Store(self.path() / f"{name}.db")

    def make_service(self, name: str) -> Service:
        if name not in SERVICES:
            raise ValueError(f"unknown service {name!r}; expected one of {', '.join(SERVICES)}")
        store = self.store(name)
        if name == "inventory":
            return InventoryService(store, stock=self.stock, faults=self.faults)
        if name == "order":
            return OrderService(store, timeout_s=self.step_timeout_s, faults=self.faults)
        return SERVICES[name](store, faults=self.faults)

    def ensure_topics(self) -> None:
        """Create every topic of the contract, and the dead-letter topic."""
        with Admin(self.settings) as admin:
            for name in self.topics.all() + [self.topics.dead_letter]:
                admin.ensure_topic(name, partitions=self.partitions)


def new_order_id() -> str:
    import uuid

    return f"ORD-{uuid.uuid4().hex[:12].upper()}"


def place_order(producer: Producer, customer_id: str, items: list[dict[str, Any]], *,
                topics: Topics = Topics(), order_id: str | None = None,
                wait: bool = True) -> Event:
    """Publish ``OrderPlaced`` (what ``POST /api/orders`` does after validating)."""
    order_id = order_id or new_order_id()
    event = new_event("OrderPlaced", order_id,
                      {"customerId": customer_id, "items": items, "total": order_total(items)},
                      source="api")
    future = producer.send(topics.name("orders"), event.to_record(), key=order_id)
    if wait:
        # The order exists once the broker has it; only then answer the caller.
        future.get(timeout=10)
    return event


class OrderSystem:
    """Start, watch and stop the services of one order system in this process.

    >>> system = OrderSystem(OrdersConfig(prefix="doc-", data_dir="/tmp/doc"))   # no I/O yet
    >>> sorted(system.config.topics.all())[:2]
    ['doc-inventory-commands', 'doc-inventory-events']
    """

    def __init__(self, config: OrdersConfig | None = None) -> None:
        self.config = config or OrdersConfig()
        self.runners: dict[str, ServiceRunner] = {}
        self.threads: dict[str, threading.Thread] = {}
        self._producer: Producer | None = None
        self._reader: Store | None = None

    @property
    def producer(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(self.config.settings, **self.config.producer_config)
        return self._producer

    def start(self, services: Iterable[str] = tuple(SERVICES), *, wait: float | None = 60.0) -> OrderSystem:
        """Create the topics, start each service in a thread, wait until all have partitions."""
        self.config.ensure_topics()
        for name in services:
            self.start_service(name)
        if wait:
            self.wait_ready(wait)
        return self

    def start_service(self, name: str) -> ServiceRunner:
        if name in self.threads and self.threads[name].is_alive():
            raise RuntimeError(f"service {name} is already running")
        runner = ServiceRunner(self.config.make_service(name), self.producer,
                               topics=self.config.topics, group_prefix=self.config.group_prefix,
                               settings=self.config.settings,
                               consumer_config=self.config.consumer_config)
        thread = threading.Thread(target=runner.run, name=f"orders-{name}", daemon=True)
        self.runners[name], self.threads[name] = runner, thread
        thread.start()
        return runner

    def stop_service(self, name: str, timeout: float = 15.0) -> None:
        """Stop one service gracefully (finishes its batch, commits, leaves the group)."""
        self.runners[name].stop()
        self.threads[name].join(timeout)
        self.runners[name].service.store.close()

    def wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        for name, runner in self.runners.items():
            while not runner.ready.wait(0.1):
                if runner.error is not None:
                    raise RuntimeError(f"service {name} failed: {runner.error}") from runner.error
                if time.monotonic() > deadline:
                    raise TimeoutError(f"service {name} did not join its group within {timeout} s")

    def place(self, customer_id: str, items: list[dict[str, Any]], **kw: Any) -> Event:
        return place_order(self.producer, customer_id, items, topics=self.config.topics, **kw)

    # -- reading state -----------------------------------------------------

    def service(self, name: str) -> Service:
        return self.runners[name].service

    def view(self, order_id: str) -> dict[str, Any] | None:
        """The read model's view of one order (``None`` until the projection has it)."""
        if self._reader is None:  # one read connection, kept: opening SQLite costs ~1 ms
            self._reader = self.config.store("projection")
        return self._reader.get(f"order/{order_id}")

    def wait_for(self, order_ids: Iterable[str], timeout: float = 60.0,
                 statuses: tuple[str, ...] = ("completed", "cancelled")) -> dict[str, str]:
        """Block until every order has one of ``statuses`` in the read model; return them all."""
        store = self.config.store("projection")
        wanted = list(order_ids)
        deadline = time.monotonic() + timeout
        try:
            while True:
                views = {i: store.get(f"order/{i}") for i in wanted}
                status = {i: (v or {}).get("status", "missing") for i, v in views.items()}
                if all(s in statuses for s in status.values()):
                    return status
                if time.monotonic() > deadline:
                    left = {i: s for i, s in status.items() if s not in statuses}
                    raise TimeoutError(f"{len(left)} orders not finished after {timeout} s, "
                                       f"e.g. {dict(list(left.items())[:5])}")
                time.sleep(0.1)
        finally:
            store.close()

    def stop(self) -> None:
        """Stop every service (all told at once, then each awaited), then the producer."""
        running = [name for name in self.runners if self.threads[name].is_alive()]
        for name in running:
            self.runners[name].stop()
        for name in running:
            self.stop_service(name)
        if self._producer is not None:
            self._producer.close()
            self._producer = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def __enter__(self) -> OrderSystem:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
