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

The rolling features are windows of week 6's engine,
:class:`kafkalab.windows.WindowedAggregation`, one key per device: a one-minute
:class:`~kafkalab.windows.Tumbling` mean (each device closes its minutes in its
own time, ``closing="key"``), then two :class:`~kafkalab.windows.CountBased`
windows over the minute means: the last ``window_min`` of them (``step=1``) and
the first ``baseline_min`` (the baseline). So :meth:`MaintenancePredictor.snapshot`
is built on the engine's.

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
import dataclasses
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from river import compose, linear_model, optim, preprocessing

from kafkalab.iot.alerts import DEFAULT_THRESHOLDS, Threshold
from kafkalab.iot.validation import Reading
from kafkalab.windows import Collect, CountBased, Mean, Tumbling, WindowedAggregation, WindowResult, iso

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

    def to_record(self) -> dict[str, Any]:
        """The JSON value published to ``maintenance-predictions``."""
        return {"deviceId": self.device_id, "type": self.type, "timestamp": iso(self.timestamp_ms),
                "failureProbability": round(self.probability, 4), "maintenanceDue": self.alarm,
                "horizonMinutes": self.horizon_min,
                "features": {k: round(v, 4) for k, v in self.features.items()}}


@dataclass
class _Device:
    type: str
    last_ts: int | None = None
    baseline: float | None = None      # mean of the first minute means after a (re)start
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
        # Windows per device (the key): minute means, closed by the device's
        # own next minute; the last window_min of them at every minute; the
        # first baseline_min of them.
        self._minutes = WindowedAggregation(Tumbling(_MINUTE), Mean(), emit="final",
                                            closing="key")
        self._recent = WindowedAggregation(CountBased(window_min, step=1), Collect(),
                                           emit="final")
        self._baseline = WindowedAggregation(CountBased(baseline_min), Mean(), emit="final")
        self._spreads: dict[int, float] = {}  # sum((i - mean i)^2) of the slope, per window length

    # -- features ------------------------------------------------------------

    def _features(self, dev: _Device, means: list[float] | None) -> dict[str, float] | None:
        if dev.baseline is None or means is None:
            return None
        scale = SCALES.get(dev.type, 1.0)
        base = dev.baseline
        recent = sum(means[-5:]) / len(means[-5:])
        # Least-squares slope of the minute means, per 10 minutes.
        n = len(means)
        mx = (n - 1) / 2
        my = sum(means) / n
        spread = self._spreads.get(n)
        if spread is None:  # depends on n only: computed once (it runs every minute per device)
            spread = self._spreads[n] = sum((i - mx) ** 2 for i in range(n))
        slope = sum([(i - mx) * (m - my) for i, m in enumerate(means)]) / spread
        return {"level": (recent - base) / scale, "slope": 10 * slope / scale}

    def _close_minute(self, dev: _Device, device_id: str, minute: WindowResult
                      ) -> Prediction | None:
        mean, end = minute.value, minute.window.end_ms
        if dev.baseline is None:
            for full in self._baseline.process(device_id, mean, end):
                dev.baseline = full.value
        # The window of the last window_min means completes at every minute once there are that many.
        means = [full.value for full in self._recent.process(device_id, mean, end)]
        x = self._features(dev, means[-1] if means else None)
        if x is None:
            return None
        proba = float(self.model.predict_proba_one(x).get(True, 0.0))
        ready = self.failures_seen >= self.min_failures
        pred = Prediction(device_id=device_id, type=dev.type, timestamp_ms=end,
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
        # passed without one: only then may the model learn from it. Pending
        # predictions are in time order (a device's minutes close in order),
        # so the resolved ones are a prefix: stop at the first still open.
        pending = dev.pending
        done = 0
        for t, x, pred in pending:
            if t + self.horizon_ms >= now_ms:
                break
            self._learn(x, pred, False)
            done += 1
        if done:
            del pending[:done]

    def _fail(self, dev: _Device, device_id: str, failed_ms: int) -> None:
        for t, x, pred in dev.pending:
            self._learn(x, pred, failed_ms - t <= self.horizon_ms)
        dev.pending = []
        self.failures_seen += 1
        self._reset(dev, device_id)

    def _reset(self, dev: _Device, device_id: str) -> None:
        # Start the device's windows afresh; the half-filled minute is dropped.
        for windows in (self._minutes, self._recent, self._baseline):
            windows.flush(device_id)
        dev.baseline = None

    # -- the stream ------------------------------------------------------------

    def process(self, reading: Reading) -> list[Prediction]:
        """Feed one reading; return the predictions of the minutes it closed."""
        device_id = reading.device_id
        dev = self.devices.get(device_id)
        if dev is None:
            dev = self.devices[device_id] = _Device(type=reading.type)
        ts = reading.timestamp_ms
        if dev.last_ts is not None and ts <= dev.last_ts:
            return []  # a duplicate or a late reading: stored, but not used for features
        if dev.last_ts is not None and ts - dev.last_ts >= self.gap_ms:
            self._reset(dev, device_id)  # silent for a while: serviced, so a new baseline
        dev.last_ts = ts
        out = []
        # The first reading of a later minute closes the device's previous one.
        for minute in self._minutes.process(device_id, reading.value, ts):
            assert isinstance(minute, WindowResult)  # never late: older readings returned above
            pred = self._close_minute(dev, device_id, minute)
            if pred is not None:
                out.append(pred)
        self._resolve_until(dev, ts)
        if reading.status == "failed":
            self._fail(dev, device_id, ts)
        return out

    # -- checkpoints -----------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """The features' windows and each device's baseline and pending predictions, as JSON.

        Not the model: a river model is a Python object, saved with ``pickle``
        apart from this checkpoint (and never unpickled from a topic others can
        write to). :attr:`resolved` is the evaluation's record, not state.
        """
        return {"minutes": self._minutes.snapshot(), "recent": self._recent.snapshot(),
                "baseline": self._baseline.snapshot(), "failures_seen": self.failures_seen,
                "devices": {d: {"type": dev.type, "last_ts": dev.last_ts,
                                "baseline": dev.baseline,
                                "pending": [dataclasses.asdict(p) for _, _, p in dev.pending]}
                            for d, dev in self.devices.items()}}

    def restore(self, state: Mapping[str, Any]) -> None:
        """Continue from a :meth:`snapshot` (with the model restored apart)."""
        self._minutes.restore(state["minutes"])
        self._recent.restore(state["recent"])
        self._baseline.restore(state["baseline"])
        self.failures_seen = state["failures_seen"]
        self.devices = {}
        for d, dev in state["devices"].items():
            pending = [Prediction(**p) for p in dev["pending"]]
            self.devices[d] = _Device(type=dev["type"], last_ts=dev["last_ts"],
                                      baseline=dev["baseline"],
                                      pending=[(p.timestamp_ms, dict(p.features), p)
                                               for p in pending])


@dataclass(frozen=True)
class WarningTime:
    """How much warning a failure got, from the model and from a plain threshold.

    ``None`` means no alarm in the ``horizon`` minutes before the failure.
    """

    device_id: str
    failed_ms: int
    model_min: float | None
    naive_min: float | None

    def to_record(self) -> dict[str, Any]:
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

        return pd.DataFrame([w.to_record() for w in self.warnings],
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
        for p in predictor.process(r):
            if p.alarm:
                alarms[r.device_id].append(p.timestamp_ms)
        th = thresholds.get(r.type)
        if th is not None and not th.low <= r.value <= th.high:
            crossings[r.device_id].append(r.timestamp_ms)
        if r.status == "failed":
            f = r.timestamp_ms

            def first(times: list[int], f: int = f) -> float | None:
                inside = [t for t in times if f - horizon <= t <= f]
                return round((f - min(inside)) / _MINUTE, 1) if inside else None

            warnings.append(WarningTime(r.device_id, f, first(alarms.pop(r.device_id, [])),
                                    first(crossings.pop(r.device_id, []))))
    return MaintenanceReport(resolved=list(predictor.resolved), warnings=warnings)
