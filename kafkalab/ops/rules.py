"""Alert rules over the metrics registry, through the course's one alert gate.

A :class:`Rule` looks at a :class:`~kafkalab.ops.metrics.Registry` and says
whether its condition holds now. The :class:`AlertManager` hands those answers
to a :class:`~kafkalab.alerts.Gate` per rule, which turns them into events:
``fired`` when a condition has held for the rule's hold time, ``cleared`` when
it stops, no repeats in between, and ``suppressed`` when it comes back within
the cool-down. Fired alerts are :class:`kafkalab.alerts.Alert` records on the
``alerts`` topic, the same shape as every other week's.

>>> from kafkalab.testing import FakeClock
>>> clock = FakeClock()
>>> reg = Registry(now=clock.now)
>>> alerts = []
>>> manager = AlertManager([LagAbove(100, for_s=2, group="billing")], reg, publish=alerts.append)
>>> for lag in [10, 150, 180, 200, 120, 40, 0]:
...     reg.set("consumer_lag_total", lag, group="billing")
...     for event in manager.evaluate():
...         print(clock.now(), event.kind, event.value)
...     clock.advance(1)
3.0 fired 200.0
5.0 cleared 40.0
>>> print(alerts[0])
[warning] lag-above consumer_lag_total{group=billing} at 1970-01-01T00:00:03Z: 200.0 outside 0..100 (score 2.0)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from kafkalab.alerts import Alert, Gate, Notifier, Threshold
from kafkalab.ops.lag import LagSample, trend
from kafkalab.ops.metrics import Registry

__all__ = [
    "AlertEvent",
    "AlertManager",
    "BrokerUnreachable",
    "Condition",
    "DeadLetterRate",
    "ErrorRate",
    "LagAbove",
    "LagGrowing",
    "P99Above",
    "Rule",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Condition:
    """A rule's answer: does it hold, the value it looked at, and the limit."""

    holds: bool
    value: float
    limit: float
    metric: str


class Rule:
    """Base class: subclasses set ``name`` and implement :meth:`check`.

    ``active`` tells the rule whether it is currently firing, so it can clear
    at a lower level than it fires at (hysteresis) and not flap at the edge.
    ``hold_s`` is how long the manager's gate waits, with the condition
    holding, before it fires (a rule that judges its own history, as the
    week's exercise does, leaves it at 0).
    """

    name = "rule"
    cooldown_s: float | None = None  # None: the manager's default
    hold_s: float = 0.0

    def check(self, registry: Registry, now: float, active: bool) -> Condition:
        raise NotImplementedError


def _where(name: str, **labels: str | None) -> str:
    shown = ",".join(f"{k}={v}" for k, v in labels.items() if v is not None)
    return f"{name}{{{shown}}}" if shown else name


class LagAbove(Rule):
    """Total lag of ``group`` at or above ``threshold`` for ``for_s`` seconds.

    Clears when lag falls below ``clear_below`` (default: half the threshold):
    a :class:`~kafkalab.alerts.Threshold` with hysteresis. The hold time is
    the manager's gate's (``hold_s``). Reads the ``consumer_lag_total{group}``
    gauge a :class:`~kafkalab.ops.lag.LagMonitor` keeps.
    """

    name = "lag-above"

    def __init__(self, threshold: float, *, for_s: float = 0.0, group: str,
                 clear_below: float | None = None) -> None:
        self.threshold = threshold
        self.for_s = for_s
        self.group = group
        self.clear_below = threshold / 2 if clear_below is None else clear_below
        self.limits = Threshold(high=threshold, clear=self.clear_below, inclusive=True)

    @property
    # Rule declares hold_s as a plain attribute; here it is read-only, derived from for_s.
    def hold_s(self) -> float:  # type: ignore[override]
        return self.for_s

    def check(self, registry: Registry, now: float, active: bool) -> Condition:
        metric = _where("consumer_lag_total", group=self.group)
        series = [s for s in registry.series("consumer_lag_total")
                  if dict(s.labels).get("group") == self.group]
        if not series or series[0].latest is None:
            return Condition(False, math.nan, self.threshold, metric)
        value = series[0].latest
        side = self.limits.side(value, "high" if active else None)
        return Condition(side is not None, value, self.threshold, metric)


class LagGrowing(Rule):
    """Total lag of ``group`` growing faster than ``min_rate`` records/s over ``window_s``."""

    name = "lag-growing"

    def __init__(self, *, group: str, min_rate: float = 1.0, window_s: float = 30.0,
                 min_samples: int = 3) -> None:
        self.group = group
        self.min_rate = min_rate
        self.window_s = window_s
        self.min_samples = min_samples

    def check(self, registry: Registry, now: float, active: bool) -> Condition:
        metric = _where("consumer_lag_total", group=self.group)
        series = [s for s in registry.series("consumer_lag_total")
                  if dict(s.labels).get("group") == self.group]
        points = series[0].since(now - self.window_s) if series else []
        if len(points) < self.min_samples:
            return Condition(False, 0.0, self.min_rate, metric)
        samples = [LagSample("", 0, 0, int(v), t=t, group=self.group) for t, v in points]
        rate = trend(samples, window_s=self.window_s).rate
        return Condition(rate >= self.min_rate, rate, self.min_rate, metric + ".rate")


class ErrorRate(Rule):
    """Share of a handler's records that raised, over ``window_s``, above ``max_ratio``.

    Reads the ``records_total`` and ``errors_total`` counters that
    :func:`~kafkalab.ops.metrics.instrument` keeps.
    """

    name = "error-rate"

    def __init__(self, *, handler: str, max_ratio: float = 0.05, window_s: float = 60.0,
                 min_records: int = 20) -> None:
        self.handler = handler
        self.max_ratio = max_ratio
        self.window_s = window_s
        self.min_records = min_records

    def check(self, registry: Registry, now: float, active: bool) -> Condition:
        metric = _where("error_ratio", handler=self.handler)
        records = registry.increase("records_total", self.window_s, handler=self.handler)
        errors = registry.increase("errors_total", self.window_s, handler=self.handler)
        if records < self.min_records:
            # Too few records to judge (2 errors out of 3 is not a 66 % incident);
            # an active alert stays active until there is enough to clear it.
            return Condition(active, 0.0, self.max_ratio, metric)
        ratio = errors / records
        return Condition(ratio > self.max_ratio, round(ratio, 4), self.max_ratio, metric)


class DeadLetterRate(Rule):
    """More than ``max_per_s`` records per second dead-lettered (counter ``dead_letters_total``).

    ``source`` limits it to the counter labelled ``source=<topic>``; by
    default every ``dead_letters_total`` series counts, labelled or not.
    """

    name = "dead-letter-rate"

    def __init__(self, *, max_per_s: float = 0.1, window_s: float = 60.0,
                 source: str | None = None) -> None:
        self.max_per_s = max_per_s
        self.window_s = window_s
        self.source = source

    def check(self, registry: Registry, now: float, active: bool) -> Condition:
        labels = {} if self.source is None else {"source": self.source}
        if self.source is None:
            # Every source: the unlabelled counter alone would miss source=... ones.
            total = sum(registry.increase(s.name, self.window_s, **dict(s.labels))
                        for s in registry.series("dead_letters_total"))
        else:
            total = registry.increase("dead_letters_total", self.window_s, **labels)
        rate = total / self.window_s
        return Condition(rate > self.max_per_s, round(rate, 4), self.max_per_s,
                         _where("dead_letters_total.rate", **labels))


class P99Above(Rule):
    """A handler's p99 processing time above ``limit_s`` (after ``min_count`` records)."""

    name = "p99-above"

    def __init__(self, *, handler: str, limit_s: float, min_count: int = 20) -> None:
        self.handler = handler
        self.limit_s = limit_s
        self.min_count = min_count

    def check(self, registry: Registry, now: float, active: bool) -> Condition:
        hist = registry.histogram("processing_seconds", handler=self.handler)
        metric = _where("processing_seconds.p99", handler=self.handler)
        p99 = hist.percentile(99)  # None before any observation
        if hist.count < self.min_count or p99 is None:
            return Condition(False, math.nan, self.limit_s, metric)
        return Condition(p99 > self.limit_s, round(p99, 6), self.limit_s, metric)


class BrokerUnreachable(Rule):
    """The last health probe found no broker (gauge ``broker_up`` is 0)."""

    name = "broker-unreachable"

    def check(self, registry: Registry, now: float, active: bool) -> Condition:
        up = registry.latest("broker_up")
        return Condition(up == 0, 0.0 if up is None else up, 1.0, "broker_up")


@dataclass(frozen=True)
class AlertEvent:
    """Something the manager did: ``fired``, ``cleared`` or ``suppressed`` (cool-down)."""

    t: float
    rule: str
    kind: str
    value: float
    limit: float
    metric: str


@dataclass
class AlertManager:
    """Evaluate rules against a registry; publish each alert once.

    Parameters
    ----------
    rules
        The rules.
    registry
        Where the metrics are (its clock is the manager's clock).
    publish
        A :class:`~kafkalab.alerts.Notifier` or a function, told about each
        fired :class:`~kafkalab.alerts.Alert`; use
        ``kafkalab.alerts.TopicNotifier(producer)`` for the ``alerts`` topic.
    cooldown_s
        After firing, a rule does not fire again for this long, even if it
        cleared and came back meanwhile (it is counted as ``suppressed``). A
        suppressed condition that still holds when the cool-down ends fires
        then: a flapping metric pages once, a lasting incident is never muted.
    """

    rules: Iterable[Rule]
    registry: Registry
    publish: Notifier | Callable[[Alert], Any] | None = None
    cooldown_s: float = 60.0
    events: list[AlertEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rules = list(self.rules)
        # One gate per rule: each has its own hold time and may have its own cool-down.
        self._gates: dict[int, Gate] = {id(r): Gate(
            for_s=r.hold_s, cooldown_s=self.cooldown_s if r.cooldown_s is None else r.cooldown_s,
            clock=self.registry.now) for r in self.rules}

    def evaluate(self) -> list[AlertEvent]:
        """Check every rule now; return the events this produced."""
        now = self.registry.now()
        new: list[AlertEvent] = []
        for rule in self.rules:
            gate = self._gates[id(rule)]
            cond = rule.check(self.registry, now, gate.active(rule.name))
            step = gate.update(rule.name, cond.holds, now)
            if step is None:
                continue
            if step.kind == "fired":
                self._publish(rule, cond, now)
            event = AlertEvent(now, rule.name, step.kind, cond.value, cond.limit, cond.metric)
            new.append(event)
            self.registry.inc("alert_events_total", rule=rule.name, kind=step.kind)
            log.log(logging.WARNING if step.kind == "fired" else logging.INFO,
                    "alert %s %s: %s = %s (limit %s)", rule.name, step.kind, cond.metric,
                    cond.value, cond.limit)
        self.events.extend(new)
        return new

    def _publish(self, rule: Rule, cond: Condition, now: float) -> None:
        if self.publish is None:
            return
        score = cond.value / cond.limit if cond.limit else math.inf
        alert = Alert(rule=rule.name, kind="metric", metric=cond.metric, value=cond.value,
                      expected=(0, cond.limit), score=score, timestamp_ms=int(now * 1000))
        if isinstance(self.publish, Notifier):  # has notify(): a TopicNotifier is also callable
            self.publish.notify(alert)
        else:
            self.publish(alert)

    @property
    def active(self) -> list[str]:
        """Names of the rules whose condition holds now."""
        return [r.name for r in self.rules if self._gates[id(r)].active(r.name)]

    def count(self, kind: str, rule: str | None = None) -> int:
        return sum(1 for e in self.events if e.kind == kind and rule in (None, e.rule))
