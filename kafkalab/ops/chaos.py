"""Failure scenarios: each breaks one thing on purpose and checks what must still hold.

Every scenario is a bounded function that runs against the local broker
(or ``KAFKA_BROKERS``), on fresh topics and groups, and returns a
:class:`ChaosReport`: the facts it measured and whether its invariant held.

* :func:`consumer_killed_mid_batch`: a member dies between processing and
  committing; its partition moves to the survivor, which gets the
  uncommitted records again. No record is lost; the re-delivered ones are
  counted and an idempotent handler makes the result the same.
* :func:`poison_message`: an undecodable record and one the handler rejects
  go to the dead-letter topic with the reason; the group goes on.
* :func:`slow_consumer`: lag grows, the lag alert fires once, then clears
  once the consumer catches up.
* :func:`broker_unreachable`: a clear error within a bounded wait.
* :func:`broker_restart`: a private local broker restarts under a producer
  and a consumer group. Kafka keeps its log on disk: the topic, its records
  and the group's committed offsets are all there afterwards, and the same
  idempotent producer carries on. A cluster (``compose/``: 3 brokers,
  replication factor 3, ``min.insync.replicas=2``) keeps serving while one
  broker is down.

>>> r = ChaosReport("demo", True, "no record lost", {"records": 10, "lost": 0})
>>> print(r)
[OK] demo: no record lost
  records: 10
  lost: 0
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kafkalab.clients import (
    DEAD_LETTER_TOPIC,
    Admin,
    BrokerUnavailable,
    Consumer,
    ConsumerLoop,
    DeadLetterQueue,
    Message,
    Producer,
)
from kafkalab.clients.connection import BOOTSTRAP_TIMEOUT_MS
from kafkalab.groups import Group
from kafkalab.net import free_port
from kafkalab.ops.health import health
from kafkalab.ops.lag import LagMonitor
from kafkalab.ops.metrics import Registry, instrument
from kafkalab.ops.rules import AlertManager, BrokerUnreachable, LagAbove
from kafkalab.settings import Settings, get_settings

__all__ = [
    "SCENARIOS",
    "ChaosReport",
    "IdempotentStore",
    "broker_restart",
    "broker_unreachable",
    "consumer_killed_mid_batch",
    "poison_message",
    "slow_consumer",
]

log = logging.getLogger(__name__)


@dataclass
class ChaosReport:
    """A scenario's outcome: did its ``invariant`` hold, and the facts behind it."""

    name: str
    ok: bool
    invariant: str
    facts: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"[{'OK' if self.ok else 'FAIL'}] {self.name}: {self.invariant}"]
        lines += [f"  {k}: {v}" for k, v in self.facts.items()]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


class IdempotentStore:
    """A handler's side effect, made idempotent: one entry per record id.

    Applying the same record twice changes nothing, but is counted, so a
    scenario can show exactly which records at-least-once delivered again.

    >>> store = IdempotentStore()
    >>> for i in [1, 2, 2, 3]:
    ...     _ = store.apply(i, i * 10, by="A")
    >>> store.total(), store.duplicates
    (60, [2])
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: dict[Any, Any] = {}
        self.by: dict[Any, str] = {}
        self.duplicates: list[Any] = []

    def apply(self, record_id: Any, value: Any, by: str = "") -> bool:
        """Store ``value`` under ``record_id``; False (and counted) if already stored."""
        with self._lock:
            if record_id in self.values:
                self.duplicates.append(record_id)
                return False
            self.values[record_id] = value
            self.by[record_id] = by
            return True

    def total(self) -> Any:
        with self._lock:
            return sum(self.values.values())

    def __len__(self) -> int:
        return len(self.values)


def _run_id() -> str:
    return uuid.uuid4().hex[:8]


def _wait(condition: Callable[[], bool], timeout: float, tick: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(tick)
    return True


class KilledMidBatch(RuntimeError):
    """Raised inside a member's handler to kill it before it commits its batch."""


def consumer_killed_mid_batch(*, records: int = 60, crash_after: int = 5,
                              settings: Settings | None = None) -> ChaosReport:
    """Two members share a 2-partition topic; member A dies mid-batch.

    A's handler raises once it has handled ``crash_after`` records and at
    least one record of the batch it is working on (records arrive in
    batches of whatever the broker has, so a crash on a batch's first record
    would leave nothing uncommitted to show). That batch is never committed
    and A leaves the group (a killed process is noticed after the session
    timeout instead, 6 s here). B takes A's partition and
    starts from A's last commit, so it processes exactly A's uncommitted
    records again. The store is idempotent: the result is the same, and the
    duplicates are counted.
    """
    settings = settings or get_settings()
    run = _run_id()
    topic, group_id = f"chaos-kill-{run}", f"chaos-kill-{run}"
    store = IdempotentStore()
    handled_by_a: list[int] = []

    def handler(msg: Message) -> None:
        member = threading.current_thread().name.rsplit("-", 1)[-1]
        if member == "A":
            # Group counts a batch as processed (and commits it) after its last record.
            in_batch = len(handled_by_a) - group.members["A"].processed
            if len(handled_by_a) >= crash_after and in_batch > 0:
                raise KilledMidBatch(f"member A killed after {len(handled_by_a)} records, "
                                     f"{in_batch} of them in a batch it had not committed")
            handled_by_a.append(msg.value["id"])
        store.apply(msg.value["id"], msg.value["amount"], by=member)

    with Admin(settings) as admin:
        admin.ensure_topic(topic, 2)
        try:
            with Group(topic, group_id, handler=handler, max_records=20,
                       settings=settings) as group:
                group.add("A")
                group.add("B")
                group.wait_settled(2, timeout=30)
                before = group.assignments()
                with Producer(settings) as producer:
                    for i in range(records):
                        producer.send(topic, {"id": i, "amount": i + 1}, partition=i % 2)
                    producer.flush()
                _wait(lambda: len(store) >= records, timeout=30)
                after = group.assignments()
                a = group.members["A"]
                a_error = a.error
                # What A committed: its whole batches, minus any whose commit was refused.
                uncommitted = handled_by_a[a.processed - a.uncommitted:]
            lag = sum(p.lag for p in admin.lag(group_id, topic))
        finally:
            admin.delete_topic(topic)
            admin.delete_group(group_id)
    expected_total = sum(i + 1 for i in range(records))
    lost = records - len(store)
    redelivered = sorted(store.duplicates)
    only_a = sorted(redelivered) == sorted(uncommitted) and bool(uncommitted)
    ok = lost == 0 and store.total() == expected_total and only_a and a_error is not None
    return ChaosReport(
        "consumer killed mid-batch", ok,
        "no record lost; only the dead member's uncommitted records came again, "
        "and the idempotent store counted them once",
        {"records": records, "lost": lost, "partitions before": before,
         "partitions after": after, "A handled before dying": len(handled_by_a),
         "A handled but never committed": len(uncommitted),
         "re-delivered to B": len(redelivered), "re-delivered ids": redelivered,
         "total stored": store.total(), "expected total": expected_total,
         "group lag after": lag, "A died with": a_error})


def poison_message(*, records: int = 20, dead_letter_topic: str = DEAD_LETTER_TOPIC,
                   registry: Registry | None = None,
                   settings: Settings | None = None) -> ChaosReport:
    """Two bad records among good ones: both dead-lettered with a reason, the rest processed.

    One record is not JSON at all (it fails to decode); one decodes but the
    handler rejects it (``{"poison": true}``). The loop sends each to the
    dead-letter topic, waits for the broker to have it, and commits past it.
    """
    settings = settings or get_settings()
    registry = registry or Registry()
    run = _run_id()
    topic, group_id = f"chaos-poison-{run}", f"chaos-poison-{run}"
    store = IdempotentStore()

    def handle(msg: Message) -> None:
        if msg.value.get("poison"):
            raise ValueError(f"record {msg.value['id']} is poison: cannot be processed")
        store.apply(msg.value["id"], 1)

    with Admin(settings) as admin:
        admin.ensure_topic(topic, 2)
        try:
            with Producer(settings) as producer, \
                    Producer(settings, value_format="raw") as raw_producer:
                for i in range(records):
                    producer.send(topic, {"id": i})
                    if i == records // 3:
                        raw_producer.send(topic, b'{"id": "half a rec', key="bad-json")
                    if i == 2 * records // 3:
                        producer.send(topic, {"id": f"poison-{i}", "poison": True})
                producer.flush()
                raw_producer.flush()
                with Consumer(topic, group_id=group_id, settings=settings) as consumer:
                    dlq = DeadLetterQueue(producer, topic=dead_letter_topic)
                    loop = ConsumerLoop(consumer, instrument(handle, registry, "poison-demo"),
                                        dead_letter=dlq)
                    stats = loop.run(max_messages=records + 2, timeout=30, idle_timeout=3,
                                     handle_signals=False)
                registry.inc("dead_letters_total", stats.dead_lettered, source=topic)
            # The dead-letter topic is shared: read until both of ours are there
            # (each was acknowledged before its offset was committed), not until
            # an idle gap, which a busy machine can produce early.
            dead = []
            with Consumer(dead_letter_topic, group_id=False, settings=settings) as reader:
                for m in reader.messages(timeout=30):
                    if (isinstance(m.value, dict)
                            and m.value.get("source", {}).get("topic") == topic):
                        dead.append(m.value)
                        if len(dead) == stats.dead_lettered:
                            break
            lag = sum(p.lag for p in admin.lag(group_id, topic))
        finally:
            admin.delete_topic(topic)
            admin.delete_group(group_id)
    reasons = [f"{d['error']['stage']}: {d['error']['message']}" for d in dead]
    ok = (len(store) == records and stats.dead_lettered == 2 and len(dead) == 2 and lag == 0)
    return ChaosReport(
        "poison message", ok,
        "every good record processed, both bad ones dead-lettered with a reason, group at lag 0",
        {"good records": records, "processed": len(store), "dead-lettered": stats.dead_lettered,
         "in the dead-letter topic": len(dead), "reasons": reasons, "group lag after": lag,
         "handler errors counted": registry.latest("errors_total", handler="poison-demo")})


def slow_consumer(*, rate: float = 100.0, seconds: float = 1.5, cost_ms: float = 20.0,
                  threshold: int = 30, sample_every: float = 0.25,
                  registry: Registry | None = None, publish: Callable[[Any], Any] | None = None,
                  on_sample: Callable[[LagMonitor], Any] | None = None,
                  settings: Settings | None = None) -> ChaosReport:
    """Produce faster than one consumer can process: lag grows, an alert fires once, then clears.

    The producer sends ``rate`` records/s for ``seconds``; the consumer needs
    ``cost_ms`` per record (20 ms: 50 records/s). A :class:`LagMonitor`
    samples the group's lag and an :class:`AlertManager` evaluates a
    :class:`LagAbove` rule (fire at ``threshold`` for 0.5 s, clear below half
    of it) after every sample. ``publish`` receives the alert (default: kept
    in the report); ``on_sample`` is called after each sample (live charts).
    The handler is instrumented as ``slow-consumer`` in ``registry``
    (``records_total``, ``processing_seconds``), so a
    :class:`~kafkalab.ops.dashboard.Dashboard` can draw it.
    """
    settings = settings or get_settings()
    registry = registry or Registry()
    alerts: list[Any] = []
    run = _run_id()
    topic, group_id = f"chaos-slow-{run}", f"chaos-slow-{run}"
    n = int(rate * seconds)
    rule = LagAbove(threshold, for_s=0.5, group=group_id)
    manager = AlertManager([rule], registry, publish=publish or alerts.append)
    trends = []
    with Admin(settings) as admin:
        admin.ensure_topic(topic, 1)
        try:
            def work(msg: Message) -> None:
                time.sleep(cost_ms / 1000)  # pretend work: slower than the producer

            handler = instrument(work, registry, "slow-consumer")
            with Group(topic, group_id, handler=handler, max_records=10,
                       settings=settings) as group, \
                    LagMonitor(group_id, topic, admin=admin, registry=registry) as monitor:
                group.add("slow")
                group.wait_settled(1, timeout=30)

                def produce() -> None:
                    with Producer(settings) as producer:
                        t0 = time.monotonic()
                        for i in range(n):
                            wait = t0 + i / rate - time.monotonic()
                            if wait > 0:
                                time.sleep(wait)
                            producer.send(topic, {"i": i})

                producer_thread = threading.Thread(target=produce, name="chaos-slow-producer")
                producer_thread.start()
                deadline = time.monotonic() + seconds + n * cost_ms / 1000 * 3 + 20
                while time.monotonic() < deadline:
                    monitor.sample()
                    manager.evaluate()
                    trends.append(monitor.trend(window_s=1.5))
                    if on_sample is not None:
                        on_sample(monitor)
                    if (not producer_thread.is_alive() and group.processed() >= n
                            and monitor.total() == 0 and not manager.active):
                        break
                    time.sleep(sample_every)
                producer_thread.join(30)
                processed = group.processed()
                peak = max((s.lag for s in monitor.history), default=0)
                final = monitor.total()
        finally:
            admin.delete_topic(topic)
            admin.delete_group(group_id)
    fired, cleared = manager.count("fired"), manager.count("cleared")
    growing = any(t.direction == "growing" for t in trends)
    shrinking = [t for t in trends if t.direction == "shrinking" and t.lag > 0]
    # "Fires once" is about what pages someone: a return of the condition
    # within the cool-down is only counted ("suppressed"), never published.
    ends_cleared = bool(manager.events) and manager.events[-1].kind == "cleared"
    ok = fired == 1 and ends_cleared and processed >= n and final == 0
    return ChaosReport(
        "slow consumer", ok,
        "lag grew, the lag alert fired exactly once and cleared once the consumer caught up",
        {"group": group_id, "records": n, "processed": processed, "peak lag": peak,
         "final lag": final,
         "alerts fired": fired, "alerts cleared": cleared,
         "repeats suppressed": manager.count("suppressed"),
         "trend seen growing": growing,
         "catch-up estimate (s)": shrinking[0].catch_up_s if shrinking else None,
         "events": [(e.kind, e.value) for e in manager.events]},
        [f"alert: {a}" for a in alerts])


def broker_unreachable(*, timeout_ms: int = 1000, with_health: bool = True) -> ChaosReport:
    """Point the clients at a port where nothing listens: a clear error, a bounded wait.

    kafka-python 3 waits 30 s for an absent broker unless ``bootstrap_timeout_ms``
    is set; kafkalab sets it to 5 s for every client, and ``timeout_ms`` here.
    The health check reports ``[FAIL] broker`` and the
    :class:`~kafkalab.ops.rules.BrokerUnreachable` rule fires.
    """
    address = f"127.0.0.1:{free_port()}"
    settings = Settings(brokers=(address,))
    error: str | None = None
    start = time.perf_counter()
    try:
        with Producer(settings, bootstrap_timeout_ms=timeout_ms) as producer:
            producer.send("anything", {"never": "sent"})
    except BrokerUnavailable as exc:
        error = str(exc)
    waited = time.perf_counter() - start
    facts: dict[str, Any] = {"address": address, "error": error,
                             "configured bound (ms)": timeout_ms, "waited (s)": round(waited, 2)}
    ok = error is not None and address in error
    if with_health:
        registry = Registry()
        manager = AlertManager([BrokerUnreachable()], registry)
        report = health(settings=settings, registry=registry)
        events = manager.evaluate()
        facts["health"] = str(report)
        facts["health check bound (ms)"] = BOOTSTRAP_TIMEOUT_MS
        facts["alert"] = [(e.rule, e.kind) for e in events]
        ok = ok and not report.ok and [e.kind for e in events] == ["fired"]
    return ChaosReport("broker unreachable", ok,
                       "a clear BrokerUnavailable error naming the address, within the bound",
                       facts)


@contextlib.contextmanager
def _private_broker_env(state_dir: str) -> Iterator[None]:
    # A broker of our own: its own state directory, and KAFKA_BROKERS unset so
    # every client in this block uses it. Restored afterwards.
    saved = {k: os.environ.get(k) for k in ("KAFKALAB_STATE_DIR", "KAFKA_BROKERS")}
    os.environ["KAFKALAB_STATE_DIR"] = state_dir
    os.environ.pop("KAFKA_BROKERS", None)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def broker_restart(*, records: int = 10, state_dir: str | None = None) -> ChaosReport:
    """Restart a *private* local broker under a running producer and consumer group.

    ``records`` are written and read (and committed) by a group; the broker
    is stopped and started again (``kafkalab.broker.restart``); then the
    same producer writes one more record and the group reads on. Kafka keeps
    its log and the group offsets on disk, and an idempotent producer keeps
    its producer id, so nothing is lost or written twice. Runs its own broker
    in ``state_dir`` (a temporary directory by default) so the shared one is
    untouched; stopped at the end.
    """
    run = _run_id()
    topic = f"chaos-restart-{run}"
    with contextlib.ExitStack() as stack:
        if state_dir is None:  # removed at the end, with the broker's files in it
            state_dir = stack.enter_context(tempfile.TemporaryDirectory(
                prefix="kafkalab-chaos-", ignore_cleanup_errors=True))
        return _broker_restart(records, topic, state_dir)


def _broker_restart(records: int, topic: str, state_dir: str) -> ChaosReport:
    from kafkalab import broker

    group = topic
    with _private_broker_env(state_dir):
        broker.up(nodes=1)
        try:
            with Producer() as producer, Admin() as admin:
                admin.ensure_topic(topic, 1)
                for i in range(records):
                    producer.send(topic, {"i": i, "phase": "before"})
                producer.flush()
                with Consumer(topic, group_id=group) as consumer:
                    read = list(consumer.messages(max_messages=records, timeout=30))
                    consumer.commit(read)
                committed_before = admin.group_offsets(group)
                same = producer.raw
                broker.restart()
                # The send waits (and retries) until the partition has its leader again.
                producer.send_and_wait(topic, {"i": records, "phase": "after"}, timeout=60)
                # kafka-python's admin client does not wait to reconnect (a call
                # fails with NodeNotReadyError): the next call opens a new one.
                admin.close()
                survived = topic in admin.topics()
                committed_after = admin.group_offsets(group)
                with Consumer(topic, group_id=group) as consumer:
                    resumed = [m.value for m in consumer.messages(idle_timeout=2, timeout=30)]
                total = admin.message_count(topic)
                kept_producer = producer.raw is same
        finally:
            broker.down()
    facts = {"records before restart": len(read), "topic survived restart": survived,
             "committed offsets survived restart": committed_after == committed_before,
             "records after one more send": total, "group resumed with": len(resumed),
             "same producer": kept_producer}
    ok = (len(read) == records and survived and committed_after == committed_before
          and total == records + 1 and resumed == [{"i": records, "phase": "after"}]
          and kept_producer)
    return ChaosReport(
        "broker restart", ok,
        "the restarted broker keeps the topic, its records and the committed offsets; the "
        "same idempotent producer carries on and the group resumes after its last commit",
        facts,
        ["Kafka appends every record to its log on disk and keeps committed offsets in the "
         "__consumer_offsets topic, so a restart loses neither",
         "an idempotent producer keeps its producer id and sequence numbers across the "
         "restart: what it retries is written once",
         "a cluster (compose/: 3 brokers, replication factor 3, min.insync.replicas=2, "
         "acks=all) keeps each record on 3 brokers and acknowledges it only once 2 have it, so "
         "while one broker is down the others lead its partitions and clients carry on"])


#: Scenario names for ``python -m kafkalab.ops chaos <name>``.
SCENARIOS: dict[str, Callable[..., ChaosReport]] = {
    "killed-consumer": consumer_killed_mid_batch,
    "poison-message": poison_message,
    "slow-consumer": slow_consumer,
    "broker-unreachable": broker_unreachable,
    "broker-restart": broker_restart,
}
