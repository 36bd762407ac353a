"""A small data lake kept in sync by applying change events: Parquet + DuckDB.

The lake is merge-on-read, like Apache Hudi's MOR tables or Iceberg's
position deletes in spirit, at toy scale. Applying a batch *appends* one
Parquet file per table holding the changed rows, each with four bookkeeping
columns: ``_cdc_key`` (the record key), ``_cdc_position``, ``_cdc_op`` and
``_cdc_ts``. Nothing is rewritten, so applying is cheap. Reading merges: a
DuckDB view keeps, per key, the row with the highest position and drops the
keys whose latest change is a DELETE. :meth:`Lake.compact` rewrites a table's
files into one when there are many.

Applying is idempotent: the lake remembers the latest position per key and
skips a change it has already applied (or an older one), so a batch applied
twice, e.g. re-delivered after a crash, changes nothing.

>>> import tempfile
>>> from kafkalab.cdc.envelope import ChangeEvent
>>> src = {"connector": "sqlite", "db": "shop.db"}
>>> lake = Lake(tempfile.mkdtemp())
>>> events = [
...     ChangeEvent.insert("products", {"id": 1, "price": 10}, key={"id": 1}, position=1,
...                        timestamp=0, source=src),
...     ChangeEvent.insert("products", {"id": 2, "price": 20}, key={"id": 2}, position=2,
...                        timestamp=0, source=src),
...     ChangeEvent.update("products", {"id": 1, "price": 10}, {"id": 1, "price": 11},
...                        key={"id": 1}, position=3, timestamp=0, source=src),
...     ChangeEvent.delete("products", {"id": 2, "price": 20}, key={"id": 2}, position=4,
...                        timestamp=0, source=src)]
>>> lake.apply(events), lake.apply(events)   # the second time: all duplicates
(4, 0)
>>> lake.rows("products")
[{'id': 1, 'price': 11}]
"""

from __future__ import annotations

import logging
import os
import uuid
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from kafkalab.cdc.consume import ChangeConsumer
from kafkalab.cdc.envelope import CDC_TOPIC, ChangeEvent

__all__ = ["META_COLUMNS", "Lake", "LakeApplier"]

log = logging.getLogger(__name__)

#: Bookkeeping columns in every Parquet file of the lake.
META_COLUMNS = ("_cdc_key", "_cdc_position", "_cdc_op", "_cdc_ts")


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _column(values: list[Any]) -> Any:
    import pyarrow as pa

    try:
        return pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        # Mixed types in one column (e.g. 7 and "7"): keep them as text rather
        # than lose the batch. DuckDB unifies the files' types when reading.
        return pa.array([None if v is None else str(v) for v in values], pa.string())


def _with_key_moves(events: Iterable[ChangeEvent]) -> Iterator[tuple[ChangeEvent, bool]]:
    """``(event, derived)``: the events, each UPDATE that changed the primary key
    preceded by a derived DELETE of the old key.

    ``UPDATE products SET id = 9 WHERE id = 1`` arrives as one UPDATE keyed
    ``products:9``; without the DELETE, row 1 would stay in the lake for good.
    Debezium emits the same pair. The DELETE takes the UPDATE's position, so
    the per-key dedupe still orders it against every other change of row 1.
    """
    for e in events:
        if e.operation == "UPDATE" and e.before is not None:
            old_key = {c: e.before.get(c) for c in e.key}
            if old_key != e.key:
                yield ChangeEvent.delete(e.table, e.before, key=old_key, position=e.position,
                                         timestamp=e.timestamp, source=e.source), True
        yield e, False


class Lake:
    """A directory of Parquet files per table, queried with DuckDB.

    Parameters
    ----------
    root
        The lake's directory: ``<root>/<table>/*.parquet``.
    """

    def __init__(self, root: str | os.PathLike) -> None:
        self.root = Path(root)
        self._latest: dict[str, dict[str, int]] = {}

    # -- layout ----------------------------------------------------------------

    def _dir(self, table: str) -> Path:
        if not table or "/" in table or table.startswith("."):
            raise ValueError(f"table name {table!r} cannot be a lake directory")
        return self.root / table

    def files(self, table: str) -> list[Path]:
        """The table's Parquet files, oldest first."""
        d = self._dir(table)
        return sorted(d.glob("*.parquet")) if d.is_dir() else []

    def tables(self) -> list[str]:
        """Tables that have at least one file."""
        if not self.root.is_dir():
            return []
        return sorted(p.name for p in self.root.iterdir() if p.is_dir() and self.files(p.name))

    # -- applying ----------------------------------------------------------------

    def latest_positions(self, table: str) -> dict[str, int]:
        """Latest applied position per record key (read from the files once, then kept)."""
        if table not in self._latest:
            latest: dict[str, int] = {}
            files = self.files(table)
            if files:
                con = self.connect(views=False)
                try:
                    rows = con.execute(
                        f"SELECT _cdc_key, max(_cdc_position) FROM read_parquet("
                        f"[{', '.join(_sql_str(str(f)) for f in files)}], union_by_name = true) "
                        "GROUP BY _cdc_key").fetchall()
                finally:
                    con.close()
                latest = {k: int(p) for k, p in rows}
            self._latest[table] = latest
        return self._latest[table]

    def apply(self, events: Iterable[ChangeEvent]) -> int:
        """Append the new changes; return how many were new (the rest are skipped).

        A change is new when its position is above the latest one applied for
        its key. One file is written per table, atomically (a temporary name,
        then a rename), *before* the in-memory index is updated: a crash
        mid-way leaves either the whole file or none of it.
        """
        by_table: dict[str, list[ChangeEvent]] = defaultdict(list)
        fresh: dict[str, int] = {}
        applied = 0
        for e, derived in _with_key_moves(events):
            latest = self.latest_positions(e.table)
            seen = max(latest.get(e.record_key, -1), fresh.get(e.record_key, -1))
            if e.position <= seen:
                continue  # already applied, or older than what is applied
            fresh[e.record_key] = e.position
            by_table[e.table].append(e)
            applied += not derived  # count the changes we were given, not the derived ones
        for table, changes in by_table.items():
            self._write(table, changes)
            latest = self.latest_positions(table)
            for e in changes:
                latest[e.record_key] = max(latest.get(e.record_key, -1), e.position)
        return applied

    def _write(self, table: str, changes: Sequence[ChangeEvent]) -> Path:
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns: dict[str, None] = {}
        for e in changes:
            columns.update(dict.fromkeys(e.row))
        data = {
            "_cdc_key": pa.array([e.record_key for e in changes], pa.string()),
            "_cdc_position": pa.array([e.position for e in changes], pa.int64()),
            "_cdc_op": pa.array([e.operation for e in changes], pa.string()),
            "_cdc_ts": pa.array([e.timestamp for e in changes], pa.int64()),
        }
        for c in columns:
            data[c] = _column([e.row.get(c) for e in changes])
        d = self._dir(table)
        d.mkdir(parents=True, exist_ok=True)
        first, last = min(e.position for e in changes), max(e.position for e in changes)
        path = d / f"{first:020d}-{last:020d}-{uuid.uuid4().hex[:8]}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        pq.write_table(pa.table(data), tmp)
        os.replace(tmp, path)  # atomic: readers never see half a file
        return path

    # -- reading -------------------------------------------------------------------

    def current_sql(self, table: str) -> str:
        """The SQL of the table's current state: latest change per key, deletes dropped."""
        glob = _sql_str(str(self._dir(table) / "*.parquet"))
        meta = ", ".join(META_COLUMNS)
        return (f"SELECT * EXCLUDE ({meta}, _cdc_rank) FROM (SELECT *, row_number() OVER "
                f"(PARTITION BY _cdc_key ORDER BY _cdc_position DESC) AS _cdc_rank "
                f"FROM read_parquet({glob}, union_by_name = true)) "
                f"WHERE _cdc_rank = 1 AND _cdc_op <> 'DELETE'")

    def connect(self, *, views: bool = True) -> Any:
        """An in-memory DuckDB connection with one view per table.

        ``<table>`` is the current state, ``<table>_changes`` every applied
        change with its bookkeeping columns.
        """
        import duckdb

        con = duckdb.connect()
        if views:
            for table in self.tables():
                glob = _sql_str(str(self._dir(table) / "*.parquet"))
                con.execute(f"CREATE VIEW {_ident(table)} AS {self.current_sql(table)}")
                con.execute(f"CREATE VIEW {_ident(table + '_changes')} AS SELECT * FROM "
                            f"read_parquet({glob}, union_by_name = true) ORDER BY _cdc_position")
        return con

    def query(self, sql: str) -> Any:
        """Run SQL over the lake's views; a pandas DataFrame."""
        con = self.connect()
        try:
            return con.execute(sql).df()
        finally:
            con.close()

    def rows(self, table: str) -> list[dict[str, Any]]:
        """The table's current rows as dicts, sorted by their columns left to right."""
        if not self.files(table):
            return []
        con = self.connect(views=False)
        try:
            cur = con.execute(f"SELECT * FROM ({self.current_sql(table)}) ORDER BY ALL")
            names = [d[0] for d in cur.description]
            out = [dict(zip(names, r, strict=False)) for r in cur.fetchall()]
        finally:
            con.close()
        return out

    # -- compaction -----------------------------------------------------------------

    def compact(self, table: str) -> int:
        """Rewrite a table's files as one; return how many files it replaced.

        The new file keeps the latest change per key, *including* deletes: the
        tombstones tell a re-delivered old change that its row is gone, so it
        cannot come back to life. The old files are removed only after the new
        one is in place; a crash in between leaves duplicates, which the view
        and the index both ignore. Do not run it while an applier writes to the
        same table.
        """
        files = self.files(table)
        if len(files) < 2:
            return 0
        d = self._dir(table)
        listed = ", ".join(_sql_str(str(f)) for f in files)
        last = max(self.latest_positions(table).values())
        path = d / f"{0:020d}-{last:020d}-compacted-{uuid.uuid4().hex[:8]}.parquet"
        tmp = path.with_suffix(".parquet.tmp")
        con = self.connect(views=False)
        try:
            con.execute(
                f"COPY (SELECT * EXCLUDE (_cdc_rank) FROM (SELECT *, row_number() OVER "
                f"(PARTITION BY _cdc_key ORDER BY _cdc_position DESC) AS _cdc_rank "
                f"FROM read_parquet([{listed}], union_by_name = true)) WHERE _cdc_rank = 1 "
                f"ORDER BY _cdc_position) TO {_sql_str(str(tmp))} (FORMAT parquet)")
        finally:
            con.close()
        os.replace(tmp, path)
        for f in files:
            f.unlink()
        log.info("compacted %s: %d files into %s", table, len(files), path.name)
        return len(files)


class LakeApplier(ChangeConsumer):
    """Consume ``db-changes`` and apply every change to a :class:`Lake`.

    Parameters
    ----------
    lake
        A :class:`Lake` or its directory.
    **kw
        :class:`~kafkalab.cdc.consume.ChangeConsumer` options (``topic``,
        ``group_id``, ``from_beginning``, ``dead_letter_topic``, ...).
    """

    def __init__(self, lake: Lake | str | os.PathLike, topic: str = CDC_TOPIC,
                 **kw: Any) -> None:
        super().__init__(topic, **kw)
        self.lake = lake if isinstance(lake, Lake) else Lake(lake)

    def handle_batch(self, events: Sequence[ChangeEvent]) -> int:
        return self.lake.apply(events)
