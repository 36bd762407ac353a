"""Filtering log records: by level threshold, service, time range, text or regex.

One :class:`LogFilter` works both ways the week uses it: called on one record
(a live consumer keeps the records it accepts) and applied to a pandas
DataFrame of what was read (:meth:`LogFilter.frame`). A test checks that both
ways select the same records.

>>> from kafkalab.logs.record import make_record
>>> recs = [make_record(service="api", level=lvl, message=msg, timestamp_ms=ts)
...         for lvl, msg, ts in [("INFO", "GET /", 0), ("WARNING", "slow: 2100 ms", 1000),
...                              ("ERROR", "timeout after 5000 ms", 2000)]]
>>> [r["level"] for r in recs if LogFilter(level="WARN")(r)]
['WARNING', 'ERROR']
>>> [r["message"] for r in recs if LogFilter(regex=r"\\d{4} ms")(r)]
['slow: 2100 ms', 'timeout after 5000 ms']
>>> LogFilter(level="WARN", text="TIMEOUT").frame(to_frame(recs))["message"].tolist()
['timeout after 5000 ms']
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast

import pandas as pd

from kafkalab.logs.record import LEVELS, InvalidLogRecord, normalise_level, timestamp_ms, validate
from kafkalab.timeutil import to_epoch_ms

__all__ = ["FollowStats", "LogFilter", "follow", "to_frame"]

log = logging.getLogger(__name__)

Moment: TypeAlias = int | str | dt.datetime | pd.Timestamp | None

#: The columns of :func:`to_frame`, in order.
COLUMNS = ["timestamp", "service", "host", "level", "logger", "message", "exception", "metadata"]


def _ms(moment: Moment) -> int | None:
    # Accept what a learner is likely to type: epoch ms, ISO text, datetimes.
    if moment is None:
        return None
    if isinstance(moment, bool):  # an int to Python, but no timestamp
        raise TypeError("expected ISO-8601 text or a datetime; got bool")
    if isinstance(moment, int):
        return moment
    return to_epoch_ms(moment)


@dataclass(frozen=True)
class LogFilter:
    """Which records to keep. Every condition given must hold (they are ANDed).

    Parameters
    ----------
    level
        A threshold: ``"WARN"`` keeps WARNING, ERROR and CRITICAL.
    services
        Keep only these services (one name or several).
    since, until
        Keep records with ``since <= timestamp < until`` (epoch ms, ISO text
        or datetimes; naive times are UTC).
    text
        Keep records whose message or exception contains this, ignoring case.
    regex
        Keep records whose message or exception matches this (``re.search``).
    """

    level: str | None = None
    services: str | Iterable[str] | None = None
    since: Moment = None
    until: Moment = None
    text: str | None = None
    regex: str | None = None
    _compiled: Any = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Check everything now, so a typo fails at once and not on the first record.
        if self.level is not None:
            object.__setattr__(self, "level", normalise_level(self.level))
        if isinstance(self.services, str):
            object.__setattr__(self, "services", (self.services,))
        elif self.services is not None:
            object.__setattr__(self, "services", tuple(self.services))
        object.__setattr__(self, "since", _ms(self.since))
        object.__setattr__(self, "until", _ms(self.until))
        if self.regex is not None:
            try:
                object.__setattr__(self, "_compiled", re.compile(self.regex))
            except re.error as exc:
                raise ValueError(f"regex {self.regex!r} is not valid: {exc}") from None

    def __call__(self, record: Mapping[str, Any]) -> bool:
        """True when ``record`` (a validated record) passes every condition."""
        if self.level is not None and LEVELS[normalise_level(record["level"])] < LEVELS[self.level]:
            return False
        # __post_init__ normalised these: services to a tuple, since and until to epoch ms.
        services = cast("tuple[str, ...] | None", self.services)
        since, until = cast("int | None", self.since), cast("int | None", self.until)
        if services is not None and record.get("service") not in services:
            return False
        if since is not None or until is not None:
            ts = timestamp_ms(record)
            if since is not None and ts < since:
                return False
            if until is not None and ts >= until:
                return False
        if self.text is not None or self._compiled is not None:
            haystack = record.get("message") or ""
            if record.get("exception"):
                haystack += "\n" + record["exception"]
            if self.text is not None and self.text.lower() not in haystack.lower():
                return False
            if self._compiled is not None and not self._compiled.search(haystack):
                return False
        return True

    def frame(self, df: pd.DataFrame) -> pd.DataFrame:
        """The rows of ``df`` (as made by :func:`to_frame`) that pass, vectorised."""
        keep = pd.Series(True, index=df.index)
        if self.level is not None:
            keep &= df["level"].map(LEVELS) >= LEVELS[self.level]
        if self.services is not None:
            keep &= df["service"].isin(self.services)
        if self.since is not None:
            keep &= df["timestamp"] >= pd.Timestamp(self.since, unit="ms", tz="UTC")
        if self.until is not None:
            keep &= df["timestamp"] < pd.Timestamp(self.until, unit="ms", tz="UTC")
        if self.text is not None or self._compiled is not None:
            haystack = df["message"].fillna("") + ("\n" + df["exception"]).fillna("")
            if self.text is not None:
                keep &= haystack.str.contains(self.text, case=False, regex=False)
            if self._compiled is not None:
                keep &= haystack.str.contains(self._compiled, regex=True)
        return df[keep]


def to_frame(records: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Records as a DataFrame, ``timestamp`` parsed to UTC datetimes, in time order.

    ``metadata`` stays a column of dicts; ``duration_ms`` is lifted into its
    own column because latency charts need it.
    """
    rows = [{c: r.get(c) for c in COLUMNS} for r in records]
    df = pd.DataFrame(rows, columns=COLUMNS)
    df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, format="ISO8601")
    df["duration_ms"] = pd.to_numeric(
        df["metadata"].map(lambda m: (m or {}).get("duration_ms")), errors="coerce")
    return df.sort_values("timestamp", kind="stable").reset_index(drop=True)


@dataclass
class FollowStats:
    """What :func:`follow` read: matched, filtered out, and invalid (with reasons)."""

    matched: int = 0
    filtered_out: int = 0
    invalid: int = 0
    reasons: list[str] = field(default_factory=list)


def follow(consumer: Any, log_filter: LogFilter | None = None, *, max_messages: int | None = None,
           timeout: float | None = None, idle_timeout: float | None = None,
           stats: FollowStats | None = None) -> Iterator[dict[str, Any]]:
    """Yield matching records from a live :class:`~kafkalab.clients.Consumer`, bounded.

    Records that are not valid JSON or not valid log records are not yielded:
    they are counted in ``stats.invalid`` with the reason and logged (the
    aggregator dead-letters them; a viewer only reports them).
    """
    stats = stats if stats is not None else FollowStats()
    log_filter = log_filter or LogFilter()
    for msg in consumer.messages(max_messages=max_messages, timeout=timeout,
                                 idle_timeout=idle_timeout):
        try:
            if not msg.ok:
                raise InvalidLogRecord(msg.error or "undecodable record")
            record = validate(msg.value)
        except InvalidLogRecord as exc:
            stats.invalid += 1
            stats.reasons.append(f"{msg.topic}[{msg.partition}]@{msg.offset}: {exc}")
            log.warning("skipping invalid log record %s[%d]@%d: %s", msg.topic, msg.partition,
                        msg.offset, exc)
            continue
        if log_filter(record):
            stats.matched += 1
            yield record
        else:
            stats.filtered_out += 1
