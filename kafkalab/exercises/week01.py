"""Checkers for week 1: topics and partitions, keys and ordering, reading and committing.

Each function looks at what you built, on the broker itself where it can,
and returns a :class:`~kafkalab.exercises.Result` that says what is right and,
in plain words, what to fix.

>>> print(check_counts({"CUST-001": 3}, expected={"CUST-001": 3}))
Exercise 3: orders per customer: 1 of 1 checks passed
  ✔ all 1 customers' counts match the topic

A wrong answer says what is wrong (and, under the test suite, raises)::

    Exercise 3: orders per customer: 0 of 2 checks passed
      ✘ CUST-001: you counted 2, the topic holds 3
      ✘ 1 of 1 customers have a wrong count
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kafkalab.clients.admin import Admin, UnknownTopicError
from kafkalab.exercises import Result, guard_checkers
from kafkalab.frames import read_topic
from kafkalab.quickstart import ordering_report

__all__ = ["check_committed", "check_counts", "check_keyed_orders", "check_topic"]


def check_topic(name: str, partitions: int) -> Result:
    """Exercise 1: the topic ``name`` exists with ``partitions`` partitions."""
    r = Result("Exercise 1: create a topic")
    with Admin() as admin:
        try:
            info = admin.describe_topic(name)
        except UnknownTopicError:
            r.check(False, "", f"there is no topic called {name!r}: create it with "
                    f"admin.ensure_topic({name!r}, partitions={partitions})")
            return r.done()
    r.check(True, f"topic {name!r} exists", "")
    r.check(info.partitions == partitions, f"it has {partitions} partitions",
            f"it has {info.partitions} partitions, not {partitions}: partitions cannot be "
            "removed, so delete the topic (admin.delete_topic) and create it again")
    return r.done()


def check_keyed_orders(topic: str, *, min_customers: int = 3, min_per_customer: int = 5) -> Result:
    """Exercise 2: orders sent with ``key=customerId`` stay on one partition, in ``seq`` order.

    Reads the whole topic. Every record must be JSON with ``customerId`` and
    ``seq``, and its key must equal its ``customerId``.
    """
    r = Result("Exercise 2: keys and ordering")
    try:
        frame = read_topic(topic, timeout=15)
    except UnknownTopicError:
        r.check(False, "", f"there is no topic {topic!r}: create it, then send your orders to it")
        return r.done()
    if not r.check(len(frame) > 0, f"the topic holds {len(frame)} records",
                   f"topic {topic!r} is empty: send your orders to it, then flush()"):
        return r.done()
    missing = [c for c in ("customerId", "seq") if c not in frame.columns]
    if not r.check(not missing, "every record has customerId and seq",
                   f"the records have no {' or '.join(missing)} field: send the orders "
                   "from sampledata.orders() unchanged"):
        return r.done()
    frame = frame.dropna(subset=["customerId", "seq"])
    keyless = frame[frame["key"] != frame["customerId"]]
    r.check(keyless.empty, "every record's key is its customerId",
            f"{len(keyless)} records have a key other than their customerId (first: key "
            f"{keyless['key'].iloc[0] if len(keyless) else None!r}): pass key=order['customerId'] to send()")
    per_customer = frame.groupby("customerId").size()
    enough = per_customer[per_customer >= min_per_customer]
    r.check(len(enough) >= min_customers,
            f"{len(enough)} customers have at least {min_per_customer} orders each",
            f"only {len(enough)} customers have {min_per_customer} or more orders; send at least "
            f"{min_per_customer} orders for each of {min_customers} customers")
    report = ordering_report(frame.to_dict("records"))
    r.check(not report["split_across_partitions"], "each customer's orders are on one partition",
            f"customers {report['split_across_partitions']} are on several partitions: records of one "
            "key must share a partition. Did you pass key= to send() (or choose partition= yourself)?")
    r.check(not report["out_of_order"], "each customer's orders are in seq order",
            f"customers {report['out_of_order']} have orders out of seq order: send them in order, "
            "with one producer")
    return r.done()


def check_counts(counts: Mapping[str, int] | Any, topic: str | None = None, *,
                 expected: Mapping[str, int] | None = None) -> Result:
    """Exercise 3: your orders-per-customer count equals what the topic holds.

    ``counts`` is a dict or a pandas Series indexed by ``customerId``. The
    truth is read from ``topic`` (or given as ``expected``, for tests).
    """
    r = Result("Exercise 3: orders per customer")
    if expected is None:
        if topic is None:
            raise ValueError("give the topic to compare with")
        frame = read_topic(topic, timeout=15)
        expected = frame.groupby("customerId").size().to_dict() if len(frame) else {}
    mine = {str(k): int(v) for k, v in dict(counts).items()}
    truth = {str(k): int(v) for k, v in expected.items()}
    wrong = 0
    for customer in sorted(set(truth) | set(mine)):
        have, want = mine.get(customer, 0), truth.get(customer, 0)
        if have != want:
            wrong += 1
            if wrong <= 3:
                r.check(False, "", f"{customer}: you counted {have}, the topic holds {want}")
    r.check(wrong == 0, f"all {len(truth)} customers' counts match the topic",
            f"{wrong} of {len(set(truth) | set(mine))} customers have a wrong count")
    return r.done()


def check_committed(group: str, topic: str, expected: int) -> Result:
    """Exercise 4: group ``group`` committed exactly ``expected`` records of ``topic``.

    The committed offset of a partition is the *next* record to read, so the
    offsets summed over the partitions count the records the group finished.
    """
    r = Result("Exercise 4: commit what you processed")
    with Admin() as admin:
        committed = {tp: off for tp, off in admin.group_offsets(group).items() if tp.topic == topic}
        ends = admin.end_offsets(topic) if committed else {}
    if not r.check(bool(committed), f"group {group!r} has committed offsets on {topic!r}",
                   f"group {group!r} has no committed offsets on {topic!r}: call consumer.commit() "
                   "after processing (and use this group_id)"):
        return r.done()
    total = sum(committed.values())
    r.check(total == expected, f"the committed offsets add up to {expected}",
            f"the committed offsets add up to {total}, not {expected}: commit after the records "
            f"you processed (consumer.commit(batch)), not before, and read exactly {expected}")
    beyond = [f"partition {tp.partition}" for tp, off in committed.items() if off > ends.get(tp, off)]
    r.check(not beyond, "no offset points past the end of its partition",
            f"{', '.join(beyond)} committed beyond the last record: commit offsets you have read")
    return r.done()


# An exercise cell not written yet leaves its answer None: say "not done yet" in one line.
guard_checkers(globals())
