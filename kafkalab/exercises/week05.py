"""Checkers for week 5: masking ids in log templates, and writing alert rules.

>>> def mask_ids(message):
...     from kafkalab.logs import template
...     return template(message)
>>> print(check_mask_ids(mask_ids))
Exercise 1: mask ids in templates: 4 of 4 checks passed
  ✔ it returns text for every message
  ✔ no order, customer or payment id is left in any template
  ✔ lines of the same kind share one template (6 kinds)
  ✔ lines of different kinds keep different templates, and words are kept

A wrong answer says what is wrong (and, under the test suite, raises)::

    ✘ 'refund for ORD-48213 issued' kept an id: its template is 'refund for ORD-<num> issued'.
      Mask the whole id (letters, dash and digits) as <id>, before masking numbers
"""

from __future__ import annotations

import collections
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from kafkalab.exercises import Result, guard_checkers

__all__ = ["INCIDENT", "check_alert_rule", "check_mask_ids", "check_slow_requests_rule"]

# Groups of messages: within a group one template, across groups different ones.
_KINDS: dict[str, list[str]] = {
    "refund": ["refund for ORD-48213 issued", "refund for ORD-7 issued",
               "refund for ORD-100000 issued"],
    "payment": ["payment pay_8f3a2c for CUST-001 took 812 ms",
                "payment pay_00b1d9 for CUST-042 took 95 ms"],
    "stock": ["only 3 left of ITEM-001", "only 120 left of ITEM-734"],
    "declined": ["card declined for CUST-913", "card declined for CUST-007"],
    "retry": ["retry 2 of 5 for ORD-3", "retry 4 of 5 for ORD-99812"],
    "oom": ["OutOfMemoryError: Java heap space"],
}
_ID = re.compile(r"\b(?:ORD|CUST|ITEM)-\d+|\bpay_[0-9a-f]+", re.IGNORECASE)


def check_mask_ids(fn: Callable[[str], str]) -> Result:
    """Exercise 1: ``fn(message)`` masks ids and numbers so one kind of line has one template."""
    r = Result("Exercise 1: mask ids in templates")
    out: dict[str, list[str]] = {}
    for kind, messages in _KINDS.items():
        out[kind] = []
        for m in messages:
            try:
                t = fn(m)
            except Exception as exc:
                r.check(False, "", f"your function raised {type(exc).__name__}: {exc} on {m!r}")
                return r.done()
            if not isinstance(t, str):
                r.check(False, "", f"your function returned {type(t).__name__} for {m!r}; "
                                   "it must return the template as text")
                return r.done()
            out[kind].append(t)
    r.check(True, "it returns text for every message", "")
    leaks = [(m, t) for kind in _KINDS for m, t in zip(_KINDS[kind], out[kind], strict=False)
             if _ID.search(t) or re.search(r"\b(?:ORD|CUST|ITEM)-|\bpay_", t)]
    r.check(not leaks, "no order, customer or payment id is left in any template",
            (f"{leaks[0][0]!r} kept an id: its template is {leaks[0][1]!r}. Mask the whole id "
             "(letters, dash or underscore, and digits) as <id>, before masking numbers")
            if leaks else "")
    split = {k: sorted(set(ts)) for k, ts in out.items() if len(set(ts)) > 1}
    r.check(not split, f"lines of the same kind share one template ({len(_KINDS)} kinds)",
            (lambda k: f"{_KINDS[k][0]!r} and {_KINDS[k][1]!r} are the same kind of line but got "
                       f"different templates {split[k]}: mask every number and id that varies")(
                next(iter(split))) if split else "")
    firsts = {k: ts[0] for k, ts in out.items()}
    same = [(a, b) for a in firsts for b in firsts if a < b and firsts[a] == firsts[b]]
    kept_words = all(w in firsts[k] for k, w in [("refund", "refund"), ("declined", "declined"),
                                                   ("oom", "OutOfMemoryError")])
    r.check(not same and kept_words,
            "lines of different kinds keep different templates, and words are kept",
            f"{_KINDS[same[0][0]][0]!r} and {_KINDS[same[0][1]][0]!r} got the same template "
            f"{firsts[same[0][0]]!r}: mask only what varies, keep the words" if same else
            f"a template lost its words (e.g. {firsts['oom']!r} for "
            f"{_KINDS['oom'][0]!r}): mask ids and numbers only, not whole lines")
    return r.done()


def _incident() -> list:
    from kafkalab.logs import SlowDependency

    return [SlowDependency("api", start_s=300, duration_s=90)]


#: The scripted incident of Exercise 2: ``api``'s database slows down 5 minutes in.
INCIDENT = "SlowDependency('api', start_s=300, duration_s=90)"


def check_alert_rule(config: Mapping[str, Any] | str | Path, *, seeds: tuple[int, ...] = (1, 2, 3)
                     ) -> Result:
    """Exercise 2: a one-rule config that fires once on the incident and never on clean traffic.

    Runs the rule over 15 minutes of clean simulated traffic for each seed,
    then over 10 minutes with :data:`INCIDENT`, with a 5-minute cool-down.
    """
    from kafkalab.logs import AlertEngine, simulate, validate

    r = Result("Exercise 2: write an alert rule")
    try:
        engine = AlertEngine.from_config(config)
    except (ValueError, TypeError, AttributeError) as exc:
        r.check(False, "", f"the config does not load: {exc}")
        return r.done()
    if not r.check(len(engine.rules) == 1, f"the config holds one rule ({engine.rules[0].name!r})"
                   if len(engine.rules) == 1 else "",
                   f"the config holds {len(engine.rules)} rules; write exactly one, under 'rules:'"):
        return r.done()

    def fire(records: list) -> list:
        e = AlertEngine.from_config(config)  # fresh rule state for every run
        e.cooldown_ms = 300_000
        for rec in records:
            e.process(validate(rec))
        e.flush()
        return e.alerts

    noisy = {seed: fire(simulate(900, seed=seed)) for seed in seeds}
    false = {s: a for s, a in noisy.items() if a}
    r.check(not false, f"it never fires on 15 minutes of clean traffic ({len(seeds)} seeds)",
            (lambda s: f"it fired {len(false[s])} time(s) on clean traffic (seed {s}), first: "
                       f"{false[s][0].service}: {false[s][0].message}. Make it stricter: a "
                       "higher threshold, a narrower pattern or a service filter")(next(iter(false)))
            if false else "")
    alerts = fire(simulate(600, seed=seeds[0], incidents=_incident()))
    by_key = collections.Counter(a.service for a in alerts)
    r.check(len(alerts) == 1 and by_key.get("api") == 1,
            f"it fires exactly once on the incident, for api: {alerts[0].message}"
            if len(alerts) == 1 and by_key.get("api") == 1 else "",
            "it did not fire during the incident: api logs ERROR lines 'timeout after 5000 ms "
            "calling inventory-db' from 5 minutes in; match those" if not alerts else
            f"it fired {len(alerts)} times during the incident ({dict(by_key)}): it should fire "
            "once, for api (the cool-down is 5 minutes; is the rule limited to api?)")
    return r.done()


def check_slow_requests_rule(cls: type, *, seeds: tuple[int, ...] = (1, 2)) -> Result:
    """Exercise 3: a :class:`~kafkalab.logs.Rule` subclass for slow requests.

    ``cls(name, slow_ms=2000, count=3, within_s=30)`` must alert when one
    service logs ``count`` requests with ``metadata.duration_ms >= slow_ms``
    within ``within_s`` seconds: once on :data:`INCIDENT` (5-minute
    cool-down), never on clean traffic.
    """
    from kafkalab.logs import AlertEngine, Rule, simulate, validate

    r = Result("Exercise 3: a rule class of your own")
    if not r.check(isinstance(cls, type) and issubclass(cls, Rule),
                   f"{getattr(cls, '__name__', cls)} subclasses logs.Rule",
                   f"{cls!r} is not a subclass of logs.Rule: write `class "
                   "SlowRequests(logs.Rule):` and implement process(self, record)"):
        return r.done()
    try:
        rule = cls("slow-requests", slow_ms=2000, count=3, within_s=30)
    except TypeError as exc:
        r.check(False, "", f"cls('slow-requests', slow_ms=2000, count=3, within_s=30) failed: "
                           f"{exc}. Take those keyword arguments and pass name (and **kw) to "
                           "super().__init__")
        return r.done()
    r.check(rule.name == "slow-requests", "it keeps its name",
            f"its name is {rule.name!r}, not 'slow-requests': call super().__init__(name, **kw)")

    def fire(records: list) -> tuple[list, AlertEngine]:
        engine = AlertEngine([cls("slow-requests", slow_ms=2000, count=3, within_s=30)],
                             cooldown_s=300)
        for rec in records:
            engine.process(validate(rec))
        engine.flush()
        return engine.alerts, engine

    alerts, engine = fire(simulate(600, seed=seeds[0], incidents=_incident()))
    if not r.check(not engine.stats.rule_errors, "process() handled every record",
                   f"process() raised on {engine.stats.rule_errors} records, first: "
                   f"{engine.stats.errors[0] if engine.stats.errors else ''}. Records without "
                   "a duration have none: use record['metadata'].get('duration_ms')"):
        return r.done()
    r.check(len(alerts) == 1 and alerts[0].service == "api",
            f"it fires exactly once on the incident, for api: {alerts[0].message}"
            if len(alerts) == 1 else "",
            "it did not fire during the incident: api's requests take about 900 ms then, and "
            "a few take 2000 ms or more. Count those per service, forget the ones older than "
            "within_s, and return self.alert(record, message) when count is reached"
            if not alerts else f"it fired {len(alerts)} times during the incident, for "
            f"{sorted({a.service for a in alerts})}: it should fire once, for api")
    from kafkalab.logs import make_record

    def slow(seconds: list[int]) -> list:
        return [make_record(service="api", level="INFO", message="GET /", timestamp_ms=s * 1000,
                            metadata={"duration_ms": 2500}) for s in seconds]

    spread = fire(slow([0, 200, 400]))[0]
    r.check(not spread, "three slow requests minutes apart are not a burst",
            "it fired on three slow requests 200 s apart: forget the slow requests older "
            "than within_s (30 s) before counting")
    noisy = {seed: fire(simulate(900, seed=seed))[0] for seed in seeds}
    false = {s: a for s, a in noisy.items() if a}
    r.check(not false, f"it never fires on 15 minutes of clean traffic ({len(seeds)} seeds)",
            (lambda s: f"it fired {len(false[s])} time(s) on clean traffic (seed {s}), first: "
                       f"{false[s][0].message}. Is the comparison duration >= slow_ms, and are "
                       "old slow requests forgotten after within_s?")(next(iter(false)))
            if false else "")
    return r.done()


# An exercise cell not written yet leaves its answer None: say "not done yet" in one line.
guard_checkers(globals())
