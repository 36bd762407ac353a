"""Fan out messages to every connected WebSocket client; a slow one never slows the rest.

Each client gets its own bounded buffer and its own sender task. Publishing
only puts the message into the buffers (it never waits on a socket), so a
stalled browser tab cannot hold back the others, nor grow memory forever:

* a message with a ``key`` (e.g. a window's start) *replaces* the pending one
  with the same key: a slow client skips intermediate values but still gets
  the latest value of every window (this is called conflation);
* when a client's buffer is full anyway, it is emptied and the client is
  marked for a *resync*: its next message is a fresh snapshot of the whole
  state, so it catches up in one step instead of replaying stale updates.

>>> import asyncio
>>> async def demo():
...     hub = Broadcaster(queue_size=3, snapshot=lambda: {"type": "snapshot"})
...     client = hub.connect()
...     for n in range(3):
...         hub.publish({"window": 0, "n": n}, key=0)     # same key: replaced
...     kept = [m["n"] for m in client.pending.values()]
...     for w in range(1, 5):
...         hub.publish({"window": w}, key=w)             # 4 more keys overflow 3
...     return kept, client.resync, client.dropped   # 2 replaced + 4 cleared + 1 skipped
>>> asyncio.run(demo())
([2], True, 7)
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import logging
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Broadcaster", "Client"]

log = logging.getLogger(__name__)


@dataclass
class Client:
    """One connected client: what waits to be sent, and what it has missed."""

    id: int
    pending: collections.OrderedDict = field(default_factory=collections.OrderedDict, repr=False)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event, repr=False)
    resync: bool = False
    sent: int = 0
    dropped: int = 0      # messages never sent (replaced, or cleared by a resync)


class Broadcaster:
    """Publish JSON-able messages from any thread to every client of one event loop.

    Parameters
    ----------
    queue_size
        Messages buffered per client before it is switched to a resync.
    snapshot
        Returns the message that brings a client up to date (the whole table);
        sent first to a client that fell too far behind.
    """

    def __init__(self, queue_size: int = 100,
                 snapshot: Callable[[], dict[str, Any]] | None = None) -> None:
        self.queue_size = queue_size
        self.snapshot = snapshot
        self.clients: dict[int, Client] = {}
        self.published = 0
        self._ids = itertools.count(1)
        self._seq = itertools.count()
        self._loop: asyncio.AbstractEventLoop | None = None

    def connect(self) -> Client:
        """Register a client (call from the event loop that will serve it)."""
        self._loop = asyncio.get_running_loop()
        client = Client(next(self._ids))
        self.clients[client.id] = client
        return client

    def disconnect(self, client: Client) -> None:
        self.clients.pop(client.id, None)

    def publish(self, message: dict[str, Any], key: Hashable | None = None) -> None:
        """Queue ``message`` for every client. Safe to call from any thread.

        Messages with the same ``key`` replace each other while waiting.
        """
        self.published += 1
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # nobody connected yet
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._fan_out(message, key)
        else:
            loop.call_soon_threadsafe(self._fan_out, message, key)

    def _fan_out(self, message: dict[str, Any], key: Hashable | None) -> None:
        slot = ("key", key) if key is not None else ("seq", next(self._seq))
        for client in list(self.clients.values()):
            if client.resync:
                client.dropped += 1     # the coming snapshot will include it
                continue
            if slot in client.pending:
                client.pending.move_to_end(slot)
                client.dropped += 1     # the older value is never sent
            client.pending[slot] = message
            if len(client.pending) > self.queue_size:
                client.dropped += len(client.pending)
                client.pending.clear()
                client.resync = self.snapshot is not None
                log.info("client %d fell behind; it will get a fresh snapshot", client.id)
            client.wakeup.set()

    async def pump(self, client: Client, send: Callable[[Any], Awaitable[Any]]) -> None:
        """Send ``client``'s messages with ``await send(message)`` until it fails."""
        try:
            while True:
                await client.wakeup.wait()
                if client.resync and self.snapshot is not None:
                    client.resync = False
                    message = self.snapshot()
                elif client.pending:
                    _, message = client.pending.popitem(last=False)
                else:
                    client.wakeup.clear()
                    continue
                await send(message)
                client.sent += 1
        finally:
            self.disconnect(client)
