"""Cache invalidation driven by change events.

A read-through cache answers from memory when it can and loads from the
database when it cannot. Its weakness is staleness: after the row changes,
the cache keeps serving the old value. :class:`CacheInvalidator` consumes
``db-changes`` and drops every cache key a change affects, so the next read
loads the new row. Which keys a change affects is a function of the event:
by default the row's own key, ``"<table>:<pk>"``; a cache that also holds,
say, product lists per category needs the category keys of the row *before*
and *after* the change (see :func:`keys_for`).

>>> db = {"products:1": {"id": 1, "price": 10}}
>>> cache = ReadThroughCache(db.get)
>>> cache.get("products:1"), cache.get("products:1"), (cache.hits, cache.misses)
({'id': 1, 'price': 10}, {'id': 1, 'price': 10}, (1, 1))
>>> db["products:1"] = {"id": 1, "price": 12}   # the database changes...
>>> cache.get("products:1")                      # ...and the cache is stale
{'id': 1, 'price': 10}
>>> cache.invalidate("products:1"), cache.get("products:1")
(True, {'id': 1, 'price': 12})
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from kafkalab.cdc.consume import ChangeConsumer
from kafkalab.cdc.envelope import CDC_TOPIC, ChangeEvent, record_key

__all__ = ["CacheInvalidator", "ReadThroughCache", "keys_for", "sqlite_row_loader"]

_MISSING = object()


class ReadThroughCache:
    """A dict in front of a loader, counting hits, misses and invalidations.

    Parameters
    ----------
    loader
        ``loader(key)`` reads the value from the source (the database). A
        ``None`` result (no such row) is cached too.
    """

    def __init__(self, loader: Callable[[str], Any]) -> None:
        self.loader = loader
        self.hits = 0
        self.misses = 0
        self.invalidations = 0
        self._data: dict[str, Any] = {}
        # The invalidator may run on another thread than the readers.
        self._lock = threading.Lock()
        # Bumped by every invalidation; see get().
        self._generation = 0

    def get(self, key: str) -> Any:
        """The cached value, or the loader's answer (then cached)."""
        with self._lock:
            value = self._data.get(key, _MISSING)
            if value is not _MISSING:
                self.hits += 1
                return value
            self.misses += 1
            generation = self._generation
        value = self.loader(key)
        with self._lock:
            # An invalidation that arrived while we were loading may mean we
            # read the row just before it changed: caching that value would
            # keep it stale for good, so only cache when nothing was invalidated.
            if self._generation == generation:
                self._data[key] = value
        return value

    def invalidate(self, key: str) -> bool:
        """Drop one key; True if it was cached."""
        with self._lock:
            self._generation += 1
            if key in self._data:
                del self._data[key]
                self.invalidations += 1
                return True
            return False

    def invalidate_many(self, keys: Iterable[str]) -> int:
        """Drop several keys; return how many were cached."""
        return sum(self.invalidate(k) for k in keys)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._data.clear()

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._data)

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    @property
    def stats(self) -> dict[str, int]:
        return {"size": len(self), "hits": self.hits, "misses": self.misses,
                "invalidations": self.invalidations}


def sqlite_row_loader(db_path: str | os.PathLike) -> Callable[[str], dict[str, Any] | None]:
    """A loader for keys ``"<table>:<pk>"``: ``SELECT`` the row by its primary key.

    The same key format as the change events' record keys, so an invalidator
    can drop exactly the row that changed.
    """
    from kafkalab.cdc.sqlite import _quote, primary_key

    path = os.fspath(db_path)

    def load(key: str) -> dict[str, Any] | None:
        table, _, pk_text = key.partition(":")
        # closing(): sqlite3's own `with` ends the transaction but leaves the
        # connection open, and a loader runs once per cache miss.
        with contextlib.closing(sqlite3.connect(path)) as con:
            con.row_factory = sqlite3.Row
            pk = primary_key(con, table)
            values = pk_text.split(",")
            if len(values) != len(pk):
                raise ValueError(f"cache key {key!r}: table {table!r} has the primary key {pk}")
            where = " AND ".join(f"{_quote(c)} = ?" for c in pk)
            row = con.execute(f"SELECT * FROM {_quote(table)} WHERE {where}", values).fetchone()
        return dict(row) if row is not None else None

    return load


def keys_for(event: ChangeEvent, *, also: Callable[[dict[str, Any]], Iterable[str]] | None = None
             ) -> set[str]:
    """The cache keys a change affects: the row's own key (and its old key, if an
    UPDATE changed the primary key), plus ``also(row)`` for the row before *and*
    after the change.

    >>> e = ChangeEvent.update("products", {"id": 7, "category": "books"},
    ...                        {"id": 7, "category": "games"}, key={"id": 7}, position=9,
    ...                        timestamp=0)
    >>> sorted(keys_for(e))
    ['products:7']
    >>> sorted(keys_for(e, also=lambda row: [f"category:{row['category']}"]))
    ['category:books', 'category:games', 'products:7']
    """
    keys = {event.record_key}
    if event.before is not None:
        # An UPDATE may change the primary key itself: the old key is stale too.
        keys.add(record_key(event.table, {c: event.before.get(c) for c in event.key}))
    if also is not None:
        for image in (event.before, event.after):
            if image is not None:
                keys.update(also(image))
    return keys


class CacheInvalidator(ChangeConsumer):
    """Consume ``db-changes`` and drop the affected keys from a cache.

    Parameters
    ----------
    cache
        A :class:`ReadThroughCache` (anything with ``invalidate_many``).
    keys
        ``keys(event) -> iterable of cache keys``; :func:`keys_for` by default.
    **kw
        :class:`~kafkalab.cdc.consume.ChangeConsumer` options.

    Notes
    -----
    Invalidation is idempotent by nature (dropping a key twice is harmless),
    so re-delivered changes need no dedupe here. ``applied`` counts changes
    that dropped at least one cached key.
    """

    def __init__(self, cache: Any, topic: str = CDC_TOPIC, *,
                 keys: Callable[[ChangeEvent], Iterable[str]] = keys_for, **kw: Any) -> None:
        super().__init__(topic, **kw)
        self.cache = cache
        self.keys = keys
        self.dropped: list[str] = []

    def handle_batch(self, events: Sequence[ChangeEvent]) -> int:
        changed = 0
        for e in events:
            dropped = [k for k in self.keys(e) if self.cache.invalidate(k)]
            self.dropped.extend(dropped)
            changed += bool(dropped)
        return changed
