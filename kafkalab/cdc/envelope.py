"""The change event: one row changed in a database, as published to ``db-changes``.

The course brief asks for ``{operation, table, before, after, timestamp}``.
Like Debezium's envelope, ``before`` is the row before the change and
``after`` the row after it: an INSERT has no ``before``, a DELETE no
``after``, an UPDATE has both. Three fields make the stream usable downstream:

* ``key``: the row's primary key, so consumers know which row changed;
* ``position``: where the change sits in the source's change log (the SQLite
  change-table id, the PostgreSQL LSN). It only grows for a row, so a consumer
  that sees a position it already applied knows it is a re-delivery;
* ``source``: which database it came from.

>>> e = ChangeEvent.insert("products", {"id": 7, "name": "Laptop", "price": 1500},
...                        key={"id": 7}, position=12, timestamp=1_700_000_000_000,
...                        source={"connector": "sqlite", "db": "shop.db"})
>>> e.record_key, e.eventId
('products:7', 'sqlite:shop.db:12')
>>> ChangeEvent.from_record(e.to_record()) == e
True
>>> ChangeEvent.from_record({"operation": "UPSERT"})
Traceback (most recent call last):
...
ValueError: change event: field 'operation' is 'UPSERT'; expected one of INSERT, UPDATE, DELETE
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kafkalab.clients.serdes import MAX_INT64, loads_json, unstorable

__all__ = ["CDC_TOPIC", "OPERATIONS", "RESERVED_PREFIX", "ChangeEvent", "record_key"]

#: The topic name the course brief uses.
CDC_TOPIC = "db-changes"
#: The three kinds of change.
OPERATIONS = ("INSERT", "UPDATE", "DELETE")

#: Column names the lake adds to every row (``_cdc_key``, ``_cdc_rank``, ...).
RESERVED_PREFIX = "_cdc_"
_IDENT = r"[A-Za-z_][A-Za-z0-9_]{0,62}"
_TABLE = re.compile(rf"{_IDENT}(\.{_IDENT})?")
_COLUMN = re.compile(_IDENT)


def record_key(table: str, key: dict[str, Any]) -> str:
    """The Kafka record key of a row: ``"<table>:<pk>"``.

    Every change of one row gets the same key, so all of them land on one
    partition, in the order they were published. Composite keys join their
    values with commas, in primary-key order.

    >>> record_key("products", {"id": 7})
    'products:7'
    >>> record_key("order_items", {"order_id": 3, "line": 2})
    'order_items:3,2'
    """
    return f"{table}:{','.join(str(v) for v in key.values())}"


def _field(data: dict[str, Any], name: str, types: type | tuple[type, ...],
           optional: bool = False) -> Any:
    if name not in data:
        raise ValueError(f"change event: field {name!r} is missing")
    value = data[name]
    if value is None and optional:
        return None
    # bool is an int in Python, but a position or timestamp of True is a mistake.
    if not isinstance(value, types) or (isinstance(value, bool) and types is int):
        names = types.__name__ if isinstance(types, type) else " or ".join(t.__name__ for t in types)
        raise ValueError(f"change event: field {name!r} is {value!r}; expected {names}"
                         + (" or null" if optional else ""))
    return value


@dataclass(frozen=True)
class ChangeEvent:
    """One row change.

    Parameters
    ----------
    operation
        ``"INSERT"``, ``"UPDATE"`` or ``"DELETE"``.
    table
        The table's name (``schema.table`` outside PostgreSQL's ``public``).
    before, after
        The row as a dict of column values before and after the change
        (``None`` where there is no such row).
    timestamp
        When the change happened in the database, in ms since the epoch.
    key
        The primary-key columns and values.
    position
        The change's position in the source's log: only grows for a row.
    source
        ``{"connector": "sqlite" | "postgresql", "db": <database name>}``.
    """

    operation: str
    table: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    timestamp: int
    key: dict[str, Any]
    position: int
    source: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.operation not in OPERATIONS:
            raise ValueError(f"change event: field 'operation' is {self.operation!r}; expected "
                             f"one of {', '.join(OPERATIONS)}")
        need_before = self.operation in ("UPDATE", "DELETE")
        need_after = self.operation in ("INSERT", "UPDATE")
        for name, needed in (("before", need_before), ("after", need_after)):
            value = getattr(self, name)
            if needed and not isinstance(value, dict):
                raise ValueError(f"change event: field {name!r} must be a row (a JSON object) "
                                 f"for {self.operation}, not {value!r}")
            if not needed and value is not None:
                raise ValueError(f"change event: field {name!r} must be null for "
                                 f"{self.operation}")
        if not self.key:
            raise ValueError("change event: field 'key' is empty; a change needs the row's "
                             "primary key")
        # What reaches the lake becomes a directory name and SQL: check it here,
        # before any side effect, so a bad record is dead-lettered, not applied.
        if not isinstance(self.table, str) or not _TABLE.fullmatch(self.table):
            raise ValueError(f"change event: field 'table' is {self.table!r}; expected a table "
                             "name: letters, digits and '_' (up to 63), optionally schema.table")
        for name in ("timestamp", "position"):
            value = getattr(self, name)
            if not 0 <= value <= MAX_INT64:
                raise ValueError(f"change event: field {name!r} is {value}; expected 0 to 2**63-1")
        for name in ("key", "before", "after"):
            row = getattr(self, name)
            for column in row or ():
                if not isinstance(column, str) or not _COLUMN.fullmatch(column):
                    raise ValueError(f"change event: {name} column {column!r} is not a column "
                                     "name: letters, digits and '_', up to 63")
                if column.startswith(RESERVED_PREFIX):
                    raise ValueError(f"change event: {name} column {column!r}: names starting "
                                     f"with {RESERVED_PREFIX!r} are the lake's own")
            reason = unstorable(row, name)
            if reason:
                raise ValueError(f"change event: {reason}")

    # -- constructors ------------------------------------------------------

    @classmethod
    def insert(cls, table: str, after: dict[str, Any], **kw: Any) -> ChangeEvent:
        """An INSERT: ``before`` is ``None``."""
        return cls("INSERT", table, None, after, **kw)

    @classmethod
    def update(cls, table: str, before: dict[str, Any], after: dict[str, Any],
               **kw: Any) -> ChangeEvent:
        """An UPDATE: both images."""
        return cls("UPDATE", table, before, after, **kw)

    @classmethod
    def delete(cls, table: str, before: dict[str, Any], **kw: Any) -> ChangeEvent:
        """A DELETE: ``after`` is ``None``."""
        return cls("DELETE", table, before, None, **kw)

    # -- derived -----------------------------------------------------------

    @property
    def record_key(self) -> str:
        """The Kafka record key, ``"<table>:<pk>"`` (see :func:`record_key`)."""
        return record_key(self.table, self.key)

    @property
    def eventId(self) -> str:  # noqa: N802 - the JSON field name learners see
        """``"<connector>:<db>:<position>"``: the same change always has the same id."""
        return f"{self.source.get('connector', '?')}:{self.source.get('db', '?')}:{self.position}"

    @property
    def row(self) -> dict[str, Any]:
        """The row as it is now: ``after``, or ``before`` for a DELETE."""
        # __post_init__ checked that every operation carries after or before (a DELETE).
        return self.after if self.after is not None else self.before  # type: ignore[return-value]

    # -- JSON --------------------------------------------------------------

    def to_record(self) -> dict[str, Any]:
        """The JSON body published to the topic (the brief's five fields first)."""
        return {"operation": self.operation, "table": self.table, "before": self.before,
                "after": self.after, "timestamp": self.timestamp, "key": self.key,
                "position": self.position, "source": self.source, "eventId": self.eventId}

    @classmethod
    def from_record(cls, data: Any) -> ChangeEvent:
        """Parse a published body; a malformed one raises ``ValueError`` naming the field.

        ``data`` may also be the JSON text or bytes.
        """
        if isinstance(data, (bytes, bytearray)):
            data = data.decode("utf-8", "replace")
        if isinstance(data, str):
            try:
                data = loads_json(data)
            except ValueError as exc:
                raise ValueError(f"change event: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise ValueError(f"change event: expected a JSON object, got {type(data).__name__}")
        op = data.get("operation")
        if op not in OPERATIONS:
            if "operation" not in data:
                raise ValueError("change event: field 'operation' is missing")
            raise ValueError(f"change event: field 'operation' is {op!r}; expected one of "
                             f"{', '.join(OPERATIONS)}")
        return cls(
            operation=op,
            table=_field(data, "table", str),
            before=_field(data, "before", dict, optional=True),
            after=_field(data, "after", dict, optional=True),
            timestamp=_field(data, "timestamp", int),
            key=_field(data, "key", dict),
            position=_field(data, "position", int),
            source=_field(data, "source", dict),
        )
