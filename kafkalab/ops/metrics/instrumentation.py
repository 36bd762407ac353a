"""Instrumentation: numbers into a registry, from a handler and from a kafka-python client.

:func:`instrument` wraps a record handler so every call is timed and counted;
:func:`collect_client_metrics` copies the metrics kafka-python keeps about
itself (send rate, batch size, fetch latency, lag) into the registry.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

from kafkalab.ops.metrics.exposition import prometheus_name
from kafkalab.ops.metrics.store import Registry

__all__ = ["CLIENT_METRICS", "collect_client_metrics", "instrument"]

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
