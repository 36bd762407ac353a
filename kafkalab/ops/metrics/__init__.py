"""Metrics: named time series, processing-time histograms, Prometheus text and pandas.

A :class:`Registry` holds every number a service wants watched: gauges (lag,
a client's ``record-send-rate``), counters (records handled, errors) and
histograms (seconds per record). Each series keeps its recent samples with
the time they were taken, so alert rules can ask "for how long?" and charts
can draw a line. The registry exports the latest values in the Prometheus
text format (what a ``/metrics`` endpoint serves) and as a DataFrame.

One module per part: :mod:`~kafkalab.ops.metrics.store` (the registry, its
series and histograms), :mod:`~kafkalab.ops.metrics.exposition` (the text
format), :mod:`~kafkalab.ops.metrics.instrumentation` (handlers and client
metrics in) and :mod:`~kafkalab.ops.metrics.app` (``/metrics`` out).

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

from kafkalab.ops.metrics.app import metrics_app
from kafkalab.ops.metrics.exposition import prometheus_name
from kafkalab.ops.metrics.instrumentation import CLIENT_METRICS, collect_client_metrics, instrument
from kafkalab.ops.metrics.store import Histogram, Registry, Series
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
