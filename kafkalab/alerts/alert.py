"""An alert: which rule fired, about what, when, and why; one shape for the whole course.

Log rules (week 5), anomaly detectors (week 6), IoT thresholds (week 7) and
metric rules (week 8) all raise this :class:`Alert` and publish it to one
topic, ``alerts``. An alert is about a ``service`` (a log rule) or a
``metric`` (everything measured); that *subject* is its Kafka key.

>>> a = Alert(rule="threshold", kind="threshold", metric="SENSOR-004.humidity", value=86.0,
...           expected=(0.0, 85.0), score=1.01, timestamp_ms=60_000)
>>> print(a)
[warning] threshold SENSOR-004.humidity at 1970-01-01T00:01:00Z: 86.0 outside 0.0..85.0 (score 1.0)
>>> record = a.to_record()
>>> record["expected"], record["timestamp"]
({'low': 0.0, 'high': 85.0}, '1970-01-01T00:01:00Z')
>>> Alert.from_record(record) == a
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kafkalab.windows import iso

__all__ = ["ALERTS_TOPIC", "SEVERITIES", "Alert"]

#: The one topic every alert of the course is published to.
ALERTS_TOPIC = "alerts"

SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True)
class Alert:
    """One alert.

    Parameters
    ----------
    rule
        The rule or detector that raised it (``"oom"``, ``"lag-above"``,
        ``"threshold"``, ``"zscore"``).
    timestamp_ms
        Event time: the record, reading or window that triggered it, so the
        same input always raises the same alerts.
    message
        For people. Built from ``value``, ``expected`` and ``score`` when empty.
    kind
        The sort of rule (``"pattern"``, ``"burst"``, ``"threshold"``, ``"anomaly"``).
    severity
        ``info``, ``warning`` or ``critical``.
    service, metric
        What it is about; at least one. :attr:`subject` is the one used as key.
    value, expected, score
        For a measured value: the value, the ``(low, high)`` range it should
        have been in, and how far out it was (detector score, value / limit).
    suppressed
        How many repeats of this alert the cool-down held back before this one
        (set by :class:`~kafkalab.alerts.Gate` users).
    details
        Anything else the rule wants to tell (JSON-able).
    """

    rule: str
    timestamp_ms: int
    message: str = ""
    kind: str = ""
    severity: str = "warning"
    service: str | None = None
    metric: str | None = None
    value: float | None = None
    expected: tuple[float, float] | None = None
    score: float | None = None
    suppressed: int = 0
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.severity not in SEVERITIES:
            raise ValueError(f"alert {self.rule!r}: severity must be one of "
                             f"{', '.join(SEVERITIES)}; got {self.severity!r}")
        if not (self.service or self.metric):
            raise ValueError(f"alert {self.rule!r} needs a service or a metric: what is it about?")
        if not self.message and self.value is not None:
            # frozen: the one place the message is derived, so it is set here once
            object.__setattr__(self, "message", self._measured())

    def _measured(self) -> str:
        text = f"{self.value}"
        if self.expected is not None:
            text += f" outside {self.expected[0]}..{self.expected[1]}"
        if self.score is not None:
            text += f" (score {self.score:.1f})"
        return text

    @property
    def subject(self) -> str:
        """What the alert is about: its service, else its metric. The Kafka key."""
        return self.service or self.metric or ""

    def to_record(self) -> dict[str, Any]:
        """The JSON value published to the ``alerts`` topic and to webhooks."""
        return {"rule": self.rule, "kind": self.kind, "severity": self.severity,
                "service": self.service, "metric": self.metric, "value": self.value,
                "expected": None if self.expected is None else {
                    "low": self.expected[0], "high": self.expected[1]},
                "score": self.score, "message": self.message, "suppressed": self.suppressed,
                "details": self.details, "timestamp": iso(self.timestamp_ms),
                "timestampMs": self.timestamp_ms}

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Alert:
        """The alert a :meth:`to_record` value describes (read back from the topic)."""
        expected = record.get("expected")
        return cls(rule=record["rule"], timestamp_ms=int(record["timestampMs"]),
                   message=record.get("message") or "", kind=record.get("kind") or "",
                   severity=record.get("severity") or "warning", service=record.get("service"),
                   metric=record.get("metric"), value=record.get("value"),
                   expected=None if expected is None else (expected["low"], expected["high"]),
                   score=record.get("score"), suppressed=record.get("suppressed") or 0,
                   details=dict(record.get("details") or {}))

    def __str__(self) -> str:
        extra = f" (+{self.suppressed} suppressed)" if self.suppressed else ""
        return (f"[{self.severity}] {self.rule} {self.subject} at {iso(self.timestamp_ms)}: "
                f"{self.message}{extra}")
