"""Fan out messages to every connected WebSocket client; a slow one never slows the rest.

Each client gets its own bounded queue and its own sender task. Publishing
only puts the message into the queues (it never waits on a socket); when a
client's queue is full, its *oldest* message is dropped and counted. A
dashboard wants the newest numbers, so dropping old ones is the right loss,
and a stalled browser tab cannot hold back the others or grow memory forever.

>>> import asyncio
>>> async def demo():
...     hub = Broadcaster(queue_size=2)
...     fast, slow = hub.connect(), hub.connect()
...     for i in range(3):
...         hub.publish({"n": i})
...         await asyncio.sleep(0)
...     got = [fast.queue.get_nowait()["n"] for _ in range(fast.queue.qsize())]
...     return got, slow.dropped
>>> asyncio.run(demo())
([1, 2], 1)
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Broadcaster", "Client"]

log = logging.getLogger(__name__)


@dataclass
class Client:
    """One connected client: its queue and how many messages it lost."""

    id: int
    queue: asyncio.Queue = field(repr=False)
    sent: int = 0
    dropped: int = 0


class Broadcaster:
    """Publish JSON-able messages from any thread to every client of one event loop.

    Parameters
    ----------
    queue_size
        Messages held per client before the oldest is dropped.
    """

    def __init__(self, queue_size: int = 100) -> None:
        self.queue_size = queue_size
        self.clients: dict[int, Client] = {}
        self.published = 0
        self._ids = itertools.count(1)
        self._loop: asyncio.AbstractEventLoop | None = None

    def connect(self) -> Client:
        """Register a client (call from the event loop that will serve it)."""
        self._loop = asyncio.get_running_loop()
        client = Client(next(self._ids), asyncio.Queue(maxsize=self.queue_size))
        self.clients[client.id] = client
        return client

    def disconnect(self, client: Client) -> None:
        self.clients.pop(client.id, None)

    def publish(self, message: dict[str, Any]) -> None:
        """Queue ``message`` for every client. Safe to call from any thread."""
        self.published += 1
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # nobody connected yet
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._fan_out(message)
        else:
            loop.call_soon_threadsafe(self._fan_out, message)

    def _fan_out(self, message: dict[str, Any]) -> None:
        for client in list(self.clients.values()):
            if client.queue.full():
                client.queue.get_nowait()  # drop the oldest: the newest matters most
                client.dropped += 1
            client.queue.put_nowait(message)

    async def pump(self, client: Client, send: Any) -> None:
        """Send ``client``'s queued messages with ``await send(message)`` until it fails."""
        try:
            while True:
                message = await client.queue.get()
                await send(message)
                client.sent += 1
        finally:
            self.disconnect(client)
