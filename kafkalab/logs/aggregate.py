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

The windows are the course's one windowing engine, week 6's
:class:`kafkalab.windows.WindowedAggregation`: a :class:`~kafkalab.windows.Tumbling`
window per service with ``closing="key"`` (each service's own watermark) and
``grace_ms`` the lateness, folding records with :class:`~kafkalab.windows.CountBy`
(levels, templates) and :class:`~kafkalab.windows.Collect` (durations). Its
:meth:`~WindowAggregator.snapshot` is the engine's, so a restart loses no window.

>>> from kafkalab.logs.record import make_record
>>> agg = WindowAggregator(window_s=60, lateness_s=0)
>>> for ts, level, msg in [(0, "INFO", "GET 1 in 20 ms"), (30_000, "ERROR", "failed ORD-17"),
...                        (61_000, "INFO", "GET 2 in 40 ms")]:
...     closed = agg.process(make_record(service="api", level=level, message=msg,
...                                      timestamp_ms=ts, metadata={"duration_ms": 20}))
>>> [(s["service"], s["total"], s["counts"]["ERROR"], s["error_rate"]) for s in closed]
[('api', 2, 1, 0.5)]
>>> closed[0]["top_templates"]
[{'template': 'GET <num> in <num> ms', 'count': 1}, {'template': 'failed <id>', 'count': 1}]
>>> [s["window_start"] for s in agg.flush()]
['1970-01-01T00:01:00.000Z']
"""

from __future__ import annotations

import collections
import dataclasses
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from kafkalab import windows
from kafkalab.logs.record import LEVELS, timestamp_ms, to_iso
from kafkalab.logs.templates import template as default_template
from kafkalab.stats import percentile

__all__ = ["AggregatorStats", "WindowAggregator", "counts_frame", "percentile",
           "summaries_frame"]

log = logging.getLogger(__name__)

ERROR_LEVELS = ("ERROR", "CRITICAL")


def _duration(record: Mapping[str, Any]) -> float | None:
    """The record's ``metadata.duration_ms`` when it is a number (most records have none)."""
    duration = (record.get("metadata") or {}).get("duration_ms")
    if isinstance(duration, (int, float)) and not isinstance(duration, bool):
        return float(duration)
    return None


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
        #: The engine: one tumbling window per service, closed by the service's own time.
        self.aggregation = windows.WindowedAggregation(
            windows.Tumbling(self.window_ms),
            windows.Fields(levels=windows.CountBy("level"),
                           templates=windows.CountBy(
                               lambda r: self.templater(r.get("message") or "")),
                           durations=windows.Collect(_duration)),
            grace_ms=self.lateness_ms, emit="final", closing="key")

    def process(self, record: Mapping[str, Any]) -> list[dict[str, Any]]:
        """Count one validated record; return the summaries of windows it closed."""
        emitted = self.aggregation.process(record["service"], record, timestamp_ms(record))
        if not emitted:  # most records: added, nothing closed
            self.stats.added += 1
            return []
        if not any(isinstance(out, windows.LateRecord) for out in emitted):
            self.stats.added += 1
        return self._summarise_all(emitted)

    def advance_all(self, watermark_ms: int) -> list[dict[str, Any]]:
        """Close every service's windows that end at or before ``watermark_ms``.

        For live logs only: a service that went quiet never moves its own
        watermark, so its last window would stay open. Passing *now* minus
        the lateness closes it, and records older than that are late from
        then on. (On a replay of old logs, now is far past every window, and
        each would close after its first record.)
        """
        # The engine keeps a window until stream time passes its end + grace.
        return self._summarise_all(self.aggregation.advance(watermark_ms + self.lateness_ms))

    def flush(self) -> list[dict[str, Any]]:
        """Close every open window (at the end of a bounded run)."""
        return self._summarise_all(self.aggregation.flush())

    def snapshot(self) -> dict[str, Any]:
        """The open windows, each service's watermark and the counters, as JSON."""
        return {"windows": self.aggregation.snapshot(), "stats": dataclasses.asdict(self.stats)}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from a :meth:`snapshot` (after a restart)."""
        self.aggregation.restore(state["windows"])
        self.stats = AggregatorStats(**state["stats"])

    def _summarise_all(self, emitted: Iterable[windows.WindowResult | windows.LateRecord]
                       ) -> list[dict[str, Any]]:
        closed = []
        for out in emitted:
            if isinstance(out, windows.LateRecord):
                self.stats.late += 1
                log.info("late record for %s at %s: its window is already closed", out.key,
                         to_iso(out.timestamp_ms))
                continue
            self.stats.windows_closed += 1
            summary = self.summarise(out)
            self.summaries.append(summary)
            closed.append(summary)
        return closed

    def summarise(self, result: windows.WindowResult) -> dict[str, Any]:
        """The summary of one service's window from the engine's final result."""
        levels, durations = result.value["levels"], result.value["durations"]
        total = sum(levels.values())
        errors = sum(levels.get(lvl, 0) for lvl in ERROR_LEVELS)
        # Most frequent first; ties in the order first seen (CountBy keeps it).
        top = collections.Counter(result.value["templates"]).most_common(self.top_n)
        latency: dict[str, Any] | None = None
        if durations:
            latency = {"count": len(durations)}
            latency.update({f"p{q:g}": percentile(durations, q) for q in self.percentiles})
        return {
            "window_start": to_iso(result.window.start_ms),
            "window_end": to_iso(result.window.end_ms),
            "service": result.key,
            "total": total,
            "counts": {lvl: levels.get(lvl, 0) for lvl in LEVELS},
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

