"""Checkers for week 1: topics, keys, offsets, a plain kafka-python consumer loop, Kafka's own tools.

Each function looks at the broker (the topic's configuration, its records,
the group's committed offsets), not at the shape of your code, and returns a
:class:`~kafkalab.exercises.Result` that says what is right and, in plain
words, what to fix.

>>> print(check_end_offsets({0: 14, 1: 0}, "orders", observed={0: 14, 1: 0}))
Exercise 2: predict the end offsets: 1 of 1 checks passed
  ✔ your end offsets match the broker's: 0=14, 1=0

A wrong answer says what is wrong (and, under the test suite, raises)::

    Exercise 2: predict the end offsets: 0 of 1 checks passed
      ✘ your end offsets differ from the broker's: 0 you said 13, the broker says 14; ...
"""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from kafka import KafkaConsumer
from kafka.admin import ConfigResource, ConfigResourceType
from kafka.structs import TopicPartition

from kafkalab.broker.tools import consumer_groups_describe
from kafkalab.clients.admin import Admin, UnknownTopicError
from kafkalab.clients.consumer import Consumer
from kafkalab.exercises import ExerciseFailed, Result, check_prediction, forbidden, guard_checkers

__all__ = ["check_consumer_loop", "check_end_offsets", "check_keyed_orders", "check_rewind", "check_topic"]

#: Polls the checker allows each run of your loop (at 500 ms each: the join, then the records).
MAX_POLLS = 20
#: What exercise 3 asks every record to carry.
SOURCE_HEADER = ("source", b"checkout")


def _topic_config(admin: Admin, topic: str, name: str, timeout: float = 10.0) -> dict[str, Any]:
    resource = ConfigResource(ConfigResourceType.TOPIC, topic, configs=[name])
    deadline = time.monotonic() + timeout
    while True:
        # Right after create_topics (without wait_for_metadata) the answer can still be empty.
        found = admin.raw.describe_configs([resource], config_filter="all").get("topic", {}).get(topic, {})
        if name in found or time.monotonic() > deadline:
            return found.get(name, {"value": None, "config_source": "UNKNOWN (the broker did not say)"})
        time.sleep(0.2)


def check_topic(name: str, partitions: int, retention_ms: int) -> Result:
    """Exercise 1: topic ``name`` exists with ``partitions`` partitions, one copy per broker (up to 3),
    and its own ``retention.ms`` (set on the topic, not inherited from the broker)."""
    r = Result("Exercise 1: create a topic")
    with Admin() as admin:
        try:
            info = admin.describe_topic(name)
        except UnknownTopicError:
            r.check(False, "", f"there is no topic called {name!r}: create it with the admin client")
            return r.done()
        r.check(True, f"topic {name!r} exists", "")
        r.check(info.partitions == partitions, f"it has {partitions} partitions",
                f"it has {info.partitions} partitions, not {partitions}: partitions cannot be "
                "removed, so delete the topic and create it again")
        want_rf = min(3, admin.broker_count())
        r.check(info.replication_factor == want_rf, f"each partition has {want_rf} copies (replicas)",
                f"each partition has {info.replication_factor} copies, not {want_rf}: the replication "
                "factor can be at most the number of brokers")
        config = _topic_config(admin, name, "retention.ms")
    stated = config["config_source"] == "DYNAMIC_TOPIC_CONFIG"
    r.check(stated, "retention.ms is set on the topic itself",
            f"retention.ms is {config['value']} only because that is the {config['config_source']} "
            "(the broker's default, which another cluster may set differently): a topic's own "
            "configuration is given when it is created")
    r.check(config["value"] == str(retention_ms), f"retention.ms = {retention_ms} ms",
            f"retention.ms = {config['value']} ms, not {retention_ms}: how many milliseconds is that?")
    return r.done()


def _read_raw(topic: str, timeout: float = 15.0) -> list[Any]:
    """Every record of ``topic`` as bytes (no decoding: a wrong value must be seen, not crash the check)."""
    with Admin() as admin:
        ends = {tp: end for tp, end in admin.end_offsets(topic).items() if end > 0}
    reader = Consumer(topic, group_id=False, value_format="raw", key_format="raw")
    try:
        messages, done = reader.read_to_end(ends, timeout=timeout)
    finally:
        reader.close()
    if not done:
        raise ExerciseFailed(f"could not read {topic!r} to its end within {timeout:.0f} s: is the broker busy?")
    return messages


def check_keyed_orders(topic: str, orders: Sequence[Mapping[str, Any]]) -> Result:
    """Exercise 3: each order sent once, as JSON, with ``key=customerId`` and a ``source`` header.

    The broker must hold exactly ``orders``; each customer's orders must sit on
    one partition in ``seq`` order.
    """
    r = Result("Exercise 3: keys, headers and ordering")
    try:
        messages = _read_raw(topic)
    except UnknownTopicError:
        r.check(False, "", f"there is no topic {topic!r}: create it (Exercise 1), then send the orders to it")
        return r.done()
    if not r.check(messages, f"the topic holds {len(messages)} records",
                   f"topic {topic!r} is empty: send the orders, then flush() (send() only queues them)"):
        return r.done()
    values: list[dict[str, Any]] = []
    for m in messages:
        try:
            value = json.loads(m.value)
        except (TypeError, ValueError):
            r.check(False, "", f"partition {m.partition} offset {m.offset} is not JSON ({m.value[:40]!r}): "
                    "Kafka stores bytes; the producer's value_serializer decides which bytes")
            return r.done()
        if not isinstance(value, dict) or "orderId" not in value or "customerId" not in value:
            r.check(False, "", f"partition {m.partition} offset {m.offset} is not an order: send the orders "
                    "unchanged")
            return r.done()
        values.append(value)
    sent = [v["orderId"] for v in values]
    want = [o["orderId"] for o in orders]
    twice = sorted({o for o in sent if sent.count(o) > 1})
    r.check(not twice, "each order is on the topic once",
            f"{len(twice)} orders are on the topic more than once (first: {twice[:1]}): each send() writes "
            "a new record; start again from an empty topic (delete and re-create it)")
    missing = sorted(set(want) - set(sent))
    r.check(not missing and len(set(sent)) == len(set(want)), f"all {len(want)} orders arrived",
            f"{len(missing)} of {len(want)} orders are missing (first: {missing[:1]}): did the producer "
            "flush before it was closed or the cell ended?")
    wrong_key = [(m, v) for m, v in zip(messages, values, strict=True)
                 if m.key != str(v["customerId"]).encode()]
    r.check(not wrong_key, "every record's key is its customerId",
            f"{len(wrong_key)} records have a key other than their customerId (first: "
            f"{wrong_key[0][0].key if wrong_key else None!r}): without the customer as key, what decides "
            "the partition, and what does that do to one customer's orders?")
    no_header = [m for m in messages if SOURCE_HEADER not in tuple(m.headers)]
    first_has = list(no_header[0].headers) if no_header else []
    r.check(not no_header, "every record carries the header source=checkout",
            f"{len(no_header)} records lack the header source=checkout (the first has {first_has}): "
            "headers are (str, bytes) pairs passed with each send")
    split: dict[str, set[int]] = {}
    last_seq: dict[str, int] = {}
    out_of_order: set[str] = set()
    for m, v in sorted(zip(messages, values, strict=True), key=lambda mv: (mv[0].partition, mv[0].offset)):
        customer = str(v["customerId"])
        split.setdefault(customer, set()).add(m.partition)
        if customer in last_seq and v.get("seq", 0) < last_seq[customer]:
            out_of_order.add(customer)
        last_seq[customer] = v.get("seq", 0)
    several = sorted(c for c, parts in split.items() if len(parts) > 1)
    r.check(not several, "each customer's orders are on one partition",
            f"customers {several} are on several partitions: Kafka orders records only within a partition")
    r.check(not out_of_order, "each customer's orders are in seq order",
            f"customers {sorted(out_of_order)} have orders out of seq order: send them in order, from one producer")
    return r.done()


def check_end_offsets(predicted: Mapping[int, int], topic: str, *,
                      observed: Mapping[int, int] | None = None) -> Result:
    """Exercise 2 (predict, then run): your end offset for every partition of ``topic``.

    ``observed`` is for tests; the checker otherwise asks the broker.
    """
    r = Result("Exercise 2: predict the end offsets")
    if observed is None:
        with Admin() as admin:
            observed = {tp.partition: end for tp, end in admin.end_offsets(topic).items()}
    if not isinstance(predicted, Mapping):
        r.check(False, "", "write the prediction as a dict {partition: end offset}, one entry per partition")
        return r.done()
    check_prediction(r, {_as_int(k): v for k, v in predicted.items()}, observed, "end offsets")
    return r.done()


def _as_int(key: Any) -> Any:
    try:
        return int(key)
    except (TypeError, ValueError):
        return key


class _Crash(Exception):
    """The checker's stand-in for a process dying in the middle of a batch."""


def _all_records(admin: Admin, topic: str) -> tuple[dict[TopicPartition, int], set[tuple[int, int]]]:
    ends = admin.end_offsets(topic)
    starts = admin.beginning_offsets(topic)
    return ends, {(tp.partition, o) for tp, end in ends.items() for o in range(starts[tp], end)}


def check_consumer_loop(make_consumer: Callable[[str], Any], consume: Callable[..., Any], topic: str) -> Result:
    """Exercise 4: a kafka-python consumer and a bounded poll loop that commits ``offset + 1``
    after handling each record, so a crash re-delivers records but never skips one.

    The checker runs your code three times, each in a group of its own: once
    through; once with a handler that crashes on the 5th record; then again
    after the crash, in the crashed consumer's group.
    """
    r = Result("Exercise 4: a consumer loop that commits what it processed")
    with Admin() as admin:
        ends, every = _all_records(admin, topic)
    if not r.check(every, f"topic {topic!r} holds {len(every)} records to read",
                   f"topic {topic!r} is empty: do Exercise 3 first"):
        return r.done()
    try:
        # The course's own consumer would hide exactly what this exercise is about.
        with forbidden("kafkalab.clients.Consumer", "kafkalab.frames.read_topic"):
            if _check_once_through(r, make_consumer, consume, topic, ends, every):
                _check_crash(r, make_consumer, consume, topic, every)
    except ExerciseFailed as exc:
        r.check(False, "", str(exc))
    return r.done()


def _check_once_through(r: Result, make_consumer: Callable[[str], Any], consume: Callable[..., Any], topic: str,
                        ends: Mapping[TopicPartition, int], every: set[tuple[int, int]]) -> bool:
    group = f"week01-check-{uuid.uuid4().hex[:8]}"
    handled: list[tuple[int, int]] = []
    consumer = make_consumer(group)
    try:
        if not _check_settings(r, consumer, group, topic):
            return False
        _ready(consumer, topic)
        consume(consumer, lambda rec: handled.append((rec.partition, rec.offset)), MAX_POLLS)
    finally:
        _close(consumer)
    missed = sorted(every - set(handled))
    where = f"partition {missed[0][0]} offset {missed[0][1]}" if missed else ""
    r.check(not missed, f"your loop handed all {len(every)} records to handle()",
            f"your loop handled {len(set(handled) & every)} of {len(every)} records (first missed: {where}): "
            "keep polling until a poll comes back empty after records arrived (or max_polls is reached)")
    with Admin() as admin:
        committed = {tp.partition: off for tp, off in admin.group_offsets(group).items() if tp.topic == topic}
    wrong = sorted((tp.partition, committed.get(tp.partition), end) for tp, end in ends.items()
                   if end > 0 and committed.get(tp.partition) != end)
    said = (f"partition {wrong[0][0]} committed {wrong[0][1]} and its last record is at offset {wrong[0][2] - 1}"
            if wrong else "")
    r.check(not wrong, "the committed offsets equal the end offsets: the group finished every partition",
            f"{said}: a committed offset is where the group resumes, so what should it be after the last "
            "record you processed?")
    return r.passed


def _ready(consumer: Any, topic: str) -> None:
    # A metadata lookup, nothing the learner's settings depend on: kafka-python 3.0.12 can
    # stall a first join that starts without the topic's partitions (kafkalab.clients.consumer).
    consumer.partitions_for_topic(topic)


def _close(consumer: Any) -> None:
    # A plain close(): if the learner left auto-commit on, it commits the position now,
    # exactly as it would when their process shuts down.
    close = getattr(consumer, "close", None)
    if callable(close):
        close()


def _check_settings(r: Result, consumer: Any, group: str, topic: str) -> bool:
    if not r.check(isinstance(consumer, KafkaConsumer), "make_consumer returns a kafka.KafkaConsumer",
                   f"make_consumer returned {type(consumer).__name__}, not kafka-python's KafkaConsumer"):
        return False
    config = consumer.config
    r.check(config.get("group_id") == group, "it joins the group it is given",
            f"it uses group_id={config.get('group_id')!r}, not the group_id passed to make_consumer")
    r.check(consumer.subscription() == {topic}, f"it subscribes to {topic!r}",
            f"it subscribes to {sorted(consumer.subscription() or [])}: subscribe to {topic!r} only")
    r.check(config.get("enable_auto_commit") is False, "auto-commit is off: your loop decides what is committed",
            "auto-commit is on (kafka-python's default): the client then commits whatever it has fetched, "
            "processed or not, every few seconds and on close()")
    r.check(config.get("auto_offset_reset") == "earliest",
            "a group with no committed offset starts at the oldest record",
            f"auto_offset_reset is {config.get('auto_offset_reset')!r}: where does a brand-new group start "
            "reading, and does that include the orders already on the topic?")
    return r.passed


def _run_until_caught_up(consumer: Any, consume: Callable[..., Any], handle: Callable[[Any], None],
                         topic: str, timeout: float = 60.0) -> None:
    """Call the learner's ``consume(consumer, handle, MAX_POLLS)`` again, as a process that keeps
    running would, until the consumer owns every partition of ``topic`` and its position is at
    the end of each (bounded by ``timeout``). On a loaded machine a group join can take longer
    than MAX_POLLS polls; one call was then judged as if the loop had skipped the records."""
    deadline = time.monotonic() + timeout
    while True:
        consume(consumer, handle, MAX_POLLS)
        if time.monotonic() > deadline or _caught_up(consumer, topic):
            return


def _caught_up(consumer: Any, topic: str) -> bool:
    try:
        owned = set(consumer.assignment())
        every = {TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()}
        if not every or owned != every:
            return False
        ends = consumer.end_offsets(list(every))
        return all(consumer.position(tp) >= ends[tp] for tp in every)
    except Exception:  # noqa: BLE001 - not the learner's concern: the checker just keeps going
        return False


def _check_crash(r: Result, make_consumer: Callable[[str], Any], consume: Callable[..., Any], topic: str,
                 every: set[tuple[int, int]]) -> None:
    group = f"week01-crash-{uuid.uuid4().hex[:8]}"
    done: set[tuple[int, int]] = set()
    calls = 0

    def crashing(rec: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == 5:
            raise _Crash(f"crashed on partition {rec.partition} offset {rec.offset}")
        done.add((rec.partition, rec.offset))

    crashed = None
    consumer = make_consumer(group)
    _ready(consumer, topic)
    try:
        _run_until_caught_up(consumer, consume, crashing, topic)
    except _Crash as exc:
        crashed = str(exc)
    finally:
        _close(consumer)
    r.check(crashed, "a handler's exception stops your loop (it is not swallowed)",
            "the handler raised on the 5th record and your loop went on: a record whose handling failed "
            "must not be treated as done (let the exception out)")
    restarted = make_consumer(group)
    _ready(restarted, topic)
    try:
        _run_until_caught_up(restarted, consume, lambda rec: done.add((rec.partition, rec.offset)), topic)
    finally:
        _close(restarted)
    lost = sorted(every - done)
    r.check(not lost, f"after the crash ({crashed}) a restarted consumer handled every record left",
            f"after the crash ({crashed}) {len(lost)} records were never handled (first: partition "
            f"{lost[0][0] if lost else '-'} offset {lost[0][1] if lost else '-'}): they were committed "
            "before they were processed. When does your loop commit, relative to handle()?")


def check_rewind(result: subprocess.CompletedProcess[str] | Any, group: str, topic: str,
                 predicted_lag: Mapping[int, int], records: int = 3) -> Result:
    """Exercise 5: ``kafka-consumer-groups --reset-offsets`` moved ``group`` back ``records`` records
    on every partition it had committed; your predicted LAG column matches the tool's."""
    r = Result("Exercise 5: rewind a group with kafka-consumer-groups")
    args = [str(a) for a in getattr(result, "args", [])]
    if not r.check("--reset-offsets" in args, "you ran kafka-consumer-groups --reset-offsets",
                   "pass the finished process of broker.tool('kafka-consumer-groups', ..., '--reset-offsets', ...)"):
        return r.done()
    r.check("--execute" in args, "with --execute", "without --execute the tool only shows its plan "
            "(--dry-run): nothing was changed on the broker")
    r.check(getattr(result, "returncode", 1) == 0, "the tool succeeded",
            f"the tool failed: {(result.stdout + result.stderr).strip().splitlines()[:1]}")
    with Admin() as admin:
        ends = {tp.partition: end for tp, end in admin.end_offsets(topic).items()}
        committed = {tp.partition: off for tp, off in admin.group_offsets(group).items() if tp.topic == topic}
    want = {p: max(0, end - records) for p, end in ends.items() if end > 0}
    wrong = {p: committed.get(p) for p in want if committed.get(p) != want[p]}
    r.check(not wrong, f"the group now resumes {records} records before the end of each partition: "
            + ", ".join(f"{p}={o}" for p, o in sorted(want.items())),
            "the committed offsets are " + ", ".join(f"partition {p}: {o}" for p, o in sorted(wrong.items()))
            + f"; {records} records back from each end would be "
            + ", ".join(f"{p}: {want[p]}" for p in sorted(wrong)))
    shown = consumer_groups_describe(group)
    lag = {row["PARTITION"]: row["LAG"] for row in shown if row["TOPIC"] == topic}
    check_prediction(r, {_as_int(k): v for k, v in dict(predicted_lag).items()}, lag,
                     "LAG column (kafka-consumer-groups --describe)")
    return r.done()


# An exercise cell not written yet leaves its answer None: say "not done yet" in one line.
guard_checkers(globals())
