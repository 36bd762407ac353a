"""Alert rules over the metrics registry, fired once, cleared once, with cool-downs.

A :class:`Rule` looks at a :class:`~kafkalab.ops.metrics.Registry` and says
whether its condition holds now. The :class:`AlertManager` turns those answers
into events: ``fired`` when a condition starts to hold, ``cleared`` when it
stops, and no repeats in between. A rule that fired is not fired again within
its cool-down, so a flapping metric pages once. Fired alerts are published as
:class:`kafkalab.analytics.Alert` records (the ``alerts`` topic of week 6).

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
consumer_lag_total{group=billing} = 200.0 outside 0..100 at 1970-01-01T00:00:03Z (lag-above, score 2.0)
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

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

if TYPE_CHECKING:
    from kafkalab.analytics.alerts import Alert

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
    """

    name = "rule"
    cooldown_s: float | None = None  # None: the manager's default

    def check(self, registry: Registry, now: float, active: bool) -> Condition:
        raise NotImplementedError


def _where(name: str, **labels: str | None) -> str:
    shown = ",".join(f"{k}={v}" for k, v in labels.items() if v is not None)
    return f"{name}{{{shown}}}" if shown else name


class LagAbove(Rule):
    """Total lag of ``group`` at or above ``threshold`` for ``for_s`` seconds.

    Clears when lag falls below ``clear_below`` (default: half the threshold).
    Reads the ``consumer_lag_total{group}`` gauge a
    :class:`~kafkalab.ops.lag.LagMonitor` keeps.
    """

    name = "lag-above"

    def __init__(self, threshold: float, *, for_s: float = 0.0, group: str,
                 clear_below: float | None = None) -> None:
        self.threshold = threshold
        self.for_s = for_s
        self.group = group
        self.clear_below = threshold / 2 if clear_below is None else clear_below

    def check(self, registry: Registry, now: float, active: bool) -> Condition:
        metric = _where("consumer_lag_total", group=self.group)
        series = [s for s in registry.series("consumer_lag_total")
                  if dict(s.labels).get("group") == self.group]
        if not series or series[0].latest is None:
            return Condition(False, math.nan, self.threshold, metric)
        points = list(series[0].points)
        value = points[-1][1]
        if active:
            return Condition(value >= self.clear_below, value, self.threshold, metric)
        # Fire only if lag was above for the whole of the last for_s seconds:
        # the value in force at now - for_s (the last sample at or before it)
        # and every sample since. One spike is not an incident, and a sample
        # just inside the window does not stand for the time before it.
        start = now - self.for_s
        before = [i for i, (t, _) in enumerate(points) if t <= start]
        if not before:
            return Condition(False, value, self.threshold, metric)  # not watched that long yet
        held = [v for _, v in points[before[-1]:]]
        return Condition(min(held) >= self.threshold, value, self.threshold, metric)


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
        samples = [LagSample(t, self.group, "", 0, 0, int(v)) for t, v in points]
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
        if hist.count < self.min_count:
            return Condition(False, math.nan, self.limit_s, metric)
        p99 = hist.percentile(99)
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
class _State:
    active: bool = False
    last_fired: float = -math.inf
    suppressed: bool = False  # active, but not yet published because of the cool-down


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
        Called with each fired :class:`kafkalab.analytics.Alert`; use
        ``kafkalab.analytics.AlertPublisher(producer)`` for the ``alerts`` topic.
    cooldown_s
        After firing, a rule does not fire again for this long, even if it
        cleared and came back meanwhile (it is counted as ``suppressed``). A
        suppressed condition that still holds when the cool-down ends fires
        then: a flapping metric pages once, a lasting incident is never muted.
    """

    rules: Iterable[Rule]
    registry: Registry
    publish: Callable[["Alert"], object] | None = None
    cooldown_s: float = 60.0
    events: list[AlertEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.rules = list(self.rules)
        self._state: dict[int, _State] = {id(r): _State() for r in self.rules}

    def evaluate(self) -> list[AlertEvent]:
        """Check every rule now; return the events this produced."""
        now = self.registry.now()
        new: list[AlertEvent] = []
        for rule in self.rules:
            state = self._state[id(rule)]
            cond = rule.check(self.registry, now, state.active)
            kind = None
            cooldown = self.cooldown_s if rule.cooldown_s is None else rule.cooldown_s
            cooled = now - state.last_fired >= cooldown
            if cond.holds and not state.active:
                state.active = True
                if cooled:
                    kind = "fired"
                else:
                    kind, state.suppressed = "suppressed", True
            elif cond.holds and state.suppressed and cooled:
                # Came back within the cool-down and never went away: once the
                # cool-down is over it is a real incident and pages after all.
                kind = "fired"
            elif not cond.holds and state.active:
                state.active = state.suppressed = False
                kind = "cleared"
            if kind == "fired":
                state.last_fired, state.suppressed = now, False
                self._publish(rule, cond, now)
            if kind:
                event = AlertEvent(now, rule.name, kind, cond.value, cond.limit, cond.metric)
                new.append(event)
                self.registry.inc("alert_events_total", rule=rule.name, kind=kind)
                log.log(logging.WARNING if kind == "fired" else logging.INFO,
                        "alert %s %s: %s = %s (limit %s)", rule.name, kind, cond.metric,
                        cond.value, cond.limit)
        self.events.extend(new)
        return new

    def _publish(self, rule: Rule, cond: Condition, now: float) -> None:
        if self.publish is None:
            return
        # Imported here: kafkalab.analytics brings river and FastAPI (seconds to import).
        from kafkalab.analytics.alerts import Alert

        score = cond.value / cond.limit if cond.limit else math.inf
        self.publish(Alert(metric=cond.metric, value=cond.value, expected=(0, cond.limit),
                           detector=rule.name, score=score, window_start_ms=int(now * 1000)))

    @property
    def active(self) -> list[str]:
        """Names of the rules whose condition holds now."""
        return [r.name for r in self.rules if self._state[id(r)].active]

    def count(self, kind: str, rule: str | None = None) -> int:
        return sum(1 for e in self.events if e.kind == kind and rule in (None, e.rule))
