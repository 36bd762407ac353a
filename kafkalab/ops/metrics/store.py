"""The metrics store: named series of numbers over time, and histograms of durations.

A :class:`Registry` holds every number a service wants watched: gauges (lag,
a client's ``record-send-rate``), counters (records handled, errors) and
histograms (seconds per record). Each series keeps its recent samples with
the time they were taken, so alert rules can ask "for how long?" and charts
can draw a line. The clock is injectable, so tests and lessons run on a
:class:`~kafkalab.testing.FakeClock`.

>>> from kafkalab.testing import FakeClock
>>> clock = FakeClock(start_ms=1_700_000_000_000)
>>> reg = Registry(now=clock.now)
>>> reg.set("consumer_lag", 12, group="billing", partition="0")
>>> clock.advance(5)
>>> reg.set("consumer_lag", 3, group="billing", partition="0")
>>> reg.latest("consumer_lag", group="billing", partition="0")
3.0
>>> [v for _, v in reg.series("consumer_lag")[0].points]
[12.0, 3.0]
"""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kafkalab.ops.metrics.exposition import render
from kafkalab.stats import percentile

__all__ = ["Histogram", "Labels", "Registry", "Series"]

#: Labels as stored: sorted ``(name, value)`` pairs, so they can key a dict.
Labels = tuple[tuple[str, str], ...]


@dataclass
class Series:
    """One gauge or counter: its recent ``(time, value)`` samples, oldest first."""

    name: str
    labels: Labels
    kind: str
    points: collections.deque[tuple[float, float]] = field(repr=False)
    dropped: bool = field(default=False, repr=False)  # older samples fell off the bounded deque

    def append(self, t: float, value: float) -> None:
        if len(self.points) == self.points.maxlen:
            self.dropped = True
        self.points.append((t, value))

    @property
    def latest(self) -> float | None:
        return self.points[-1][1] if self.points else None

    def since(self, t: float) -> list[tuple[float, float]]:
        """Samples taken at or after ``t`` (seconds, the registry's clock)."""
        return [p for p in self.points if p[0] >= t]


class Histogram:
    """Observed values (e.g. seconds per record): count, sum and percentiles.

    Keeps the last ``keep`` observations for percentiles (recent behaviour is
    what an alert cares about) and an all-time count and sum. Use
    :meth:`time` as a context manager or decorator to observe durations.

    >>> h = Histogram("handler_seconds")
    >>> for v in range(1, 101):
    ...     h.observe(v)
    >>> h.count, h.summary()
    (100, {'p50': 50.5, 'p95': 95.05, 'p99': 99.01})
    """

    def __init__(self, name: str, labels: Labels = (), keep: int = 10_000) -> None:
        self.name = name
        self.labels = labels
        self.count = 0
        self.sum = 0.0
        self._recent: collections.deque[float] = collections.deque(maxlen=keep)
        self._lock = threading.Lock()

    def observe(self, value: float) -> None:
        with self._lock:
            self.count += 1
            self.sum += value
            self._recent.append(value)

    def values(self) -> list[float]:
        with self._lock:
            return list(self._recent)

    def percentile(self, q: float) -> float | None:
        """The ``q``-th percentile (0-100) of the recent observations; ``None`` before any."""
        return percentile(self.values(), q)

    def summary(self) -> dict[str, float | None]:
        """p50, p95 and p99 of the recent observations (``None`` before any)."""
        values = self.values()
        return {f"p{q}": percentile(values, q) for q in (50, 95, 99)}

    @contextlib.contextmanager
    def time(self, clock: Callable[[], float] = time.perf_counter) -> Iterator[None]:
        """Observe how long the ``with`` block took, in seconds (also on error)."""
        start = clock()
        try:
            yield
        finally:
            self.observe(clock() - start)


class Registry:
    """Named series of numbers, each with labels, sampled over time.

    Parameters
    ----------
    now
        Clock in seconds (``time.time``); pass ``FakeClock().now`` in tests.
    keep
        Samples kept per series (a bounded memory, however long it runs).
    """

    def __init__(self, now: Callable[[], float] = time.time, keep: int = 1000) -> None:
        self.now = now
        self.keep = keep
        self._series: dict[tuple[str, Labels], Series] = {}
        self._histograms: dict[tuple[str, Labels], Histogram] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _labels(labels: Mapping[str, Any]) -> Labels:
        return tuple(sorted((k, str(v)) for k, v in labels.items()))

    def _get(self, name: str, labels: Labels, kind: str) -> Series:
        key = (name, labels)
        series = self._series.get(key)
        if series is None:
            series = Series(name, labels, kind, collections.deque(maxlen=self.keep))
            self._series[key] = series
        return series

    def set(self, name: str, value: float, **labels: Any) -> None:
        """Record the current value of a gauge (lag, a rate, a queue size)."""
        with self._lock:
            self._get(name, self._labels(labels), "gauge").append(self.now(), float(value))

    def inc(self, name: str, by: float = 1, **labels: Any) -> None:
        """Add to a counter (it only goes up; rates come from its differences)."""
        with self._lock:
            series = self._get(name, self._labels(labels), "counter")
            series.append(self.now(), (series.latest or 0.0) + by)

    def histogram(self, name: str, **labels: Any) -> Histogram:
        """The histogram ``name`` with these labels (created on first use)."""
        key = (name, self._labels(labels))
        with self._lock:
            if key not in self._histograms:
                self._histograms[key] = Histogram(name, key[1])
            return self._histograms[key]

    def series(self, name: str | None = None) -> list[Series]:
        """Every gauge and counter, or those called ``name``."""
        with self._lock:
            return [s for (n, _), s in sorted(self._series.items()) if name in (None, n)]

    def histograms(self, name: str | None = None) -> list[Histogram]:
        with self._lock:
            return [h for (n, _), h in sorted(self._histograms.items()) if name in (None, n)]

    def latest(self, name: str, **labels: Any) -> float | None:
        """The last value of one series, or ``None`` if it was never set."""
        with self._lock:
            series = self._series.get((name, self._labels(labels)))
            return series.latest if series else None

    def rate(self, name: str, seconds: float, **labels: Any) -> float:
        """Per-second increase of a counter over the last ``seconds`` (0 if unknown).

        >>> from kafkalab.testing import FakeClock
        >>> clock = FakeClock()
        >>> reg = Registry(now=clock.now)
        >>> for _ in range(5):
        ...     reg.inc("records_total", 10)
        ...     clock.advance(1)
        >>> reg.rate("records_total", 10)
        10.0
        """
        with self._lock:
            series = self._series.get((name, self._labels(labels)))
            points = series.since(self.now() - seconds) if series else []
        if len(points) < 2 or points[-1][0] == points[0][0]:
            return 0.0
        return (points[-1][1] - points[0][1]) / (points[-1][0] - points[0][0])

    def increase(self, name: str, seconds: float, **labels: Any) -> float:
        """How much a counter went up in the last ``seconds`` (counters start at 0).

        >>> from kafkalab.testing import FakeClock
        >>> clock = FakeClock()
        >>> reg = Registry(now=clock.now)
        >>> reg.inc("errors_total", 4); clock.advance(10); reg.inc("errors_total", 3)
        >>> reg.increase("errors_total", 5), reg.increase("errors_total", 60)
        (3.0, 7.0)
        """
        with self._lock:
            series = self._series.get((name, self._labels(labels)))
            if series is None or not series.points:
                return 0.0
            points = list(series.points)
            start = self.now() - seconds
            before = [v for t, v in points if t < start]
            if before:
                base = before[-1]
            elif series.dropped:
                base = points[0][1]  # older samples were dropped: count from the oldest kept
            else:
                base = 0.0
            return points[-1][1] - base

    # -- export ------------------------------------------------------------

    def prometheus(self) -> str:
        """The latest values in the Prometheus text exposition format (0.0.4).

        See :func:`kafkalab.ops.metrics.exposition.render`, which writes it.
        """
        return render(self.series(), self.histograms())

    def frame(self) -> pd.DataFrame:
        """Every sample of every gauge and counter: ``time, name, labels..., value``."""
        rows = [{"time": pd.Timestamp(t, unit="s", tz="UTC"), "name": s.name, **dict(s.labels),
                 "value": v} for s in self.series() for t, v in list(s.points)]
        if not rows:
            return pd.DataFrame(columns=["time", "name", "value"])
        return pd.DataFrame(rows)
