"""Serializers and deserializers: how Python values become Kafka bytes and back.

Kafka stores bytes. kafkalab names three formats: ``"json"`` (the default for
values), ``"str"`` (UTF-8 text, the default for keys) and ``"raw"`` (bytes as
they are). ``None`` always maps to ``None``: a null value is a tombstone.

>>> to_bytes("json", {"orderId": "A-1", "total": 1500})
b'{"orderId":"A-1","total":1500}'
>>> from_bytes("json", b'{"ok": true}')
{'ok': True}
>>> from_bytes("json", b'{"ok": tru')
Traceback (most recent call last):
...
kafkalab.clients.serdes.DeserializationError: not valid JSON: Expecting value: line 1 column 8 (char 7)
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import math
import uuid
from typing import Any, Literal

__all__ = ["DeserializationError", "Format", "SerializationError", "from_bytes", "loads_json",
           "to_bytes", "unstorable"]

#: The widest integer the course's sinks hold (SQLite, DuckDB BIGINT, Parquet int64).
MAX_INT64 = 2**63 - 1

Format = Literal["json", "str", "raw"]


class SerializationError(TypeError):
    """A value could not be turned into bytes in the chosen format."""


class DeserializationError(ValueError):
    """Bytes read from Kafka are not valid in the expected format.

    A consumer loop sends such a record to the dead-letter topic with this
    message as the reason, instead of crashing or dropping it.
    """


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (_dt.datetime, _dt.date)):
        return obj.isoformat()
    if isinstance(obj, decimal.Decimal):
        return float(obj)
    if isinstance(obj, uuid.UUID):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON serializable")


def to_bytes(fmt: Format, value: Any) -> bytes | None:
    """Encode ``value`` in format ``fmt``."""
    if value is None:
        return None
    if fmt == "json":
        try:
            return json.dumps(value, separators=(",", ":"), default=_json_default,
                              allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise SerializationError(f"cannot encode as JSON: {exc}") from exc
    if fmt == "str":
        if isinstance(value, bytes):
            return value
        return str(value).encode()
    if fmt == "raw":
        if not isinstance(value, (bytes, bytearray, memoryview)):
            raise SerializationError(f"raw format needs bytes; got {type(value).__name__}")
        return bytes(value)
    raise ValueError(f"unknown format {fmt!r}; expected 'json', 'str' or 'raw'")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number (JSON has no NaN or Infinity)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} does not fit a 64-bit float")
    return value


# One decoder for every record: json.loads with options builds a new one per
# call, which cost 1.3 of 2.9 us for a small log record. Checking each float in
# Python costs about 0.15 us a float; a regular expression that looked for the
# floats that could overflow (to skip the check) cost more than that: 1.8 us a record.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant, parse_float=_finite)


def loads_json(text: str) -> Any:
    """JSON as the standard defines it, which Python's reader does not enforce.

    ``json.loads`` accepts ``NaN`` and ``Infinity`` and turns ``1e400`` into
    ``inf``: values no other JSON reader accepts, that ``json.dumps(...,
    allow_nan=False)`` then refuses to write back, and that poison every sum
    they enter. Deep nesting raises RecursionError there; here a ValueError.

    >>> loads_json('{"amount": 1.5}')
    {'amount': 1.5}
    >>> loads_json('{"amount": NaN}')
    Traceback (most recent call last):
    ...
    ValueError: NaN is not a JSON number (JSON has no NaN or Infinity)
    """
    if text.startswith("\ufeff"):  # what json.loads says, which the decoder alone does not
        raise json.JSONDecodeError("Unexpected UTF-8 BOM (decode using utf-8-sig)", text, 0)
    try:
        return _DECODER.decode(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def unstorable(value: Any, where: str = "value") -> str | None:
    """Why a decoded JSON value cannot be stored or re-sent, or ``None`` if it can.

    JSON integers have no size limit, but SQLite, DuckDB and Parquet stop at
    64 bits (and ``float()`` of a 400-digit integer raises OverflowError);
    non-finite floats cannot be written back as JSON; a NUL byte in text
    truncates it in C libraries. Checked at the edge, before any side effect.

    >>> unstorable({"id": 1, "tags": ["a", 2**70]}, "row")
    'row.tags[1]: an integer of 71 bits; at most 64'
    >>> unstorable({"ok": [1.5, "text", None, True]}) is None
    True
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        if -MAX_INT64 - 1 <= value <= MAX_INT64:
            return None
        return f"{where}: an integer of {value.bit_length()} bits; at most 64"
    if isinstance(value, float):
        return None if math.isfinite(value) else f"{where}: {value} is not a finite number"
    if isinstance(value, str):
        return f"{where}: text contains a NUL byte" if "\x00" in value else None
    if isinstance(value, dict):
        for k, v in value.items():
            reason = unstorable(v, f"{where}.{k}")
            if reason:
                return reason
        return None
    if isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            reason = unstorable(v, f"{where}[{i}]")
            if reason:
                return reason
        return None
    return f"{where}: {type(value).__name__} is not a JSON value"


def from_bytes(fmt: Format, data: bytes | None) -> Any:
    """Decode ``data`` read from Kafka; raise :class:`DeserializationError` if it is not ``fmt``."""
    if data is None:
        return None
    if fmt == "raw":
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DeserializationError(f"not UTF-8 text: {exc}") from exc
    if fmt == "str":
        return text
    if fmt == "json":
        try:
            return loads_json(text)
        except ValueError as exc:  # JSONDecodeError included
            raise DeserializationError(f"not valid JSON: {exc}") from exc
    raise ValueError(f"unknown format {fmt!r}; expected 'json', 'str' or 'raw'")
