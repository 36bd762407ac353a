"""Watch every metric with its own detector and turn high scores into alerts.

For each window's metrics, and each metric, the monitor does the prequential
dance: **score** the new value against what the detector knows, *then* let it
**learn** the value. One detector per metric (per key): revenue and error
rate have nothing in common, and one model for both would judge neither well.
A high score is a momentary condition for the course's one alert gate
(:class:`kafkalab.alerts.Gate`), so a ``cooldown_s`` can hold back repeats;
by default (0) every anomalous window alerts, which is what evaluation needs.

>>> from kafkalab.analytics.zscore import RollingZScore
>>> mon = AnomalyMonitor(lambda metric: RollingZScore(), threshold=3.0, name="zscore")
>>> for minute in range(10):
...     _ = mon.process(minute * 60_000, {"orders.count": 20 + minute % 3})
>>> [str(a) for a in mon.process(600_000, {"orders.count": 90})]
['[warning] zscore orders.count at 1970-01-01T00:10:00Z: 90 outside 18.27..23.53 (score 78.9)']
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from river.base import AnomalyDetector

from kafkalab.alerts import Alert, Gate

__all__ = ["AnomalyMonitor", "hst_monitor", "zscore_monitor"]


class AnomalyMonitor:
    """One detector per metric; :meth:`process` scores, learns, and returns alerts.

    Parameters
    ----------
    factory
        ``factory(metric_name)`` makes a fresh detector for a metric.
    threshold
        A score above it raises an alert.
    name
        The detector's name, the ``rule`` of its alerts.
    cooldown_s
        After an alert for a metric, its next anomalous windows within this
        many seconds (of window time) are counted, not alerted.
    """

    def __init__(self, factory: Callable[[str], AnomalyDetector], *, threshold: float,
                 name: str, cooldown_s: float = 0.0) -> None:
        self.factory = factory
        self.threshold = threshold
        self.name = name
        self.gate = Gate(cooldown_s=cooldown_s)
        self.detectors: dict[str, AnomalyDetector] = {}
        self.scores: list[tuple[int, str, float]] = []

    def process(self, window_start_ms: int, metrics: dict[str, Any]) -> list[Alert]:
        """Score, then learn, each metric of one window; alerts for the high scores."""
        alerts = []
        for metric, value in metrics.items():
            det = self.detectors.get(metric)
            if det is None:
                det = self.detectors[metric] = self.factory(metric)
            x: dict[Hashable, Any] = {"value": float(value)}
            score = det.score_one(x)           # judge first ...
            expected = det.expected_range() if hasattr(det, "expected_range") else None
            det.learn_one(x)                   # ... then learn
            self.scores.append((window_start_ms, metric, score))
            if score <= self.threshold:
                continue
            event = self.gate.trigger(metric, now=window_start_ms / 1000)
            if event is not None and event.kind == "fired":
                alerts.append(Alert(rule=self.name, kind="anomaly", metric=metric, value=value,
                                    expected=None if expected is None or None in expected else expected,
                                    score=score, timestamp_ms=window_start_ms,
                                    suppressed=event.suppressed))
        return alerts


def zscore_monitor(threshold: float = 4.0, window: int = 30) -> AnomalyMonitor:
    """A rolling z-score per metric; alert above ``threshold`` standard deviations."""
    from kafkalab.analytics.zscore import RollingZScore

    return AnomalyMonitor(lambda metric: RollingZScore(window=window, k=threshold),
                          threshold=threshold, name="zscore")


def hst_monitor(threshold: float = 0.95, seed: int = 42, window_size: int = 30) -> AnomalyMonitor:
    """HalfSpaceTrees per metric, on the value scaled to the metric's known bounds."""
    from kafkalab.analytics.hst import ScaledHalfSpaceTrees
    from kafkalab.analytics.metrics import BOUNDS

    return AnomalyMonitor(
        lambda metric: ScaledHalfSpaceTrees({"value": BOUNDS[metric]}, window_size=window_size,
                                            seed=seed),
        threshold=threshold, name="halfspacetrees")
