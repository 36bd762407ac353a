"""Checkpoints in a changelog topic: each partition's state *together with its offset*.

A processor that dies mid-window must not lose the window, nor count its
records twice when it comes back. Committing offsets alone is not enough:
the state lives in memory. So after each batch the processor writes one
record per input partition to a *changelog topic*::

    key "orders:2"  ->  {"offset": 1234, "state": {open windows ...}}

The state and the offset it covers travel in **one record**, so they can
never disagree (that is the atomicity). On (re)start, a processor reads the
last record of each partition it owns, restores the state, and continues from
that offset; records below it are skipped. Because the checkpoint is in
Kafka, a partition's state follows it to whichever processor the group gives
it to, on this machine or another. The topic is compacted: Kafka may drop a
record once a newer one with the same key exists, and a restore reads only
the last one per key.

Kafka Streams differs: its changelog (also compacted) is keyed per state
store key, and input offsets are committed to the group separately, so the
two are atomic only under ``processing.guarantee=exactly_once_v2`` (one
transaction); under the default at-least-once, records replayed after a crash
update the restored state again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from kafka.structs import TopicPartition

from kafkalab.clients import Admin, Consumer, Producer
from kafkalab.settings import Settings, get_settings

__all__ = ["Changelog"]

log = logging.getLogger(__name__)


class Changelog:
    """Save and load per-partition snapshots in ``topic`` (partition ``p`` holds partition ``p``'s).

    Parameters
    ----------
    topic
        The changelog topic, usually ``<application id>-changelog``.
    settings
        Where the brokers are.

    Examples
    --------
    >>> log_ = Changelog("orders-per-minute-changelog")   # no network I/O yet
    >>> log_.topic
    'orders-per-minute-changelog'
    """

    def __init__(self, topic: str, settings: Settings | None = None, *,
                 producer: Producer | None = None) -> None:
        self.topic = topic
        self.settings = settings or get_settings()
        self._producer = producer
        self._own_producer = producer is None
        self.saved = 0

    @property
    def producer(self) -> Producer:
        if self._producer is None:
            self._producer = Producer(self.settings)
        return self._producer

    def attach(self, producer: Producer) -> None:
        """Write with ``producer`` (a processor shares its own) instead of a private one."""
        self.close()
        self._producer = producer
        self._own_producer = False

    def ensure(self, partitions: int, admin: Admin) -> None:
        """Create the topic (compacted) with one partition per input partition."""
        admin.ensure_topic(self.topic, partitions=partitions,
                           config={"cleanup.policy": "compact"})

    def save(self, snapshots: dict[int, dict[str, Any]], *, source: str,
             timeout: float = 10.0) -> None:
        """Write one snapshot per partition and wait until the broker has them all.

        Waiting matters: the processor commits its offsets right after, and
        a commit must never get ahead of the state it stands for.
        """
        futures = [self.producer.send(self.topic, snap, key=f"{source}:{p}", partition=p)
                   for p, snap in snapshots.items()]
        for f in futures:
            f.get(timeout=timeout)
        self.saved += len(futures)

    def load(self, partitions: Iterable[int], *, timeout: float = 10.0) -> dict[int, dict[str, Any]]:
        """The latest snapshot of each partition that has one (read from the end of the log)."""
        tps = [TopicPartition(self.topic, p) for p in partitions]
        if not tps:
            return {}
        reader = Consumer(group_id=False, settings=self.settings, fetch_max_wait_ms=100)
        try:
            ends = reader.admin.end_offsets(tps)
            wanted = {tp: end - 1 for tp, end in ends.items() if end > 0}
            if not wanted:
                return {}
            reader.assign(wanted)
            for tp, offset in wanted.items():
                reader.seek(tp, offset)
            last, done = reader.read_to_end({tp: ends[tp] for tp in wanted}, timeout=timeout)
            if not done:
                missing = sorted(tp.partition for tp in wanted if tp.partition not in
                                 {m.partition for m in last})
                raise TimeoutError(f"could not read the checkpoints of partitions {missing} "
                                   f"from {self.topic} within {timeout} s")
            found: dict[int, dict[str, Any]] = {
                msg.partition: msg.value for msg in last
                if msg.offset == wanted.get(msg.tp) and msg.ok}
            return found
        finally:
            reader.close()

    def close(self) -> None:
        if self._own_producer and self._producer is not None:
            self._producer.close()
            self._producer = None
