"""Validate a raw sensor record and normalise it to one canonical unit per type.

Devices from different vendors report the same quantity in different units:
one thermometer says 98.6 °F, the next 37 °C. Before anything compares values
(a threshold, a detector, a model) every reading is converted to the canonical
unit of its type. A record that cannot be trusted is rejected with a reason
string, never silently dropped: the pipeline sends it to the dead-letter topic.

>>> r = validate({"deviceId": "SENSOR-001", "type": "temperature", "value": 98.6,
...               "unit": "°F", "timestamp": "2026-01-01T00:00:00Z"})
>>> r.value, r.unit, r.timestamp_ms
(37.0, '°C', 1767225600000)
>>> validate({"deviceId": "SENSOR-001", "type": "humidity", "value": 140,
...           "unit": "%", "timestamp": 1767225600000})
Traceback (most recent call last):
...
kafkalab.iot.validation.InvalidReading: impossible value: humidity 140.0 % is outside 0..100 %
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kafkalab.timeutil import to_epoch_ms
from kafkalab.windows import iso

__all__ = ["CANONICAL_UNITS", "REQUIRED_FIELDS", "SENSOR_TYPES", "InvalidReading", "Reading",
           "Rule", "SensorType", "Validator", "convert", "parse_timestamp", "validate"]

#: The fields every reading must carry.
REQUIRED_FIELDS = ("deviceId", "type", "value", "unit", "timestamp")


@dataclass(frozen=True)
class SensorType:
    """One kind of sensor: its canonical unit, accepted units and physical limits.

    ``units`` maps every accepted spelling of a unit to a function converting
    a value in that unit into the canonical one.
    """

    name: str
    unit: str
    units: Mapping[str, Callable[[float], float]]
    low: float
    high: float


def _same(v: float) -> float:
    return v


# Conversions are exact definitions (1 psi = 6.894757 kPa, 1 in = 25.4 mm),
# so a value survives a round trip through a learner's converter unchanged.
SENSOR_TYPES: dict[str, SensorType] = {
    "temperature": SensorType("temperature", "°C", {
        "°C": _same, "C": _same, "degC": _same,
        "°F": lambda f: (f - 32.0) * 5.0 / 9.0, "F": lambda f: (f - 32.0) * 5.0 / 9.0,
        "K": lambda k: k - 273.15}, low=-50.0, high=150.0),
    "vibration": SensorType("vibration", "mm/s", {
        "mm/s": _same, "in/s": lambda v: v * 25.4}, low=0.0, high=100.0),
    "pressure": SensorType("pressure", "kPa", {
        "kPa": _same, "psi": lambda p: p * 6.894757, "bar": lambda b: b * 100.0},
        low=0.0, high=2000.0),
    "humidity": SensorType("humidity", "%", {"%": _same, "%RH": _same}, low=0.0, high=100.0),
}

#: ``{type: canonical unit}``.
CANONICAL_UNITS = {name: t.unit for name, t in SENSOR_TYPES.items()}

# Devices may not send times before 2000 or after 2100: such a stamp is a
# broken clock (or seconds sent where milliseconds were expected).
_MIN_MS = 946_684_800_000
_MAX_MS = 4_102_444_800_000
_DEVICE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


class InvalidReading(ValueError):
    """A record that is not a usable reading; the message is the reason."""


@dataclass(frozen=True)
class Reading:
    """One validated reading, in the canonical unit of its type.

    ``raw_value`` and ``raw_unit`` keep what the device sent, for audits.
    """

    device_id: str
    type: str
    value: float
    unit: str
    timestamp_ms: int
    raw_value: float | None = None
    raw_unit: str | None = None
    status: str = "ok"

    @property
    def key(self) -> tuple[str, str, int]:
        """The identity of a reading: re-sending it must change nothing."""
        return (self.device_id, self.type, self.timestamp_ms)

    def to_record(self) -> dict[str, Any]:
        """The normalised reading as JSON-ready data."""
        return {"deviceId": self.device_id, "type": self.type, "value": self.value,
                "unit": self.unit, "timestamp": iso(self.timestamp_ms), "status": self.status}


def convert(sensor_type: str, value: float, unit: str) -> tuple[float, str]:
    """``value`` in ``unit`` converted to the canonical unit of ``sensor_type``.

    >>> convert("pressure", 14.5, "psi")
    (99.974, 'kPa')
    >>> convert("vibration", 0.1, "in/s")
    (2.54, 'mm/s')
    """
    spec = SENSOR_TYPES.get(sensor_type)
    if spec is None:
        raise InvalidReading(f"unknown sensor type {sensor_type!r}; expected one of "
                             f"{sorted(SENSOR_TYPES)}")
    fn = spec.units.get(unit)
    if fn is None:
        raise InvalidReading(f"unknown unit {unit!r} for {sensor_type}; expected one of "
                             f"{sorted(spec.units)}")
    # Rounded to 3 decimals: sensors are not more precise, and equal inputs
    # must give bit-identical stored values (idempotent re-delivery).
    return round(fn(float(value)), 3), spec.unit


def parse_timestamp(value: Any) -> int:
    """Milliseconds since the epoch from an ISO-8601 string or an integer of milliseconds.

    >>> parse_timestamp("2026-01-01T00:00:30Z"), parse_timestamp(1767225630000)
    (1767225630000, 1767225630000)
    """
    if isinstance(value, bool):
        raise InvalidReading("timestamp must be an ISO-8601 string or milliseconds; got a bool")
    if isinstance(value, int):
        ms = value
    elif isinstance(value, str):
        try:
            ms = to_epoch_ms(value)  # no zone given: UTC (kafkalab.timeutil says why)
        except ValueError:
            raise InvalidReading(f"timestamp {value!r} is not ISO-8601") from None
    else:
        raise InvalidReading(f"timestamp must be an ISO-8601 string or milliseconds; "
                             f"got {type(value).__name__}")
    if not _MIN_MS <= ms < _MAX_MS:
        raise InvalidReading(f"timestamp {value!r} is outside the years 2000-2100 "
                             f"(seconds sent instead of milliseconds?)")
    return ms


#: A validation rule: given the raw record, a reason string if it is bad, else ``None``.
Rule = Callable[[Mapping[str, Any]], "str | None"]


def _check_fields(record: Mapping[str, Any]) -> None:
    missing = [f for f in REQUIRED_FIELDS if record.get(f) is None]
    if missing:
        raise InvalidReading("missing field(s) " + ", ".join(repr(f) for f in missing))
    device = record["deviceId"]
    if not isinstance(device, str) or not _DEVICE_ID.match(device):
        raise InvalidReading(f"deviceId must be a short id string; got {device!r}")
    value = record["value"]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise InvalidReading(f"value must be a number; got {type(value).__name__} {value!r}")
    # JSON integers have no size limit; math.isfinite (and every float
    # conversion after it) raises OverflowError past about 1e308. A reading
    # beyond 2**53 (where floats stop counting exactly) is no measurement.
    if isinstance(value, int) and value.bit_length() > 53:
        raise InvalidReading(f"value must be a number within +-2**53; got an integer of "
                             f"{value.bit_length()} bits")
    if not math.isfinite(value):
        raise InvalidReading(f"value must be finite; got {value!r}")
    for name in ("type", "unit"):
        if not isinstance(record[name], str):
            raise InvalidReading(f"{name} must be a string; got {type(record[name]).__name__}")


@dataclass
class Validator:
    """The schema and unit checks, plus any extra ``rules`` of your own.

    A rule sees the raw record after the built-in checks passed and returns a
    reason string to reject it (or ``None`` to accept it).

    >>> no_test_devices = lambda r: "test device" if r["deviceId"].startswith("TEST") else None
    >>> v = Validator(rules=[no_test_devices])
    >>> v({"deviceId": "TEST-1", "type": "humidity", "value": 40, "unit": "%",
    ...    "timestamp": 1767225600000})
    Traceback (most recent call last):
    ...
    kafkalab.iot.validation.InvalidReading: test device
    """

    rules: list[Rule] = field(default_factory=list)

    def __call__(self, record: Any) -> Reading:
        if not isinstance(record, Mapping):
            raise InvalidReading(f"a reading must be a JSON object; got {type(record).__name__}")
        _check_fields(record)
        ts = parse_timestamp(record["timestamp"])
        value, unit = convert(record["type"], record["value"], record["unit"])
        spec = SENSOR_TYPES[record["type"]]
        if not spec.low <= value <= spec.high:
            raise InvalidReading(
                f"impossible value: {spec.name} {value} {unit} is outside "
                f"{spec.low:g}..{spec.high:g} {unit}")
        for rule in self.rules:
            reason = rule(record)
            if reason:
                raise InvalidReading(str(reason))
        status = record.get("status", "ok")
        if not isinstance(status, str):
            raise InvalidReading(f"status must be a string; got {type(status).__name__}")
        return Reading(device_id=record["deviceId"], type=record["type"], value=value,
                       unit=unit, timestamp_ms=ts, raw_value=float(record["value"]),
                       raw_unit=record["unit"], status=status)


def validate(record: Any, rules: Iterable[Rule] = ()) -> Reading:
    """Check one raw record and return its :class:`Reading`, or raise :class:`InvalidReading`."""
    return Validator(list(rules))(record)
