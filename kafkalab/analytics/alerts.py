"""Alerts: what a detector found, in a record anyone can read, on the ``alerts`` topic.

An alert names the metric, its value, the range that was expected, and the
detector that raised it, so whoever is paged can judge it without re-running
anything.

>>> a = Alert(metric="orders.revenue", value=7012.5, expected=(980.0, 1630.0),
...           detector="zscore", score=14.2, window_start_ms=1_767_225_600_000)
>>> a.as_record()["expected"], a.as_record()["window"]
({'low': 980.0, 'high': 1630.0}, '2026-01-01T00:00:00Z')
>>> print(a)
orders.revenue = 7012.5 outside 980.0..1630.0 at 2026-01-01T00:00:00Z (zscore, score 14.2)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from kafkalab.windows import iso

__all__ = ["ALERTS_TOPIC", "Alert", "AlertPublisher"]

log = logging.getLogger(__name__)

#: The topic the course uses for alerts.
ALERTS_TOPIC = "alerts"


@dataclass(frozen=True)
class Alert:
    """One metric of one window that a detector judged anomalous."""

    metric: str
    value: float
    expected: tuple[float, float]
    detector: str
    score: float
    window_start_ms: int

    def as_record(self) -> dict[str, Any]:
        """The JSON value published to the alerts topic."""
        return {"metric": self.metric, "value": self.value,
                "expected": {"low": self.expected[0], "high": self.expected[1]},
                "detector": self.detector, "score": round(self.score, 4),
                "windowStart": self.window_start_ms, "window": iso(self.window_start_ms)}

    def __str__(self) -> str:
        return (f"{self.metric} = {self.value} outside {self.expected[0]}..{self.expected[1]} "
                f"at {iso(self.window_start_ms)} ({self.detector}, score {self.score:.1f})")


class AlertPublisher:
    """Publish alerts to a topic, keyed by metric (one metric's alerts stay in order).

    Parameters
    ----------
    producer
        A :class:`~kafkalab.clients.Producer`.
    topic
        Defaults to ``alerts``.
    """

    def __init__(self, producer: Any, topic: str = ALERTS_TOPIC) -> None:
        self.producer = producer
        self.topic = topic
        self.sent = 0

    def __call__(self, alert: Alert) -> None:
        self.producer.send(self.topic, alert.as_record(), key=alert.metric)
        self.sent += 1
        log.warning("alert: %s", alert)
