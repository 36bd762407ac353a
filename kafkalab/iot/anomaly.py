"""Anomaly detection per device: half-space trees against a rolling z-score.

Every device (and type) gets its own detector, because "normal" differs: 45 °C
is fine for one motor and alarming for another. The half-space trees see one
feature, the reading's *residual*: how far it is from that device's recent
level (an exponentially weighted mean), scaled to ``[0, 1]`` with bounds known
per type (:data:`RESIDUAL_BOUNDS`), as half-space trees need. The baseline is
week 6's rolling z-score on the raw value. Both score *before* they learn.

:func:`compare` runs both over a labelled stream (the simulator's spikes) and
scores them with week 6's :class:`~kafkalab.analytics.evaluation.Report`.

>>> from kafkalab.iot.validation import Reading
>>> dets = DeviceDetectors(hst_detector)
>>> readings = [Reading("SENSOR-002", "vibration", 2.0 + 0.05 * (i % 3), "mm/s", i * 60_000)
...             for i in range(80)]
>>> scores = [dets.score_then_learn(r) for r in readings]
>>> spike = Reading("SENSOR-002", "vibration", 3.5, "mm/s", 80 * 60_000)
>>> dets.score_then_learn(spike) > max(scores[40:])
True
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from river.base import AnomalyDetector

from kafkalab.analytics.evaluation import Report, roc_auc
from kafkalab.analytics.hst import ScaledHalfSpaceTrees
from kafkalab.analytics.zscore import RollingZScore
from kafkalab.iot.validation import Reading

__all__ = ["DETECTORS", "RESIDUAL_BOUNDS", "Detector", "DeviceDetectors", "RangeDetector",
           "ResidualHST", "compare", "hst_detector", "zscore_detector"]

#: How far (canonical units) a reading can sit from its device's recent level;
#: beyond this it is clipped. About 8 noise widths either side: wide enough
#: to tell a spike from noise, narrow enough that noise does not all fall
#: into one leaf of the trees.
RESIDUAL_BOUNDS: dict[str, tuple[float, float]] = {
    "temperature": (-3.2, 3.2),
    "vibration": (-0.64, 0.64),
    "pressure": (-16.0, 16.0),
    "humidity": (-8.0, 8.0),
}


class RangeDetector(Protocol):
    """A river-style anomaly detector that also says where a normal value is expected.

    The pipeline puts :meth:`expected_range` in its alerts; both
    :class:`ResidualHST` and week 6's ``RollingZScore`` have it.
    """

    def score_one(self, x: dict[Hashable, Any]) -> float: ...

    def learn_one(self, x: dict[Hashable, Any]) -> None: ...

    def expected_range(self) -> tuple[float, float]: ...


class ResidualHST(AnomalyDetector):
    """Half-space trees on ``value - recent level``, scaled to known bounds.

    Parameters
    ----------
    bounds
        ``(low, high)`` of the residual.
    alpha
        Weight of a new value in the recent level (an exponential moving mean).
    seed
        The trees' seed: fixed, so runs repeat.
    """

    def __init__(self, bounds: tuple[float, float], *, alpha: float = 0.2, window_size: int = 30,
                 height: int = 4, seed: int = 42) -> None:
        self.alpha = alpha
        self.level: float | None = None
        self.trees = ScaledHalfSpaceTrees({"residual": bounds}, window_size=window_size,
                                          n_trees=15, height=height, seed=seed)

    def _residual(self, x: dict) -> float:
        v = float(x["value"])
        return 0.0 if self.level is None else v - self.level

    def score_one(self, x: dict) -> float:
        return self.trees.score_one({"residual": self._residual(x)})

    def expected_range(self) -> tuple[float, float]:
        """The recent level plus or minus the residual bounds."""
        low, high = self.trees.bounds["residual"]
        level = 0.0 if self.level is None else self.level
        return (round(level + low, 2), round(level + high, 2))

    def learn_one(self, x: dict) -> None:
        self.trees.learn_one({"residual": self._residual(x)})
        v = float(x["value"])
        self.level = v if self.level is None else self.level + self.alpha * (v - self.level)


def hst_detector(sensor_type: str) -> ResidualHST:
    """A :class:`ResidualHST` with the bounds of ``sensor_type``."""
    return ResidualHST(RESIDUAL_BOUNDS.get(sensor_type, (-1.0, 1.0)))


def zscore_detector(sensor_type: str) -> RollingZScore:
    """Week 6's rolling z-score over the last 30 values (the baseline)."""
    return RollingZScore(window=30, min_history=10, feature="value")


class DeviceDetectors:
    """One detector per ``(deviceId, type)``, created on first sight.

    Parameters
    ----------
    factory
        ``factory(sensor_type)`` makes a new detector.
    """

    def __init__(self, factory: Callable[[str], RangeDetector]) -> None:
        self.factory = factory
        self.detectors: dict[tuple[str, str], RangeDetector] = {}

    def detector(self, reading: Reading) -> RangeDetector:
        """The detector of the reading's device and type (made on first sight)."""
        key = (reading.device_id, reading.type)
        det = self.detectors.get(key)
        if det is None:
            det = self.detectors[key] = self.factory(reading.type)
        return det

    def score_then_learn(self, reading: Reading) -> float:
        """Score the reading, *then* learn it (never judge a value against itself)."""
        det = self.detector(reading)
        x: dict[Hashable, Any] = {"value": reading.value}
        score = det.score_one(x)
        det.learn_one(x)
        return score


@dataclass(frozen=True)
class Detector:
    """A named detector factory and the score above which it alerts."""

    name: str
    factory: Callable[[str], RangeDetector]
    threshold: float


#: The two detectors :func:`compare` runs by default.
DETECTORS = (Detector("half-space-trees", hst_detector, 0.9),
             Detector("rolling-zscore", zscore_detector, 5.0))


def compare(readings: Iterable[Reading], anomalies: set[tuple[str, str, int]],
            detectors: Iterable[Detector] = DETECTORS) -> list[Report]:
    """Run each detector prequentially over ``readings``; score it against ``anomalies``.

    Each distinct reading is one point (a duplicate is judged once); its label
    is whether its key is in ``anomalies``.
    """
    readings = list(readings)
    reports = []
    for d in detectors:
        dets = DeviceDetectors(d.factory)
        seen: set[tuple[str, str, int]] = set()
        labels, scores = [], []
        tp = fp = 0
        for r in readings:
            if r.key in seen:
                continue
            seen.add(r.key)
            score = dets.score_then_learn(r)
            label = r.key in anomalies
            labels.append(label)
            scores.append(score)
            if score > d.threshold:
                tp += label
                fp += not label
        reports.append(Report(detector=d.name, threshold=d.threshold, points=len(labels),
                              anomalies=sum(labels), true_positives=tp, false_positives=fp,
                              roc_auc=roc_auc(labels, scores)))
    return reports
