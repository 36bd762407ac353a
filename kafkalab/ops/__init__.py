"""Production readiness: metrics, consumer lag, alerts, health, load and failure tests (week 8).

A :class:`Registry` collects client metrics, per-record processing times and
consumer lag as time series, and exports them as Prometheus text or a
DataFrame. Alert rules with cool-downs watch it and publish to the ``alerts``
topic; :func:`health` prints ``[OK]``/``[FAIL]`` lines. :func:`run_load` and
the scenarios in :mod:`kafkalab.ops.chaos` test throughput and recovery
against the real broker.
"""

from kafkalab.ops import chaos
from kafkalab.ops.chaos import SCENARIOS, ChaosReport, IdempotentStore
from kafkalab.ops.dashboard import Dashboard, Sampler
from kafkalab.ops.health import HealthReport, health
from kafkalab.ops.lag import LagMonitor, LagSample, Trend, trend
from kafkalab.ops.load import LoadReport, run_load, to_frame
from kafkalab.ops.metrics import (
    CLIENT_METRICS,
    Histogram,
    Registry,
    Series,
    collect_client_metrics,
    instrument,
    metrics_app,
    percentile,
    prometheus_name,
)
from kafkalab.ops.rules import (
    AlertEvent,
    AlertManager,
    BrokerUnreachable,
    Condition,
    DeadLetterRate,
    ErrorRate,
    LagAbove,
    LagGrowing,
    P99Above,
    Rule,
)

__all__ = [
    "AlertEvent",
    "AlertManager",
    "BrokerUnreachable",
    "CLIENT_METRICS",
    "ChaosReport",
    "Condition",
    "Dashboard",
    "DeadLetterRate",
    "ErrorRate",
    "HealthReport",
    "Histogram",
    "IdempotentStore",
    "LagAbove",
    "LagGrowing",
    "LagMonitor",
    "LagSample",
    "LoadReport",
    "P99Above",
    "Registry",
    "Rule",
    "SCENARIOS",
    "Sampler",
    "Series",
    "Trend",
    "chaos",
    "collect_client_metrics",
    "health",
    "instrument",
    "metrics_app",
    "percentile",
    "prometheus_name",
    "run_load",
    "to_frame",
    "trend",
]
