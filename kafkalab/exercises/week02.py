"""Checkers for week 2: safe producers, dead letters, compression, partitioners and rebalancing.

Exercise 1 makes the learner's ``KafkaProducer`` and sends with it while an
acknowledgement is lost; it passes only when what landed on the broker is
right. A config that leaves the settings to kafka-python's defaults is refused
before anything is sent::

    Exercise 1: a producer that neither loses nor duplicates: 1 of 2 checks passed
      ✔ config is a dict
      ✘ not stated: acks, enable_idempotence, ...
"""

from __future__ import annotations

import contextlib
import json
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.consumer.subscription_state import AsyncConsumerRebalanceListener, ConsumerRebalanceListener
from kafka.coordinator.assignors.cooperative_sticky import CooperativeStickyAssignor
from kafka.coordinator.assignors.range import RangePartitionAssignor
from kafka.errors import KafkaError
from kafka.partitioner import DefaultPartitioner, Partitioner

from kafkalab.clients.admin import Admin
from kafkalab.clients.connection import bootstrap_servers
from kafkalab.clients.consumer import Consumer
from kafkalab.clients.serdes import Format
from kafkalab.exercises import ExerciseFailed, Result, check_prediction, forbidden, guard_checkers
from kafkalab.faults import lost_acks
from kafkalab.sampledata import customer_ids

__all__ = ["check_commit_on_revoke", "check_dead_letters", "check_partitioner", "check_rebalance_prediction",
           "check_safe_producer", "check_smallest_codec", "is_poison"]


#: The settings exercise 1 is about: each must be written in the learner's config, not left to a default.
SAFE_PRODUCER_SETTINGS = ("acks", "enable_idempotence", "max_in_flight_requests_per_connection")
_RETRY_SETTINGS = ("retries", "delivery_timeout_ms")


def check_safe_producer(config: Mapping[str, Any], *, records: int = 20) -> Result:
    """Exercise 1: settings for a ``KafkaProducer`` that neither loses nor duplicates a record.

    ``config`` is the dict you would pass as ``KafkaProducer(**config)`` (the
    checker adds ``bootstrap_servers``). Every setting the lesson is about must
    be stated: ``acks``, ``enable_idempotence``,
    ``max_in_flight_requests_per_connection`` and ``retries`` or
    ``delivery_timeout_ms``. Then the checker makes that producer, sends
    ``records`` keyed records to a new topic while the broker's first
    acknowledgement is lost on the way back (:func:`kafkalab.faults.lost_acks`),
    and reads the topic and the broker's producer state: each record must be
    there exactly once, in order, under one producer id whose sequence numbers
    the broker tracked.
    """
    r = Result("Exercise 1: a producer that neither loses nor duplicates")
    if not r.check(isinstance(config, Mapping), "config is a dict",
                   f"config must be a dict of KafkaProducer settings; got {type(config).__name__}"):
        return r.done()
    unstated = [k for k in SAFE_PRODUCER_SETTINGS if k not in config]
    if not any(k in config for k in _RETRY_SETTINGS):
        unstated.append("retries (or delivery_timeout_ms)")
    if not r.check(not unstated, "every setting the lesson is about is stated",
                   f"not stated: {', '.join(unstated)}. A default is a promise someone else made: "
                   "write each of these settings in config with the value you mean"):
        return r.done()
    if not r.check("bootstrap_servers" not in config, "no bootstrap_servers (the checker adds the course broker's)",
                   "leave bootstrap_servers out: the checker makes the producer on the course broker"):
        return r.done()
    acks = config["acks"]
    r.check(acks in ("all", -1), f"acks={acks!r}: the broker answers once every in-sync replica has the batch",
            f"acks={acks!r}: when the producer hears back, which replicas have the record? Think of the "
            "leader failing just after it answered")
    idem = config["enable_idempotence"]
    r.check(idem is True, "enable_idempotence=True: the broker can recognise a retried batch",
            f"enable_idempotence={idem!r}: when an answer is lost and the batch is sent again, how would "
            "the broker know it already has it?")
    retries = config.get("retries", float("inf"))
    r.check(isinstance(retries, (int, float)) and not isinstance(retries, bool) and retries > 0,
            f"retries={retries}: a batch whose answer is lost is sent again",
            f"retries={retries!r}: what happens to a record whose acknowledgement is lost once?")
    inflight = config["max_in_flight_requests_per_connection"]
    r.check(isinstance(inflight, int) and not isinstance(inflight, bool) and 1 <= inflight <= 5,
            f"max_in_flight_requests_per_connection={inflight}: the broker can keep order across retries",
            f"max_in_flight_requests_per_connection={inflight!r}: how many unanswered batches per partition "
            "does the broker remember sequence numbers for?")
    _check_safe_producer_on_broker(r, dict(config), records)
    return r.done()


def _check_safe_producer_on_broker(r: Result, config: dict[str, Any], records: int) -> None:
    """Send ``records`` keyed records with ``config`` while one acknowledgement is lost; read what landed."""
    # The checker sends bytes it makes itself, so the learner's serializers would only get in the way.
    for name in ("key_serializer", "value_serializer"):
        config.pop(name, None)
    topic = f"week02-check-producer-{uuid.uuid4().hex[:8]}"
    with Admin() as admin:
        admin.ensure_topic(topic, partitions=2)
        try:
            try:
                producer = KafkaProducer(bootstrap_servers=bootstrap_servers(), retry_backoff_ms=50, **config)
            except Exception as exc:  # the learner's settings: say what kafka-python refused
                r.check(False, "", f"KafkaProducer(**config) refused it: {type(exc).__name__}: {exc}")
                return
            keys = [f"CUST-{i % 4:03d}" for i in range(records)]
            failed = []
            try:
                with lost_acks(producer, count=1) as lost:
                    futures = [producer.send(topic, f"{key}:{i}".encode(), key=key.encode())
                               for i, key in enumerate(keys)]
                    producer.flush(timeout=30)
                for i, future in enumerate(futures):
                    try:
                        future.get(timeout=10)
                    except Exception as exc:  # a send the producer gave up on
                        failed.append((i, type(exc).__name__))
            finally:
                producer.close(timeout=5)
            r.check(not failed, f"every send succeeded ({lost.lost} acknowledgement lost on the way back)",
                    f"{len(failed)} of {records} sends failed after an acknowledgement was lost "
                    f"(first: record {failed[0][0] if failed else ''}, {failed[0][1] if failed else ''}): "
                    "the record may well be on the broker; what should the producer do when it cannot tell?")
            landed = _read_raw(topic)
            values = [v for _, v in landed]
            copies = len(values) - len(set(values))
            r.check(len(set(values)) == records and copies == 0,
                    f"the topic holds each of the {records} records exactly once",
                    f"the topic holds {len(values)} records for {records} sends ({copies} written twice): the "
                    "batch whose answer was lost was written again. What lets the broker tell a retry from new data?")
            by_partition: dict[int, list[int]] = {}
            for partition, value in landed:
                by_partition.setdefault(partition, []).append(int(value.split(b":")[1]))
            out_of_order = [p for p, seq in by_partition.items() if seq != sorted(seq)]
            r.check(not out_of_order, "each partition holds its records in the order they were sent",
                    f"partitions {out_of_order} hold records out of send order (or the same ones again)")
            state = admin.raw.describe_producers([TopicPartition(topic, p) for p in by_partition])
            ids = {s.producer_id for st in state.values() for s in st.active_producers}
            sequenced = all(
                any(s.last_sequence == len(by_partition[tp.partition]) - 1 for s in st.active_producers)
                for tp, st in state.items())
            r.check(len(ids) == 1 and sequenced,
                    f"the broker tracked producer id {min(ids) if ids else ''} and its sequence numbers "
                    "on every partition",
                    "the broker holds no producer id and sequence numbers for these records: an idempotent "
                    "producer gets an id from the broker and numbers every batch")
        finally:
            admin.delete_topic(topic)


def _read_raw(topic: str, timeout: float = 10.0) -> list[tuple[int, bytes]]:
    """``(partition, value)`` of every record of ``topic``, read with a plain KafkaConsumer (bounded)."""
    reader = KafkaConsumer(bootstrap_servers=bootstrap_servers())
    try:
        tps = [TopicPartition(topic, p) for p in sorted(reader.partitions_for_topic(topic) or ())]
        ends = reader.end_offsets(tps)
        reader.assign(tps)
        reader.seek_to_beginning()
        out: list[tuple[int, bytes]] = []
        deadline = time.monotonic() + timeout
        while any(reader.position(tp) < ends[tp] for tp in tps) and time.monotonic() < deadline:
            for tp, batch in reader.poll(timeout_ms=500).items():
                out += [(tp.partition, m.value) for m in batch]
        return out
    finally:
        reader.close()


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


#: The course's own loop and clients: exercise 2 asks for the loop written with kafka-python itself.
_REFERENCE_LOOP = ("kafkalab.clients.run", "kafkalab.clients.ConsumerLoop", "kafkalab.clients.DeadLetterQueue",
                   "kafkalab.clients.Consumer", "kafkalab.clients.Producer", "kafkalab.clients.dead_letter_record")


def _exercise_orders(topic: str) -> None:
    """Exercise 2's source: 17 good orders and 3 poison records, on 2 partitions (a new topic)."""
    from kafkalab.sampledata import orders

    good = orders(17, customers=5, seed=6)
    bad = [("CUST-001", b"total: 12"), ("CUST-002", b'{"orderId": "X-1", "total": 10}'),
           ("CUST-003", b'{"orderId": "X-2", "customerId": "CUST-003", "total": 0}')]
    producer = KafkaProducer(bootstrap_servers=bootstrap_servers(), acks="all")
    try:
        for order in good[:8]:
            producer.send(topic, json.dumps(order).encode(), key=order["customerId"].encode())
        for key, raw in bad:
            producer.send(topic, raw, key=key.encode())
        for order in good[8:]:
            producer.send(topic, json.dumps(order).encode(), key=order["customerId"].encode())
        producer.flush(timeout=30)
    finally:
        producer.close()


def check_dead_letters(loop: Callable[[str, str, str], Any]) -> Result:
    """Exercise 2: your ``loop(source, dead_letters, group)`` sends every poison record, and nothing
    else, to ``dead_letters`` with the reason and where it came from, then commits what it processed.

    The checker makes a new source topic (20 orders, 3 of them poison, see :func:`is_poison`), an
    empty dead-letter topic and a new group name, and calls ``loop`` with them while the course's own
    loop and clients refuse to run (write it with ``KafkaConsumer`` and ``KafkaProducer``). Then it
    reads both topics and the group's committed offsets on the broker.
    """
    r = Result("Exercise 2: poison messages go to the dead-letter topic")
    if not r.check(callable(loop), "loop is a function", f"loop must be a function "
                   f"loop(source, dead_letters, group); got {type(loop).__name__}"):
        return r.done()
    run_id = uuid.uuid4().hex[:8]
    source, dead_letters = f"week02-check-orders-{run_id}", f"week02-check-dead-letters-{run_id}"
    group = f"week02-check-{run_id}"
    with Admin() as admin:
        admin.ensure_topic(source, partitions=2)
        admin.ensure_topic(dead_letters, partitions=1)
        try:
            _exercise_orders(source)
            try:
                with forbidden(*_REFERENCE_LOOP):
                    loop(source, dead_letters, group)
            except ExerciseFailed as exc:   # it called the course's loop
                r.check(False, "", str(exc))
                return r.done()
            except Exception as exc:  # the learner's code: say what it raised
                r.check(False, "", f"loop raised {type(exc).__name__}: {exc}")
                return r.done()
            _check_dead_letter_topic(r, source, dead_letters)
            committed = {tp.partition: off for tp, off in admin.group_offsets(group).items() if tp.topic == source}
            ends = {tp.partition: off for tp, off in admin.end_offsets(source).items()}
            short = {p: (committed.get(p), end) for p, end in ends.items() if committed.get(p, 0) != end}
            r.check(not short, f"group {group!r} committed every partition up to its end {ends}",
                    f"the group's committed offsets (partition: committed, end) are {short}: after a "
                    "restart, where would this group start reading? Commit what you processed, dead "
                    "letters included, once they are safely sent")
        finally:
            for topic in (source, dead_letters):
                admin.delete_topic(topic)
            with contextlib.suppress(KafkaError):   # a consumer the loop left open keeps its group alive
                admin.delete_group(group)
    return r.done()


def _check_dead_letter_topic(r: Result, source_topic: str, dead_letter_topic: str) -> None:
    """Every poison record of ``source_topic``, and nothing else, is in ``dead_letter_topic`` with a reason."""
    source = _read_all(source_topic, "raw")
    poison = {(m.partition, m.offset): is_poison(m.raw_value) for m in source}
    poison = {k: why for k, why in poison.items() if why}
    letters = _read_all(dead_letter_topic, "raw")
    found: dict[tuple[Any, Any], dict] = {}
    unreadable = 0
    for m in letters:
        try:
            body: Any = json.loads(m.raw_value or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict):
            unreadable += 1
            continue
        src: dict[str, Any] = body["source"] if isinstance(body.get("source"), dict) else {}
        if src.get("topic") == source_topic:
            found[(src.get("partition"), src.get("offset"))] = body
    r.check(not unreadable, "every dead letter is a JSON object",
            f"{unreadable} dead letters are not JSON objects: write each as "
            "json.dumps({...}).encode()")
    missing = sorted(set(poison) - set(found))
    extra = sorted(set(found) - set(poison))
    r.check(not missing, f"all {len(poison)} poison records are in {dead_letter_topic!r}",
            f"{len(missing)} of {len(poison)} poison records are not in the dead-letter topic (partition, "
            f"offset: {missing[:3]}; e.g. {poison[missing[0]] if missing else ''}), or their dead letter "
            "does not say where it came from ('source': topic, partition, offset)")
    r.check(not extra, "no good order was dead-lettered",
            f"{len(extra)} good orders were dead-lettered (partition, offset: {extra[:3]}): your "
            "loop rejects valid orders")
    no_reason = [k for k, body in found.items()
                 if not isinstance(body.get("error"), dict) or not body["error"].get("message")]
    r.check(not no_reason, "each dead letter says why it failed",
            f"{len(no_reason)} dead letters have no error.message: whoever replays it needs to know why")
    kept = [k for k, body in found.items() if k in poison and not isinstance(body.get("originalMessage"), str)]
    r.check(not kept, "each dead letter keeps the original record",
            f"{len(kept)} dead letters have no originalMessage (the record's value as text): whoever "
            "fixes it needs the record itself")


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


def check_partitioner(partitioner: Any, hot_key: str = "CUST-001", partitions: int = 4) -> Result:
    """Exercise 4: the hot key gets partition 0 to itself; every other key is hashed
    over the remaining partitions, always to the same one.

    ``partitioner`` is a :class:`kafka.partitioner.Partitioner` (an instance, or the class,
    which the checker makes with no arguments). The checker passes it to a plain
    ``KafkaProducer(partitioner=...)``, sends every key of 60 customers three times to a new
    topic of ``partitions`` partitions, and reads where each record landed on the broker.
    """
    r = Result("Exercise 4: give the hot key a partition of its own")
    if isinstance(partitioner, type):  # the class itself: make one with its defaults
        try:
            partitioner = partitioner()
        except Exception as exc:  # the learner's code: say what it raised
            r.check(False, "", f"{partitioner.__name__}() raised {type(exc).__name__}: {exc}")
            return r.done()
    if not r.check(isinstance(partitioner, Partitioner), "it is a kafka.partitioner.Partitioner",
                   f"{type(partitioner).__name__} is not a kafka.partitioner.Partitioner: subclass it and "
                   "implement partition(topic, key, serialized_key, value, serialized_value, cluster)"):
        return r.done()
    if not r.check(not isinstance(partitioner, DefaultPartitioner) or type(partitioner).partition
                   is not DefaultPartitioner.partition, "it chooses partitions itself",
                   "this is kafka-python's own DefaultPartitioner: hash the hot key yourself"):
        return r.done()
    topic = f"week02-check-partitioner-{uuid.uuid4().hex[:8]}"
    keys = [hot_key] + [k for k in customer_ids(60) if k != hot_key]
    with Admin() as admin:
        admin.ensure_topic(topic, partitions=partitions)
        try:
            producer = KafkaProducer(bootstrap_servers=bootstrap_servers(), partitioner=partitioner)
            try:
                futures = [(key, producer.send(topic, b"{}", key=key.encode())) for _ in range(3) for key in keys]
                producer.flush(timeout=30)
                placed: dict[str, set[int]] = {}
                for key, future in futures:
                    placed.setdefault(key, set()).add(future.get(timeout=10).partition)
            except Exception as exc:  # the learner's partitioner raised inside send()
                r.check(False, "", f"your partitioner raised {type(exc).__name__}: {exc}")
                return r.done()
            finally:
                producer.close(timeout=5)
            on_broker = {tp.partition: end for tp, end in admin.end_offsets(topic).items()}
        finally:
            admin.delete_topic(topic)
    hot = placed.pop(hot_key)
    # Each send's partition is the broker's answer (RecordMetadata); the end offsets count what it holds.
    r.check(hot == {0}, f"{hot_key} always goes to partition 0",
            f"{hot_key} went to partitions {sorted(hot)}: where must the hot key always land?")
    on_zero = sorted(k for k, ps in placed.items() if 0 in ps)
    r.check(not on_zero and on_broker.get(0) == 3,
            f"no other key uses partition 0 (it holds {on_broker.get(0)} records)",
            f"{len(on_zero)} other keys went to partition 0 (e.g. {on_zero[:3]}), so the hot customer "
            "shares its partition and its consumer")
    unstable = sorted(k for k, ps in placed.items() if len(ps) > 1)
    r.check(not unstable, "every other key always goes to the same partition",
            f"{len(unstable)} keys changed partition between sends (e.g. {unstable[:3]}): what happens "
            "to the order of one customer's records spread over partitions?")
    used = {p for ps in placed.values() for p in ps}
    r.check(used == set(range(1, partitions)), f"the other keys are spread over partitions 1-{partitions - 1}",
            f"the other keys use only partitions {sorted(used)}: every partition but the hot key's should "
            "share the rest of the work")
    return r.done()


def _group_consumer(topic: str, group: str, listener: Any, **config: Any) -> KafkaConsumer:
    """A plain KafkaConsumer in ``group``, subscribed to ``topic`` with ``listener`` (short group timings)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap_servers(), group_id=group, enable_auto_commit=False,
                             auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=500,
                             **config)
    _know_partitions(consumer, topic)
    consumer.subscribe([topic], listener=listener)
    return consumer


def _know_partitions(consumer: KafkaConsumer, topic: str) -> None:
    """Fetch ``topic``'s metadata before joining a group with it.

    A member that joins before it knows a new topic's partitions is assigned nothing, then
    rejoins when the metadata arrives; kafka-python 3.0.12 can lose the assignment of that
    second join if a short ``poll()`` times out in the middle of it (seen here: a member
    owning nothing for 12 s). Knowing the partitions first makes the first join the real one.
    """
    consumer.partitions_for_topic(topic)


def _settle(consumers: Sequence[KafkaConsumer], sizes: Sequence[int], polls: int = 40) -> bool:
    """Poll every consumer in turn (bounded) until each owns ``sizes[i]`` partitions.

    Each poll may take up to 400 ms: a join that a shorter poll interrupts is sometimes
    abandoned and started again by kafka-python 3.0, and two members polled in turn with
    100 ms polls were seen rebalancing over and over for 16 s.
    """
    for _ in range(polls):
        for consumer in consumers:
            consumer.poll(timeout_ms=400, max_records=1)
        if [len(c.assignment()) for c in consumers] == list(sizes):
            return True
    return False


class _Revocations(ConsumerRebalanceListener):
    """The partitions a member gives up, one list per revocation (empty ones are not kept)."""

    def __init__(self) -> None:
        self.revoked: list[list[int]] = []

    def on_partitions_revoked(self, revoked: Any) -> None:
        if revoked:
            self.revoked.append(sorted(tp.partition for tp in revoked))

    def on_partitions_assigned(self, assigned: Any) -> None:
        pass


def _revoked_when_second_joins(topic: str, assignor: type) -> int:
    """How many of its 4 partitions member A gives up when member B joins its group (first revocation)."""
    group = f"week02-check-rebalance-{uuid.uuid4().hex[:8]}"
    first = _Revocations()
    a = _group_consumer(topic, group, first, partition_assignment_strategy=[assignor])
    b = None
    try:
        if not _settle([a], [4]):
            raise TimeoutError("member A did not get the 4 partitions within 16 s")
        first.revoked.clear()
        b = _group_consumer(topic, group, _Revocations(), partition_assignment_strategy=[assignor])
        if not _settle([a, b], [2, 2]):
            raise TimeoutError("the group did not settle on 2 + 2 partitions within 32 s")
        # The first revocation is the answer: a group may rebalance once more while it settles.
        return len(first.revoked[0]) if first.revoked else 0
    finally:
        for consumer in (a, b):
            if consumer is not None:
                consumer.close()


def check_rebalance_prediction(predicted: Mapping[str, Any]) -> Result:
    """Exercise 5 (predict, then run): member A of a group owns all 4 partitions of a topic; member B
    joins. How many partitions does A give up (``on_partitions_revoked``) under the eager ``range``
    assignor, and under ``cooperative-sticky``? ``predicted = {"range": n, "cooperative-sticky": m}``.

    The checker runs both on the broker with plain KafkaConsumers and compares.
    """
    r = Result("Exercise 5: predict the rebalance")
    if not r.check(isinstance(predicted, Mapping) and set(predicted) == {"range", "cooperative-sticky"},
                   "you predicted both assignors",
                   'write predicted = {"range": ..., "cooperative-sticky": ...}, each a number of partitions'):
        return r.done()
    topic = f"week02-check-rebalance-{uuid.uuid4().hex[:8]}"
    with Admin() as admin:
        admin.ensure_topic(topic, partitions=4)
        try:
            observed = {"range": _revoked_when_second_joins(topic, RangePartitionAssignor),
                        "cooperative-sticky": _revoked_when_second_joins(topic, CooperativeStickyAssignor)}
        finally:
            admin.delete_topic(topic)
    check_prediction(r, dict(predicted), observed, "partitions revoked from A")
    return r.done()


def _listener_failed(r: Result, exc: BaseException) -> None:
    cause = exc.__cause__ or exc
    r.check(False, "", f"your listener raised during a rebalance: {type(cause).__name__}: {str(cause)[:200]}")


def check_commit_on_revoke(listener_class: Any, *, records: int = 10) -> Result:
    """Exercise 6: a rebalance listener that commits, on revoke, exactly what was processed.

    ``listener_class(consumer, processed)`` makes your listener, where ``processed`` is a dict the
    consumer loop keeps: ``{TopicPartition: offset of the last record processed}``. The checker
    fills a 2-partition topic with ``records`` records each; member A (a plain KafkaConsumer with
    your listener, auto-commit off) reads them all but processes only the first 4 of partition 0
    and the first 7 of partition 1, and commits nothing itself. Then member B joins, the group
    rebalances, and the checker reads the group's committed offsets on the broker.
    """
    r = Result("Exercise 6: commit what you processed when partitions are revoked")
    if not r.check(isinstance(listener_class, type) and issubclass(
            listener_class, (ConsumerRebalanceListener, AsyncConsumerRebalanceListener)),
            "it is a rebalance listener class",
            f"{listener_class!r} is not a class deriving from kafka's ConsumerRebalanceListener or "
            "AsyncConsumerRebalanceListener"):
        return r.done()
    run_id = uuid.uuid4().hex[:8]
    topic, group = f"week02-check-revoke-{run_id}", f"week02-check-revoke-{run_id}"
    to_process = {0: 4, 1: 7}
    with Admin() as admin:
        admin.ensure_topic(topic, partitions=2)
        a = b = None
        try:
            producer = KafkaProducer(bootstrap_servers=bootstrap_servers())
            for partition in (0, 1):
                for i in range(records):
                    producer.send(topic, b"%d" % i, partition=partition)
            producer.flush(timeout=30)
            producer.close()
            processed: dict[TopicPartition, int] = {}
            a = KafkaConsumer(bootstrap_servers=bootstrap_servers(), group_id=group, enable_auto_commit=False,
                              auto_offset_reset="earliest", session_timeout_ms=6000, heartbeat_interval_ms=500)
            try:
                listener = listener_class(a, processed)
            except Exception as exc:  # the learner's code: say what it raised
                r.check(False, "", f"{listener_class.__name__}(consumer, processed) raised "
                        f"{type(exc).__name__}: {exc}")
                return r.done()
            _know_partitions(a, topic)
            a.subscribe([topic], listener=listener)
            fetched: dict[int, int] = {}
            try:
                for _ in range(60):   # read everything (bounded); "process" only the first few of each partition
                    for tp, batch in a.poll(timeout_ms=200).items():
                        fetched[tp.partition] = fetched.get(tp.partition, 0) + len(batch)
                        for record in batch:
                            if record.offset < to_process[tp.partition]:
                                processed[tp] = record.offset
                    if all(fetched.get(p, 0) >= records for p in (0, 1)):
                        break
            except KafkaError as exc:   # kafka-python re-raises a listener's error from poll()
                _listener_failed(r, exc)
                return r.done()
            if not r.check(all(fetched.get(p, 0) >= records for p in (0, 1)), "member A read both partitions",
                           f"member A read only {fetched} records in 12 s; is the broker busy?"):
                return r.done()
            b = _group_consumer(topic, group, _Revocations())
            try:
                settled = _settle([a, b], [1, 1])
            except KafkaError as exc:
                _listener_failed(r, exc)
                return r.done()
            r.check(settled, "member B joined: the group rebalanced and A gave up its partitions",
                    "the group did not rebalance to one partition each within 32 s: does your listener return "
                    "promptly (it runs while the group waits)?")
            committed = {tp.partition: off for tp, off in admin.group_offsets(group).items() if tp.topic == topic}
            want = {p: n for p, n in to_process.items()}
            said = ", ".join(f"partition {p}: {committed.get(p, 'nothing')}" for p in (0, 1))
            if not r.check(bool(committed), "the listener committed on revoke",
                           f"nothing is committed for the group ({said}): when A lost its partitions, B started "
                           "from auto_offset_reset and will process A's records again. Where does a listener's "
                           "commit have to happen, and can it block there? (lesson 06)"):
                return r.done()
            too_far = {p: off for p, off in committed.items() if off > want[p]}
            short = {p: off for p, off in committed.items() if off < want[p]}
            r.check(not too_far, "no partition is committed past the last processed record",
                    f"committed past what was processed ({said}; processed up to offsets 3 and 6): the records "
                    "between were read but never handled, and the next owner will skip them")
            r.check(not short and set(committed) == {0, 1},
                    f"both partitions are committed exactly after the last processed record ({said})",
                    f"committed {said}, but the last records processed were offsets 3 and 6: what does a "
                    "committed offset point at, the last record done or the next one to read?")
        finally:
            for consumer in (a, b):
                # close() runs the learner's listener once more (the partitions are revoked on close);
                # what it does then is not what is checked, so its errors are not the checker's.
                if consumer is not None:
                    with contextlib.suppress(KafkaError):
                        consumer.close(timeout_ms=3000)
            admin.delete_topic(topic)
            with contextlib.suppress(KafkaError):
                admin.delete_group(group)
    return r.done()


# An exercise cell not written yet leaves its answer None: say "not done yet" in one line.
guard_checkers(globals())
