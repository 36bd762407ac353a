"""A health check that prints ``[OK]`` / ``[FAIL]`` lines, like ``kafkalab doctor``.

:func:`health` asks the questions an on-call engineer asks first: does a
broker answer, do the topics we need exist, is any consumer group too far
behind, is any alert active, is processing slow? Each answer is one line with
the number behind it; :attr:`HealthReport.ok` is true when every line is.

>>> report = HealthReport([Check(True, "broker", "answered in 0.01 s"),
...                        Check(False, "lag billing", "1200 records behind (limit 1000)")])
>>> print(report)
[OK] broker: answered in 0.01 s
[FAIL] lag billing: 1200 records behind (limit 1000)
>>> report.ok
False
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass

from kafkalab.clients.admin import Admin
from kafkalab.clients.connection import BrokerUnavailable
from kafkalab.doctor import Check
from kafkalab.ops.metrics import Registry
from kafkalab.ops.rules import AlertManager
from kafkalab.settings import Settings

__all__ = ["Check", "HealthReport", "health"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HealthReport:
    """The checks, in order; printable as ``[OK]``/``[FAIL]`` lines."""

    checks: list[Check]

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def __str__(self) -> str:
        return "\n".join(c.line() for c in self.checks)


def health(*, settings: Settings | None = None, admin: Admin | None = None,
           topics: Iterable[str] = (), groups: Iterable[str] = (), max_lag: int = 1000,
           registry: Registry | None = None, manager: AlertManager | None = None,
           p99_limit_s: float | None = None) -> HealthReport:
    """Check the broker, topics, group lag, active alerts and processing time.

    Parameters
    ----------
    settings, admin
        Which cluster (an :class:`~kafkalab.clients.Admin` is made when omitted).
    topics
        Topics that must exist.
    groups
        Consumer groups whose total lag must stay at or below ``max_lag``
        (a group the cluster does not know fails the check).
    registry
        If given, ``broker_up`` (1 or 0) is recorded there (the
        :class:`~kafkalab.ops.rules.BrokerUnreachable` rule reads it), and every
        handler's p99 is checked against ``p99_limit_s``.
    manager
        If given, each active alert is a failed line.
    """
    checks: list[Check] = []
    own = admin is None
    admin = admin or Admin(settings)
    try:
        start = time.perf_counter()
        try:
            names = admin.topics()
        except BrokerUnavailable as exc:
            if registry is not None:
                registry.set("broker_up", 0)
            checks.append(Check(False, "broker", str(exc)))
            return HealthReport(checks)  # nothing else can be checked without a broker
        if registry is not None:
            registry.set("broker_up", 1)
        checks.append(Check(True, "broker", f"answered in {time.perf_counter() - start:.2f} s, "
                                            f"{len(names)} topics"))
        for topic in topics:
            checks.append(Check(topic in names, f"topic {topic}",
                                "exists" if topic in names else "missing: create it or let the "
                                                                 "first write create it"))
        known = set(admin.groups()) if groups else set()
        for group in groups:
            if group not in known:
                checks.append(Check(False, f"lag {group}",
                                    "unknown group: no consumer has joined it"))
                continue
            parts = admin.lag(group)
            total = sum(p.lag for p in parts)
            worst = max(parts, key=lambda p: p.lag, default=None)
            detail = f"{total} records behind on {len(parts)} partitions (limit {max_lag})"
            if worst is not None and total:
                detail += f"; most on {worst.topic}[{worst.partition}]: {worst.lag}"
            checks.append(Check(total <= max_lag, f"lag {group}", detail))
    finally:
        if own:
            admin.close()
    if registry is not None and p99_limit_s is not None:
        for hist in registry.histograms("processing_seconds"):
            p99 = hist.percentile(99)
            if p99 is None:  # no observations yet
                continue
            handler = dict(hist.labels).get("handler", "?")
            checks.append(Check(p99 <= p99_limit_s, f"p99 {handler}",
                                f"{p99 * 1000:.1f} ms per record over the last {len(hist.values())} "
                                f"(limit {p99_limit_s * 1000:.0f} ms)"))
    if manager is not None:
        active = manager.active
        checks.append(Check(not active, "alerts",
                            "none active" if not active else "active: " + ", ".join(active)))
    return HealthReport(checks)
