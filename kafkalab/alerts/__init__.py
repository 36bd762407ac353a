"""Alerting, one path for the whole course: an alert, a gate, notifiers.

Rules and detectors (log rules in week 5, anomaly monitors in week 6, IoT
thresholds in week 7, metric rules in week 8) only say whether a condition
holds. The :class:`Gate` decides, per key, what that means: hold time,
``fired`` once, ``cleared`` once, a cool-down that counts what it held back,
and hysteresis with a :class:`Threshold`. What fires becomes an :class:`Alert`,
one shape on one topic (``alerts``), and goes to :class:`Notifier` objects.
"""

from kafkalab.alerts.alert import ALERTS_TOPIC, SEVERITIES, Alert
from kafkalab.alerts.gate import Gate, GateEvent, GateStats
from kafkalab.alerts.notifiers import ConsoleNotifier, MemoryNotifier, Notifier, TopicNotifier, WebhookNotifier
from kafkalab.alerts.threshold import Threshold

__all__ = [
    "ALERTS_TOPIC",
    "SEVERITIES",
    "Alert",
    "ConsoleNotifier",
    "Gate",
    "GateEvent",
    "GateStats",
    "MemoryNotifier",
    "Notifier",
    "Threshold",
    "TopicNotifier",
    "WebhookNotifier",
]
