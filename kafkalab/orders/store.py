"""A service's state, its processed-event ids and its outbox, in one SQLite file.

Keeping the three together is what makes a handler idempotent *and* safe to
crash: one SQLite transaction records the new state, the id of the event that
caused it, and the events to publish. Either all three are stored or none is.

* Redelivered event (the consumer crashed before committing its offset): its
  id is already in ``processed``, so the handler skips it and the state does
  not change twice.
* Crash after the transaction but before the events reached Kafka: they are
  still in ``outbox`` and are published when the service starts again
  (the *transactional outbox* pattern). Their ids are deterministic, so if
  they had been published after all, the next service drops the copies.

>>> s = Store(":memory:")
>>> with s.transaction():
...     s.put("stock/ITEM-001", 10)
...     s.mark("e-1")
>>> s.get("stock/ITEM-001"), s.seen("e-1"), s.seen("e-2")
(10, True, False)
>>> try:
...     with s.transaction():
...         s.put("stock/ITEM-001", 9)
...         raise RuntimeError("crash in the middle")
... except RuntimeError:
...     pass
>>> s.get("stock/ITEM-001")   # rolled back: all or nothing
10
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["Store"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS processed (event_id TEXT PRIMARY KEY);
CREATE TABLE IF NOT EXISTS outbox (id INTEGER PRIMARY KEY AUTOINCREMENT,
    topic TEXT NOT NULL, key TEXT, value TEXT NOT NULL);
"""


class Store:
    """Key/value state + processed ids + outbox, for one service.

    Parameters
    ----------
    path
        A SQLite file (several copies of a service on one machine may share
        it: writes are serialised by SQLite's lock) or ``":memory:"``.

    Notes
    -----
    Values are JSON. Opening the file is local disk I/O only; no network.
    The connection may be used from one thread at a time (a lock guards it).
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: we issue BEGIN ourselves, so a transaction is
        # exactly the ``with transaction()`` block and nothing else.
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False,
                                   timeout=30.0)
        if self.path != ":memory:":
            # WAL lets the API read while a service writes; synchronous=NORMAL
            # still survives a process crash (only a power cut may lose the
            # last commits), at a fraction of the cost of a full fsync each time.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._lock = threading.RLock()
        self._depth = 0

    @contextlib.contextmanager
    def transaction(self) -> Iterator[Store]:
        """All writes inside commit together, or roll back on an exception.

        Nested inside another, a transaction is a SAVEPOINT: an exception rolls
        back its own writes only, and the rest commits with the outer one. The
        service runner opens one transaction per batch, and each event's
        :meth:`~kafkalab.orders.service.Service.process` nests in it: one commit
        (one write to the WAL) per batch instead of one per event, and a poison
        event still leaves no trace.

        >>> s = Store()
        >>> with s.transaction():
        ...     s.put("a", 1)
        ...     try:
        ...         with s.transaction():
        ...             s.put("b", 2)
        ...             raise ValueError("poison")
        ...     except ValueError:
        ...         pass
        >>> s.get("a"), s.get("b")
        (1, None)
        """
        with self._lock:
            if self._depth:  # nested: a savepoint inside the outer transaction
                name = f"sp{self._depth}"
                self._db.execute(f"SAVEPOINT {name}")
                self._depth += 1
                try:
                    yield self
                except BaseException:
                    self._db.execute(f"ROLLBACK TO {name}")
                    self._db.execute(f"RELEASE {name}")
                    raise
                else:
                    self._db.execute(f"RELEASE {name}")
                finally:
                    self._depth -= 1
                return
            # IMMEDIATE takes the write lock now, so two copies of a service
            # sharing the file cannot both read-then-write the same stock.
            self._db.execute("BEGIN IMMEDIATE")
            self._depth = 1
            try:
                yield self
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            else:
                self._db.execute("COMMIT")
            finally:
                self._depth = 0

    # -- state -------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        with self._lock:
            row = self._db.execute("SELECT value FROM kv WHERE key = ?", (key,)).fetchone()
        return default if row is None else json.loads(row[0])

    def put(self, key: str, value: Any) -> None:
        with self._lock:
            self._db.execute("INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) "
                             "DO UPDATE SET value = excluded.value", (key, json.dumps(value)))

    def delete(self, key: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM kv WHERE key = ?", (key,))

    def items(self, prefix: str = "") -> list[tuple[str, Any]]:
        """``(key, value)`` pairs whose key starts with ``prefix``, sorted by key."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, value FROM kv WHERE substr(key, 1, ?) = ? ORDER BY key",
                (len(prefix), prefix)).fetchall()
        return [(k, json.loads(v)) for k, v in rows]

    # -- deduplication -----------------------------------------------------

    def seen(self, event_id: str) -> bool:
        with self._lock:
            return self._db.execute("SELECT 1 FROM processed WHERE event_id = ?",
                                    (event_id,)).fetchone() is not None

    def mark(self, event_id: str) -> None:
        with self._lock:
            self._db.execute("INSERT OR IGNORE INTO processed (event_id) VALUES (?)", (event_id,))

    def processed_count(self) -> int:
        with self._lock:
            return self._db.execute("SELECT count(*) FROM processed").fetchone()[0]

    # -- outbox ------------------------------------------------------------

    def outbox_add(self, topic: str, key: str | None, value: Any) -> None:
        with self._lock:
            self._db.execute("INSERT INTO outbox (topic, key, value) VALUES (?, ?, ?)",
                             (topic, key, json.dumps(value)))

    def outbox_pending(self, limit: int = 10_000) -> list[tuple[int, str, str | None, Any]]:
        """``(id, topic, key, value)`` not yet confirmed as published, oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT id, topic, key, value FROM outbox ORDER BY id LIMIT ?",
                                    (limit,)).fetchall()
        return [(i, t, k, json.loads(v)) for i, t, k, v in rows]

    def outbox_done(self, ids: list[int]) -> None:
        if not ids:
            return
        # One transaction for them all: outside one, SQLite commits each
        # DELETE on its own (a WAL write per row).
        with self.transaction():
            self._db.executemany("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

    def close(self) -> None:
        with self._lock:
            self._db.close()
