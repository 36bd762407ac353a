"""Change data capture (week 7): database changes as events on ``db-changes``.

Triggers (SQLite) or logical decoding (PostgreSQL) capture every INSERT,
UPDATE and DELETE with the row before and after; each change is published as a
:class:`ChangeEvent` keyed by table and primary key. Consumers apply them to a
Parquet data lake queried with DuckDB and drop the cache entries they affect.
"""

from kafkalab.cdc.cache import CacheInvalidator, ReadThroughCache, keys_for, sqlite_row_loader
from kafkalab.cdc.capture import Capture, CaptureStats, NoPrimaryKeyError
from kafkalab.cdc.consume import ChangeConsumer, ConsumeStats, parse
from kafkalab.cdc.envelope import CDC_TOPIC, OPERATIONS, ChangeEvent, record_key
from kafkalab.cdc.lake import META_COLUMNS, Lake, LakeApplier
from kafkalab.cdc.pgserver import PGServer, PostgresUnavailable
from kafkalab.cdc.pgserver import unavailable as postgres_unavailable
from kafkalab.cdc.postgres import PostgresCapture, lsn_to_int
from kafkalab.cdc.shop import SHOP_TABLES, create_shop, random_changes, table_rows
from kafkalab.cdc.sqlite import SQLiteCapture, primary_key, table_columns

__all__ = [
    "CDC_TOPIC",
    "CacheInvalidator",
    "Capture",
    "CaptureStats",
    "ChangeConsumer",
    "ChangeEvent",
    "ConsumeStats",
    "Lake",
    "LakeApplier",
    "META_COLUMNS",
    "NoPrimaryKeyError",
    "OPERATIONS",
    "PGServer",
    "PostgresCapture",
    "PostgresUnavailable",
    "ReadThroughCache",
    "SHOP_TABLES",
    "SQLiteCapture",
    "create_shop",
    "keys_for",
    "lsn_to_int",
    "parse",
    "postgres_unavailable",
    "primary_key",
    "random_changes",
    "record_key",
    "sqlite_row_loader",
    "table_columns",
    "table_rows",
]
