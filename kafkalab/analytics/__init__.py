"""Real-time analytics: windowed shop metrics, a live table and dashboards, anomaly detection.

:func:`shop_metrics` computes the course brief's metrics (orders, users,
performance) per window with :mod:`kafkalab.streams`; :class:`ShopAnalytics`
runs it into a :class:`LiveTable`, a browser dashboard (:class:`DashboardServer`)
and per-metric anomaly detectors (:class:`RollingZScore`,
:class:`ScaledHalfSpaceTrees`) whose alerts go to the ``alerts`` topic.
:class:`EventGenerator` makes seeded, labelled events to try it all on;
:func:`bridge` feeds it the order events and logs of weeks 3-5 instead.
"""

# The alert and its topic are the course's one (kafkalab.alerts), named here too.
from kafkalab.alerts import ALERTS_TOPIC, Alert
from kafkalab.analytics.bridge import BridgeStats, bridge, to_shop_event
from kafkalab.analytics.broadcast import Broadcaster, Client
from kafkalab.analytics.dashboard import DashboardServer, create_app, plotly_js_path
from kafkalab.analytics.evaluation import Report, evaluate, roc_auc
from kafkalab.analytics.generator import ANOMALY_KINDS, EventGenerator
from kafkalab.analytics.hst import ScaledHalfSpaceTrees, scale
from kafkalab.analytics.live import LiveChart
from kafkalab.analytics.metrics import BOUNDS, METRICS, ShopMetrics, flatten
from kafkalab.analytics.monitor import AnomalyMonitor, hst_monitor, zscore_monitor
from kafkalab.analytics.pipeline import EVENTS_TOPIC, ShopAnalytics, produce_events, shop_metrics
from kafkalab.analytics.table import LiveTable
from kafkalab.analytics.zscore import RollingZScore

__all__ = [
    "ALERTS_TOPIC",
    "ANOMALY_KINDS",
    "Alert",
    "AnomalyMonitor",
    "BOUNDS",
    "BridgeStats",
    "Broadcaster",
    "Client",
    "DashboardServer",
    "EVENTS_TOPIC",
    "EventGenerator",
    "LiveChart",
    "LiveTable",
    "METRICS",
    "Report",
    "RollingZScore",
    "ScaledHalfSpaceTrees",
    "ShopAnalytics",
    "ShopMetrics",
    "bridge",
    "create_app",
    "evaluate",
    "flatten",
    "hst_monitor",
    "plotly_js_path",
    "produce_events",
    "roc_auc",
    "scale",
    "shop_metrics",
    "to_shop_event",
    "zscore_monitor",
]
