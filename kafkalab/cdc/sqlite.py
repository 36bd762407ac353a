"""Change data capture from SQLite with triggers: the embedded default.

SQLite has no replication log a program could read, so we build one: an AFTER
INSERT/UPDATE/DELETE trigger on each captured table writes the OLD and NEW
rows, as JSON, into a change table ``_cdc_changes``. The trigger runs inside
the transaction that changes the row, so the change and its record are
committed together, or rolled back together: a rolled-back transaction leaves
nothing to publish.

:class:`SQLiteCapture` then reads the change table in id order, publishes each
change to ``db-changes``, waits for the broker, and only then records the last
published id in ``_cdc_offset``. A crash between the two publishes the same
changes again on restart (at-least-once); their ``position`` (the change id)
lets consumers drop the copies.

>>> import sqlite3, tempfile, os
>>> db = os.path.join(tempfile.mkdtemp(), "shop.db")
>>> with sqlite3.connect(db) as con:   # `with` commits; it does not close (below)
...     _ = con.execute("CREATE TABLE products (id INTEGER PRIMARY KEY, name TEXT, price REAL)")
>>> con.close()
>>> capture = SQLiteCapture(db, tables=["products"], producer=None)
>>> capture.install()
>>> with sqlite3.connect(db) as con:
...     _ = con.execute("INSERT INTO products VALUES (1, 'Laptop', 1500)")
...     _ = con.execute("UPDATE products SET price = 1400 WHERE id = 1")
>>> con.close()
>>> [(e.operation, e.before, e.after) for e in capture.pending()]  # doctest: +NORMALIZE_WHITESPACE
[('INSERT', None, {'id': 1, 'name': 'Laptop', 'price': 1500.0}),
 ('UPDATE', {'id': 1, 'name': 'Laptop', 'price': 1500.0}, {'id': 1, 'name': 'Laptop', 'price': 1400.0})]
>>> capture.close()
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
from collections.abc import Iterable
from typing import Any

from kafkalab.cdc.capture import Capture, NoPrimaryKeyError
from kafkalab.cdc.envelope import CDC_TOPIC, ChangeEvent

__all__ = ["SQLiteCapture", "primary_key", "table_columns"]

log = logging.getLogger(__name__)

CHANGES_TABLE = "_cdc_changes"
OFFSET_TABLE = "_cdc_offset"
_OPS = {"ins": "INSERT", "upd": "UPDATE", "del": "DELETE"}


def _quote(name: str) -> str:
    """An SQL identifier, quoted (a column called "order" or "my col" still works)."""
    return '"' + name.replace('"', '""') + '"'


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def table_columns(con: sqlite3.Connection, table: str) -> list[str]:
    """The column names of ``table``, in order (``PRAGMA table_info``)."""
    rows = con.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
    if not rows:
        raise LookupError(f"table {table!r} does not exist in this database")
    return [r[1] for r in rows]


def primary_key(con: sqlite3.Connection, table: str) -> list[str]:
    """The primary-key columns of ``table``, in key order; :class:`NoPrimaryKeyError` if none."""
    rows = con.execute(f"PRAGMA table_info({_quote(table)})").fetchall()
    if not rows:
        raise LookupError(f"table {table!r} does not exist in this database")
    pk = [r[1] for r in sorted(rows, key=lambda r: r[5]) if r[5] > 0]
    if not pk:
        raise NoPrimaryKeyError(
            f"table {table!r} has no primary key: a change event must say which row changed. "
            f"Add one (e.g. `id INTEGER PRIMARY KEY`) before capturing it")
    return pk


def _trigger_sql(table: str, columns: list[str], kind: str) -> str:
    def image(row: str) -> str:
        pairs = ", ".join(f"{_literal(c)}, {row}.{_quote(c)}" for c in columns)
        return f"json_object({pairs})"

    before = image("OLD") if kind in ("upd", "del") else "NULL"
    after = image("NEW") if kind in ("ins", "upd") else "NULL"
    event = {"ins": "INSERT", "upd": "UPDATE", "del": "DELETE"}[kind]
    # julianday('now') is fixed for the whole statement and has ms resolution.
    return (f"CREATE TRIGGER {_quote(f'_cdc_{table}_{kind}')} AFTER {event} ON {_quote(table)} "
            f"BEGIN INSERT INTO {CHANGES_TABLE} (tbl, op, before, after, ts) VALUES "
            f"({_literal(table)}, '{event}', {before}, {after}, "
            f"CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER)); END")


class SQLiteCapture(Capture):
    """Capture the changes of some tables of a SQLite database and publish them.

    Parameters
    ----------
    db_path
        The database file (an in-memory database cannot be shared with the
        program that changes it).
    tables
        The tables to capture; each needs a primary key.
    topic
        Where changes go (``db-changes``).
    producer
        A :class:`kafkalab.clients.Producer` (JSON values). ``None`` creates
        one on the first publish.
    batch_size
        At most this many changes per :meth:`poll_once`.
    prune
        Delete published changes from ``_cdc_changes`` when recording the
        offset, so the change table stays small.

    Notes
    -----
    No I/O happens in the constructor; :meth:`install` (called by the first
    poll) creates the change table and the triggers.
    """

    def __init__(self, db_path: str | os.PathLike, tables: Iterable[str], *,
                 topic: str = CDC_TOPIC, producer: Any = None, batch_size: int = 1000,
                 prune: bool = True) -> None:
        super().__init__(topic=topic, producer=producer, batch_size=batch_size)
        self.db_path = os.fspath(db_path)
        self.tables = list(tables)
        if not self.tables:
            raise ValueError("SQLiteCapture needs at least one table to capture")
        self.prune = prune
        self.source = {"connector": "sqlite", "db": os.path.basename(self.db_path)}
        self._con: sqlite3.Connection | None = None
        self._keys: dict[str, list[str]] = {}

    # -- setup ---------------------------------------------------------------

    @property
    def con(self) -> sqlite3.Connection:
        if self._con is None:
            # isolation_level=None: we open and commit transactions ourselves.
            self._con = sqlite3.connect(self.db_path, isolation_level=None, timeout=30)
        return self._con

    def install(self) -> None:
        """Create ``_cdc_changes``, ``_cdc_offset`` and the triggers; safe to run again.

        Triggers are dropped and re-created from ``PRAGMA table_info``, in one
        transaction, so re-running after adding a column captures it too.
        """
        con = self.con
        keys = {t: primary_key(con, t) for t in self.tables}  # fails before changing anything
        con.execute("BEGIN IMMEDIATE")
        try:
            # AUTOINCREMENT: ids are never reused, even after pruning, so "changes
            # after the last published id" stays right. SQLite has one writer at a
            # time, so ids are handed out in commit order: a reader never sees id 8
            # committed while id 7 is still to come (PostgreSQL sequences differ).
            con.execute(f"CREATE TABLE IF NOT EXISTS {CHANGES_TABLE} ("
                        "id INTEGER PRIMARY KEY AUTOINCREMENT, tbl TEXT NOT NULL, "
                        "op TEXT NOT NULL, before TEXT, after TEXT, ts INTEGER NOT NULL)")
            con.execute(f"CREATE TABLE IF NOT EXISTS {OFFSET_TABLE} ("
                        "topic TEXT PRIMARY KEY, last_id INTEGER NOT NULL)")
            for table in self.tables:
                columns = table_columns(con, table)
                for kind in _OPS:
                    con.execute(f"DROP TRIGGER IF EXISTS {_quote(f'_cdc_{table}_{kind}')}")
                    con.execute(_trigger_sql(table, columns, kind))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self._keys = keys
        log.info("capturing %s in %s", ", ".join(self.tables), self.db_path)

    def snapshot(self) -> int:
        """Queue every current row of the captured tables as an INSERT; return how many.

        A capture only sees changes made after its triggers exist. A consumer
        that builds a copy (the lake) also needs the rows that were already
        there, which is what Debezium's initial snapshot gives. Here it is one
        write transaction: no other change can slip in between, and every
        later change gets a higher position than the snapshot's rows.
        """
        if not self._keys:
            self.install()
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            n = 0
            for table in self.tables:
                columns = table_columns(con, table)
                pairs = ", ".join(f"{_literal(c)}, {_quote(c)}" for c in columns)
                n += con.execute(
                    f"INSERT INTO {CHANGES_TABLE} (tbl, op, before, after, ts) SELECT "
                    f"{_literal(table)}, 'INSERT', NULL, json_object({pairs}), "
                    f"CAST(ROUND((julianday('now') - 2440587.5) * 86400000) AS INTEGER) "
                    f"FROM {_quote(table)} ORDER BY "
                    f"{', '.join(_quote(c) for c in self._keys[table])}").rowcount
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        log.info("snapshot: %d existing rows queued as INSERTs", n)
        return n

    def uninstall(self) -> None:
        """Drop the triggers (the change and offset tables are kept)."""
        for table in self.tables:
            for kind in _OPS:
                self.con.execute(f"DROP TRIGGER IF EXISTS {_quote(f'_cdc_{table}_{kind}')}")
        self._keys = {}

    # -- reading the change table -------------------------------------------

    @property
    def last_published(self) -> int:
        """The id of the last change recorded as published for this topic (0 if none)."""
        row = self.con.execute(f"SELECT last_id FROM {OFFSET_TABLE} WHERE topic = ?",
                               (self.topic,)).fetchone()
        return row[0] if row else 0

    def _event(self, row: tuple) -> ChangeEvent:
        change_id, table, op, before, after, ts = row
        before = json.loads(before) if before is not None else None
        after = json.loads(after) if after is not None else None
        image = after if after is not None else before
        assert image is not None  # the triggers write an after image, a before image or both
        key = {c: image[c] for c in self._keys[table]}
        return ChangeEvent(operation=op, table=table, before=before, after=after, timestamp=ts,
                           key=key, position=change_id, source=dict(self.source))

    def _read(self, limit: int | None) -> tuple[list[ChangeEvent], int | None]:
        if not self._keys:
            self.install()
        rows = self.con.execute(
            f"SELECT id, tbl, op, before, after, ts FROM {CHANGES_TABLE} WHERE id > ? "
            f"AND tbl IN ({','.join('?' * len(self.tables))}) ORDER BY id LIMIT ?",
            (self.last_published, *self.tables, limit or self.batch_size)).fetchall()
        events = [self._event(r) for r in rows]
        return events, (events[-1].position if events else None)

    def _record(self, last_id: int) -> None:
        con = self.con
        con.execute("BEGIN IMMEDIATE")
        try:
            con.execute(f"INSERT INTO {OFFSET_TABLE} (topic, last_id) VALUES (?, ?) "
                        "ON CONFLICT(topic) DO UPDATE SET last_id = excluded.last_id",
                        (self.topic, last_id))
            if self.prune:
                con.execute(f"DELETE FROM {CHANGES_TABLE} WHERE id <= ? "
                            f"AND tbl IN ({','.join('?' * len(self.tables))})",
                            (last_id, *self.tables))
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the database connection (and the producer, if this capture made it)."""
        if self._con is not None:
            self._con.close()
            self._con = None
        super().close()
