"""An alert: what fired, for which service, when, and why.

>>> a = Alert(rule="oom", kind="pattern", service="payments", severity="critical",
...           timestamp_ms=0, message="'OutOfMemory' matched: OutOfMemoryError in worker 3")
>>> a.to_dict()["timestamp"], a.key
('1970-01-01T00:00:00.000Z', ('oom', 'payments'))
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from kafkalab.logs.record import to_iso

__all__ = ["ALERTS_TOPIC", "Alert", "SEVERITIES"]

#: Where alerts are published.
ALERTS_TOPIC = "alerts"

SEVERITIES = ("info", "warning", "critical")


@dataclass
class Alert:
    """One alert raised by a rule.

    ``timestamp_ms`` is the event time of the record that triggered it, so the
    same logs always raise the same alerts. ``suppressed`` is filled in by the
    :class:`~kafkalab.logs.alerts.AlertEngine`: how many repeats of this alert
    the cool-down held back before this one.
    """

    rule: str
    kind: str
    service: str
    severity: str
    timestamp_ms: int
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    suppressed: int = 0

    @property
    def key(self) -> tuple[str, str]:
        """What deduplication compares: one alert per rule and service per cool-down."""
        return (self.rule, self.service)

    def to_dict(self) -> dict[str, Any]:
        """The JSON body sent to the ``alerts`` topic and to webhooks."""
        body = asdict(self)
        body["timestamp"] = to_iso(self.timestamp_ms)
        return body
