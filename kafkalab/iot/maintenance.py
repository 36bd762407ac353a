"""Predictive maintenance: will this device fail within the next H minutes?

A streaming river model, ``StandardScaler | LogisticRegression``, learns from
per-device rolling features computed each minute:

* ``level``: the last 5 minutes' mean above the device's own healthy baseline
  (its first minutes after start or repair), in units of :data:`SCALES`;
* ``slope``: how fast the minute means rise, per 10 minutes, same units.

Evaluation is *prequential* and honest: each minute the model first predicts,
and learns from that example only once its label is known, which is when the
horizon has passed (label "no failure") or the device reports a failure
(label "failure" for the predictions made in the H minutes before it). Nothing
from the future is used.

>>> from kafkalab.iot.simulator import simulate
>>> from kafkalab.iot.validation import validate
>>> sim = simulate(devices=8, minutes=720, seed=3, malformed_rate=0, duplicate_rate=0,
...                out_of_order_rate=0)
>>> report = evaluate(validate(r) for r in sim.readings())
>>> len(report.warnings) == len(sim.failures)
True
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from river import compose, linear_model, optim, preprocessing

from kafkalab.iot.alerts import DEFAULT_THRESHOLDS, Threshold
from kafkalab.iot.validation import Reading
from kafkalab.windows import iso

__all__ = ["PREDICTIONS_TOPIC", "SCALES", "MaintenancePredictor", "MaintenanceReport",
           "Prediction", "WarningTime", "default_model", "evaluate"]

log = logging.getLogger(__name__)

#: Where predictions are published.
PREDICTIONS_TOPIC = "maintenance-predictions"

#: A typical operating span per type (canonical units): features are divided
#: by it, so one model serves thermometers and vibration sensors alike.
SCALES: dict[str, float] = {"temperature": 10.0, "vibration": 2.0, "pressure": 50.0,
                            "humidity": 10.0}

_MINUTE = 60_000


def default_model() -> compose.Pipeline:
    """``StandardScaler | LogisticRegression``, plain river, deterministic."""
    return preprocessing.StandardScaler() | linear_model.LogisticRegression(
        optimizer=optim.SGD(0.05))


@dataclass(frozen=True)
class Prediction:
    """The model's view of one device at the end of one minute."""

    device_id: str
    type: str
    timestamp_ms: int
    probability: float
    alarm: bool
    horizon_min: float
    features: Mapping[str, float] = field(default_factory=dict)

    def as_record(self) -> dict[str, Any]:
        """The JSON value published to ``maintenance-predictions``."""
        return {"deviceId": self.device_id, "type": self.type, "timestamp": iso(self.timestamp_ms),
                "failureProbability": round(self.probability, 4), "maintenanceDue": self.alarm,
                "horizonMinutes": self.horizon_min,
                "features": {k: round(v, 4) for k, v in self.features.items()}}


@dataclass
class _Device:
    type: str
    minute: int | None = None          # start of the minute being filled
    total: float = 0.0
    count: int = 0
    last_ts: int | None = None
    means: collections.deque = field(default_factory=lambda: collections.deque(maxlen=15))
    baseline: list[float] = field(default_factory=list)
    pending: list[tuple[int, dict[str, float], Prediction]] = field(default_factory=list)


class MaintenancePredictor:
    """Per-device rolling features, one shared streaming model, honest labels.

    Parameters
    ----------
    horizon_min
        Predict "fails within this many minutes".
    window_min
        Minutes of minute-means the features look at.
    baseline_min
        Minutes after a start or repair that define a device's healthy level.
    threshold
        Probability above which a prediction raises the maintenance alarm.
    min_failures
        No alarm before the model has learnt from this many failures (an
        untrained model says 0.5 for everything).
    positive_weight
        Failures are rare; their examples weigh this much more in learning.
    gap_min
        A device silent this long was serviced: its features start afresh.
    model
        A river classifier; :func:`default_model` when ``None``.
    """

    def __init__(self, *, horizon_min: float = 30, window_min: int = 15, baseline_min: int = 20,
                 threshold: float = 0.5, min_failures: int = 2, positive_weight: float = 5.0,
                 gap_min: float = 5, model: Any = None) -> None:
        self.horizon_ms = int(horizon_min * _MINUTE)
        self.horizon_min = horizon_min
        self.window_min = window_min
        self.baseline_min = baseline_min
        self.threshold = threshold
        self.min_failures = min_failures
        self.positive_weight = positive_weight
        self.gap_ms = int(gap_min * _MINUTE)
        self.model = default_model() if model is None else model
        self.devices: dict[str, _Device] = {}
        self.failures_seen = 0
        #: ``(prediction, label)`` for every prediction whose label is known.
        self.resolved: list[tuple[Prediction, bool]] = []

    # -- features ------------------------------------------------------------

    def _features(self, dev: _Device) -> dict[str, float] | None:
        if len(dev.baseline) < self.baseline_min or len(dev.means) < self.window_min:
            return None
        scale = SCALES.get(dev.type, 1.0)
        base = sum(dev.baseline) / len(dev.baseline)
        means = list(dev.means)
        recent = sum(means[-5:]) / len(means[-5:])
        # Least-squares slope of the minute means, per 10 minutes.
        n = len(means)
        mx = (n - 1) / 2
        my = sum(means) / n
        slope = sum((i - mx) * (m - my) for i, m in enumerate(means)) / sum(
            (i - mx) ** 2 for i in range(n))
        return {"level": (recent - base) / scale, "slope": 10 * slope / scale}

    def _close_minute(self, dev: _Device, device_id: str) -> Prediction | None:
        if dev.minute is None or dev.count == 0:
            return None
        mean = dev.total / dev.count
        if len(dev.baseline) < self.baseline_min:
            dev.baseline.append(mean)
        dev.means.append(mean)
        x = self._features(dev)
        if x is None:
            return None
        proba = float(self.model.predict_proba_one(x).get(True, 0.0))
        ready = self.failures_seen >= self.min_failures
        pred = Prediction(device_id=device_id, type=dev.type, timestamp_ms=dev.minute + _MINUTE,
                          probability=proba, alarm=ready and proba >= self.threshold,
                          horizon_min=self.horizon_min, features=x)
        dev.pending.append((pred.timestamp_ms, x, pred))
        return pred

    # -- labels ----------------------------------------------------------------

    def _learn(self, x: dict[str, float], pred: Prediction, label: bool) -> None:
        self.model.learn_one(x, label, w=self.positive_weight if label else 1.0)
        self.resolved.append((pred, label))

    def _resolve_until(self, dev: _Device, now_ms: int) -> None:
        # A prediction made at t is a known "no failure" once t + horizon has
        # passed without one: only then may the model learn from it.
        keep = []
        for t, x, pred in dev.pending:
            if t + self.horizon_ms < now_ms:
                self._learn(x, pred, False)
            else:
                keep.append((t, x, pred))
        dev.pending = keep

    def _fail(self, dev: _Device, failed_ms: int) -> None:
        for t, x, pred in dev.pending:
            self._learn(x, pred, failed_ms - t <= self.horizon_ms)
        dev.pending = []
        self.failures_seen += 1
        self._reset(dev)

    def _reset(self, dev: _Device) -> None:
        dev.minute, dev.total, dev.count = None, 0.0, 0
        dev.means = collections.deque(maxlen=self.window_min)
        dev.baseline = []

    # -- the stream ------------------------------------------------------------

    def observe(self, reading: Reading) -> list[Prediction]:
        """Feed one reading; return the predictions of the minutes it closed."""
        dev = self.devices.get(reading.device_id)
        if dev is None:
            dev = self.devices[reading.device_id] = _Device(
                type=reading.type, means=collections.deque(maxlen=self.window_min))
        ts = reading.timestamp_ms
        if dev.last_ts is not None and ts <= dev.last_ts:
            return []  # a duplicate or a late reading: stored, but not used for features
        if dev.last_ts is not None and ts - dev.last_ts >= self.gap_ms:
            self._reset(dev)  # silent for a while: serviced, so a new baseline
        dev.last_ts = ts
        out = []
        minute = ts - ts % _MINUTE
        if dev.minute is not None and minute != dev.minute:
            pred = self._close_minute(dev, reading.device_id)
            if pred is not None:
                out.append(pred)
            dev.total, dev.count = 0.0, 0
        dev.minute = minute
        dev.total += reading.value
        dev.count += 1
        self._resolve_until(dev, ts)
        if reading.status == "failed":
            self._fail(dev, ts)
        return out


@dataclass(frozen=True)
class WarningTime:
    """How much warning a failure got, from the model and from a plain threshold.

    ``None`` means no alarm in the ``horizon`` minutes before the failure.
    """

    device_id: str
    failed_ms: int
    model_min: float | None
    naive_min: float | None

    def as_dict(self) -> dict[str, Any]:
        return {"deviceId": self.device_id, "failedAt": iso(self.failed_ms),
                "modelWarningMin": self.model_min, "thresholdWarningMin": self.naive_min}


@dataclass
class MaintenanceReport:
    """Prequential precision and recall, and the warning each failure got."""

    resolved: list[tuple[Prediction, bool]]
    warnings: list[WarningTime]

    @property
    def true_positives(self) -> int:
        return sum(1 for p, y in self.resolved if p.alarm and y)

    @property
    def precision(self) -> float:
        alarms = sum(1 for p, _ in self.resolved if p.alarm)
        return self.true_positives / alarms if alarms else 0.0

    @property
    def recall(self) -> float:
        positives = sum(1 for _, y in self.resolved if y)
        return self.true_positives / positives if positives else 0.0

    def warned(self, who: str = "model") -> int:
        """How many failures got any warning from ``"model"`` or ``"naive"``."""
        return sum(1 for w in self.warnings
                   if (w.model_min if who == "model" else w.naive_min) is not None)

    def mean_warning(self, who: str = "model") -> float:
        """Mean minutes of warning over all failures (no warning counts as 0)."""
        if not self.warnings:
            return 0.0
        vals = [(w.model_min if who == "model" else w.naive_min) or 0.0 for w in self.warnings]
        return sum(vals) / len(vals)

    def frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([w.as_dict() for w in self.warnings],
                            columns=["deviceId", "failedAt", "modelWarningMin",
                                     "thresholdWarningMin"])

    def __str__(self) -> str:
        return (f"{len(self.warnings)} failures; model: precision {self.precision:.2f}, "
                f"recall {self.recall:.2f}, warned {self.warned('model')}, mean warning "
                f"{self.mean_warning('model'):.1f} min; threshold rule: warned "
                f"{self.warned('naive')}, mean warning {self.mean_warning('naive'):.1f} min")


def evaluate(readings: Iterable[Reading], predictor: MaintenancePredictor | None = None,
             thresholds: Mapping[str, Threshold] | None = None) -> MaintenanceReport:
    """Run ``predictor`` over ``readings`` in arrival order; report the warnings.

    For each failure, the model's warning is the time from its first alarm in
    the horizon before the failure; the naive rule's is the time from the
    first reading above the alert threshold (:data:`DEFAULT_THRESHOLDS`) in
    that same span. Earlier alarms are false alarms, which precision counts.
    """
    predictor = predictor or MaintenancePredictor()
    thresholds = DEFAULT_THRESHOLDS if thresholds is None else thresholds
    horizon = predictor.horizon_ms
    alarms: dict[str, list[int]] = collections.defaultdict(list)
    crossings: dict[str, list[int]] = collections.defaultdict(list)
    warnings = []
    seen: set[tuple[str, str, int]] = set()
    for r in readings:
        if r.key in seen:
            continue
        seen.add(r.key)
        for p in predictor.observe(r):
            if p.alarm:
                alarms[r.device_id].append(p.timestamp_ms)
        th = thresholds.get(r.type)
        if th is not None and not th.low <= r.value <= th.high:
            crossings[r.device_id].append(r.timestamp_ms)
        if r.status == "failed":
            f = r.timestamp_ms

            def first(times: list[int]) -> float | None:
                inside = [t for t in times if f - horizon <= t <= f]
                return round((f - min(inside)) / _MINUTE, 1) if inside else None

            warnings.append(WarningTime(r.device_id, f, first(alarms.pop(r.device_id, [])),
                                    first(crossings.pop(r.device_id, []))))
    return MaintenanceReport(resolved=list(predictor.resolved), warnings=warnings)
