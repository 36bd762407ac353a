"""Serve the API with uvicorn, in the background (notebooks, tests) or in the foreground (``up``).

``up`` is what ``kafkalab orders up`` runs: every service in one process plus
the HTTP API, until Ctrl-C, SIGTERM or ``duration`` seconds.
"""

from __future__ import annotations

import logging
import signal
import threading
from typing import Any

from kafkalab.net import free_port
from kafkalab.orders.system import OrdersConfig, OrderSystem
from kafkalab.serving import ThreadedServer

__all__ = ["ApiServer", "rebuild_read_model", "up"]

log = logging.getLogger(__name__)


class ApiServer(ThreadedServer):
    """The order API on uvicorn in a daemon thread (a free port unless given).

    >>> ApiServer(app=None, port=3000).url        # nothing started yet
    'http://127.0.0.1:3000'
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int | None = None) -> None:
        super().__init__(app, host=host, port=port or free_port(), name="orders-api")

    def start(self, timeout: float = 10.0) -> ApiServer:
        super().start(timeout)
        log.info("API listening on %s (docs at %s/docs)", self.url, self.url)
        return self


def up(port: int = 3000, host: str = "127.0.0.1", duration: float | None = None,
       config: OrdersConfig | None = None, *, services: bool = True) -> None:
    """Run all six services and the HTTP API in this process until stopped.

    Parameters
    ----------
    port, host
        Where the API listens (the course brief uses ``localhost:3000``).
    duration
        Seconds to run; ``None`` runs until Ctrl-C or SIGTERM.
    config
        Topic prefix, data folder, stock, faults (default: the real topics).
    services
        ``False`` serves the API alone (``python -m kafkalab.orders api``), for
        services that run in processes of their own.
    """
    from kafkalab.orders.api import create_app

    system = OrderSystem(config or OrdersConfig())
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    server = None
    try:
        if services:
            system.start()
        else:
            system.config.ensure_topics()
        server = ApiServer(create_app(system.config, system.producer if services else None),
                           host, port).start()
        log.warning("order %s up: POST %s/api/orders, GET %s/api/analytics, docs %s/docs "
                    "(data in %s)", "system" if services else "API", server.url, server.url,
                    server.url, system.config.path())
        stop.wait(duration)
    finally:
        if server is not None:
            server.stop()
        system.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def rebuild_read_model(config: OrdersConfig | None = None) -> int:
    """Throw the read model away and replay it from the event topics (``kafkalab orders rebuild``).

    Returns the number of orders rebuilt. Run it while the projection service
    is stopped, or it will keep writing during the rebuild.
    """
    from kafkalab.orders.projection import rebuild_projection

    config = config or OrdersConfig()
    store = config.store("projection")
    try:
        return rebuild_projection(store, config.topics, settings=config.settings)
    finally:
        store.close()
