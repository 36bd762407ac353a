"""Checkers for week 2: safe producers, dead letters, compression and partitioners.

>>> print(check_safe_producer({"acks": "all", "enable_idempotence": True, "retries": 5}))
Exercise 1: a producer that neither loses nor duplicates: 4 of 4 checks passed
  ✔ acks='all': the leader waits for every in-sync replica
  ✔ enable_idempotence=True: retries cannot write a record twice
  ✔ retries=5: a failed send is tried again
  ✔ max_in_flight_requests_per_connection is at most 5 (kafka-python's default), so order is kept
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from kafkalab.clients.admin import Admin
from kafkalab.clients.consumer import Consumer
from kafkalab.clients.serdes import Format
from kafkalab.exercises import Result, guard_checkers
from kafkalab.partitioners import KeyPartitioner
from kafkalab.sampledata import customer_ids

__all__ = ["check_dead_letters", "check_partitioner", "check_safe_producer",
           "check_smallest_codec", "is_poison"]


def check_safe_producer(config: Mapping[str, Any]) -> Result:
    """Exercise 1: producer settings for no loss and no duplicates.

    ``config`` is the dict of settings you would pass to ``clients.Producer(**config)``.
    """
    r = Result("Exercise 1: a producer that neither loses nor duplicates")
    acks = config.get("acks", "all")
    r.check(acks in ("all", -1), "acks='all': the leader waits for every in-sync replica",
            f"acks={acks!r}: with 0 or 1 a record acknowledged by the leader alone is lost if "
            "the leader dies before the followers copy it; use acks='all'")
    idem = config.get("enable_idempotence", True)
    r.check(idem is True, "enable_idempotence=True: retries cannot write a record twice",
            f"enable_idempotence={idem!r}: a retry after a lost acknowledgement writes the record "
            "again; set enable_idempotence=True")
    retries = config.get("retries", float("inf"))
    r.check(retries > 0, f"retries={retries}: a failed send is tried again",
            f"retries={retries}: one network hiccup loses the record; allow retries (the default)")
    inflight = config.get("max_in_flight_requests_per_connection", 5)
    r.check(inflight <= 5,
            "max_in_flight_requests_per_connection is at most 5 (kafka-python's default), so order is kept",
            f"max_in_flight_requests_per_connection={inflight}: idempotence keeps order only "
            "with at most 5 requests in flight")
    return r.done()


def is_poison(raw_value: bytes | None) -> str | None:
    """Why an order record cannot be processed, or ``None`` if it is fine.

    The rule of exercise 2: a valid order is JSON with a ``customerId`` and a
    positive ``total``.

    >>> is_poison(b'{"customerId": "CUST-001", "total": 25}') is None
    True
    >>> is_poison(b'{"customerId": "CUST-001", "total": -5}')
    'total must be positive'
    >>> is_poison(b'{"total": ')
    'not valid JSON'
    """
    try:
        value = json.loads(raw_value or b"null")
    except ValueError:
        return "not valid JSON"
    if not isinstance(value, dict) or not value.get("customerId"):
        return "customerId is missing"
    total = value.get("total")
    if not isinstance(total, (int, float)) or total <= 0:
        return "total must be positive"
    return None


def _read_all(topic: str, value_format: Format, timeout: float = 15.0) -> list:
    with Admin() as admin:
        ends = {tp: e for tp, e in admin.end_offsets(topic).items() if e > 0}
    if not ends:
        return []
    out = []
    with Consumer(topic, group_id=False, value_format=value_format) as c:
        done: set = set()
        for m in c.messages(timeout=timeout, idle_timeout=3.0):
            out.append(m)
            if m.offset + 1 >= ends.get(m.tp, 0):
                done.add(m.tp)
            if done >= set(ends):
                break
    return out


def check_dead_letters(source_topic: str, dead_letter_topic: str) -> Result:
    """Exercise 2: every poison record of ``source_topic``, and nothing else, is in
    ``dead_letter_topic`` with the reason it failed."""
    r = Result("Exercise 2: poison messages go to the dead-letter topic")
    with Admin() as admin:
        topics = set(admin.topics())
    for topic in (source_topic, dead_letter_topic):
        if not r.check(topic in topics, f"topic {topic!r} exists",
                       f"there is no topic {topic!r}: run the cells above that create it"):
            return r.done()
    source = _read_all(source_topic, "raw")
    poison = {(m.partition, m.offset): is_poison(m.raw_value) for m in source}
    poison = {k: why for k, why in poison.items() if why}
    if not r.check(bool(source), f"{source_topic!r} holds {len(source)} records",
                   f"{source_topic!r} is empty: run the cell that sends the orders first"):
        return r.done()
    letters = _read_all(dead_letter_topic, "json")
    found: dict[tuple[int, int], dict] = {}
    for m in letters:
        body = m.value if isinstance(m.value, dict) else {}
        src = body.get("source", {})
        if src.get("topic") == source_topic:
            found[(src.get("partition"), src.get("offset"))] = body
    missing = sorted(set(poison) - set(found))
    extra = sorted(set(found) - set(poison))
    r.check(not missing, f"all {len(poison)} poison records are in {dead_letter_topic!r}",
            f"{len(missing)} poison records are not in {dead_letter_topic!r} (partition, offset: "
            f"{missing[:3]}; e.g. {poison[missing[0]] if missing else ''}): raise PermanentError "
            "for them in your handler and pass dead_letter= to clients.run")
    r.check(not extra, "no good order was dead-lettered",
            f"{len(extra)} good orders were dead-lettered (partition, offset: {extra[:3]}): your "
            "handler rejects valid orders")
    no_reason = [k for k, body in found.items()
                 if not (body.get("error") or {}).get("message")]
    r.check(not no_reason, "each dead letter says why it failed",
            f"{len(no_reason)} dead letters have no error message: raise an exception with a reason")
    return r.done()


def check_smallest_codec(results: pd.DataFrame, answer: str) -> Result:
    """Exercise 3: ``answer`` is the codec with the fewest bytes on the wire per record
    in your own ``results`` (a :func:`kafkalab.measure.to_frame` table with a ``label``
    column holding the codec names)."""
    r = Result("Exercise 3: read your measurements")
    if not r.check({"label", "wire_bytes_per_record"} <= set(results.columns),
                   "the table has label and wire_bytes_per_record columns",
                   "pass the DataFrame from measure.to_frame(runs)"):
        return r.done()
    best = results.loc[results["wire_bytes_per_record"].idxmin()]
    r.check(str(answer) == str(best["label"]),
            f"{answer!r} sent the fewest bytes per record ({best['wire_bytes_per_record']:.1f})",
            f"{answer!r} is not the smallest: {best['label']!r} sent {best['wire_bytes_per_record']:.1f} "
            "bytes per record; sort the table by wire_bytes_per_record")
    return r.done()


def check_partitioner(partitioner: KeyPartitioner | Callable[[bytes | None, Sequence[int]], int],
                      hot_key: str = "CUST-001", partitions: int = 4) -> Result:
    """Exercise 4: the hot key gets partition 0 to itself; every other key is hashed
    over the remaining partitions, always to the same one."""
    r = Result("Exercise 4: give the hot key a partition of its own")
    if isinstance(partitioner, type):  # the class itself: make one with its defaults
        try:
            partitioner = partitioner()
        except Exception as exc:  # the learner's code: say what it raised
            r.check(False, "", f"{partitioner.__name__}() raised {type(exc).__name__}: {exc}")
            return r.done()
    choose = partitioner.choose if isinstance(partitioner, KeyPartitioner) else partitioner
    parts = list(range(partitions))
    try:
        hot = {choose(hot_key.encode(), parts) for _ in range(20)}
        others = {k: [choose(k.encode(), parts) for _ in range(3)]
                  for k in customer_ids(60) if k != hot_key}
    except Exception as exc:  # the learner's code: say what it raised
        r.check(False, "", f"your partitioner raised {type(exc).__name__}: {exc}")
        return r.done()
    r.check(hot == {0}, f"{hot_key} always goes to partition 0",
            f"{hot_key} went to partitions {sorted(hot)}: send it to 0, always")
    on_zero = sorted(k for k, ps in others.items() if 0 in ps)
    r.check(not on_zero, "no other key uses partition 0",
            f"{len(on_zero)} other keys went to partition 0 (e.g. {on_zero[:3]}): partition 0 "
            "belongs to the hot key alone")
    unstable = sorted(k for k, ps in others.items() if len(set(ps)) > 1)
    r.check(not unstable, "every other key always goes to the same partition",
            f"{len(unstable)} keys changed partition between sends (e.g. {unstable[:3]}): hash "
            "the key, do not pick at random, or their order is lost")
    used = {p for ps in others.values() for p in ps}
    r.check(used == set(parts) - {0}, f"the other keys are spread over partitions 1-{partitions - 1}",
            f"the other keys use only partitions {sorted(used)}: hash them over all of "
            f"1..{partitions - 1} (e.g. 1 + key_partition(key, {partitions - 1}))")
    return r.done()


# An exercise cell not written yet leaves its answer None: say "not done yet" in one line.
guard_checkers(globals())
