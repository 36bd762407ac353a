"""The alert engine: run the rules, hold back repeats, tell the notifiers.

An incident makes a rule fire again and again: every OutOfMemory line matches
the pattern. Nobody wants a hundred pages for one incident, so the engine
sends at most one alert per rule and service per *cool-down* (5 minutes by
default, measured in the records' own time) and counts what it held back; the
next alert that does go out says how many were suppressed. The cool-down is
the course's one :class:`~kafkalab.alerts.Gate`: a rule's alert is a
momentary condition (:meth:`~kafkalab.alerts.Gate.trigger`) for its key,
the rule and the service.

>>> from kafkalab.logs.record import make_record
>>> from kafkalab.logs.rules import PatternRule
>>> engine = AlertEngine([PatternRule("oom", pattern="OutOfMemory")], cooldown_s=300)
>>> fired = []
>>> for s in range(0, 100):     # 100 matching lines in 100 seconds
...     fired += engine.process(make_record(service="payments", level="ERROR",
...                                         message="OutOfMemoryError", timestamp_ms=s * 1000))
>>> len(fired), engine.stats.suppressed
(1, 99)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kafkalab.alerts import Alert, Gate, Notifier
from kafkalab.logs.rules import Rule, rules_from_config

__all__ = ["AlertEngine", "EngineStats"]

log = logging.getLogger(__name__)


@dataclass
class EngineStats:
    evaluated: int = 0
    fired: int = 0
    suppressed: int = 0
    rule_errors: int = 0
    errors: list[str] = field(default_factory=list)


class AlertEngine:
    """Evaluate ``rules`` on every record; deduplicate and notify.

    Parameters
    ----------
    rules
        :class:`~kafkalab.logs.rules.Rule` objects.
    cooldown_s
        After an alert for a rule and service, further alerts for the same
        pair are suppressed for this many seconds (event time).
    notifiers
        Each gets every alert that is not suppressed.
    """

    def __init__(self, rules: Iterable[Rule], *, cooldown_s: float = 300,
                 notifiers: Iterable[Notifier] = ()) -> None:
        self.rules = list(rules)
        names = [r.name for r in self.rules]
        if len(set(names)) != len(names):
            raise ValueError(f"rule names must be unique; got {names}")
        self.gate = Gate(cooldown_s=cooldown_s)
        self.notifiers = list(notifiers)
        self.stats = EngineStats()
        self.alerts: list[Alert] = []

    @property
    def cooldown_ms(self) -> int:
        """The cool-down in milliseconds (settable: it is the gate's ``cooldown_s``)."""
        return round(self.gate.cooldown_s * 1000)

    @cooldown_ms.setter
    def cooldown_ms(self, value: int) -> None:
        self.gate.cooldown_s = value / 1000

    @classmethod
    def from_config(cls, config: Mapping[str, Any] | str | Path, *,
                    notifiers: Iterable[Notifier] = ()) -> AlertEngine:
        """Rules and ``cooldown_s`` from a dict, YAML text or a YAML file.

        >>> engine = AlertEngine.from_config({"cooldown_s": 60, "rules": [
        ...     {"name": "oom", "type": "pattern", "pattern": "OutOfMemory"}]})
        >>> engine.rules, engine.cooldown_ms
        ([PatternRule('oom')], 60000)
        """
        from kafkalab.logs.rules import _load

        loaded = _load(config)
        cooldown = loaded.get("cooldown_s", 300) if isinstance(loaded, Mapping) else 300
        return cls(rules_from_config(loaded), cooldown_s=cooldown, notifiers=notifiers)

    def process(self, record: Mapping[str, Any]) -> list[Alert]:
        """Run every rule on one validated record; return the alerts sent."""
        self.stats.evaluated += 1
        sent = []
        for rule in self.rules:
            try:
                alert = rule.process(record)
            except Exception as exc:
                # A broken rule (often a learner's) must not stop the others.
                self.stats.rule_errors += 1
                self.stats.errors.append(f"{rule.name}: {type(exc).__name__}: {exc}")
                log.warning("rule %s failed on a record: %s: %s", rule.name,
                            type(exc).__name__, exc)
                continue
            if alert is not None and (alert := self._admit(alert)) is not None:
                sent.append(alert)
        return sent

    def flush(self) -> list[Alert]:
        """Let rules judge the state they still hold (end of a bounded run)."""
        admitted = (self._admit(a) for rule in self.rules for a in rule.flush())
        return [a for a in admitted if a is not None]

    def _admit(self, alert: Alert) -> Alert | None:
        # One alert per rule and service per cool-down, in the records' own time.
        event = self.gate.trigger((alert.rule, alert.service), now=alert.timestamp_ms / 1000)
        if event is None or event.kind != "fired":
            self.stats.suppressed += 1
            return None
        alert = replace(alert, suppressed=event.suppressed)
        self.stats.fired += 1
        self.alerts.append(alert)
        log.debug("alert %s/%s: %s", alert.rule, alert.service, alert.message)
        for notifier in self.notifiers:
            try:
                notifier.notify(alert)
            except Exception as exc:  # notifiers should not raise; if one does, go on
                log.warning("notifier %r failed: %s", notifier, exc)
        return alert
