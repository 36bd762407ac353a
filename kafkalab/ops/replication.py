"""Replication on a multi-node cluster: who leads each partition, who is in sync (week 8, lesson 4).

The same facts have two views: kafka-python's ``KafkaAdminClient.describe_topics``
(what a program reads; :func:`partition_states`) and Kafka's own
``kafka-topics --describe`` (what an operator reads; :func:`parse_topics_describe`):

>>> text = '''Topic: t\\tTopicId: x\\tPartitionCount: 2\\tReplicationFactor: 3\\tConfigs: min.insync.replicas=2
... \\tTopic: t\\tPartition: 0\\tLeader: 2\\tReplicas: 1,2,3\\tIsr: 2,3\\tElr: \\tLastKnownElr:
... \\tTopic: t\\tPartition: 1\\tLeader: none\\tReplicas: 2,3,1\\tIsr: 1\\tElr: \\tLastKnownElr:'''
>>> states = parse_topics_describe(text)
>>> states[0]
PartitionState(partition=0, leader=2, replicas=(1, 2, 3), isr=(2, 3))
>>> states[1].leader is None, states[1].isr
(True, (1,))

:class:`KeepWriting` sends numbered records from a background thread while a
lab stops nodes, and remembers which were acknowledged; :func:`wait_until` is
the bounded wait every step of such a lab needs:

>>> wait_until(lambda: 42, timeout=1, what="the answer")
42
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Self, TypeVar

__all__ = ["KeepWriting", "PartitionState", "parse_topics_describe", "partition_states",
           "wait_until"]

T = TypeVar("T")


@dataclass(frozen=True)
class PartitionState:
    """One partition's replicas: ``leader`` is ``None`` while it has none (offline);
    ``replicas`` in the broker's order (the first is the preferred leader);
    ``isr`` (in-sync replicas) sorted."""

    partition: int
    leader: int | None
    replicas: tuple[int, ...]
    isr: tuple[int, ...]


def partition_states(admin: Any, topic: str) -> dict[int, PartitionState]:
    """``{partition: PartitionState}`` of ``topic`` from ``admin.describe_topics``
    (a kafka-python ``KafkaAdminClient``); ``{}`` while the cluster does not know
    the topic yet (just created, or deleted)."""
    from kafka.errors import for_code

    (described,) = admin.describe_topics([topic])
    code = described["error_code"]
    if code == 3:  # UNKNOWN_TOPIC_OR_PARTITION
        return {}
    if code:
        raise for_code(code)(f"describing topic {topic!r}")
    states = {}
    for p in described["partitions"]:
        leader = p["leader_id"]
        states[p["partition_index"]] = PartitionState(
            partition=p["partition_index"], leader=None if leader < 0 else leader,
            replicas=tuple(p["replica_nodes"]), isr=tuple(sorted(p["isr_nodes"])))
    return dict(sorted(states.items()))


def _ids(value: str) -> tuple[int, ...]:
    return tuple(int(x) for x in value.split(",") if x.strip())


def parse_topics_describe(text: str, topic: str | None = None) -> dict[int, PartitionState]:
    """``{partition: PartitionState}`` from the output of ``kafka-topics --describe``
    (of ``topic`` only, if given; the ISR sorted, as :func:`partition_states` gives it)."""
    states = {}
    for line in text.splitlines():
        # tab-separated "Name: value" fields
        fields = {k.strip(): v.strip() for k, _, v in
                  (f.partition(":") for f in line.split("\t")) if k.strip()}
        if "Partition" not in fields or (topic is not None and fields.get("Topic") != topic):
            continue
        leader = fields.get("Leader", "none").strip()
        n = int(fields["Partition"])
        states[n] = PartitionState(partition=n, leader=int(leader) if leader.lstrip("-").isdigit()
                                   and int(leader) >= 0 else None,
                                   replicas=_ids(fields.get("Replicas", "")),
                                   isr=tuple(sorted(_ids(fields.get("Isr", "")))))
    return dict(sorted(states.items()))


def wait_until(check: Callable[[], T], timeout: float, what: str, interval: float = 0.25) -> T:
    """Call ``check()`` until it returns something true; return that.

    Raises :class:`TimeoutError` naming ``what`` and the last value seen after
    ``timeout`` seconds: every wait in a lab has an end.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what}: not within {timeout:g} s (last seen: {value!r})")
        time.sleep(interval)


class KeepWriting:
    """Send numbered records to ``topic`` with ``producer`` from a background thread,
    one every ``interval`` seconds, until :meth:`stop`; remember what the cluster
    acknowledged and what failed.

    Record ``seq`` has key ``f"{seq:06d}"`` and a JSON value ``{"seq": seq}``, so a
    read-back compares by key. ``acked`` holds the sequence numbers whose send
    succeeded (the broker said "stored"), ``failed`` maps the others to their
    error's type name. The producer stays the caller's to configure and close.
    """

    def __init__(self, producer: Any, topic: str, interval: float = 0.02, first: int = 0,
                 max_records: int = 100_000) -> None:
        self.producer, self.topic, self.interval = producer, topic, interval
        self.first = self.next_seq = first
        self.max_records = max_records
        self.acked: list[int] = []
        self.failed: dict[int, str] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _ok(self, seq: int, _metadata: Any) -> None:
        with self._lock:
            self.acked.append(seq)

    def _error(self, seq: int, exc: BaseException) -> None:
        with self._lock:
            self.failed[seq] = type(exc).__name__

    def _run(self) -> None:
        sent = 0
        while not self._stop.is_set() and sent < self.max_records:
            with self._lock:
                seq = self.next_seq
                self.next_seq += 1
            try:
                future = self.producer.send(self.topic, key=f"{seq:06d}".encode(),
                                            value=json.dumps({"seq": seq}).encode())
            except Exception as exc:  # noqa: BLE001 - e.g. metadata not available in time
                self._error(seq, exc)
            else:
                future.add_callback(self._ok, seq).add_errback(self._error, seq)
            sent += 1
            self._stop.wait(self.interval)

    def start(self) -> Self:
        self._thread = threading.Thread(target=self._run, name="keep-writing", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> Self:
        """Stop sending and wait (bounded) until every send so far has an answer."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        while self.pending and time.monotonic() < deadline:
            time.sleep(0.05)
        return self

    @property
    def pending(self) -> int:
        """Records sent that have neither been acknowledged nor failed yet."""
        with self._lock:
            return self.next_seq - self.first - len(self.acked) - len(self.failed)

    def acked_count(self) -> int:
        with self._lock:
            return len(self.acked)

    def errors(self) -> Counter:
        """How many sends failed, by error type."""
        with self._lock:
            return Counter(self.failed.values())

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
