"""Readings stored as a time series in DuckDB, with idempotent inserts.

One table, ``readings``, with the primary key ``(device_id, type, ts)``: a
reading delivered twice (a duplicate send, or a batch re-delivered after a
crash) hits the key and changes nothing, so at-least-once delivery still
stores each reading exactly once. DuckDB runs inside the Python process, in
memory or in a file, and answers time-bucket queries as DataFrames.

>>> from kafkalab.iot.validation import Reading
>>> store = TimeSeriesStore()                # in memory
>>> rs = [Reading("SENSOR-001", "temperature", 20.0 + i, "°C", 1_767_225_600_000 + i * 20_000)
...       for i in range(6)]
>>> store.insert(rs), store.insert(rs)      # the second time: nothing new
(6, 0)
>>> store.downsample("SENSOR-001")[["minute", "mean", "min", "max", "n"]]
               minute  mean   min   max  n
0 2026-01-01 00:00:00  21.0  20.0  22.0  3
1 2026-01-01 00:01:00  24.0  23.0  25.0  3
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import duckdb
import pandas as pd
import pyarrow as pa

from kafkalab.iot.validation import Reading

__all__ = ["TimeSeriesStore"]

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS readings (
    device_id VARCHAR NOT NULL,
    type      VARCHAR NOT NULL,
    ts        TIMESTAMP NOT NULL,   -- UTC
    value     DOUBLE NOT NULL,      -- in the canonical unit of the type
    unit      VARCHAR NOT NULL,
    status    VARCHAR NOT NULL,
    PRIMARY KEY (device_id, type, ts)
)
"""

_COLUMNS = ["device_id", "type", "ts", "value", "unit", "status"]


class TimeSeriesStore:
    """A DuckDB table of readings.

    Parameters
    ----------
    path
        A database file (kept between runs) or ``":memory:"``.
    """

    def __init__(self, path: str | Path = ":memory:") -> None:
        self.path = str(path)
        # DuckDB is in-process: opening a file is local I/O, not network I/O.
        self.con = duckdb.connect(self.path)
        self.con.execute(_SCHEMA)

    def insert(self, readings: Iterable[Reading]) -> int:
        """Store readings; ones already stored are ignored. Returns how many were new."""
        rows = {r.key: r for r in readings}  # duplicates inside one batch, too
        if not rows:
            return 0
        # One Arrow table per batch: DuckDB reads its columns without a copy,
        # and building it costs less than a DataFrame with a datetime column.
        rs = rows.values()
        batch = pa.table({
            "device_id": pa.array([r.device_id for r in rs], pa.string()),
            "type": pa.array([r.type for r in rs], pa.string()),
            "ts": pa.array([r.timestamp_ms for r in rs], pa.timestamp("ms")),
            "value": pa.array([r.value for r in rs], pa.float64()),
            "unit": pa.array([r.unit for r in rs], pa.string()),
            "status": pa.array([r.status for r in rs], pa.string()),
        })
        self.con.register("_batch", batch)
        try:
            # ON CONFLICT DO NOTHING is the idempotence: the first copy wins.
            # The statement's result is the number of rows it inserted.
            (new,), = self.con.execute(f"INSERT INTO readings SELECT {', '.join(_COLUMNS)} "
                                       "FROM _batch ON CONFLICT DO NOTHING").fetchall()
        finally:
            self.con.unregister("_batch")
        return int(new)

    def count(self) -> int:
        """How many readings are stored."""
        # fetchall, not fetchone: DuckDB 2 keeps a half-read result open, and
        # the next register() on this connection then fails.
        return self.con.execute("SELECT count(*) FROM readings").fetchall()[0][0]

    def frame(self, device_id: str | None = None) -> pd.DataFrame:
        """Stored readings (of one device, or all), in time order."""
        where, params = ("WHERE device_id = ?", [device_id]) if device_id else ("", [])
        return self.con.execute(f"SELECT {', '.join(_COLUMNS)} FROM readings {where} "
                                "ORDER BY ts, device_id, type", params).df()

    def keys(self) -> set[tuple[str, str, int]]:
        """Every stored ``(device_id, type, timestamp_ms)``."""
        rows = self.con.execute(
            "SELECT device_id, type, epoch_ms(ts) FROM readings").fetchall()
        return {(d, t, int(ms)) for d, t, ms in rows}

    def downsample(self, device_id: str, type: str | None = None,
                   every: str = "1 minute") -> pd.DataFrame:
        """Mean, min, max and count per ``every`` bucket for one device."""
        where = "device_id = ?" + (" AND type = ?" if type else "")
        params = [every, device_id] + ([type] if type else [])
        return self.con.execute(
            f"""SELECT time_bucket(?::INTERVAL, ts) AS minute, type,
                       avg(value) AS mean, min(value) AS min, max(value) AS max,
                       count(*) AS n
                FROM readings WHERE {where}
                GROUP BY ALL ORDER BY minute, type""", params).df()

    def latest(self) -> pd.DataFrame:
        """The newest reading of each device and type."""
        return self.con.execute(
            """SELECT device_id, type, max(ts) AS ts, arg_max(value, ts) AS value,
                      arg_max(unit, ts) AS unit
               FROM readings GROUP BY device_id, type ORDER BY device_id, type""").df()

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> TimeSeriesStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
