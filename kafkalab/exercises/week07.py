"""Checkers for week 7, one section per topic.

Change data capture: apply a change to a copy of a table; choose the record
key; choose the cache keys a change affects. Retention and compaction (notebook
04), on the broker: predict what survives compaction; write a CDC applier with
kafka-python that survives a crash, a restart, re-delivery and bad records.
IoT: convert units; write a validation rule; choose hysteresis.

>>> def apply_change(state, event):
...     key, pos = event["table"] + ":" + str(event["key"]["id"]), event["position"]
...     if key in state and state[key]["position"] >= pos:
...         return state
...     state[key] = {"position": pos, "row": event["after"]}
...     return state
>>> print(check_apply_change(apply_change))  # doctest: +ELLIPSIS
Exercise 1: apply a change: 5 of 5 checks passed
  ✔ an INSERT adds the row (the after image)
  ...
"""

from __future__ import annotations

import copy
import os
import tempfile
from collections.abc import Callable, Mapping
from typing import Any

from kafkalab.exercises import ExerciseFailed, Result, check_prediction, forbidden, guard_checkers

__all__ = ["check_apply_change", "check_invalidation_keys", "check_record_key"]

# --- change data capture

_SRC = {"connector": "sqlite", "db": "shop.db"}


def _event(op: str, table: str, before: dict | None, after: dict | None, position: int,
           pk: str = "id") -> dict[str, Any]:
    from kafkalab.cdc import ChangeEvent

    row = after if after is not None else before
    assert row is not None
    return ChangeEvent(op, table, before, after, timestamp=1_700_000_000_000 + position,
                       key={pk: row[pk]}, position=position, source=dict(_SRC)).to_record()


def _live(state: dict[str, Any]) -> dict[str, dict]:
    """The rows a learner's state holds (tombstones, i.e. row None, left out)."""
    return {k: v["row"] for k, v in state.items() if isinstance(v, dict) and v.get("row")}


def _call(fn: Callable, state: dict, event: dict) -> dict:
    out = fn(state, copy.deepcopy(event))
    return state if out is None else out


def _random_events(seed: int) -> tuple[list[dict], dict[str, dict]]:
    """Seeded random changes captured from a temporary SQLite shop: the events, and
    the rows of the database afterwards keyed ``"<table>:<id>"``."""
    from kafkalab.cdc import SHOP_TABLES, SQLiteCapture, create_shop, random_changes, table_rows

    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "shop.db")
        create_shop(db, products=15, customers=5, seed=seed)
        cap = SQLiteCapture(db, SHOP_TABLES, producer=None)
        cap.snapshot()
        random_changes(db, 200, seed=seed)
        events = [e.to_record() for e in cap.pending(limit=10_000)]
        cap.close()
        rows = {f"{t}:{r['id']}": r for t in SHOP_TABLES for r in table_rows(db, t)}
    return events, rows


def check_apply_change(fn: Callable[[dict, dict], Any]) -> Result:
    """Exercise 1: ``fn(state, event)`` applies one change event to ``state``.

    ``state`` maps a record key (``"products:7"``) to ``{"position": p, "row":
    row}``, with ``row`` ``None`` once the row is deleted. An event at or below
    the stored position of its key was applied already: it changes nothing.
    """
    r = Result("Exercise 1: apply a change")
    laptop = {"id": 7, "name": "Laptop", "price": 1500}
    cheaper = dict(laptop, price=1400)
    ins = _event("INSERT", "products", None, laptop, 10)
    upd = _event("UPDATE", "products", laptop, cheaper, 11)
    dele = _event("DELETE", "products", cheaper, None, 12)
    try:
        s1 = _call(fn, {}, ins)
        got1 = _live(copy.deepcopy(s1))
        s2 = _call(fn, s1, upd)
        got2 = _live(copy.deepcopy(s2))
        again = _call(fn, copy.deepcopy(s2), upd)
        old = _call(fn, copy.deepcopy(s2), ins)
        s3 = _call(fn, s2, dele)
        got3 = _live(copy.deepcopy(s3))
        resurrect = _live(_call(fn, copy.deepcopy(s3), upd))
    except Exception as exc:
        r.check(False, "", f"your function raised {type(exc).__name__}: {exc}. Remember that "
                           "an INSERT has before = None and a DELETE has after = None")
        return r.done()
    if not r.check(got1 == {"products:7": laptop}, "an INSERT adds the row (the after image)",
                   f"after an INSERT of {laptop} into an empty state it holds {got1}: store "
                   "{'position': event['position'], 'row': event['after']} under "
                   "'products:7' (the table, a colon and the primary key)"):
        return r.done()
    r.check(got2 == {"products:7": cheaper}, "an UPDATE replaces the row with its after image",
            f"after the UPDATE the state holds {got2}, not {cheaper}")
    r.check(got3 == {} and "products:7" in s3,
            "a DELETE leaves a tombstone (row None, position kept)",
            f"after the DELETE the state holds {got3}" if got3 else
            "after the DELETE the key is gone altogether: keep {'position': 12, 'row': None}, "
            "or a re-delivered older change cannot tell the row was deleted")
    r.check(_live(again) == got2 and _live(old) == got2 and resurrect == {},
            "a re-delivered or older change changes nothing",
            "a change delivered again (or an older one, delivered late) changed the state: "
            "ignore an event whose position is not above the stored one for its key")
    mismatches = []
    for seed in (1, 2):
        events, rows = _random_events(seed)
        state: dict = {}
        try:
            for i, e in enumerate(events):
                state = _call(fn, state, e)
                if i % 17 == 0:  # at-least-once: some changes arrive twice
                    state = _call(fn, state, e)
        except Exception as exc:
            r.check(False, "", f"on seeded random changes your function raised "
                               f"{type(exc).__name__}: {exc}")
            return r.done()
        live = _live(state)
        if live != rows:
            wrong = sorted(set(live) ^ set(rows)) or [k for k in rows if live.get(k) != rows[k]]
            mismatches.append((seed, len(events), wrong[:3]))
    r.check(not mismatches, "after 2 x 200 random changes (some twice) the state equals the "
                            "database",
            f"after {mismatches[0][1]} seeded random changes (seed {mismatches[0][0]}) the "
            f"state differs from the database at {mismatches[0][2]}" if mismatches else "")
    return r.done()


def check_record_key(fn: Callable[[dict], Any]) -> Result:
    """Exercise 2: ``fn(event)`` returns the record key that keeps a row's changes in order."""
    r = Result("Exercise 2: choose the record key")
    a, b = {"id": 7, "price": 10}, {"id": 7, "price": 12}
    row_events = [_event("INSERT", "products", None, a, 1), _event("UPDATE", "products", a, b, 2),
                  _event("DELETE", "products", b, None, 3)]
    other_row = _event("INSERT", "products", None, {"id": 8, "price": 3}, 4)
    other_table = _event("INSERT", "orders", None, {"id": 7, "total": 99}, 5)
    customer = _event("UPDATE", "customers", {"id": "CUST-001", "city": "Oslo"},
                      {"id": "CUST-001", "city": "Lyon"}, 6)
    try:
        keys = [fn(copy.deepcopy(e)) for e in row_events]
        k_row, k_table, k_cust = (fn(copy.deepcopy(e)) for e in (other_row, other_table,
                                                                  customer))
    except Exception as exc:
        r.check(False, "", f"your function raised {type(exc).__name__}: {exc}. A DELETE has "
                           "after = None: take the primary key from event['key']")
        return r.done()
    not_text = [k for k in [*keys, k_row, k_table, k_cust] if not isinstance(k, (str, bytes))]
    if not r.check(not not_text, "it returns text",
                   f"it returned {not_text[0]!r}: a record key is a string" if not_text else ""):
        return r.done()
    r.check(len(set(keys)) == 1,
            f"INSERT, UPDATE and DELETE of one row share the key {keys[0]!r}",
            f"the three changes of one row got the keys {keys}: they would be spread over "
            "partitions and could be read out of order. Use what does not change: the table "
            "and the primary key (not the position, operation or time)")
    r.check(k_row != keys[0] and k_cust != keys[0], "different rows get different keys",
            f"product 8 and product 7 both got {k_row!r}: include the primary key")
    r.check(k_table != keys[0], "the same id in another table gets another key",
            f"products id 7 and orders id 7 both got {k_table!r}: include the table name, "
            "e.g. 'products:7'")
    return r.done()


def check_invalidation_keys(fn: Callable[[dict], Any]) -> Result:
    """Exercise 3: ``fn(event)`` returns the cache keys a change affects.

    The cache holds ``"products:<id>"`` (one product) and ``"category:<name>"``
    (the list of products in a category) entries, and ``"customers:<id>"``.
    """
    r = Result("Exercise 3: invalidate the right cache keys")
    old = {"id": 7, "name": "Chess set", "category": "games", "price": 30}
    cases = [
        ("an UPDATE that moves product 7 from games to books",
         _event("UPDATE", "products", old, dict(old, category="books"), 1),
         {"products:7", "category:games", "category:books"}),
        ("an UPDATE of product 7's price only",
         _event("UPDATE", "products", old, dict(old, price=25), 2),
         {"products:7", "category:games"}),
        ("an INSERT of product 9 in garden",
         _event("INSERT", "products", None, dict(old, id=9, category="garden"), 3),
         {"products:9", "category:garden"}),
        ("a DELETE of product 7",
         _event("DELETE", "products", old, None, 4), {"products:7", "category:games"}),
        ("an UPDATE of customer CUST-001",
         _event("UPDATE", "customers", {"id": "CUST-001", "city": "Oslo"},
                {"id": "CUST-001", "city": "Lyon"}, 5), {"customers:CUST-001"}),
    ]
    for what, event, expected in cases:
        try:
            got = fn(copy.deepcopy(event))
            got = set(got) if got is not None else set()
        except Exception as exc:
            r.check(False, "", f"for {what} your function raised {type(exc).__name__}: {exc}. "
                               "An INSERT has no before, a DELETE no after, and customers have "
                               "no category")
            continue
        missing, extra = expected - got, got - expected
        r.check(not missing and not extra, f"{what}: {sorted(expected)}",
                f"for {what} it returned {sorted(got)}: "
                + (f"missing {sorted(missing)} (that cache entry stays stale"
                   + ("; the product left the old category's list too: look at before "
                      "*and* after" if "category:games" in missing else "") + ")"
                   if missing else
                   f"{sorted(extra)} did not change: dropping them costs a reload for "
                   "nothing"))
    return r.done()


# --- IoT
#
# Sensor readings: convert units to the canonical ones; write a validation
# rule of your own; choose hysteresis so a hovering sensor alerts once.

_CONVERSIONS = [  # (type, value, unit, canonical value, hint when wrong)
    ("temperature", 98.6, "°F", 37.0, "subtract 32 first, then multiply by 5/9"),
    ("temperature", -40.0, "°F", -40.0, "subtract 32 first, then multiply by 5/9"),
    ("temperature", 300.0, "K", 26.85, "kelvin minus 273.15 is °C"),
    ("temperature", 21.5, "°C", 21.5, "a value already in °C stays as it is"),
    ("pressure", 14.5, "psi", 99.974, "1 psi is 6.894757 kPa"),
    ("pressure", 2.5, "bar", 250.0, "1 bar is 100 kPa"),
    ("pressure", 350.0, "kPa", 350.0, "a value already in kPa stays as it is"),
    ("vibration", 0.1, "in/s", 2.54, "1 inch is 25.4 mm"),
    ("humidity", 55.0, "%RH", 55.0, "%RH is already percent"),
]


def check_unit_converter(fn: Callable[[str, float, str], Any]) -> Result:
    """Exercise 4: ``fn(sensor_type, value, unit)`` returns the value in the canonical unit.

    >>> from kafkalab import iot
    >>> check_unit_converter(lambda t, v, u: iot.convert(t, v, u)[0]).passed
    True
    """
    r = Result("Exercise 4: convert units")
    wrong = []
    for kind, value, unit, expected, hint in _CONVERSIONS:
        try:
            got = fn(kind, value, unit)
        except Exception as exc:
            r.check(False, "", f"{kind} {value} {unit}: your function raised "
                               f"{type(exc).__name__}: {exc}")
            return r.done()
        if isinstance(got, bool) or not isinstance(got, (int, float)):
            r.check(False, "", f"{kind} {value} {unit}: it returned {got!r}; return the "
                               "converted value as a number")
            return r.done()
        if abs(got - expected) > 0.01:
            wrong.append(f"{value} {unit} should be {expected} but came out as {got:g}: {hint}")
    r.check(not wrong, f"all {len(_CONVERSIONS)} conversions are right (°F, K, psi, bar, in/s, "
                       "and canonical units unchanged)", "; ".join(wrong[:2]))
    raised: bool | Exception | None
    try:
        fn("pressure", 1.0, "atm")
        raised = None
    except ValueError:
        raised = True
    except Exception as exc:
        raised = exc
    r.check(raised is True, "an unknown unit raises ValueError (so the record can be "
                            "dead-lettered with the reason)",
            "pressure in 'atm' did not raise ValueError: a unit you do not know must be "
            "rejected, never passed through unconverted" if raised is None else
            f"an unknown unit raised {type(raised).__name__}; raise ValueError (or "
            "iot.InvalidReading, which is one)")
    return r.done()


def _battery_records() -> list[tuple[str, dict[str, Any], bool]]:
    base = {"deviceId": "SENSOR-001", "type": "temperature", "value": 21.5, "unit": "°C",
            "timestamp": "2026-01-01T00:00:00Z"}
    return [("a reading without a battery field", dict(base), True),
            ("battery 80", dict(base, battery=80), True),
            ("battery 5 (the limit itself)", dict(base, battery=5), True),
            ("battery 4.9", dict(base, battery=4.9), False),
            ("battery 0", dict(base, battery=0), False),
            ("battery 'low'", dict(base, battery="low"), False),
            ("battery 250", dict(base, battery=250), False)]


def check_battery_rule(rule: Callable[[Mapping[str, Any]], str | None]) -> Result:
    """Exercise 5: ``rule(record)`` returns a reason mentioning the battery, or ``None``.

    Readings from a device whose battery is below 5 % drift and are not to be
    trusted; a battery that is not a number from 0 to 100 is a broken record.
    """
    from kafkalab.iot import InvalidReading, Validator

    r = Result("Exercise 5: write a validation rule")
    validator = Validator(rules=[rule])
    wrong = []
    for what, record, ok in _battery_records():
        try:
            validator(copy.deepcopy(record))
            reason = None
        except InvalidReading as exc:
            reason = str(exc)
        except Exception as exc:
            hint = ("use record.get('battery'): most records have none"
                    if isinstance(exc, KeyError) else
                    "check that the battery is a number before comparing it")
            wrong.append(f"for {what} your rule raised {type(exc).__name__}: {exc}; {hint}")
            continue
        if ok and reason is not None:
            wrong.append(f"{what} was rejected ({reason!r}) but is fine")
        elif not ok and reason is None:
            wrong.append(f"{what} was accepted: it must be rejected")
        elif not ok and reason is not None and "battery" not in reason.lower():
            wrong.append(f"{what} was rejected with {reason!r}: say it is the battery, so "
                         "whoever reads the dead-letter topic knows what to fix")
    r.check(not wrong, "readings with a good or no battery pass; an empty, non-numeric or "
                       "impossible battery is rejected with a reason that says so",
            "; ".join(wrong[:3]))
    return r.done()


def _hovering(seed: int = 7) -> list[float]:
    import random

    rng = random.Random(seed)
    return [min(87.5, max(81.5, 84.0 + rng.gauss(0, 1.2))) for _ in range(90)]


def _recovering() -> list[float]:
    # Up, back to normal for half an hour, up again 45 minutes after the first alert.
    return [70.0] * 5 + [88.0] * 5 + [70.0] * 35 + [90.0] * 5 + [70.0] * 5


def check_hysteresis(threshold: Any, cooldown_s: float) -> Result:
    """Exercise 6: a threshold and cool-down so a hovering sensor alerts once.

    The limit is 85 % humidity. ``threshold`` is an :class:`kafkalab.iot.Threshold`;
    readings arrive once a minute.
    """
    from kafkalab.iot import Reading, Threshold, ThresholdAlerter

    r = Result("Exercise 6: choose hysteresis")
    if not r.check(isinstance(threshold, Threshold), "threshold is an iot.Threshold",
                   f"threshold is {type(threshold).__name__}; make one with "
                   "iot.Threshold(high=..., clear=...)"):
        return r.done()
    if not r.check(threshold.high == 85, "it alerts above the 85 % limit",
                   f"high is {threshold.high}: the limit is 85 %, keep it and change clear"):
        return r.done()

    def alerts(values: list[float]) -> int:
        alerter = ThresholdAlerter({"humidity": threshold}, cooldown_s=cooldown_s)
        return sum(alerter.process(Reading("SENSOR-004", "humidity", v, "%", i * 60_000))
                   is not None for i, v in enumerate(values))

    hover = alerts(_hovering())
    r.check(hover == 1, "a sensor hovering between 81.5 and 87.5 % alerts once in 90 minutes",
            f"a sensor hovering between 81.5 and 87.5 % raised {hover} alerts in 90 minutes: "
            + ("set clear below the lowest point it hovers at (81.5 %), so the alarm does "
               "not re-arm while it hovers" if hover > 1 else "it should alert once"))
    again = alerts(_recovering())
    r.check(again == 2, "a sensor that truly recovered and exceeds the limit again 45 minutes "
                        "later alerts again",
            f"a sensor that went back to 70 % for half an hour and then hit 90 % raised "
            f"{again} alert(s), expected 2: "
            + ("the cool-down hides a real second problem; keep it under 45 minutes and let "
               "hysteresis do the work" if again < 2 else "the alarm re-armed too easily"))
    return r.done()


__all__ += ["check_battery_rule", "check_hysteresis", "check_unit_converter"]


# --- retention and compaction (notebook 04), and a CDC applier on the broker
#
# Both run on the broker: a fresh topic per check, deleted afterwards.

#: Exercise 7's changes (key, price; None is a tombstone). The first seven fill one
#: segment; then the segment rolls and the last two land in the new, active one.
COMPACTION_BEFORE_ROLL: list[tuple[str, int | None]] = [
    ("products:1", 10), ("products:2", 20), ("products:1", 11), ("products:3", 30),
    ("products:2", None), ("products:3", 31), ("products:4", 40)]
COMPACTION_AFTER_ROLL: list[tuple[str, int | None]] = [("products:1", 12), ("products:4", None)]
#: Topic configs of Exercise 7's topic: roll after 1 s, clean as soon as 1 % is dirty.
COMPACTION_CONFIGS = {"cleanup.policy": "compact", "segment.ms": "1000", "min.cleanable.dirty.ratio": "0.01"}


def _run_id() -> str:
    import uuid

    return uuid.uuid4().hex[:8]


def _read_partition(tp: Any, timeout_s: float = 10) -> list[tuple[int, str, Any]]:
    """(offset, key, value) of every record still in one partition (value None: a tombstone)."""
    import time

    from kafka import KafkaConsumer

    from kafkalab.clients import bootstrap_servers

    found: list[tuple[int, str, Any]] = []
    with KafkaConsumer(bootstrap_servers=bootstrap_servers(), enable_auto_commit=False) as consumer:
        consumer.assign([tp])
        consumer.seek_to_beginning(tp)
        end = consumer.end_offsets([tp])[tp]
        deadline = time.monotonic() + timeout_s
        while consumer.position(tp) < end and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=300).values():
                found += [(m.offset, m.key.decode(), None if m.value is None else int(m.value)) for m in records]
    return found


def compact_on_broker(before_roll: list[tuple[str, int | None]], after_roll: list[tuple[str, int | None]],
                      timeout_s: float = 30) -> dict[int, tuple[str, int | None]]:
    """Write ``before_roll``, let the segment age past ``segment.ms``, write ``after_roll``
    (its first record rolls the segment), wait for the cleaner, and return what is left:
    ``{offset: (key, value)}``. The topic is deleted afterwards."""
    import time

    from kafka import KafkaProducer, TopicPartition

    from kafkalab.clients import Admin, bootstrap_servers

    tp = TopicPartition(f"week07-compaction-{_run_id()}", 0)
    with Admin() as admin:
        admin.ensure_topic(tp.topic, partitions=1, config=COMPACTION_CONFIGS)
        producer = KafkaProducer(bootstrap_servers=bootstrap_servers(), linger_ms=5)
        try:
            def send(changes: list[tuple[str, int | None]]) -> None:
                for key, value in changes:
                    producer.send(tp.topic, key=key.encode(), partition=0,
                                  value=None if value is None else str(value).encode())
                producer.flush(timeout=10)

            send(before_roll)
            time.sleep(float(COMPACTION_CONFIGS["segment.ms"]) / 1000 + 0.3)
            send(after_roll)
        finally:
            producer.close()
        total = len(before_roll) + len(after_roll)
        deadline = time.monotonic() + timeout_s
        left = _read_partition(tp)
        while len(left) >= total and time.monotonic() < deadline:
            time.sleep(0.5)
            left = _read_partition(tp)
        time.sleep(0.5)                       # one cleaning pass does it all; read it once more
        left = _read_partition(tp)
        admin.delete_topic(tp.topic)
    return {offset: (key, value) for offset, key, value in left}


def check_compaction_prediction(predicted: Mapping[int, Any]) -> Result:
    """Exercise 7: predict which records survive one compaction of Exercise 7's changes.

    ``predicted`` maps each surviving record's offset to ``(key, value)`` (value
    ``None`` for a tombstone). The checker then writes the changes to a fresh
    compacted topic, rolls the segment, waits for the cleaner and compares.
    """
    r = Result("Exercise 7: what survives compaction")
    if not isinstance(predicted, Mapping) or not predicted:
        r.check(False, "", "write your prediction as a dict {offset: (key, value)} of the records "
                           "you expect to survive, before running the check")
        return r.done()
    try:
        mine = {int(k): (str(v[0]), None if v[1] is None else int(v[1])) for k, v in predicted.items()}
    except (TypeError, ValueError, IndexError):
        r.check(False, "", "each entry should be offset: (key, value), e.g. 0: ('products:1', 10)")
        return r.done()
    observed = compact_on_broker(COMPACTION_BEFORE_ROLL, COMPACTION_AFTER_ROLL)
    if not r.check(len(observed) < len(COMPACTION_BEFORE_ROLL) + len(COMPACTION_AFTER_ROLL),
                   "the broker compacted the topic",
                   "the broker did not compact the topic within 30 s (is its cleaner disabled, "
                   "or log.cleaner.backoff.ms long?): nothing to compare yet"):
        return r.done()
    if check_prediction(r, mine, observed, "surviving records"):
        return r.done()
    # Point at the idea behind each miss, not at the answer.
    first_active = len(COMPACTION_BEFORE_ROLL)
    if any(o >= first_active and o not in mine for o in observed):
        r.check(False, "", "some records you dropped were written after the roll: they sit in the "
                           "active segment, and the cleaner never touches the active segment")
    if any(v[1] is None and o < first_active and o not in mine for o, v in observed.items()):
        r.check(False, "", "a tombstone is itself kept by the cleaning (for delete.retention.ms), "
                           "so that consumers replaying the topic see the delete")
    if any(o < first_active and o not in mine and v[1] is not None for o, v in observed.items()):
        r.check(False, "", "the cleaner keeps, per key, the last record of the segments it cleans; "
                           "it knows nothing of a newer value in the active segment")
    if any(o < first_active and o not in observed for o in mine):
        r.check(False, "", "in the cleaned segments an older record of a key is removed when the "
                           "same segments hold a later record of that key")
    return r.done()


class _CrashingTable(dict):
    """A table whose first write of one key fails, as a crash in the middle of a batch."""

    def __init__(self, crash_key: str) -> None:
        super().__init__()
        self.crash_key = crash_key

    def __setitem__(self, key: Any, value: Any) -> None:
        if key == self.crash_key:
            raise RuntimeError(f"simulated crash while writing {key!r} to the table")
        super().__setitem__(key, value)

    def update(self, *args: Any, **kwargs: Any) -> None:
        for k, v in dict(*args, **kwargs).items():
            self[k] = v

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key not in self:
            self[key] = default
        return self[key]


#: Exercise 8's malformed envelopes: (value bytes, why it is malformed).
MALFORMED = [(b"INSERT products 7", "not JSON"),
             (b'{"operation": "UPDATE", "table": "products", "key": {"id": 3}, "after": {"id": 3}}',
              "no position")]


def _cdc_feed(seed: int = 3) -> tuple[list[tuple[str, bytes]], dict[str, dict]]:
    """The records Exercise 8's topic gets, in order, and the rows the table must end with.

    Seeded random changes from a SQLite shop; two malformed envelopes in the
    middle; and a batch of 30 older changes delivered again at the end, as a
    capture that crashed before recording how far it got would publish them.
    """
    import json

    from kafkalab.cdc import record_key

    events, rows = _random_events(seed)
    feed = [(record_key(e["table"], e["key"]), json.dumps(e).encode()) for e in events]
    middle = len(feed) // 2
    feed[middle:middle] = [(f"products:{7 + i}", raw) for i, (raw, _) in enumerate(MALFORMED)]
    feed += feed[middle // 2: middle // 2 + 30]
    return feed, rows


def check_cdc_applier(run_applier: Callable[[str, str, dict, str], Any]) -> Result:
    """Exercise 8: ``run_applier(topic, group_id, table, dead_letter_topic)`` applies
    ``db-changes`` records to ``table`` with kafka-python, idempotently, and commits.

    On a fresh two-partition topic with 200-odd changes, two malformed envelopes and
    a re-delivered batch, the checker runs it twice: first with a table whose write
    of one row fails (a crash), then again, like a restart, on what the table held.
    It inspects the table, the group's committed offsets on the broker and the
    dead-letter topic.
    """
    from kafkalab.clients import Admin

    r = Result("Exercise 8: a CDC applier on the broker")
    if not r.check(callable(run_applier), "run_applier is a function",
                   f"run_applier is {type(run_applier).__name__}: define it with def run_applier(topic, "
                   "group_id, table, dead_letter_topic):"):
        return r.done()
    run = _run_id()
    topic, dlq, group = f"week07-db-changes-{run}", f"week07-dlq-{run}", f"week07-applier-{run}"
    with Admin() as admin:
        try:
            _exercise8(r, run_applier, admin, topic, dlq, group)
        finally:
            admin.delete_topic(topic)      # also when a refused reference function raised
            admin.delete_topic(dlq)
    return r.done()


def _exercise8(r: Result, run_applier: Callable[[str, str, dict, str], Any], admin: Any, topic: str,
               dlq: str, group: str) -> None:
    from kafka import KafkaProducer, TopicPartition

    from kafkalab.clients import bootstrap_servers

    feed, rows = _cdc_feed()
    admin.ensure_topic(topic, partitions=2)
    admin.ensure_topic(dlq, partitions=1)
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers())
    try:
        placed = [producer.send(topic, key=k.encode(), value=v) for k, v in feed]
        producer.flush(timeout=20)
        where = [f.get(10) for f in placed]
    finally:
        producer.close()
    # Crash on the first write of a row whose first change comes a third of the way in.
    seen: set[str] = set()
    crash_at = None
    for i, (key, _) in enumerate(feed):
        if len(feed) // 3 <= i < len(feed) // 2 and key not in seen and key.startswith("products:"):
            crash_at = i
            break
        seen.add(key)
    assert crash_at is not None, "the seeded feed has a new product between a third and half-way"
    crash_key, crash_meta = feed[crash_at][0], where[crash_at]
    crash_tp = TopicPartition(topic, crash_meta.partition)
    table = _CrashingTable(crash_key)
    with forbidden("kafkalab.clients.Consumer", "kafkalab.cdc.ChangeConsumer", "kafkalab.cdc.LakeApplier"):
        try:
            run_applier(topic, group, table, dlq)
            crashed = None
        except ExerciseFailed:
            raise
        except Exception as exc:
            crashed = exc
        committed = {tp: off for tp, off in admin.group_offsets(group).items() if tp.topic == topic}
        r.check(crashed is not None, "a failure to write the table stops the applier (it raised)",
                "writing one row to the table failed, and your applier carried on: only a record "
                "that cannot be parsed is dead-lettered; a failure to apply must stop the loop "
                "before anything after it is committed")
        at = committed.get(crash_tp)
        r.check(at is None or at <= crash_meta.offset,
                "nothing at or after the record that failed was committed",
                f"the group committed offset {at} on partition {crash_tp.partition}, past the "
                f"record at offset {crash_meta.offset} that was never applied: after a restart "
                "that change is lost. Where must the commit come, relative to the apply?")
        restarted = dict(table)          # what the table held when it crashed
        try:
            run_applier(topic, group, restarted, dlq)
        except ExerciseFailed:
            raise
        except Exception as exc:
            r.check(False, "", f"after the restart your applier raised {type(exc).__name__}: {exc}")
            return
    live = _live(restarted)
    lost = sorted(k for k in rows if k not in live)
    stale = sorted(k for k in live if live[k] != rows.get(k))
    r.check(not lost and not stale,
            f"after the crash and the restart the table equals the database ({len(rows)} rows)",
            "the table is empty: apply each change event to the table you are given" if not live else
            f"{len(stale)} rows hold an older value than the database, or a deleted row (first: "
            f"{stale[:3]}). A change delivered twice, or an older one delivered late, must change "
            "nothing: compare the event's position with the one stored for its row" if stale else
            f"{len(lost)} rows of the database are missing (first: {lost[:3]}): a change was "
            "skipped, committed before it was applied or skipped by a position that is not its row's")
    ends = admin.end_offsets(topic)
    committed = {tp: off for tp, off in admin.group_offsets(group).items() if tp.topic == topic}
    behind = {tp.partition: (committed.get(tp), end) for tp, end in ends.items() if committed.get(tp) != end}
    r.check(not behind, "the group committed every record on both partitions",
            "committed offsets are not at the end: " + ", ".join(
                f"partition {p} at {c} of {e}" for p, (c, e) in sorted(behind.items()))
            + ". Commit each partition's offset after applying its records; the committed "
              "offset is the next one to read")
    got = dict(_read_all(dlq))
    missing = [why for raw, why in MALFORMED if raw not in got]
    r.check(not missing, "both malformed records are on the dead-letter topic, unchanged",
            f"the dead-letter topic lacks the record with {' and the one with '.join(missing)}: send "
            "the original value there, then go on with the next record")
    if len(missing) < len(MALFORMED):
        silent = [why for raw, why in MALFORMED if raw in got and not got[raw]]
        r.check(not silent, "each dead letter carries a reason (an 'error' header)",
                "a dead letter needs the reason it was rejected: put it in a header named 'error'")


def _read_all(topic: str, timeout_s: float = 10) -> list[tuple[bytes, str]]:
    """(value, 'error' header) of every record of a topic."""
    import time

    from kafka import KafkaConsumer, TopicPartition

    from kafkalab.clients import bootstrap_servers

    out: list[tuple[bytes, str]] = []
    with KafkaConsumer(bootstrap_servers=bootstrap_servers(), enable_auto_commit=False) as consumer:
        parts = [TopicPartition(topic, p) for p in sorted(consumer.partitions_for_topic(topic) or [])]
        if not parts:
            return out
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        deadline = time.monotonic() + timeout_s
        while any(consumer.position(tp) < ends[tp] for tp in parts) and time.monotonic() < deadline:
            for records in consumer.poll(timeout_ms=300).values():
                for m in records:
                    headers = {k: v for k, v in (m.headers or [])}
                    reason = headers.get("error") or b""
                    out.append((m.value, reason.decode(errors="replace")))
    return out


__all__ += ["check_cdc_applier", "check_compaction_prediction"]


# An exercise cell not written yet leaves its answer None: say "not done yet" in one line.
guard_checkers(globals())
