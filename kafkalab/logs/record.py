"""The structured log record: one JSON object per log line.

The course brief's record is ``{timestamp, source, level, message, metadata}``.
We keep those names and add what an aggregator needs to tell lines apart:
``service`` (the same value as ``source``; it is also the Kafka key), ``host``,
``logger`` and ``exception`` (the formatted traceback, or ``None``).

``timestamp`` is an ISO-8601 UTC string with milliseconds, readable by people
and by :func:`pandas.to_datetime`; :func:`timestamp_ms` turns it into epoch
milliseconds for windows.

>>> rec = make_record(service="api", level="warn", message="slow request",
...                   timestamp_ms=1_700_000_000_123, host="web-1",
...                   metadata={"duration_ms": 812})
>>> rec["timestamp"], rec["source"], rec["level"]
('2023-11-14T22:13:20.123Z', 'api', 'WARNING')
>>> timestamp_ms(rec)
1700000000123
>>> validate({"timestamp": "2023-11-14T22:13:20Z", "level": "INFO"})
Traceback (most recent call last):
...
kafkalab.logs.record.InvalidLogRecord: log record lacks required field(s) 'message', 'source' (or 'service')
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Mapping
from typing import Any

from kafkalab.timeutil import to_epoch_ms

__all__ = [
    "LEVELS",
    "REQUIRED_FIELDS",
    "InvalidLogRecord",
    "level_number",
    "make_record",
    "normalise_level",
    "timestamp_ms",
    "to_iso",
    "validate",
]

#: Level names, lowest first, with the numbers the ``logging`` module uses.
LEVELS: dict[str, int] = {"DEBUG": 10, "INFO": 20, "WARNING": 30, "ERROR": 40, "CRITICAL": 50}

# Other spellings learners meet (log4j, Node's winston, syslog) mapped to ours.
_ALIASES = {"WARN": "WARNING", "FATAL": "CRITICAL", "ERR": "ERROR", "TRACE": "DEBUG",
            "CRIT": "CRITICAL"}

#: Fields without which a record cannot be filtered, aggregated or alerted on.
REQUIRED_FIELDS = ("timestamp", "level", "message")
_EMPTY = (None, "")  # what counts as a missing field


class InvalidLogRecord(ValueError):
    """A record is not a usable log record; the message says what is wrong.

    The aggregator sends such records to the dead-letter topic with this
    message as the reason, and carries on.
    """


def normalise_level(level: str | int) -> str:
    """A level name in our spelling: ``warn`` -> ``WARNING``, ``40`` -> ``ERROR``.

    >>> normalise_level("warn"), normalise_level(40), normalise_level("Fatal")
    ('WARNING', 'ERROR', 'CRITICAL')
    >>> normalise_level("loud")
    Traceback (most recent call last):
    ...
    kafkalab.logs.record.InvalidLogRecord: unknown level 'loud'; expected one of DEBUG, INFO,
     WARNING, ERROR, CRITICAL (or WARN, FATAL)
    """
    if isinstance(level, int) and not isinstance(level, bool):
        # Custom numeric levels round down to the nearest named one.
        named = [name for name, n in LEVELS.items() if n <= level]
        return named[-1] if named else "DEBUG"
    if not isinstance(level, str):
        raise InvalidLogRecord(f"level must be a name like 'ERROR'; got {level!r}")
    name = level.strip().upper()
    name = _ALIASES.get(name, name)
    if name not in LEVELS:
        raise InvalidLogRecord(f"unknown level {level!r}; expected one of "
                               f"{', '.join(LEVELS)} (or WARN, FATAL)")
    return name


def level_number(level: str | int) -> int:
    """The ``logging`` number of a level: ``level_number("warn") == 30``."""
    return LEVELS[normalise_level(level)]


def to_iso(ms: int) -> str:
    """Epoch milliseconds as ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (UTC).

    >>> to_iso(0)
    '1970-01-01T00:00:00.000Z'
    """
    moment = dt.datetime.fromtimestamp(ms / 1000, dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"


_MIN_MS = -62_135_596_800_000   # 0001-01-01T00:00:00Z
_MAX_MS = 253_402_300_799_999   # 9999-12-31T23:59:59.999Z


def _parse_timestamp(value: Any) -> int:
    # Numbers are epoch milliseconds (what Kafka and JavaScript use); strings
    # are ISO 8601. Anything else is a clear error, not a guess.
    if isinstance(value, bool):
        raise InvalidLogRecord(f"timestamp must be ISO 8601 text or epoch ms; got {value!r}")
    if isinstance(value, (int, float)):
        # Python's datetime spans years 1-9999; a JSON number can be anything.
        if not _MIN_MS <= value <= _MAX_MS:  # also False for NaN
            raise InvalidLogRecord(f"timestamp {value!r} is not epoch milliseconds in the years "
                                   "1-9999")
        return int(value)
    if isinstance(value, str):
        return _parse_iso(value)
    raise InvalidLogRecord(f"timestamp must be ISO 8601 text or epoch ms; got {value!r}")


@functools.lru_cache(maxsize=1024)
def _parse_iso(value: str) -> int:
    # Cached: validation, windows and each rule all ask for the same record's
    # time one after the other, and parsing dominated the aggregator's profile.
    try:
        return to_epoch_ms(value)  # no zone given: UTC (kafkalab.timeutil says why)
    except ValueError:
        raise InvalidLogRecord(f"timestamp {value!r} is not ISO 8601 "
                               "(e.g. 2026-11-24T17:47:28.123Z)") from None


def timestamp_ms(record: Mapping[str, Any]) -> int:
    """The record's time as epoch milliseconds."""
    value = record.get("timestamp")
    if type(value) is str:  # the usual case, asked for by windows and every rule: straight to the cache
        return _parse_iso(value)
    return _parse_timestamp(value)


def make_record(*, service: str, level: str | int, message: str, timestamp_ms: int,
                host: str = "localhost", logger: str = "", exception: str | None = None,
                metadata: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Build a record in the course's shape (what :class:`KafkaLogHandler` sends)."""
    return {
        "timestamp": to_iso(timestamp_ms),
        "source": service,
        "service": service,
        "host": host,
        "level": normalise_level(level),
        "logger": logger,
        "message": message,
        "exception": exception,
        "metadata": dict(metadata or {}),
    }


def validate(value: Any) -> dict[str, Any]:
    """Check a decoded record and return it normalised, or raise :class:`InvalidLogRecord`.

    Normalised means: ``level`` in our spelling, ``service`` and ``source`` both
    set (records from other shippers often carry only one), ``metadata`` a dict,
    and the optional fields present. The input is not modified.

    >>> validate({"timestamp": 0, "source": "api", "level": "warn", "message": "hi"})["service"]
    'api'
    >>> validate(["not", "an", "object"])
    Traceback (most recent call last):
    ...
    kafkalab.logs.record.InvalidLogRecord: a log record must be a JSON object; got list
    """
    if not isinstance(value, Mapping):
        raise InvalidLogRecord(f"a log record must be a JSON object; got {type(value).__name__}")
    # Every record goes through here: the usual, valid one is checked without
    # building the list of what is missing (only a bad one needs it).
    get = value.get
    service = get("service") or get("source")
    if (not service or get("timestamp") in _EMPTY or get("level") in _EMPTY
            or get("message") in _EMPTY):
        missing = [f"'{f}'" for f in REQUIRED_FIELDS if get(f) in _EMPTY]
        if not service:
            missing.append("'source' (or 'service')")
        names = ", ".join(sorted(missing))
        raise InvalidLogRecord(f"log record lacks required field(s) {names}")
    if not isinstance(value["message"], str):
        raise InvalidLogRecord(f"message must be text; got {type(value['message']).__name__}")
    if not isinstance(service, str):
        raise InvalidLogRecord(f"service must be text; got {service!r}")
    metadata = get("metadata") or {}
    if not isinstance(metadata, Mapping):
        raise InvalidLogRecord(f"metadata must be a JSON object; got {type(metadata).__name__}")
    stamp = value["timestamp"]
    ts = _parse_timestamp(stamp)
    level = value["level"]
    out = dict(value)
    # Set one by one, in this order (a new key goes last, as update() would put it).
    out["timestamp"] = stamp if isinstance(stamp, str) else to_iso(ts)
    out["level"] = level if type(level) is str and level in LEVELS else normalise_level(level)
    out["service"] = service
    out["source"] = get("source") or service
    out["host"] = get("host") or ""
    out["logger"] = get("logger") or ""
    out["exception"] = get("exception")
    out["metadata"] = dict(metadata)
    return out
