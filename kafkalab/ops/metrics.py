"""Metrics: named time series, processing-time histograms, Prometheus text and pandas.

A :class:`Registry` holds every number a service wants watched: gauges (lag,
a client's ``record-send-rate``), counters (records handled, errors) and
histograms (seconds per record). Each series keeps its recent samples with
the time they were taken, so alert rules can ask "for how long?" and charts
can draw a line. The registry exports the latest values in the Prometheus
text format (what a ``/metrics`` endpoint serves) and as a DataFrame.

>>> from kafkalab.testing import FakeClock
>>> clock = FakeClock(start_ms=1_700_000_000_000)
>>> reg = Registry(now=clock.now)
>>> reg.set("consumer_lag", 12, group="billing", partition="0")
>>> reg.inc("records_total", 3, handler="billing")
>>> h = reg.histogram("processing_seconds", handler="billing")
>>> for ms in [2, 4, 6, 8, 100]:
...     h.observe(ms / 1000)
>>> round(h.percentile(50), 3)
0.006
>>> print(reg.prometheus())
# TYPE consumer_lag gauge
consumer_lag{group="billing",partition="0"} 12
# TYPE processing_seconds summary
processing_seconds{handler="billing",quantile="0.5"} 0.006
processing_seconds{handler="billing",quantile="0.95"} 0.0816
processing_seconds{handler="billing",quantile="0.99"} 0.09632
processing_seconds_sum{handler="billing"} 0.12
processing_seconds_count{handler="billing"} 5
# TYPE records_total counter
records_total{handler="billing"} 3
"""

from __future__ import annotations

import collections
import contextlib
import functools
import math
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kafkalab.stats import percentile

__all__ = [
    "CLIENT_METRICS",
    "Histogram",
    "Registry",
    "Series",
    "collect_client_metrics",
    "instrument",
    "metrics_app",
    "percentile",
    "prometheus_name",
]

Labels = tuple[tuple[str, str], ...]

#: kafka-python metrics worth watching, per metric group: ``metrics()`` returns
#: about a hundred; these answer "how fast, how batched, how far behind".
CLIENT_METRICS: dict[str, tuple[str, ...]] = {
    "producer-metrics": ("record-send-rate", "batch-size-avg", "compression-rate-avg",
                         "records-per-request-avg", "request-latency-avg", "record-error-rate",
                         "record-retry-rate", "record-queue-time-avg", "outgoing-byte-rate"),
    "consumer-fetch-manager-metrics": ("records-consumed-rate", "records-lag-max", "fetch-rate",
                                       "fetch-latency-avg", "records-per-request-avg",
                                       "bytes-consumed-rate"),
    "consumer-coordinator-metrics": ("assigned-partitions", "commit-rate", "commit-latency-avg",
                                     "join-rate", "last-heartbeat-seconds-ago"),
    "consumer-metrics": ("request-latency-avg", "request-rate"),
}


_INVALID = re.compile(r"[^a-zA-Z0-9_:]")


def prometheus_name(name: str) -> str:
    """A valid Prometheus metric or label name: other characters become ``_``.

    >>> prometheus_name("producer-metrics.record-send-rate")
    'producer_metrics_record_send_rate'
    >>> prometheus_name("9lives")
    '_9lives'
    """
    out = _INVALID.sub("_", name)
    return out if re.match(r"[a-zA-Z_:]", out) else "_" + out


def _label_text(labels: Labels) -> str:
    if not labels:
        return ""
    # The text format escapes backslash, double quote and newline in label values.
    esc = [(k, v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n"))
           for k, v in labels]
    return "{" + ",".join(f'{prometheus_name(k)}="{v}"' for k, v in esc) + "}"


def _number(value: float | None) -> str:
    # None (a summary with no observations yet) is NaN, as Prometheus writes it.
    if value is None or math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    # 10 significant digits: enough for any rate or latency, and it keeps
    # microsecond timings (1e-06) that rounding to decimal places would zero.
    return format(float(value), ".10g")


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

        Histograms are exported as summaries (p50/p95/p99 quantiles, ``_sum``
        and ``_count``), which needs no bucket boundaries chosen in advance.
        """
        blocks: dict[str, tuple[str, list[str]]] = {}
        for s in self.series():
            if s.latest is None:
                continue
            name = prometheus_name(s.name)
            blocks.setdefault(name, (s.kind, []))[1].append(
                f"{name}{_label_text(s.labels)} {_number(s.latest)}")
        for h in self.histograms():
            name = prometheus_name(h.name)
            lines = blocks.setdefault(name, ("summary", []))[1]
            for q, v in zip(("0.5", "0.95", "0.99"), h.summary().values()):
                lines.append(f"{name}{_label_text(h.labels + (('quantile', q),))} {_number(v)}")
            lines.append(f"{name}_sum{_label_text(h.labels)} {_number(h.sum)}")
            lines.append(f"{name}_count{_label_text(h.labels)} {h.count}")
        out = []
        for name in sorted(blocks):
            kind, lines = blocks[name]
            out.append(f"# TYPE {name} {kind}")
            out.extend(lines)
        return "\n".join(out) + ("\n" if out else "")

    def frame(self) -> pd.DataFrame:
        """Every sample of every gauge and counter: ``time, name, labels..., value``."""
        rows = [{"time": pd.Timestamp(t, unit="s", tz="UTC"), "name": s.name, **dict(s.labels),
                 "value": v} for s in self.series() for t, v in list(s.points)]
        if not rows:
            return pd.DataFrame(columns=["time", "name", "value"])
        return pd.DataFrame(rows)


def collect_client_metrics(registry: Registry, client: Any, *, client_name: str = "",
                           wanted: Mapping[str, tuple[str, ...]] = CLIENT_METRICS) -> int:
    """Copy a kafka-python client's own metrics into ``registry``; return how many.

    ``client`` is a :class:`~kafkalab.clients.Producer`, a
    :class:`~kafkalab.clients.Consumer` (once it has connected) or anything
    with kafka-python's ``metrics()``. Each value becomes a gauge named
    ``kafka_<group>_<metric>``, e.g. ``kafka_producer_record_send_rate``.

    >>> class Fake:
    ...     def metrics(self):
    ...         return {"producer-metrics": {"record-send-rate": 250.0, "batch-size-avg": 4096.0}}
    >>> reg = Registry(now=lambda: 0.0)
    >>> collect_client_metrics(reg, Fake(), client_name="orders")
    2
    >>> reg.latest("kafka_producer_record_send_rate", client="orders")
    250.0
    """
    if hasattr(client, "metrics"):
        metrics = client.metrics()
    elif getattr(client, "connected", False):
        metrics = client.raw.metrics()  # a kafkalab Consumer: its kafka-python consumer's
    else:
        metrics = {}
    n = 0
    for group, names in wanted.items():
        values = metrics.get(group, {})
        prefix = "kafka_" + group.removesuffix("-metrics").replace("-fetch-manager", "")
        for metric in names:
            value = values.get(metric)
            if isinstance(value, (int, float)) and not math.isnan(value):
                registry.set(prometheus_name(f"{prefix}_{metric}"), value, client=client_name)
                n += 1
    return n


def instrument(handler: Callable[[Any], Any], registry: Registry, name: str = "handler",
               clock: Callable[[], float] = time.perf_counter) -> Callable[[Any], Any]:
    """Wrap a record handler: time each call, count records and errors.

    Records ``processing_seconds{handler=name}`` (a histogram),
    ``records_total`` and ``errors_total`` (counters). Errors are re-raised
    unchanged: the consumer loop still decides about retries and dead letters.

    >>> reg = Registry(now=lambda: 0.0)
    >>> @functools.partial(instrument, registry=reg, name="double")
    ... def double(x):
    ...     if x < 0:
    ...         raise ValueError("negative")
    ...     return 2 * x
    >>> double(2)
    4
    >>> try:
    ...     double(-1)
    ... except ValueError:
    ...     pass
    >>> reg.latest("records_total", handler="double"), reg.latest("errors_total", handler="double")
    (2.0, 1.0)
    >>> reg.histogram("processing_seconds", handler="double").count
    2
    """
    hist = registry.histogram("processing_seconds", handler=name)

    @functools.wraps(handler)
    def wrapped(record: Any) -> Any:
        registry.inc("records_total", handler=name)
        try:
            with hist.time(clock):
                return handler(record)
        except Exception:
            registry.inc("errors_total", handler=name)
            raise

    return wrapped


def metrics_app(registry: Registry, collect: Callable[[], Any] | None = None) -> Any:
    """A FastAPI app serving ``GET /metrics`` (Prometheus text) and ``GET /health``.

    ``collect`` is called before each scrape (e.g. to copy client metrics in).
    Serve it with :class:`kafkalab.serving.ThreadedServer`.
    """
    from fastapi import FastAPI
    from fastapi.responses import PlainTextResponse

    app = FastAPI(title="kafkalab metrics")

    @app.get("/metrics", response_class=PlainTextResponse)
    def metrics() -> PlainTextResponse:
        if collect is not None:
            collect()
        return PlainTextResponse(registry.prometheus(),
                                 media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    return app
