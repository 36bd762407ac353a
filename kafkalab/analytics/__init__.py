"""Real-time analytics: windowed shop metrics, a live table and dashboards, anomaly detection.

:func:`shop_metrics` computes the course brief's metrics (orders, users,
performance) per window with :mod:`kafkalab.streams`; :class:`ShopAnalytics`
runs it into a :class:`LiveTable`, a browser dashboard (:class:`DashboardServer`)
and per-metric anomaly detectors (:class:`RollingZScore`,
:class:`ScaledHalfSpaceTrees`) whose alerts go to the ``alerts`` topic.
:class:`EventGenerator` makes seeded, labelled events to try it all on;
:func:`bridge` feeds it the order events and logs of weeks 3-5 instead.
"""

from typing import TYPE_CHECKING

from kafkalab._lazy import lazy

# Each name is imported from its module when first used: the dashboard needs FastAPI,
# the detectors river and SciPy, and a caller of one should not wait for all of them.
# The alert and its topic are the course's one (kafkalab.alerts), named here too.
_WHERE = {
    "ALERTS_TOPIC": "kafkalab.alerts",
    "Alert": "kafkalab.alerts",
    "BridgeStats": "kafkalab.analytics.bridge",
    "bridge": "kafkalab.analytics.bridge",
    "to_shop_event": "kafkalab.analytics.bridge",
    "Broadcaster": "kafkalab.analytics.broadcast",
    "Client": "kafkalab.analytics.broadcast",
    "DashboardServer": "kafkalab.analytics.dashboard",
    "create_app": "kafkalab.analytics.dashboard",
    "plotly_js_path": "kafkalab.analytics.dashboard",
    "Report": "kafkalab.analytics.evaluation",
    "evaluate": "kafkalab.analytics.evaluation",
    "roc_auc": "kafkalab.analytics.evaluation",
    "ANOMALY_KINDS": "kafkalab.analytics.generator",
    "EventGenerator": "kafkalab.analytics.generator",
    "ScaledHalfSpaceTrees": "kafkalab.analytics.hst",
    "scale": "kafkalab.analytics.hst",
    "LiveChart": "kafkalab.analytics.live",
    "BOUNDS": "kafkalab.analytics.metrics",
    "METRICS": "kafkalab.analytics.metrics",
    "ShopMetrics": "kafkalab.analytics.metrics",
    "flatten": "kafkalab.analytics.metrics",
    "AnomalyMonitor": "kafkalab.analytics.monitor",
    "hst_monitor": "kafkalab.analytics.monitor",
    "zscore_monitor": "kafkalab.analytics.monitor",
    "EVENTS_TOPIC": "kafkalab.analytics.pipeline",
    "ShopAnalytics": "kafkalab.analytics.pipeline",
    "produce_events": "kafkalab.analytics.pipeline",
    "shop_metrics": "kafkalab.analytics.pipeline",
    "LiveTable": "kafkalab.analytics.table",
    "RollingZScore": "kafkalab.analytics.zscore",
}
__getattr__, __dir__ = lazy(__name__, _WHERE)

if TYPE_CHECKING:  # what type checkers and editors see
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
