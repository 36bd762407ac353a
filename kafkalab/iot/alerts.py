"""Threshold alerts with hysteresis and a cool-down: a hovering sensor alerts once.

A plain rule, "alert when the value is above 85", fires again and again when
a sensor hovers around 85 (86, 84.5, 85.3, 84.9, ...). Two fixes, used together:

* **hysteresis**: an alert *arms* above ``high`` and only *clears* once the
  value falls below ``clear`` (lower than ``high``); while armed, nothing new fires;
* **cool-down**: after an alert, the same device and type stay quiet for
  ``cooldown_s`` even if the alarm clears and re-arms.

Alerts use week 6's shape (:class:`kafkalab.analytics.Alert`) on the same
``alerts`` topic, with ``detector="threshold"`` and the metric
``"<deviceId>.<type>"``.

>>> from kafkalab.iot.validation import SENSOR_TYPES, Reading
>>> alerter = ThresholdAlerter({"humidity": Threshold(high=85, clear=80)}, cooldown_s=600)
>>> hovering = [84, 86, 84.5, 85.3, 84.9, 86.1, 79, 83]
>>> fired = [alerter.observe(Reading("SENSOR-004", "humidity", v, "%", 60_000 * i))
...          for i, v in enumerate(hovering)]
>>> [i for i, a in enumerate(fired) if a]           # once, not four times
[1]
>>> print(fired[1])
SENSOR-004.humidity = 86 outside 0.0..85 at 1970-01-01T00:01:00Z (threshold, score 1.0)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

from kafkalab.analytics.alerts import Alert
from kafkalab.iot.validation import SENSOR_TYPES, Reading

__all__ = ["DEFAULT_THRESHOLDS", "Threshold", "ThresholdAlerter"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Threshold:
    """Alert above ``high`` (or below ``low``); re-arm only past ``clear``.

    ``clear`` defaults to ``high`` (no hysteresis) for an upper limit.
    For a lower limit (``low``), ``clear_low`` plays the same role.
    """

    high: float = math.inf
    clear: float | None = None
    low: float = -math.inf
    clear_low: float | None = None

    def __post_init__(self) -> None:
        if self.clear is not None and self.clear > self.high:
            raise ValueError(f"clear ({self.clear}) must not exceed high ({self.high}): "
                             "the alarm would clear while still above the limit")
        if self.clear_low is not None and self.clear_low < self.low:
            raise ValueError(f"clear_low ({self.clear_low}) must not be below low ({self.low})")

    @property
    def clear_high(self) -> float:
        return self.high if self.clear is None else self.clear

    @property
    def clear_lower(self) -> float:
        return self.low if self.clear_low is None else self.clear_low


#: Thresholds in canonical units (°C, mm/s, kPa, %), per type.
DEFAULT_THRESHOLDS: dict[str, Threshold] = {
    "temperature": Threshold(high=80.0, clear=75.0),
    "vibration": Threshold(high=10.0, clear=8.0),
    "pressure": Threshold(high=700.0, clear=650.0, low=150.0, clear_low=200.0),
    "humidity": Threshold(high=85.0, clear=80.0),
}


class ThresholdAlerter:
    """Per device and type: fire one :class:`~kafkalab.analytics.Alert` per excursion.

    Parameters
    ----------
    thresholds
        ``{type: Threshold}`` in canonical units; other types are not checked.
    cooldown_s
        After an alert, the same device and type stay silent this long
        (event time: the readings' timestamps, never the wall clock).
    """

    def __init__(self, thresholds: Mapping[str, Threshold] | None = None, *,
                 cooldown_s: float = 600) -> None:
        self.thresholds = dict(DEFAULT_THRESHOLDS if thresholds is None else thresholds)
        self.cooldown_ms = int(cooldown_s * 1000)
        # The side ("high" or "low") of the excursion an armed alarm is on.
        self._armed: dict[tuple[str, str], str | None] = {}
        self._last: dict[tuple[str, str], int] = {}
        self.alerts: list[Alert] = []
        self.suppressed = 0

    def observe(self, reading: Reading) -> Alert | None:
        """Judge one reading; return the alert it raises, if any."""
        th = self.thresholds.get(reading.type)
        if th is None:
            return None
        key = (reading.device_id, reading.type)
        v = reading.value
        side = "high" if v > th.high else "low" if v < th.low else None
        armed = self._armed.get(key)
        if armed is not None:
            # Hysteresis: stay armed until the value is back well inside. A jump
            # straight past the *other* limit is a new excursion, not the same one.
            if th.clear_lower < v < th.clear_high:
                self._armed[key] = None
            if side is None or side == armed:
                return None
        if side is None:
            return None
        self._armed[key] = side
        last = self._last.get(key)
        if last is not None and 0 <= reading.timestamp_ms - last < self.cooldown_ms:
            self.suppressed += 1
            return None
        self._last[key] = reading.timestamp_ms
        limit = th.high if v > th.high else th.low
        # JSON has no infinity: an open side of the range is the physical limit.
        spec = SENSOR_TYPES.get(reading.type)
        low = th.low if math.isfinite(th.low) or spec is None else spec.low
        high = th.high if math.isfinite(th.high) or spec is None else spec.high
        alert = Alert(metric=f"{reading.device_id}.{reading.type}", value=v,
                      expected=(low, high), detector="threshold",
                      score=round(v / limit, 4) if limit else math.inf,
                      window_start_ms=reading.timestamp_ms)
        self.alerts.append(alert)
        return alert
