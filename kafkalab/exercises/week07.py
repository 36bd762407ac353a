"""Checkers for week 7, one section per topic.

Change data capture: apply a change to a copy of a table; choose the record
key; choose the cache keys a change affects.

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
from collections.abc import Callable
from typing import Any

from kafkalab.exercises import Result

__all__ = ["check_apply_change", "check_invalidation_keys", "check_record_key"]

# --- change data capture

_SRC = {"connector": "sqlite", "db": "shop.db"}


def _event(op: str, table: str, before: dict | None, after: dict | None, position: int,
           pk: str = "id") -> dict[str, Any]:
    from kafkalab.cdc import ChangeEvent

    row = after if after is not None else before
    assert row is not None
    return ChangeEvent(op, table, before, after, timestamp=1_700_000_000_000 + position,
                       key={pk: row[pk]}, position=position, source=dict(_SRC)).to_dict()


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
        events = [e.to_dict() for e in cap.pending(limit=10_000)]
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
    if not r.check(all(isinstance(k, (str, bytes)) for k in [*keys, k_row, k_table, k_cust]),
                   "it returns text", f"it returned {keys[0]!r}: a record key is a string"):
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
