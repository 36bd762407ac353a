"""Serve a web app (FastAPI, any ASGI app) with uvicorn on a background thread.

Notebooks, tests and ``kafkalab orders up`` all need the same thing: start a
server, know when it answers, stop it cleanly. The order API (week 3) and the
live dashboard (week 6) both build on :class:`ThreadedServer`.

>>> ThreadedServer(app=None, port=3000).url      # nothing started yet
'http://127.0.0.1:3000'
"""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any
from urllib.parse import urlsplit

import uvicorn

__all__ = ["BodyLimit", "ThreadedServer", "same_origin"]

log = logging.getLogger(__name__)


class BodyLimit:
    """ASGI middleware: refuse a request body over ``limit`` bytes *while reading it*.

    Checking ``len(await request.body())`` reads the whole body into memory
    first: a 50 MB chunked upload (no Content-Length) costs 50 MB before the
    limit applies. This counts the chunks as they arrive and answers 413 at
    the first byte over the limit; the body it did accept is handed on.
    """

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def _refuse(self, send: Any, size: str) -> None:
        body = json.dumps({"error": f"body: is {size} bytes; the limit is {self.limit}",
                           "field": "body"}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["method"] not in ("POST", "PUT", "PATCH"):
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or ()).get(b"content-length", b"")
        if length.isdigit() and int(length) > self.limit:
            await self._refuse(send, length.decode())
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                await self._refuse(send, f"more than {self.limit}")
                return
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        delivered = False

        async def replay() -> dict:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def same_origin(origin: str | None, host: str | None) -> bool:
    """Does a browser's ``Origin`` header name the host it connected to?

    A WebSocket is not covered by the same-origin policy: any page a learner
    visits could open one to localhost and read the feed. Browsers always send
    ``Origin``; tools that send none (tests, curl) are let in.

    >>> same_origin("http://127.0.0.1:8050", "127.0.0.1:8050"), same_origin(None, "x")
    (True, True)
    >>> same_origin("https://evil.example", "127.0.0.1:8050")
    False
    """
    if origin is None:
        return True
    return urlsplit(origin).netloc.lower() == (host or "").lower()


class ThreadedServer:
    """An ASGI app served by uvicorn on a daemon thread.

    Parameters
    ----------
    app
        The ASGI application.
    host, port
        Where to listen; ``port=0`` picks a free port (read :attr:`url` after
        :meth:`start`).
    name
        The thread's name (shows in stack dumps and logs).
    **config
        Further ``uvicorn.Config`` settings (e.g. ``ws=...``).
    """

    def __init__(self, app: Any, *, host: str = "127.0.0.1", port: int = 0,
                 name: str = "uvicorn", **config: Any) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.name = name
        self._config = config
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 10.0) -> ThreadedServer:
        """Start serving; return once the server accepts connections."""
        # log_config=None: uvicorn would otherwise re-run logging.config, which
        # closes every handler already installed (kafkalab.logs ships through one).
        config = uvicorn.Config(self.app, host=self.host, port=self.port, log_level="warning",
                                lifespan="off", log_config=None, **self._config)
        self._server = uvicorn.Server(config)
        # Signal handlers belong to the main thread's program, not to this server:
        # uvicorn (0.29+) installs them only when it runs in the main thread.
        self._thread = threading.Thread(target=self._server.run, name=self.name, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError(f"{self.name} could not start on {self.url} (is the port taken?)")
            if time.monotonic() > deadline:
                raise TimeoutError(f"{self.name} did not start on {self.url} within {timeout} s")
            time.sleep(0.02)
        self.port = self._server.servers[0].sockets[0].getsockname()[1]
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Stop serving (open connections are closed) within about ``timeout`` seconds."""
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive() and self._server is not None:
                self._server.force_exit = True
                self._thread.join(timeout)
        self._server = self._thread = None

    def __enter__(self) -> ThreadedServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
