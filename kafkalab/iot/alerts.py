"""Threshold alerts with hysteresis and a cool-down: a hovering sensor alerts once.

A plain rule, "alert when the value is above 85", fires again and again when
a sensor hovers around 85 (86, 84.5, 85.3, 84.9, ...). Two fixes, used together:

* **hysteresis**: an alert *arms* above ``high`` and only *clears* once the
  value falls below ``clear`` (lower than ``high``); while armed, nothing new fires;
* **cool-down**: after an alert, the same device and type stay quiet for
  ``cooldown_s`` even if the alarm clears and re-arms.

Both are the course's one alert gate (:class:`kafkalab.alerts.Gate` with a
:class:`kafkalab.alerts.Threshold`), keyed by device and type, in the
readings' own time. Alerts are :class:`kafkalab.alerts.Alert` records on the
``alerts`` topic with ``rule="threshold"`` and the metric ``"<deviceId>.<type>"``.

>>> from kafkalab.iot.validation import SENSOR_TYPES, Reading
>>> alerter = ThresholdAlerter({"humidity": Threshold(high=85, clear=80)}, cooldown_s=600)
>>> hovering = [84, 86, 84.5, 85.3, 84.9, 86.1, 79, 83]
>>> fired = [alerter.process(Reading("SENSOR-004", "humidity", v, "%", 60_000 * i))
...          for i, v in enumerate(hovering)]
>>> [i for i, a in enumerate(fired) if a]           # once, not four times
[1]
>>> print(fired[1])
[warning] threshold SENSOR-004.humidity at 1970-01-01T00:01:00Z: 86 outside 0.0..85 (score 1.0)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping

from kafkalab.alerts import Alert, Gate, Threshold
from kafkalab.iot.validation import SENSOR_TYPES, Reading

__all__ = ["DEFAULT_THRESHOLDS", "Threshold", "ThresholdAlerter"]

log = logging.getLogger(__name__)


#: Thresholds in canonical units (°C, mm/s, kPa, %), per type.
DEFAULT_THRESHOLDS: dict[str, Threshold] = {
    "temperature": Threshold(high=80.0, clear=75.0),
    "vibration": Threshold(high=10.0, clear=8.0),
    "pressure": Threshold(high=700.0, clear=650.0, low=150.0, clear_low=200.0),
    "humidity": Threshold(high=85.0, clear=80.0),
}


class ThresholdAlerter:
    """Per device and type: fire one :class:`~kafkalab.alerts.Alert` per excursion.

    Parameters
    ----------
    thresholds
        ``{type: Threshold}`` in canonical units; other types are not checked.
    cooldown_s
        After an alert, the same device and type stay silent this long
        (event time: the readings' timestamps, never the wall clock). An
        excursion held back that is still on when the cool-down ends alerts then.
    """

    def __init__(self, thresholds: Mapping[str, Threshold] | None = None, *,
                 cooldown_s: float = 600) -> None:
        self.thresholds = dict(DEFAULT_THRESHOLDS if thresholds is None else thresholds)
        self.gate = Gate(cooldown_s=cooldown_s)
        self.alerts: list[Alert] = []

    @property
    def suppressed(self) -> int:
        """Excursions the cool-down held back."""
        return self.gate.stats.suppressed

    def process(self, reading: Reading) -> Alert | None:
        """Judge one reading; return the alert it raises, if any."""
        th = self.thresholds.get(reading.type)
        if th is None:
            return None
        event = self.gate.observe((reading.device_id, reading.type), reading.value, th,
                                  now=reading.timestamp_ms / 1000)
        if event is None or event.kind != "fired":
            return None
        v, limit = reading.value, th.limit(event.state)
        # JSON has no infinity: an open side of the range is the physical limit.
        spec = SENSOR_TYPES.get(reading.type)
        low = th.low if math.isfinite(th.low) or spec is None else spec.low
        high = th.high if math.isfinite(th.high) or spec is None else spec.high
        alert = Alert(rule="threshold", kind="threshold",
                      metric=f"{reading.device_id}.{reading.type}", value=v,
                      expected=(low, high), score=round(v / limit, 4) if limit else math.inf,
                      timestamp_ms=reading.timestamp_ms, suppressed=event.suppressed)
        self.alerts.append(alert)
        return alert
