"""Counting logs in time windows: per service and level, error rate, top templates, latency.

A *tumbling window* cuts time into back-to-back slices of equal length (one
minute by default): ``[09:00, 09:01)``, ``[09:01, 09:02)``... Each record
belongs to exactly one, by its own timestamp (event time), not by when it was
read, so a replay of yesterday's logs gives yesterday's numbers.

When is a window finished? Records arrive a little out of order, so a window
is closed only once the service has logged something ``lateness_s`` past the
window's end (the service's *watermark*). Each service has its own watermark:
its records share one partition (the Kafka key is the service) and so arrive
in order, whatever the other services do. A record for a window already
closed is *late*: it is counted in ``stats.late`` and logged, not added.

This is the simple windowing week 5 needs; week 6 builds a general one.

>>> from kafkalab.logs.record import make_record
>>> agg = WindowAggregator(window_s=60, lateness_s=0)
>>> for ts, level, msg in [(0, "INFO", "GET 1 in 20 ms"), (30_000, "ERROR", "failed ORD-17"),
...                        (61_000, "INFO", "GET 2 in 40 ms")]:
...     closed = agg.add(make_record(service="api", level=level, message=msg,
...                                  timestamp_ms=ts, metadata={"duration_ms": 20}))
>>> [(s["service"], s["total"], s["counts"]["ERROR"], s["error_rate"]) for s in closed]
[('api', 2, 1, 0.5)]
>>> closed[0]["top_templates"]
[{'template': 'GET <num> in <num> ms', 'count': 1}, {'template': 'failed <id>', 'count': 1}]
>>> [s["window_start"] for s in agg.flush()]
['1970-01-01T00:01:00.000Z']
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kafkalab.logs.record import LEVELS, timestamp_ms, to_iso
from kafkalab.logs.templates import template as default_template
from kafkalab.stats import percentile

__all__ = ["AggregatorStats", "WindowAggregator", "counts_frame", "percentile",
           "summaries_frame", "window_start"]

log = logging.getLogger(__name__)

ERROR_LEVELS = ("ERROR", "CRITICAL")


def window_start(ts_ms: int, window_ms: int) -> int:
    """The start of the tumbling window holding ``ts_ms``.

    >>> window_start(125_000, 60_000), window_start(-1, 60_000)
    (120000, -60000)
    """
    return ts_ms - ts_ms % window_ms  # Python's % floors, so negatives work too


@dataclass
class _Window:
    start_ms: int
    counts: collections.Counter[str] = field(default_factory=collections.Counter)
    templates: collections.Counter[str] = field(default_factory=collections.Counter)
    durations: list[float] = field(default_factory=list)


@dataclass
class AggregatorStats:
    added: int = 0
    late: int = 0
    windows_closed: int = 0


class WindowAggregator:
    """Per-service, per-window summaries of log records.

    Parameters
    ----------
    window_s
        Window length in seconds (60 by default).
    lateness_s
        How long past a window's end to wait for stragglers before closing it.
    top_n
        How many of the most frequent templates each summary lists.
    templater
        Turns a message into its template (:func:`~kafkalab.logs.templates.template`).
    percentiles
        Latency percentiles reported, from records whose metadata carries
        ``duration_ms``.
    """

    def __init__(self, window_s: float = 60, *, lateness_s: float = 5, top_n: int = 5,
                 templater: Callable[[str], str] = default_template,
                 percentiles: Iterable[float] = (50, 95, 99)) -> None:
        if window_s <= 0:
            raise ValueError(f"window_s must be positive; got {window_s}")
        self.window_ms = int(window_s * 1000)
        self.lateness_ms = int(lateness_s * 1000)
        self.top_n = top_n
        self.templater = templater
        self.percentiles = tuple(percentiles)
        self.stats = AggregatorStats()
        self.summaries: list[dict[str, Any]] = []
        self._open: dict[str, dict[int, _Window]] = collections.defaultdict(dict)
        self._closed_until: dict[str, int] = {}  # per service: windows before this are closed
        self._watermark: dict[str, int] = {}

    def add(self, record: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Count one validated record; return the summaries of windows it closed."""
        service = record["service"]
        ts = timestamp_ms(record)
        start = window_start(ts, self.window_ms)
        if start < self._closed_until.get(service, start):
            self.stats.late += 1
            log.info("late record for %s at %s: its window is already closed", service, to_iso(ts))
            return []
        win = self._open[service].get(start)
        if win is None:
            win = self._open[service][start] = _Window(start)
        level = record["level"]
        win.counts[level] += 1
        win.templates[self.templater(record.get("message") or "")] += 1
        duration = (record.get("metadata") or {}).get("duration_ms")
        if isinstance(duration, (int, float)) and not isinstance(duration, bool):
            win.durations.append(float(duration))
        self.stats.added += 1
        self._watermark[service] = max(self._watermark.get(service, ts), ts)
        return self.advance(service, self._watermark[service] - self.lateness_ms)

    def advance(self, service: str, watermark_ms: int) -> list[dict[str, Any]]:
        """Close ``service``'s windows that end at or before ``watermark_ms``.

        :meth:`add` calls this; call it yourself to close windows by the wall
        clock when a service goes quiet.
        """
        closed = []
        for start in sorted(self._open.get(service, {})):
            if start + self.window_ms > watermark_ms:
                break
            closed.append(self._close(service, start))
        return closed

    def advance_all(self, watermark_ms: int) -> list[dict[str, Any]]:
        """Close every service's windows that end at or before ``watermark_ms``.

        For live logs only: a service that went quiet never moves its own
        watermark, so its last window would stay open. Passing *now* minus
        the lateness closes it. (On a replay of old logs, now is far past
        every window, and each would close after its first record.)
        """
        closed = []
        for service in sorted(self._open):
            closed.extend(self.advance(service, watermark_ms))
            # Records older than this are late from now on, as after a normal close.
            start = window_start(watermark_ms, self.window_ms)
            if start > self._closed_until.get(service, start):
                self._closed_until[service] = start
        return closed

    def flush(self) -> list[dict[str, Any]]:
        """Close every open window (at the end of a bounded run)."""
        closed = []
        for service in sorted(self._open):
            for start in sorted(self._open[service]):
                closed.append(self._close(service, start))
        return closed

    def _close(self, service: str, start: int) -> dict[str, Any]:
        win = self._open[service].pop(start)
        self._closed_until[service] = max(self._closed_until.get(service, start),
                                          start + self.window_ms)
        self.stats.windows_closed += 1
        summary = self.summarise(service, win)
        self.summaries.append(summary)
        return summary

    def summarise(self, service: str, win: _Window) -> dict[str, Any]:
        total = sum(win.counts.values())
        errors = sum(win.counts[lvl] for lvl in ERROR_LEVELS)
        # Most frequent first; ties in the order first seen (Counter keeps it).
        top = win.templates.most_common(self.top_n)
        latency = None
        if win.durations:
            latency = {"count": len(win.durations)}
            latency.update({f"p{q:g}": percentile(win.durations, q) for q in self.percentiles})
        return {
            "window_start": to_iso(win.start_ms),
            "window_end": to_iso(win.start_ms + self.window_ms),
            "service": service,
            "total": total,
            "counts": {lvl: win.counts.get(lvl, 0) for lvl in LEVELS},
            "errors": errors,
            "error_rate": round(errors / total, 4) if total else 0.0,
            "top_templates": [{"template": t, "count": n} for t, n in top],
            "latency_ms": latency,
        }


def summaries_frame(summaries: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Window summaries as a flat DataFrame: one row per service and window.

    Columns: ``window_start`` (UTC datetime), ``service``, ``total``, one
    column per level, ``errors``, ``error_rate``, ``top_template`` and the
    latency percentiles (``p50_ms``...).
    """
    rows = []
    for s in summaries:
        row = {"window_start": s["window_start"], "service": s["service"], "total": s["total"]}
        row.update(s["counts"])
        row.update(errors=s["errors"], error_rate=s["error_rate"],
                   top_template=s["top_templates"][0]["template"] if s["top_templates"] else None)
        for key, value in (s.get("latency_ms") or {}).items():
            if key != "count":
                row[f"{key}_ms"] = value
        rows.append(row)
    df = pd.DataFrame(rows)
    if df.empty:
        return pd.DataFrame(columns=["window_start", "service", "total", *LEVELS, "errors",
                                     "error_rate", "top_template"])
    df["window_start"] = pd.to_datetime(df["window_start"], utc=True, format="ISO8601")
    return df.sort_values(["window_start", "service"]).reset_index(drop=True)


def counts_frame(records: pd.DataFrame, window_s: float = 60) -> pd.DataFrame:
    """The same counts computed with pandas from a DataFrame of records.

    ``records`` is what :func:`~kafkalab.logs.filters.to_frame` returns. One row
    per window and service, a column per level, plus ``total``, ``errors``
    and ``error_rate``; the streaming :class:`WindowAggregator` must agree
    with it (a test checks).
    """
    df = records.copy()
    df["window_start"] = df["timestamp"].dt.floor(f"{int(window_s * 1000)}ms")
    table = (df.groupby(["window_start", "service", "level"]).size()
             .unstack("level", fill_value=0)
             .reindex(columns=list(LEVELS), fill_value=0))
    table.columns.name = None
    table["total"] = table[list(LEVELS)].sum(axis=1)
    table["errors"] = table[list(ERROR_LEVELS)].sum(axis=1)
    table["error_rate"] = (table["errors"] / table["total"]).round(4)
    return table.reset_index()

