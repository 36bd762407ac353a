"""Alert rules: each looks at records one by one and may raise an :class:`Alert`.

Every rule subclasses :class:`Rule` and implements one verb, ``process(record)``,
returning an alert or ``None``. Rules only *detect*; repeats are held back
by the :class:`~kafkalab.logs.alerts.AlertEngine`, through the one
:class:`~kafkalab.alerts.Gate` of the course. The four kinds:

============== ===========================================================
``error_rate``  the share of ERROR/CRITICAL records in a window reaches a threshold
``burst``       N matching records within M seconds
``pattern``     a message or exception matches a regular expression
``new_template`` an error whose template was never seen before
============== ===========================================================

Rules are written in code or loaded from a dict or YAML text
(:func:`rules_from_config`)::

    rules:
      - {name: oom, type: pattern, pattern: "OutOfMemory|timeout", severity: critical}
      - {name: error-burst, type: burst, count: 20, within_s: 10}

Times are the records' own timestamps (event time), so replaying logs
raises the same alerts as living through them. The two rules that count over
time, ``error_rate`` and ``burst``, count on week 6's windowing engine
(:class:`kafkalab.windows.WindowedAggregation`, each service in its own time):
a tumbling and a sliding window. Their ``snapshot()`` and ``restore(state)``
are the engine's, so a checkpoint keeps a half-counted window.

>>> from kafkalab.logs.record import validate
>>> rule = PatternRule("oom", pattern="OutOfMemory")
>>> rule.process(validate({"timestamp": 0, "service": "payments", "level": "ERROR",
...                        "message": "OutOfMemoryError: Java heap space"})).message
"pattern 'OutOfMemory' matched: OutOfMemoryError: Java heap space"
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kafkalab.alerts import SEVERITIES, Alert
from kafkalab.logs.record import LEVELS, normalise_level, timestamp_ms
from kafkalab.logs.templates import template as default_template
from kafkalab.windows import Count, Fields, Max, Min, Reduce, Sliding, Sum, Tumbling, WindowedAggregation, WindowResult

__all__ = [
    "DEFAULT_RULES",
    "BurstRule",
    "ErrorRateRule",
    "NewTemplateRule",
    "PatternRule",
    "RULE_TYPES",
    "Rule",
    "rules_from_config",
]


class Rule:
    """The base of every rule.

    Parameters
    ----------
    name
        Unique among the rules: alerts and the cool-down are per rule name.
    services
        Only records of these services are considered (all when ``None``).
    severity
        ``info``, ``warning`` or ``critical``.
    """

    kind = "rule"

    def __init__(self, name: str, *, services: Iterable[str] | str | None = None,
                 severity: str = "warning") -> None:
        if not name:
            raise ValueError("a rule needs a name")
        if severity not in SEVERITIES:
            raise ValueError(f"rule {name!r}: severity must be one of {', '.join(SEVERITIES)}; "
                             f"got {severity!r}")
        self.name = name
        self.services = (services,) if isinstance(services, str) else (
            tuple(services) if services is not None else None)
        self.severity = severity

    def applies(self, record: Mapping[str, Any]) -> bool:
        return self.services is None or record.get("service") in self.services

    def process(self, record: Mapping[str, Any]) -> Alert | None:
        """Look at one validated record; return an alert or ``None``."""
        raise NotImplementedError

    def flush(self) -> list[Alert]:
        """Alerts from state still held at the end of a bounded run (none by default)."""
        return []

    def alert(self, record: Mapping[str, Any], message: str, **details: Any) -> Alert:
        """An :class:`Alert` of this rule for ``record``'s service and time."""
        return Alert(rule=self.name, kind=self.kind, service=record["service"],
                     severity=self.severity, timestamp_ms=timestamp_ms(record),
                     message=message, details=details)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.name!r})"


def _min_level(level: str | int) -> int:
    return LEVELS[normalise_level(level)]


class _WindowedRule(Rule):
    """A rule that counts in ``self.aggregation``: its state is the engine's."""

    aggregation: WindowedAggregation

    def snapshot(self) -> dict[str, Any]:
        """The rule's windows as JSON (a checkpoint)."""
        return self.aggregation.snapshot()

    def restore(self, state: dict[str, Any]) -> None:
        """Continue from a :meth:`snapshot`."""
        self.aggregation.restore(state)


class ErrorRateRule(_WindowedRule):
    """Alert when errors are at least ``threshold`` of a service's records in a window.

    A window is judged when it is complete: when the service logs past its
    end (or at :meth:`flush`). Windows with fewer than ``min_records`` are
    skipped: 2 errors out of 3 records is 67 %, and means nothing.

    >>> from kafkalab.logs.record import make_record
    >>> rule = ErrorRateRule("errors", threshold=0.5, window_s=60, min_records=2)
    >>> for ts, lvl in [(0, "ERROR"), (1000, "ERROR"), (2000, "INFO"), (61_000, "INFO")]:
    ...     fired = rule.process(make_record(service="api", level=lvl, message="m",
    ...                                      timestamp_ms=ts))
    >>> fired.message
    'error rate 67% (2 of 3) in the window from 1970-01-01T00:00:00.000Z reached 50%'
    """

    kind = "error_rate"

    def __init__(self, name: str, *, threshold: float = 0.2, window_s: float = 60,
                 min_records: int = 20, **kw: Any) -> None:
        super().__init__(name, **kw)
        if not 0 < threshold <= 1:
            raise ValueError(f"rule {name!r}: threshold is a share between 0 and 1 "
                             f"(0.2 = 20%); got {threshold}")
        self.threshold = threshold
        self.window_ms = int(window_s * 1000)
        self.min_records = min_records
        # Per service, tumbling windows of records, errors and the last record
        # (the alert's time). A service's record of a later window completes
        # the previous one (no grace); a straggler for a judged window is late.
        self.aggregation = WindowedAggregation(
            Tumbling(self.window_ms),
            Fields(total=Count(), errors=Sum(lambda r: r["level"] in ("ERROR", "CRITICAL")),
                   last=Reduce(lambda _, newer: newer)),
            emit="final", closing="key")

    def _judge(self, result: WindowResult) -> Alert | None:
        total, errors, last = (result.value[k] for k in ("total", "errors", "last"))
        if total < self.min_records or errors / total < self.threshold:
            return None
        from kafkalab.logs.record import to_iso

        start = result.window.start_ms
        return self.alert(last, f"error rate {errors / total:.0%} ({errors} of {total}) in the "
                                f"window from {to_iso(start)} reached {self.threshold:.0%}",
                          window_start_ms=start, errors=errors, total=total,
                          error_rate=round(errors / total, 4))

    def process(self, record: Mapping[str, Any]) -> Alert | None:
        if not self.applies(record):
            return None
        fired = None
        for out in self.aggregation.process(record["service"], record, timestamp_ms(record)):
            if isinstance(out, WindowResult):  # a completed window (a LateRecord is ignored)
                fired = self._judge(out) or fired
        return fired

    def flush(self) -> list[Alert]:
        return [a for a in map(self._judge, self.aggregation.flush()) if a is not None]


class BurstRule(_WindowedRule):
    """Alert when ``count`` matching records of one service arrive within ``within_s`` seconds.

    A record matches when its level is at least ``level`` and, if ``pattern``
    is given, its message matches it.

    >>> from kafkalab.logs.record import make_record
    >>> rule = BurstRule("burst", count=3, within_s=10)
    >>> [bool(rule.process(make_record(service="api", level="ERROR", message="x",
    ...                                 timestamp_ms=s * 1000))) for s in (0, 4, 20, 21, 22)]
    [False, False, False, False, True]
    """

    kind = "burst"

    def __init__(self, name: str, *, count: int = 20, within_s: float = 10,
                 level: str = "ERROR", pattern: str | None = None, **kw: Any) -> None:
        super().__init__(name, **kw)
        if count < 2:
            raise ValueError(f"rule {name!r}: a burst needs count >= 2; got {count}")
        self.count = count
        self.within_ms = int(within_s * 1000)
        self.level = _min_level(level)
        self.pattern = re.compile(pattern) if pattern else None
        # Per service, a sliding window over the matching records' times: at
        # each one, how many there were in the ``within_s`` up to it, and the
        # first and last of them (the burst's span).
        self.aggregation = WindowedAggregation(
            Sliding(self.within_ms), Fields(n=Count(), first=Min(), last=Max()),
            emit="update", closing="key")

    def process(self, record: Mapping[str, Any]) -> Alert | None:
        if not self.applies(record) or LEVELS[record["level"]] < self.level:
            return None
        if self.pattern is not None and not self.pattern.search(record.get("message") or ""):
            return None
        ts = timestamp_ms(record)
        counts = [out.value for out in self.aggregation.process(record["service"], ts, ts)
                  if isinstance(out, WindowResult)]
        burst = max(counts, key=lambda c: c["n"], default=None)
        if burst is None or burst["n"] < self.count:
            return None
        span = (burst["last"] - burst["first"]) / 1000
        self.aggregation.flush(record["service"])  # the next alert needs a fresh burst
        return self.alert(record, f"{self.count} matching records within {span:.1f} s "
                                  f"(limit: {self.count} in {self.within_ms / 1000:g} s)",
                          count=self.count, span_s=span)


class PatternRule(Rule):
    """Alert when a record's message or exception matches ``pattern`` (``re.search``)."""

    kind = "pattern"

    def __init__(self, name: str, *, pattern: str, level: str = "DEBUG",
                 ignore_case: bool = False, **kw: Any) -> None:
        super().__init__(name, **kw)
        try:
            self.pattern = re.compile(pattern, re.IGNORECASE if ignore_case else 0)
        except re.error as exc:
            raise ValueError(f"rule {name!r}: pattern {pattern!r} is not valid: {exc}") from None
        self.level = _min_level(level)

    def process(self, record: Mapping[str, Any]) -> Alert | None:
        if not self.applies(record) or LEVELS[record["level"]] < self.level:
            return None
        text = record.get("message") or ""
        if record.get("exception"):
            text += "\n" + record["exception"]
        match = self.pattern.search(text)
        if match is None:
            return None
        return self.alert(record, f"pattern {self.pattern.pattern!r} matched: {record['message']}",
                          matched=match.group(0))


class NewTemplateRule(Rule):
    """Alert on an error whose template was never seen before.

    For the first ``learn_s`` seconds (from the first record this rule sees)
    it only learns what normal errors look like. ``known`` seeds the
    templates considered normal.

    >>> from kafkalab.logs.record import make_record
    >>> rule = NewTemplateRule("new", learn_s=10)
    >>> def err(ts, msg):
    ...     return rule.process(make_record(service="api", level="ERROR", message=msg,
    ...                                     timestamp_ms=ts))
    >>> err(0, "card declined for CUST-001"), err(20_000, "card declined for CUST-932")
    (None, None)
    >>> err(30_000, "disk full on /var/lib/data").message
    "new error template: 'disk full on /var/lib/data'"
    """

    kind = "new_template"

    def __init__(self, name: str, *, level: str = "ERROR", learn_s: float = 120,
                 known: Iterable[str] = (), templater: Any = default_template, **kw: Any) -> None:
        super().__init__(name, **kw)
        self.level = _min_level(level)
        self.learn_ms = int(learn_s * 1000)
        self.templater = templater
        self.known: set[tuple[str, str] | str] = set(known)
        self._since: int | None = None

    def process(self, record: Mapping[str, Any]) -> Alert | None:
        if not self.applies(record):
            return None
        if self._since is None:
            self._since = timestamp_ms(record)
        if LEVELS[record["level"]] < self.level:
            return None
        ts = timestamp_ms(record)  # only errors need it: most records stop above
        tmpl = self.templater(record.get("message") or "")
        key = (record["service"], tmpl)
        if key in self.known or tmpl in self.known:
            return None
        self.known.add(key)
        if ts - self._since < self.learn_ms:
            return None  # still learning what normal errors look like
        return self.alert(record, f"new error template: {tmpl!r}", template=tmpl)


#: ``type:`` names usable in a config, and the class each builds.
RULE_TYPES: dict[str, type[Rule]] = {
    "error_rate": ErrorRateRule,
    "burst": BurstRule,
    "pattern": PatternRule,
    "new_template": NewTemplateRule,
}


#: The week's default rules (``default_rules.yaml`` next to this module).
DEFAULT_RULES = Path(__file__).with_name("default_rules.yaml")


def _load(config: Mapping[str, Any] | Iterable[Mapping[str, Any]] | str | Path) -> Any:
    if isinstance(config, Path) or (isinstance(config, str) and "\n" not in config
                                    and config.endswith((".yaml", ".yml"))):
        config = Path(config).read_text(encoding="utf-8")
    if isinstance(config, str):
        import yaml

        try:
            config = yaml.safe_load(config)
        except yaml.YAMLError as exc:
            raise ValueError(f"alert rules are not valid YAML: {exc}") from None
    return config


def rules_from_config(config: Mapping[str, Any] | Iterable[Mapping[str, Any]] | str | Path
                      ) -> list[Rule]:
    """Build rules from a dict ``{"rules": [...]}``, a list of rule dicts, YAML text or a file.

    Each rule dict has ``name``, ``type`` (see :data:`RULE_TYPES`) and that
    rule's parameters. A mistake is a :class:`ValueError` naming the rule and
    the field.

    >>> rules_from_config('''
    ... rules:
    ...   - {name: oom, type: pattern, pattern: OutOfMemory, severity: critical}
    ...   - {name: burst, type: burst, count: 5, within_s: 2}
    ... ''')
    [PatternRule('oom'), BurstRule('burst')]
    >>> rules_from_config([{"name": "x", "type": "burst", "cuont": 5}])
    Traceback (most recent call last):
    ...
    ValueError: rule 'x' (burst): unknown field(s) cuont; burst rules take count, level, name,
     pattern, services, severity, within_s
    """
    config = _load(config)
    items = config.get("rules", []) if isinstance(config, Mapping) else config
    if not isinstance(items, (list, tuple)):
        raise ValueError("alert rules: expected a list of rules (or a mapping with 'rules:')")
    rules: list[Rule] = []
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise ValueError(f"rule #{i + 1}: expected a mapping with name and type; got {item!r}")
        spec = dict(item)
        kind = spec.pop("type", None)
        name = spec.get("name") or f"#{i + 1}"
        if kind not in RULE_TYPES:
            raise ValueError(f"rule {name!r}: type must be one of {', '.join(RULE_TYPES)}; "
                             f"got {kind!r}")
        cls = RULE_TYPES[kind]
        allowed = {p for c in cls.__mro__ if c is not object and "__init__" in vars(c)
                   for p in inspect.signature(vars(c)["__init__"]).parameters
                   if p not in ("self", "kw", "templater")}
        unknown = sorted(set(spec) - allowed)
        if unknown:
            raise ValueError(f"rule {name!r} ({kind}): unknown field(s) {', '.join(unknown)}; "
                             f"{kind} rules take {', '.join(sorted(allowed))}")
        if "name" not in spec:
            raise ValueError(f"rule #{i + 1} ({kind}): a rule needs a name")
        try:
            rules.append(cls(**spec))
        except TypeError as exc:
            raise ValueError(f"rule {name!r} ({kind}): {exc}") from None
    names = [r.name for r in rules]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ValueError(f"rule names must be unique; repeated: {', '.join(dupes)}")
    return rules
