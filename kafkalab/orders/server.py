"""Serve the API with uvicorn, in the background (notebooks, tests) or in the foreground (``up``).

``up`` is what ``kafkalab orders up`` runs: every service in one process plus
the HTTP API, until Ctrl-C, SIGTERM or ``duration`` seconds.
"""

from __future__ import annotations

import logging
import signal
import socket
import threading
import time
from typing import Any

import uvicorn

from kafkalab.orders.system import OrderSystem, OrdersConfig

__all__ = ["ApiServer", "free_port", "rebuild_read_model", "up"]

log = logging.getLogger(__name__)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ApiServer:
    """Run a FastAPI app on uvicorn in a daemon thread.

    >>> ApiServer(app=None, port=3000).url        # nothing started yet
    'http://127.0.0.1:3000'
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int | None = None) -> None:
        self.app = app
        self.host = host
        self.port = port or free_port()
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> "ApiServer":
        # log_config=None: uvicorn would otherwise re-run logging.config, which
        # closes every handler already installed (kafkalab.logs ships through one).
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning",
                                lifespan="off", log_config=None)
        self._server = uvicorn.Server(config)
        # uvicorn installs signal handlers only in the main thread; in ours it must not.
        self._server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
        self._thread = threading.Thread(target=self._server.run, name="orders-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"the API server could not start on {self.url} "
                                   "(is the port taken?)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the API server did not start on {self.url} within {timeout} s")
            time.sleep(0.02)
        log.info("API listening on %s (docs at %s/docs)", self.url, self.url)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def __enter__(self) -> "ApiServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def up(port: int = 3000, host: str = "127.0.0.1", duration: float | None = None,
       config: OrdersConfig | None = None) -> None:
    """Run all six services and the HTTP API in this process until stopped.

    Parameters
    ----------
    port, host
        Where the API listens (the course brief uses ``localhost:3000``).
    duration
        Seconds to run; ``None`` runs until Ctrl-C or SIGTERM.
    config
        Topic prefix, data folder, stock, faults (default: the real topics).
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
        system.start()
        server = ApiServer(create_app(system.config, system.producer), host, port).start()
        log.warning("order system up: POST %s/api/orders, GET %s/api/analytics, docs %s/docs "
                    "(data in %s)", server.url, server.url, server.url, system.config.path())
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
