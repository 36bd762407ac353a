"""Event timestamps: ISO-8601 text or datetimes to epoch milliseconds, one rule for all.

Kafka stamps every record with epoch milliseconds, and the course's events
carry their own time as ISO-8601 text (``"2026-01-01T00:00:30.125Z"``). Log
records, IoT readings, stream event times, change-data-capture commit times
and log filters all turn that text into milliseconds here, so they agree on
one rule:

**A time without a zone is UTC.** Event data is written on one machine and read
on another; reading a naive time as the *reader's* local time would shift the
same record by hours between a laptop and CI, and rejecting it would refuse
what many shippers send. UTC is what Kafka's own timestamps count from, so a
naive time read as UTC matches them.

>>> to_epoch_ms("2026-01-01T00:00:30Z")
1767225630000
>>> to_epoch_ms("2026-01-01T00:00:30") == to_epoch_ms("2026-01-01T00:00:30+00:00")
True
>>> to_epoch_ms("2026-01-01T01:00:30+01:00")
1767225630000
"""

from __future__ import annotations

import datetime as dt

__all__ = ["EPOCH", "parse_iso", "to_epoch_ms"]

#: 1970-01-01T00:00:00Z, where epoch milliseconds count from.
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

_ONE_MS = dt.timedelta(milliseconds=1)


def parse_iso(text: str) -> dt.datetime:
    """An ISO-8601 time as a zone-aware datetime; a time without a zone is UTC.

    A trailing ``Z`` (what JavaScript and most log shippers write) means UTC.

    Parameters
    ----------
    text : str
        E.g. ``"2026-01-01T00:00:30.125Z"``, ``"2026-01-01 00:00:30+01:00"``
        or ``"2026-01-01"``.

    Returns
    -------
    datetime.datetime
        With ``tzinfo`` set.

    Raises
    ------
    ValueError
        When ``text`` is not ISO-8601 (the message quotes it).

    Examples
    --------
    >>> parse_iso("2026-01-01T00:00:30Z").isoformat()
    '2026-01-01T00:00:30+00:00'
    >>> parse_iso(" 2026-01-01T00:00:30 ").tzinfo
    datetime.timezone.utc
    >>> parse_iso("yesterday")
    Traceback (most recent call last):
    ...
    ValueError: 'yesterday' is not an ISO-8601 time (e.g. 2026-01-01T00:00:30.125Z)
    """
    stripped = text.strip()
    # Python 3.11 reads "Z" itself, but only at the very end; spelling it out
    # keeps the rule visible and works for "z" too.
    if stripped[-1:] in ("Z", "z"):
        stripped = stripped[:-1] + "+00:00"
    try:
        moment = dt.datetime.fromisoformat(stripped)
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO-8601 time "
                         "(e.g. 2026-01-01T00:00:30.125Z)") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)  # the module's one rule
    return moment


def to_epoch_ms(moment: str | dt.datetime) -> int:
    """Milliseconds since the epoch of ISO-8601 text or a datetime (naive ones are UTC).

    Counted exactly in integers: ``datetime.timestamp() * 1000`` goes through a
    float and turns ``.123`` seconds into 122.99999 ms, then 122 once truncated.
    Microseconds below a millisecond are dropped (floored), as Java's
    ``Instant.toEpochMilli`` does.

    Parameters
    ----------
    moment : str or datetime.datetime
        ISO-8601 text (see :func:`parse_iso`) or a datetime (a
        ``pandas.Timestamp`` is one).

    Returns
    -------
    int

    Raises
    ------
    ValueError
        For text that is not ISO-8601.
    TypeError
        For anything else (numbers are already epoch milliseconds: callers
        decide whether they accept them).

    Examples
    --------
    >>> to_epoch_ms("1970-01-01T00:00:00.123Z"), to_epoch_ms("1970-01-01T00:00:00.1239Z")
    (123, 123)
    >>> to_epoch_ms(dt.datetime(1970, 1, 1, 0, 0, 1))
    1000
    >>> to_epoch_ms("1969-12-31T23:59:59.999Z")
    -1
    """
    if isinstance(moment, str):
        moment = parse_iso(moment)
    elif isinstance(moment, dt.datetime):
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=dt.UTC)
    else:
        raise TypeError(f"expected ISO-8601 text or a datetime; got {type(moment).__name__}")
    return (moment - EPOCH) // _ONE_MS
