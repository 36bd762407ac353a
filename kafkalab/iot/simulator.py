"""A seeded fleet of sensors: readings in mixed units, with every fault a real fleet has.

Each device reports one quantity (temperature, vibration, pressure or
humidity) every ``interval_s`` seconds, in its vendor's unit (°F or °C, psi or
kPa, in/s or mm/s), with noise and a daily drift. On top of that the
simulation injects, deterministically from ``seed``:

* malformed records: not JSON, missing fields, wrong types, impossible values,
  unknown units, broken clocks (each kind in turn);
* duplicates (a record sent twice) and out-of-order arrivals (held back a few
  places);
* spikes: single readings far off, labelled in :attr:`Simulation.anomalies`;
* slow degradation of some temperature and vibration devices (the value
  creeps up faster and faster) ending in a failure: the last reading carries
  ``"status": "failed"``, the device is silent while it is repaired, then
  starts healthy again. Failures are listed in :attr:`Simulation.failures`;
  they are what predictive maintenance must see coming.

No wall clock is read: timestamps start at ``start_ms``.

>>> sim = simulate(devices=4, minutes=30, seed=7)
>>> key, value = sim.records[1]
>>> key, value["value"], value["unit"], value["timestamp"]
('SENSOR-002', 0.0702, 'in/s', '2026-01-01T00:00:00Z')
>>> len(sim.valid)                       # 4 devices x 30 readings
120
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kafkalab.iot.validation import SENSOR_TYPES
from kafkalab.testing import seeded
from kafkalab.windows import iso

__all__ = ["DEVICE_TYPES", "START_MS", "Device", "Simulation", "fleet", "publish", "simulate"]

#: 2026-01-01T00:00:00Z: every simulation starts here unless told otherwise.
START_MS = 1_767_225_600_000

#: Device types in the order they are handed out (SENSOR-001 is a thermometer).
DEVICE_TYPES = ("temperature", "vibration", "pressure", "humidity")

# Per type: healthy baseline range, noise (std), daily swing, units in use and
# how far a degrading device rises before it fails (canonical units).
_PROFILES: dict[str, dict[str, Any]] = {
    "temperature": {"base": (35.0, 55.0), "noise": 0.4, "daily": 2.0, "units": ("°C", "°F"),
                    "rise": 40.0},
    "vibration": {"base": (1.5, 3.5), "noise": 0.08, "daily": 0.1, "units": ("mm/s", "in/s"),
                  "rise": 9.0},
    "pressure": {"base": (300.0, 500.0), "noise": 2.0, "daily": 5.0, "units": ("kPa", "psi"),
                 "rise": None},
    "humidity": {"base": (40.0, 60.0), "noise": 0.8, "daily": 6.0, "units": ("%", "%RH"),
                 "rise": None},
}

# The inverse of validation's conversions: canonical value -> device unit.
_FROM_CANONICAL = {
    "°C": lambda v: v, "°F": lambda v: v * 9.0 / 5.0 + 32.0, "mm/s": lambda v: v,
    "in/s": lambda v: v / 25.4, "kPa": lambda v: v, "psi": lambda v: v / 6.894757,
    "%": lambda v: v, "%RH": lambda v: v,
}

MALFORMED_KINDS = ("not-json", "missing-field", "wrong-type", "impossible-value",
                   "unknown-unit", "bad-timestamp")


@dataclass(frozen=True)
class Device:
    """One sensor: what it measures, the unit it reports in, how it behaves."""

    device_id: str
    type: str
    unit: str
    base: float
    noise: float
    degrades: bool = False
    hovers: bool = False


def fleet(devices: int = 12, *, seed: int = 42) -> list[Device]:
    """``devices`` sensors, types handed out in turn, units mixed.

    Temperature and vibration devices in every other group of four degrade;
    the first humidity device hovers just below the alert threshold (85 %),
    crossing it now and then, which is what hysteresis is for (it has no
    daily drift and no spikes).

    >>> [(d.device_id, d.type, d.unit, d.degrades) for d in fleet(5)][:3]
    [('SENSOR-001', 'temperature', '°C', True),
     ('SENSOR-002', 'vibration', 'in/s', True),
     ('SENSOR-003', 'pressure', 'kPa', False)]
    """
    rng = seeded(seed)
    out = []
    for i in range(devices):
        kind = DEVICE_TYPES[i % len(DEVICE_TYPES)]
        p = _PROFILES[kind]
        hovers = kind == "humidity" and i == 3
        base = 84.0 if hovers else round(rng.uniform(*p["base"]), 2)
        out.append(Device(device_id=f"SENSOR-{i + 1:03d}", type=kind,
                          unit=p["units"][(i // len(DEVICE_TYPES) + i) % len(p["units"])],
                          base=base, noise=1.0 if hovers else p["noise"],
                          degrades=p["rise"] is not None and (i // len(DEVICE_TYPES)) % 2 == 0,
                          hovers=hovers))
    return out


@dataclass
class Simulation:
    """What :func:`simulate` produced, with the ground truth to score against.

    Attributes
    ----------
    records
        ``(key, value)`` in send order; ``value`` is a dict, or ``bytes`` for
        a record that is not even JSON. The key is the ``deviceId``.
    valid
        Every distinct valid reading, by ``(deviceId, type, timestamp_ms)``.
    anomalies
        Keys of the readings that are injected spikes.
    failures
        ``(deviceId, timestamp_ms)`` of every failure, in time order.
    malformed
        ``(kind, value)`` of each malformed record sent.
    """

    devices: list[Device]
    start_ms: int
    end_ms: int
    records: list[tuple[str, Any]] = field(default_factory=list)
    valid: dict[tuple[str, str, int], dict[str, Any]] = field(default_factory=dict)
    anomalies: set[tuple[str, str, int]] = field(default_factory=set)
    failures: list[tuple[str, int]] = field(default_factory=list)
    malformed: list[tuple[str, Any]] = field(default_factory=list)
    duplicates: int = 0
    out_of_order: int = 0

    def summary(self) -> dict[str, int]:
        """How many of each kind of record were sent."""
        return {"sent": len(self.records), "valid": len(self.valid),
                "duplicates": self.duplicates, "out_of_order": self.out_of_order,
                "malformed": len(self.malformed), "spikes": len(self.anomalies),
                "failures": len(self.failures)}

    def readings(self) -> list[dict[str, Any]]:
        """The JSON-object records in send order (duplicates and bad ones included)."""
        return [v for _, v in self.records if isinstance(v, dict)]


def _malformed(kind: str, good: dict[str, Any]) -> Any:
    bad = dict(good)
    if kind == "not-json":
        return json.dumps(good).encode()[:-9]  # cut off mid-record, as a flaky link would
    if kind == "missing-field":
        del bad["value"]
    elif kind == "wrong-type":
        bad["value"] = str(good["value"])
    elif kind == "impossible-value":
        bad["value"] = -999.0 if good["type"] != "humidity" else 140.0
        bad["unit"] = SENSOR_TYPES[good["type"]].unit
    elif kind == "unknown-unit":
        bad["unit"] = "furlongs"
    elif kind == "bad-timestamp":
        bad["timestamp"] = "yesterday at noon"
    return bad


def simulate(devices: int | Iterable[Device] = 12, minutes: float = 240, *,
             interval_s: float = 60, seed: int = 42, start_ms: int = START_MS,
             spike_rate: float = 0.01, malformed_rate: float = 0.01,
             duplicate_rate: float = 0.01, out_of_order_rate: float = 0.01,
             healthy_minutes: tuple[float, float] = (30, 150),
             degrade_minutes: tuple[float, float] = (60, 120),
             repair_minutes: float = 10) -> Simulation:
    """Simulate ``minutes`` of readings from a fleet; deterministic for a ``seed``.

    Parameters
    ----------
    devices
        A number of devices (see :func:`fleet`) or the devices themselves.
    minutes, interval_s
        How long, and how often each device reports.
    spike_rate, malformed_rate, duplicate_rate, out_of_order_rate
        Per reading, the chance of each fault (0 turns it off).
    healthy_minutes, degrade_minutes, repair_minutes
        A degrading device is healthy for a random time in the first range,
        degrades for a random time in the second, fails, is silent for
        ``repair_minutes``, and starts again.
    """
    rng = seeded(seed)
    fleet_ = fleet(devices, seed=seed) if isinstance(devices, int) else list(devices)
    step_ms = int(interval_s * 1000)
    end_ms = start_ms + int(minutes * 60_000)
    sim = Simulation(devices=fleet_, start_ms=start_ms, end_ms=end_ms)

    # Each degrading device's cycles: (degradation start, failure) pairs.
    cycles: dict[str, list[tuple[int, int]]] = {}
    for d in fleet_:
        if not d.degrades:
            continue
        spans, t = [], start_ms
        while True:
            begin = t + int(rng.uniform(*healthy_minutes) * 60_000)
            fail = begin + int(rng.uniform(*degrade_minutes) * 60_000)
            fail -= (fail - start_ms) % step_ms  # on a reading
            if fail >= end_ms:
                break
            spans.append((begin, fail))
            t = fail + int(repair_minutes * 60_000)
        cycles[d.device_id] = spans

    ordered: list[tuple[str, Any, bool]] = []  # (key, value, is a valid reading)
    kinds = itertools.cycle(MALFORMED_KINDS)
    for ts in range(start_ms, end_ms, step_ms):
        for d in fleet_:
            p = _PROFILES[d.type]
            daily = 0.0 if d.hovers else p["daily"]  # the hovering device stays put
            value = d.base + daily * math.sin(2 * math.pi * (ts - start_ms) / 86_400_000)
            value += rng.gauss(0.0, d.noise)
            status = "ok"
            silent = False
            for begin, fail in cycles.get(d.device_id, ()):
                if begin <= ts <= fail:
                    frac = (ts - begin) / (fail - begin)
                    value += p["rise"] * frac ** 2  # slow at first, then faster
                    if ts == fail:
                        status = "failed"
                        sim.failures.append((d.device_id, ts))
                elif fail < ts < fail + int(repair_minutes * 60_000):
                    silent = True  # being repaired: no readings
            if silent:
                continue
            key = (d.device_id, d.type, ts)
            if status == "ok" and rng.random() < spike_rate and not d.hovers:
                up = d.type == "vibration" or rng.random() < 0.7
                value += (1 if up else -1) * rng.uniform(8, 14) * d.noise
                sim.anomalies.add(key)
            spec = SENSOR_TYPES[d.type]
            value = min(spec.high, max(spec.low, value))
            record = {"deviceId": d.device_id, "type": d.type,
                      "value": round(_FROM_CANONICAL[d.unit](value), 2 if d.unit != "in/s" else 4),
                      "unit": d.unit, "timestamp": iso(ts), "status": status}
            sim.valid[key] = record
            ordered.append((d.device_id, record, True))
            if rng.random() < malformed_rate:
                kind = next(kinds)
                bad = _malformed(kind, record)
                sim.malformed.append((kind, bad))
                ordered.append((d.device_id, bad, False))

    # Network faults: a record sent again, or held back a few places.
    for device_id, value, is_valid in ordered:
        item = (device_id, value)
        sim.records.append(item)
        r = rng.random()
        if is_valid and r < duplicate_rate:
            sim.records.insert(max(0, len(sim.records) - rng.randint(1, 4)), item)
            sim.duplicates += 1
        elif r < duplicate_rate + out_of_order_rate and len(sim.records) > 6:
            held = sim.records.pop(-1)
            sim.records.insert(len(sim.records) - rng.randint(1, 5), held)
            sim.out_of_order += 1
    return sim


def publish(sim: Simulation | Iterable[tuple[str, Any]], producer: Any, topic: str) -> int:
    """Send the records, keyed by ``deviceId`` (bytes as they are); return how many
    the broker acknowledged (all of them, or this raises).

    The key keeps each device's readings on one partition, in send order.
    """
    futures = []
    records = sim.records if isinstance(sim, Simulation) else sim
    for key, value in records:
        if isinstance(value, bytes):
            # Not JSON on purpose: bypass the JSON serializer.
            futures.append(producer.raw.send(topic, value=value, key=key.encode()))
        else:
            futures.append(producer.send(topic, value, key=key))
    producer.flush()
    for f in futures:
        f.get(timeout=30)  # flush() returns even when a send failed; get() raises
    return len(futures)
