"""A bounded load test: produce at a fixed rate, consume with a group, measure.

:func:`run_load` sends ``rate`` records per second for ``seconds`` seconds
(or ``records`` as fast as it can) to a fresh topic, while a consumer group of
``consumers`` members processes them with a pretend cost per record. It
reports what a capacity plan needs: the throughput achieved end to end, the
latency from produce to processed (p50/p95/p99), and the largest backlog seen.

Knobs to try, and what each costs:

* ``linger_ms`` / ``batch_size``: fewer, larger requests; each record may
  wait up to ``linger_ms`` longer before it is sent;
* ``compression_type``: fewer bytes on the wire, CPU on both ends;
* consumers vs partitions: a partition is read by one member of a group, so
  members beyond the partition count sit idle.

Latency uses the wall clock of this one machine (producer and consumers run
in the same process), so it is comparable across runs here, not across hosts.

>>> r = LoadReport(label="demo", records=100, processed=100, duplicates=0, seconds=2.0,
...                produce_seconds=1.0, latency_ms={"p50": 4.0, "p95": 9.0, "p99": 12.0},
...                max_backlog=7, consumers=1, partitions=3, settings={})
>>> r.throughput, r.as_row()["p99_ms"]
(50.0, 12.0)
"""

from __future__ import annotations

import logging
import math
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kafkalab.clients.admin import Admin
from kafkalab.clients.message import Message
from kafkalab.clients.producer import Producer
from kafkalab.groups import Group
from kafkalab.ops.metrics import Registry
from kafkalab.settings import Settings, get_settings
from kafkalab.stats import percentile

__all__ = ["LoadReport", "run_load", "to_frame"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LoadReport:
    """What one load run achieved. ``seconds`` runs from the first send to the
    last record processed; ``max_backlog`` is the most records sent but not
    yet processed at any sample."""

    label: str
    records: int
    processed: int
    duplicates: int
    seconds: float
    produce_seconds: float
    latency_ms: dict[str, float]
    max_backlog: int
    consumers: int
    partitions: int
    settings: dict[str, Any] = field(default_factory=dict)
    producer_metrics: dict[str, float] = field(default_factory=dict)

    @property
    def throughput(self) -> float:
        """Records per second, end to end (produced, fetched and processed)."""
        return round(self.processed / self.seconds, 1) if self.seconds else 0.0

    @property
    def produce_rate(self) -> float:
        return round(self.records / self.produce_seconds, 1) if self.produce_seconds else 0.0

    def as_row(self) -> dict[str, Any]:
        return {"label": self.label, "records": self.records, "processed": self.processed,
                "duplicates": self.duplicates, "consumers": self.consumers,
                "partitions": self.partitions, "seconds": round(self.seconds, 3),
                "produce_per_s": self.produce_rate, "throughput_per_s": self.throughput,
                "p50_ms": self.latency_ms["p50"], "p95_ms": self.latency_ms["p95"],
                "p99_ms": self.latency_ms["p99"], "max_backlog": self.max_backlog,
                **{f"producer.{k}": v for k, v in self.settings.items()},
                **self.producer_metrics}

    def __str__(self) -> str:
        lat = self.latency_ms
        return (f"{self.label}: {self.processed}/{self.records} records in {self.seconds:.2f} s "
                f"= {self.throughput:,.0f}/s end to end (produced at {self.produce_rate:,.0f}/s); "
                f"latency p50 {lat['p50']:.1f} ms, p95 {lat['p95']:.1f} ms, "
                f"p99 {lat['p99']:.1f} ms; max backlog {self.max_backlog}; "
                f"{self.consumers} consumer(s) on {self.partitions} partition(s)")


def to_frame(reports: list[LoadReport]) -> pd.DataFrame:
    """One row per run, for tables and charts."""
    return pd.DataFrame([r.as_row() for r in reports])


class _Tally:
    """What the handler saw; idempotent by record number, so duplicates are counted, not double-processed."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: set[int] = set()
        self.deliveries = 0
        self.latencies: list[float] = []
        self.last_ms = 0.0

    def __call__(self, msg: Message) -> None:
        now_ms = time.time() * 1000
        with self.lock:
            self.deliveries += 1
            i = msg.value["i"]
            if i in self.seen:
                return
            self.seen.add(i)
            self.latencies.append(now_ms - msg.value["sent_ms"])
            self.last_ms = now_ms


def run_load(*, rate: float | None = 200.0, seconds: float = 3.0, records: int | None = None,
             partitions: int = 3, consumers: int = 1, cost_ms: float = 0.0,
             producer_config: Mapping[str, Any] | None = None, label: str | None = None,
             registry: Registry | None = None, sample_every: float = 0.1,
             drain_timeout: float = 60.0, settle_timeout: float = 30.0,
             on_sample: Callable[[float, int, int], Any] | None = None,
             settings: Settings | None = None) -> LoadReport:
    """Run one bounded load test on a fresh topic and group; return its report.

    Parameters
    ----------
    rate, seconds
        Send ``rate`` records per second for ``seconds`` seconds. With
        ``rate=None``, send ``records`` as fast as the producer can.
    partitions, consumers
        The topic's partitions and the group's members (joined before any
        record is sent, so the join is not measured).
    cost_ms
        Pretend work per record in each member (a database call, say).
    producer_config
        ``Producer`` settings, e.g. ``{"linger_ms": 20, "compression_type": "lz4"}``.
    registry
        If given, gauges ``load_sent``, ``load_processed``, ``load_backlog``
        are recorded at each sample, and latencies in the
        ``end_to_end_seconds`` histogram.
    on_sample
        Called as ``on_sample(t, sent, processed)`` at each sample (live charts).
    """
    settings = settings or get_settings()
    if rate is None and records is None:
        raise ValueError("give a rate (records per second) or a number of records")
    if rate is not None and records is not None:
        # Not silently one or the other: run_load(records=1000) would otherwise
        # send rate * seconds records (600 with the defaults).
        raise ValueError(f"give a rate or a number of records, not both (got rate={rate}, "
                         f"records={records}); pass rate=None to send records as fast as possible")
    if rate is not None and seconds <= 0:
        raise ValueError(f"seconds must be positive with a rate; got {seconds}")
    if (rate is not None and rate <= 0) or (records is not None and records < 1):
        raise ValueError(f"rate and records must be positive; got rate={rate}, records={records}")
    if consumers < 1 or partitions < 1:
        raise ValueError(f"need at least one consumer and one partition; got {consumers} "
                         f"consumer(s), {partitions} partition(s)")
    if rate is not None:
        n = max(1, int(rate * seconds))
    else:
        assert records is not None  # checked above: a rate or a number of records
        n = records
    config = dict(producer_config or {})
    run = uuid.uuid4().hex[:8]
    topic, group_id = f"load-{run}", f"load-{run}"
    label = label or (f"{consumers}c/{partitions}p " + (" ".join(f"{k}={v}" for k, v in config.items())
                                                        or "defaults"))
    tally = _Tally()
    with Admin(settings) as admin:
        admin.ensure_topic(topic, partitions)
        try:
            group = Group(topic, group_id, handler=tally, record_delay=cost_ms / 1000,
                          max_records=50, settings=settings)
            with group:
                for k in range(consumers):
                    group.add(f"c{k}")
                group.wait_settled(partitions, timeout=settle_timeout)
                max_backlog, produce_s, start, pmetrics = _produce(
                    n, rate, topic, config, settings, tally, registry, sample_every, on_sample)
                deadline = time.monotonic() + drain_timeout
                while len(tally.seen) < n and time.monotonic() < deadline:
                    group.raise_errors()
                    max_backlog = max(max_backlog, _sample(n, tally, registry, start, on_sample))
                    time.sleep(sample_every)
                _sample(n, tally, registry, start, on_sample)
        finally:
            admin.delete_topic(topic)
            admin.delete_group(group_id)
    if len(tally.seen) < n:
        log.warning("load test %s: only %d of %d records processed within %s s", label,
                    len(tally.seen), n, drain_timeout)
    with tally.lock:
        lat = list(tally.latencies)
        if registry is not None:
            hist = registry.histogram("end_to_end_seconds", run=label)
            for v in lat:
                hist.observe(v / 1000)
        elapsed = max(0.0, (tally.last_ms - start * 1000) / 1000) if tally.last_ms else 0.0
        return LoadReport(
            label=label, records=n, processed=len(tally.seen),
            duplicates=tally.deliveries - len(tally.seen), seconds=elapsed,
            produce_seconds=produce_s,
            latency_ms={f"p{q}": _latency(lat, q) for q in (50, 95, 99)},
            max_backlog=max_backlog, consumers=consumers, partitions=partitions, settings=config,
            producer_metrics=pmetrics)


def _latency(latencies_ms: list[float], q: float) -> float:
    # A run that processed nothing has no latency: NaN, which the tables
    # (pandas) show as missing and ``__str__`` prints as "nan".
    p = percentile(latencies_ms, q)
    return math.nan if p is None else round(p, 2)


def _sample(n: int, tally: _Tally, registry: Registry | None, start: float,
            on_sample: Callable[[float, int, int], Any] | None, sent: int | None = None) -> int:
    sent = n if sent is None else sent
    processed = len(tally.seen)
    backlog = max(0, sent - processed)
    if registry is not None:
        registry.set("load_sent", sent)
        registry.set("load_processed", processed)
        registry.set("load_backlog", backlog)
    if on_sample is not None:
        on_sample(time.time() - start, sent, processed)
    return backlog


def _produce(n: int, rate: float | None, topic: str, config: dict[str, Any], settings: Settings,
             tally: _Tally, registry: Registry | None, sample_every: float,
             on_sample: Callable[[float, int, int], Any] | None
             ) -> tuple[int, float, float, dict[str, float]]:
    max_backlog = 0
    with Producer(settings, **config) as producer:
        producer.raw  # connect before the clock starts  # noqa: B018
        start = time.time()
        next_sample = time.monotonic()
        t0 = time.monotonic()
        for i in range(n):
            if rate is not None:
                # Pace against the start, not the previous send, so a slow
                # moment is made up for instead of lowering the rate for good.
                wait = t0 + i / rate - time.monotonic()
                if wait > 0:
                    time.sleep(wait)
            producer.send(topic, {"i": i, "sent_ms": time.time() * 1000})
            if time.monotonic() >= next_sample:
                next_sample = time.monotonic() + sample_every
                max_backlog = max(max_backlog, _sample(n, tally, registry, start, on_sample,
                                                       sent=i + 1))
        producer.flush()
        produce_s = time.monotonic() - t0
        # What the knobs did to batching and bytes, in the producer's own words.
        own = producer.metrics().get("producer-metrics", {})
        pmetrics = {k.replace("-", "_"): round(float(own[k]), 3) for k in
                    ("batch-size-avg", "records-per-request-avg", "compression-rate-avg")
                    if k in own}
        if registry is not None:
            from kafkalab.ops.metrics import collect_client_metrics

            collect_client_metrics(registry, producer, client_name="load")
    return max_backlog, produce_s, start, pmetrics
