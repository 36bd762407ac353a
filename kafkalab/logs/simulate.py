"""Simulated services that log like real ones: seeded, so every run is the same.

Four services (``api``, ``payments``, ``inventory``, ``shipping``) write
plausible lines at their own rates, with request latencies drawn from a
log-normal distribution (most requests fast, a long tail of slow ones) and a
small, steady share of errors. Incidents are scripted on top:

* :class:`ErrorBurst`: a service starts failing with one error message, many
  times a second (``OutOfMemoryError`` by default);
* :class:`SlowDependency`: a dependency slows down; latencies grow and some
  requests end in ``timeout`` errors.

Clean traffic never contains the words ``timeout`` or ``OutOfMemory``, so an
alert on them fires only during an incident.

>>> recs = simulate(60, seed=7, start_ms=1_700_000_000_000)
>>> simulate(60, seed=7, start_ms=1_700_000_000_000) == recs   # same seed, same logs
True
>>> sorted({r["service"] for r in recs})
['api', 'inventory', 'payments', 'shipping']
>>> burst = simulate(60, seed=7, incidents=[ErrorBurst("payments", start_s=20, duration_s=10)])
>>> sum("OutOfMemoryError" in r["message"] for r in burst)
100
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from kafkalab.logs.record import make_record

__all__ = [
    "DEFAULT_START_MS",
    "ErrorBurst",
    "SERVICES",
    "ServiceProfile",
    "SlowDependency",
    "publish",
    "replay",
    "simulate",
]

log = logging.getLogger(__name__)

#: 2026-01-05 09:00:00 UTC, a Monday morning: fixed, so outputs are reproducible.
DEFAULT_START_MS = 1_767_603_600_000

Picker = Callable[[random.Random], str]


def _id(prefix: str, digits: int = 5) -> Picker:
    return lambda rng: f"{prefix}-{rng.randrange(10 ** (digits - 1), 10 ** digits)}"


_ORDER, _CUST, _ITEM, _PAY, _SHIP = _id("ORD"), _id("CUST", 3), _id("ITEM", 3), _id("PAY", 6), _id("SHP")


@dataclass(frozen=True)
class ServiceProfile:
    """How one simulated service behaves.

    Parameters
    ----------
    name
        The service name (``service`` field and Kafka key).
    rate
        Requests per second, on average (arrivals are random: a Poisson process).
    latency_ms
        Median request latency; the tail is log-normal with ``latency_sigma``.
    error_rate
        Share of requests that end in the service's everyday error.
    request
        Builds an INFO line from ``(rng, latency_ms)``.
    error
        Builds the everyday ERROR line from ``rng``.
    """

    name: str
    rate: float
    latency_ms: float
    error_rate: float
    request: Callable[[random.Random, int], str]
    error: Callable[[random.Random], str]
    hosts: int = 2
    latency_sigma: float = 0.5
    slow_ms: int = 1500  # a request slower than this also logs a WARNING


SERVICES: tuple[ServiceProfile, ...] = (
    ServiceProfile(
        "api", rate=8, latency_ms=45, error_rate=0.02,
        request=lambda rng, ms: f"GET /api/orders/{_ORDER(rng)} 200 in {ms} ms",
        error=lambda rng: f"upstream payments returned 503 for {_ORDER(rng)}"),
    ServiceProfile(
        "payments", rate=4, latency_ms=120, error_rate=0.04,
        request=lambda rng, ms: f"payment {_PAY(rng)} authorised for {_CUST(rng)} "
                                f"amount {rng.randrange(5, 3000)} in {ms} ms",
        error=lambda rng: f"card declined for {_CUST(rng)}: insufficient funds"),
    ServiceProfile(
        "inventory", rate=4, latency_ms=30, error_rate=0.04,
        request=lambda rng, ms: f"reserved {rng.randrange(1, 5)} x {_ITEM(rng)} "
                                f"for {_ORDER(rng)} in {ms} ms",
        error=lambda rng: f"stock conflict on {_ITEM(rng)}: version changed"),
    ServiceProfile(
        "shipping", rate=2, latency_ms=80, error_rate=0.05,
        request=lambda rng, ms: f"shipment {_SHIP(rng)} created for {_ORDER(rng)} in {ms} ms",
        error=lambda rng: f"address validation failed for {_ORDER(rng)}"),
)


@dataclass(frozen=True)
class ErrorBurst:
    """``service`` logs ``message`` at ERROR ``rate`` times a second, from
    ``start_s`` for ``duration_s`` seconds (times relative to the simulation start)."""

    service: str
    start_s: float
    duration_s: float
    rate: float = 10.0
    message: str = "OutOfMemoryError: Java heap space in worker {n}"
    level: str = "ERROR"


@dataclass(frozen=True)
class SlowDependency:
    """``service``'s calls to ``dependency`` get ``factor`` times slower, and a
    share ``timeout_rate`` of its requests fail with a timeout."""

    service: str
    start_s: float
    duration_s: float
    dependency: str = "inventory-db"
    factor: float = 20.0
    timeout_rate: float = 0.4
    timeout_ms: int = 5000


def _active(incident: Any, t: float) -> bool:
    return incident.start_s <= t < incident.start_s + incident.duration_s


def _arrivals(rng: random.Random, rate: float, start: float, end: float) -> Iterator[float]:
    # Exponential gaps between arrivals: a Poisson process, as independent users make.
    t = start
    while rate > 0:
        t += rng.expovariate(rate)
        if t >= end:
            return
        yield t


def simulate(seconds: float, *, seed: int = 42, start_ms: int = DEFAULT_START_MS,
             services: Sequence[ServiceProfile] = SERVICES,
             incidents: Iterable[ErrorBurst | SlowDependency] = ()) -> list[dict[str, Any]]:
    """Log records of ``seconds`` of traffic, sorted by time.

    Each service draws from its own generator (seeded from ``seed`` and its
    name), so adding an incident to one service leaves the others' lines
    unchanged.
    """
    incidents = list(incidents)
    known = {s.name for s in services}
    for inc in incidents:
        if inc.service not in known:
            raise ValueError(f"incident for unknown service {inc.service!r}; "
                             f"services are {sorted(known)}")
    out: list[tuple[float, int, dict[str, Any]]] = []
    for profile in services:
        rng = random.Random(f"{seed}:{profile.name}")
        slow = [i for i in incidents if isinstance(i, SlowDependency) and i.service == profile.name]
        for t in _arrivals(rng, profile.rate, 0.0, seconds):
            host = f"{profile.name}-{rng.randrange(profile.hosts) + 1}"
            latency = profile.latency_ms * math.exp(rng.gauss(0, profile.latency_sigma))
            incident = next((i for i in slow if _active(i, t)), None)
            ms = int(start_ms + t * 1000)
            logger = f"shop.{profile.name}"
            if incident is not None:
                latency *= incident.factor
                if rng.random() < incident.timeout_rate:
                    out.append((t, len(out), make_record(
                        service=profile.name, level="ERROR", timestamp_ms=ms, host=host,
                        logger=logger, message=f"timeout after {incident.timeout_ms} ms "
                                               f"calling {incident.dependency}",
                        metadata={"duration_ms": incident.timeout_ms,
                                  "dependency": incident.dependency})))
                    continue
            latency_ms = max(1, int(latency))
            if rng.random() < profile.error_rate:
                out.append((t, len(out), make_record(
                    service=profile.name, level="ERROR", timestamp_ms=ms, host=host,
                    logger=logger, message=profile.error(rng))))
                continue
            out.append((t, len(out), make_record(
                service=profile.name, level="INFO", timestamp_ms=ms, host=host, logger=logger,
                message=profile.request(rng, latency_ms),
                metadata={"duration_ms": latency_ms})))
            if latency_ms > profile.slow_ms:
                out.append((t, len(out), make_record(
                    service=profile.name, level="WARNING", timestamp_ms=ms, host=host,
                    logger=logger, message=f"slow request: {latency_ms} ms",
                    metadata={"duration_ms": latency_ms})))
        for inc in incidents:
            if isinstance(inc, ErrorBurst) and inc.service == profile.name:
                # Evenly spaced: a crash loop fails at a steady pace.
                n = int(round(inc.duration_s * inc.rate))
                for k in range(n):
                    t = inc.start_s + k / inc.rate
                    if t >= seconds:
                        break
                    out.append((t, len(out), make_record(
                        service=profile.name, level=inc.level,
                        timestamp_ms=int(start_ms + t * 1000), host=f"{profile.name}-1",
                        logger=f"shop.{profile.name}", message=inc.message.format(n=k % 7 + 1),
                        exception="Traceback (most recent call last):\n  ...\n"
                                  "MemoryError" if "OutOfMemory" in inc.message else None)))
    out.sort(key=lambda x: (x[0], x[1]))
    return [rec for _, _, rec in out]


def publish(records: Iterable[dict[str, Any]], producer: Any, topic: str = "application-logs",
            *, speed: float | None = None, stop: Callable[[], bool] | None = None,
            sleep: Callable[[float], Any] = time.sleep) -> int:
    """Send records to ``topic``, keyed by service.

    The record's own ``timestamp`` (event time) is what windows and rules
    use. The Kafka timestamp is left to the producer (the time of sending):
    a real cluster's time-based retention would otherwise treat simulated
    January logs as old enough to delete.

    With ``speed`` (e.g. ``60.0`` = one simulated minute per second) the sends
    are paced like the original traffic, for live demos; without it they go
    as fast as the producer takes them. ``stop()`` returning True ends early.
    Returns the number sent; the producer is flushed at the end.
    """
    sent = 0
    first_ms = None
    started = time.monotonic()
    from kafkalab.logs.record import timestamp_ms

    for rec in records:
        if stop is not None and stop():
            break
        ts = timestamp_ms(rec)
        if speed:
            first_ms = ts if first_ms is None else first_ms
            due = (ts - first_ms) / 1000 / speed - (time.monotonic() - started)
            if due > 0:
                sleep(due)
        producer.send(topic, rec, key=rec.get("service"))
        sent += 1
    producer.flush()
    return sent


def replay(records: Iterable[dict[str, Any]], *, speed: float | None = None,
           limit_s: float | None = None, logger_prefix: str = "") -> int:
    """Log simulated records through Python's ``logging``, as running services would.

    Each record goes to the logger named in it (``shop.api``...) with
    ``extra={"service": ...}``, so a :class:`~kafkalab.logs.handler.KafkaLogHandler`
    attached to those loggers ships them: the timestamp becomes *now*. Paced by
    ``speed`` like :func:`publish`, and stopped after ``limit_s`` wall seconds.
    """
    started = time.monotonic()
    first_ms = None
    n = 0
    from kafkalab.logs.record import level_number, timestamp_ms

    for rec in records:
        elapsed = time.monotonic() - started
        if limit_s is not None and elapsed >= limit_s:
            break
        if speed:
            ts = timestamp_ms(rec)
            first_ms = ts if first_ms is None else first_ms
            due = (ts - first_ms) / 1000 / speed - elapsed
            if due > 0:
                time.sleep(due)
        extra = dict(rec.get("metadata") or {})
        extra["service"] = rec["service"]
        logging.getLogger(logger_prefix + rec["logger"]).log(
            level_number(rec["level"]), rec["message"], extra=extra)
        n += 1
    return n
