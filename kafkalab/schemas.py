"""Avro schemas, the Confluent wire format, and a small in-process schema registry.

A record written for a schema registry is framed in the **Confluent wire
format**: one magic byte ``0``, the schema's id as 4 bytes big-endian, then the
Avro binary body (written with fastavro). A reader takes the id from the
record, asks the registry for the writer's schema, and resolves it against its
own (reader) schema by Avro's rules: that is what lets old and new consumers
read each other's records.

:class:`SchemaRegistry` is a **stand-in** for Confluent Schema Registry (no
server of that kind installs from the package registries this course uses).
It lives in one Python process; its methods are named and shaped like
``confluent_kafka.schema_registry.SchemaRegistryClient``'s (``register_schema``,
``get_schema``, ``get_latest_version``, ``set_compatibility``,
``test_compatibility``) and it refuses an incompatible schema as the real one
does, by the rules in :func:`incompatibilities` (records, primitives with
Avro's promotions, enums, arrays, maps, unions).

>>> registry = SchemaRegistry()
>>> v1 = Schema('{"type": "record", "name": "P", "fields": [{"name": "id", "type": "string"}]}')
>>> registry.register_schema("orders-value", v1)
1
>>> data = serialize(registry, "orders-value", {"id": "ORD-1"})
>>> data[:5].hex(), deserialize(registry, data)
('0000000001', {'id': 'ORD-1'})
>>> deserialize(registry, b'{"id": "ORD-1"}')
Traceback (most recent call last):
...
kafkalab.schemas.WireFormatError: magic byte 0x7b ('{'), not 0x00: not the Confluent wire format (it looks like JSON)
"""

from __future__ import annotations

import io
import json
import struct
from dataclasses import dataclass
from typing import Any

import fastavro

__all__ = [
    "COMPATIBILITY_LEVELS",
    "MAGIC_BYTE",
    "IncompatibleSchema",
    "RegisteredSchema",
    "Schema",
    "SchemaRegistry",
    "WireFormatError",
    "deserialize",
    "frame",
    "incompatibilities",
    "serialize",
    "unframe",
]

#: The first byte of every record in the Confluent wire format.
MAGIC_BYTE = 0
#: Which way a new schema must stay readable, as Confluent names it (non-transitive: against the latest).
COMPATIBILITY_LEVELS = ("BACKWARD", "FORWARD", "FULL", "NONE")

_HEADER = struct.Struct(">bI")  # magic byte, schema id (4 bytes, big-endian)


class WireFormatError(ValueError):
    """A record that is not a readable Confluent-framed Avro record; the message says why, in one line."""


class IncompatibleSchema(ValueError):
    """A schema the subject's compatibility level refuses; the message lists each reason."""


@dataclass(frozen=True)
class Schema:
    """A schema as text, like ``confluent_kafka.schema_registry.Schema``."""

    schema_str: str
    schema_type: str = "AVRO"

    def parsed(self) -> Any:
        """The schema as fastavro parses it (raises ``ValueError`` if it is not valid Avro)."""
        if self.schema_type != "AVRO":
            raise ValueError(f"this stand-in registry knows AVRO schemas only, not {self.schema_type}")
        try:
            return fastavro.parse_schema(json.loads(self.schema_str))
        except (ValueError, TypeError, KeyError, fastavro.schema.SchemaParseException) as exc:
            raise ValueError(f"not a valid Avro schema: {exc}") from exc


@dataclass(frozen=True)
class RegisteredSchema:
    """One version of a subject (``get_latest_version`` returns one)."""

    schema_id: int
    subject: str
    version: int
    schema: Schema


class SchemaRegistry:
    """An in-process stand-in for a schema registry: subjects, versions, ids, compatibility.

    Ids are global and start at 1; registering a schema already under a subject
    returns its id again (as Confluent's does). The default level is BACKWARD,
    Confluent's default.
    """

    def __init__(self, default_compatibility: str = "BACKWARD") -> None:
        self._check_level(default_compatibility)
        self.default_compatibility = default_compatibility
        self._by_id: dict[int, Schema] = {}
        self._subjects: dict[str, list[int]] = {}
        self._levels: dict[str, str] = {}

    @staticmethod
    def _check_level(level: str) -> None:
        if level not in COMPATIBILITY_LEVELS:
            raise ValueError(f"unknown compatibility level {level!r}; expected one of {COMPATIBILITY_LEVELS}")

    def set_compatibility(self, subject_name: str, level: str) -> str:
        self._check_level(level)
        self._levels[subject_name] = level
        return level

    def get_compatibility(self, subject_name: str) -> str:
        return self._levels.get(subject_name, self.default_compatibility)

    def register_schema(self, subject_name: str, schema: Schema) -> int:
        """Add ``schema`` as the subject's next version; return its id. Raises
        :class:`IncompatibleSchema` if the subject's level refuses it."""
        parsed = schema.parsed()
        for sid in self._subjects.get(subject_name, []):
            if self._by_id[sid].parsed() == parsed:
                return sid                                  # already registered: same id
        reasons = self._reasons(subject_name, schema)
        if reasons:
            raise IncompatibleSchema(f"{subject_name}: {self.get_compatibility(subject_name)} "
                                     f"compatibility refuses this schema: {'; '.join(reasons)}")
        existing = next((i for i, s in self._by_id.items() if s.parsed() == parsed), None)
        sid = existing if existing is not None else len(self._by_id) + 1
        self._by_id[sid] = schema
        self._subjects.setdefault(subject_name, []).append(sid)
        return sid

    def test_compatibility(self, subject_name: str, schema: Schema) -> bool:
        """Would :meth:`register_schema` accept ``schema`` under the subject's level?"""
        return not self._reasons(subject_name, schema)

    def _reasons(self, subject_name: str, schema: Schema) -> list[str]:
        versions = self._subjects.get(subject_name)
        level = self.get_compatibility(subject_name)
        if not versions or level == "NONE":
            return []
        new, latest = schema.parsed(), self._by_id[versions[-1]].parsed()
        reasons = []
        if level in ("BACKWARD", "FULL"):    # the new schema reads what the latest wrote
            reasons += [f"new reader, old data: {r}" for r in incompatibilities(new, latest)]
        if level in ("FORWARD", "FULL"):     # the latest schema reads what the new one writes
            reasons += [f"old reader, new data: {r}" for r in incompatibilities(latest, new)]
        return reasons

    def get_schema(self, schema_id: int) -> Schema:
        try:
            return self._by_id[schema_id]
        except KeyError:
            raise KeyError(f"schema id {schema_id} is not in the registry") from None

    def get_versions(self, subject_name: str) -> list[int]:
        return list(range(1, len(self._subjects.get(subject_name, [])) + 1))

    def get_latest_version(self, subject_name: str) -> RegisteredSchema:
        versions = self._subjects.get(subject_name)
        if not versions:
            raise KeyError(f"subject {subject_name!r} has no schema")
        return RegisteredSchema(versions[-1], subject_name, len(versions), self._by_id[versions[-1]])


# -- the wire format ----------------------------------------------------------------------------


def frame(schema_id: int, payload: bytes) -> bytes:
    """``0`` + the id as 4 bytes big-endian + the Avro body.

    >>> frame(3, b"body").hex()
    '0000000003626f6479'
    """
    return _HEADER.pack(MAGIC_BYTE, schema_id) + payload


def unframe(data: bytes | None) -> tuple[int, bytes]:
    """``(schema_id, payload)``; raises :class:`WireFormatError` saying what is wrong."""
    if data is None:
        raise WireFormatError("the record has no value (a tombstone?): nothing to decode")
    if len(data) < _HEADER.size:
        raise WireFormatError(f"the record is {len(data)} bytes; the Confluent wire format needs at "
                              f"least {_HEADER.size} (magic byte + 4-byte schema id)")
    magic, schema_id = _HEADER.unpack_from(data)
    if magic != MAGIC_BYTE:
        first = data[:1].decode("latin-1")
        looks = " (it looks like JSON)" if first in "{[" else ""
        raise WireFormatError(f"magic byte 0x{data[0]:02x} ({first!r}), not 0x00: not the "
                              f"Confluent wire format{looks}")
    return schema_id, data[_HEADER.size:]


def serialize(registry: SchemaRegistry, subject: str, record: dict[str, Any],
              schema: Schema | None = None) -> bytes:
    """``record`` in the wire format, written with ``schema`` (registered under ``subject``
    if it is not yet) or with the subject's latest schema."""
    if schema is None:
        latest = registry.get_latest_version(subject)
        schema_id, schema = latest.schema_id, latest.schema
    else:
        schema_id = registry.register_schema(subject, schema)
    out = io.BytesIO()
    try:
        fastavro.schemaless_writer(out, schema.parsed(), record)
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise ValueError(f"record does not fit schema id {schema_id}: {exc}") from exc
    return frame(schema_id, out.getvalue())


def deserialize(registry: SchemaRegistry, data: bytes | None, reader: Schema | None = None) -> dict[str, Any]:
    """Decode a wire-format record: the writer's schema comes from the registry by the id in
    the record; with ``reader``, the result is resolved to that schema (Avro's rules)."""
    schema_id, payload = unframe(data)
    try:
        writer = registry.get_schema(schema_id)
    except KeyError as exc:
        raise WireFormatError(f"schema id {schema_id} is not in the registry: written against "
                              "another registry, or the record is damaged") from exc
    try:
        value = fastavro.schemaless_reader(io.BytesIO(payload), writer.parsed(),
                                           reader.parsed() if reader else None)
    except Exception as exc:  # fastavro raises EOFError, SchemaResolutionError, ...: one reason
        raise WireFormatError(f"the body does not decode with schema id {schema_id}: "
                              f"{type(exc).__name__}: {exc}") from exc
    if not isinstance(value, dict):
        raise WireFormatError(f"schema id {schema_id} is not a record schema")
    return value


# -- compatibility: can a reader schema read what a writer schema wrote? -------------------------

_PROMOTIONS = {("long", "int"), ("float", "int"), ("float", "long"), ("double", "int"),
               ("double", "long"), ("double", "float"), ("string", "bytes"), ("bytes", "string")}


def _kind(schema: Any) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        return str(schema["type"]) if isinstance(schema["type"], str) else _kind(schema["type"])
    return str(schema)


def _name(schema: Any) -> str:
    return str(schema.get("name", "")).rsplit(".", 1)[-1] if isinstance(schema, dict) else ""


def incompatibilities(reader: Any, writer: Any, path: str = "") -> list[str]:
    """Why ``reader`` cannot read data written with ``writer`` (empty: it can).

    Both are parsed schemas (``Schema(...).parsed()``). The Avro rules: a
    reader field the writer lacks needs a default; a writer field the reader
    lacks is skipped; types must match or promote (int to long, float, double;
    string and bytes); enum symbols the writer has must be known to the reader
    (or it needs a default); a union reads a writer branch that one of its own
    branches reads.

    >>> v1 = Schema('{"type": "record", "name": "O", "fields": [{"name": "id", "type": "string"}]}')
    >>> v2 = Schema('{"type": "record", "name": "O", "fields": [{"name": "id", "type": "string"},'
    ...             ' {"name": "currency", "type": "string"}]}')
    >>> incompatibilities(v2.parsed(), v1.parsed())
    ["field 'currency' is missing in the written data and has no default"]
    >>> incompatibilities(v1.parsed(), v2.parsed())
    []
    """
    where = f" at {path}" if path else ""
    rk, wk = _kind(reader), _kind(writer)
    if wk == "union":   # every branch the writer may have used must be readable
        return [r for branch in writer for r in incompatibilities(reader, branch, path)][:1]
    if rk == "union":
        options = [incompatibilities(branch, writer, path) for branch in reader]
        return [] if any(not o for o in options) else [f"no branch of the reader's union reads {wk}{where}"]
    if rk != wk:
        if (rk, wk) in _PROMOTIONS:
            return []
        return [f"{wk} cannot be read as {rk}{where}"]
    if rk == "record":
        if _name(reader) != _name(writer):
            return [f"record {_name(writer)} cannot be read as record {_name(reader)}{where}"]
        written = {f["name"]: f for f in writer["fields"]}
        out = []
        for f in reader["fields"]:
            name = f"{path}.{f['name']}" if path else f["name"]
            if f["name"] in written:
                out += incompatibilities(f["type"], written[f["name"]]["type"], name)
            elif "default" not in f:
                out.append(f"field {name!r} is missing in the written data and has no default")
        return out
    if rk == "enum":
        unknown = [s for s in writer["symbols"] if s not in reader["symbols"]]
        if unknown and "default" not in reader:
            return [f"enum symbols {unknown} are unknown to the reader{where}"]
        return []
    if rk == "array":
        return incompatibilities(reader["items"], writer["items"], f"{path}[]")
    if rk == "map":
        return incompatibilities(reader["values"], writer["values"], f"{path}{{}}")
    if rk == "fixed" and reader.get("size") != writer.get("size"):
        return [f"fixed size {writer.get('size')} cannot be read as size {reader.get('size')}{where}"]
    return []
