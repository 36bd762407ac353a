"""Topics, offsets, consumer groups and lag, over kafka-python's admin client.

The same calls work on the local broker and on a cluster named in
``KAFKA_BROKERS``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from kafka import KafkaAdminClient, KafkaConsumer
from kafka.errors import GroupIdNotFoundError, TopicAlreadyExistsError, UnknownTopicOrPartitionError
from kafka.structs import OffsetAndMetadata, TopicPartition

from kafkalab.clients.connection import UNREACHABLE, client_config, unavailable
from kafkalab.clients.retry import Backoff, retry
from kafkalab.settings import Settings, get_settings

__all__ = ["Admin", "PartitionLag", "TopicInfo", "UnknownTopicError"]

log = logging.getLogger(__name__)

#: How long a group request waits for a coordinator that is still being set up (about 10 s).
_COORDINATOR_BACKOFF = Backoff(initial=0.2, max_delay=1.0, attempts=15)


class UnknownTopicError(LookupError):
    """The topic does not exist (the message says how to create it)."""

    def __init__(self, topic: str) -> None:
        super().__init__(
            f"topic {topic!r} does not exist; create it with `kafkalab topics create {topic}` "
            "or Admin().ensure_topic(...)"
        )
        self.topic = topic


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: int
    replication_factor: int
    leaders: tuple[int, ...]
    #: The ID Kafka gives a topic when it is created: a topic deleted and created
    #: again under the same name has a new one. Not compared, as before it existed.
    topic_id: str | None = field(default=None, compare=False)


@dataclass(frozen=True)
class PartitionLag:
    """How far a group is behind on one partition: ``end - committed``."""

    topic: str
    partition: int
    committed: int | None
    end: int

    @property
    def lag(self) -> int:
        # A group that never committed is behind by the whole partition.
        return self.end - (self.committed or 0)


class Admin:
    """Administrative calls: topics, offsets, groups and lag.

    The connection is opened on first use. Use as a context manager or call
    :meth:`close`.
    """

    def __init__(self, settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self._raw: KafkaAdminClient | None = None

    @property
    def raw(self) -> KafkaAdminClient:
        """The underlying ``kafka.KafkaAdminClient``."""
        if self._raw is None:
            try:
                self._raw = KafkaAdminClient(**client_config(self.settings))
            except UNREACHABLE as exc:
                raise unavailable(self.settings, exc) from exc
        return self._raw

    def close(self) -> None:
        if self._raw is not None:
            self._raw.close()
            self._raw = None

    def __enter__(self) -> Admin:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- topics ----------------------------------------------------------

    def topics(self) -> list[str]:
        """Topic names, sorted, without internal ``__`` topics."""
        return sorted(t for t in self.raw.list_topics() if not t.startswith("__"))

    def broker_count(self) -> int:
        return len(self.raw.describe_cluster()["brokers"])

    def ensure_topic(self, name: str, partitions: int = 3, replication_factor: int | None = None,
                     config: dict[str, str] | None = None) -> bool:
        """Create the topic unless it exists; return True if this call created it.

        ``replication_factor`` defaults to ``min(3, brokers)``: 1 on a single
        local broker, 3 on the compose cluster. An existing topic with fewer
        partitions is left alone with a warning: adding partitions changes
        which partition a key maps to, so it is a decision to take on purpose.
        """
        rf = replication_factor or min(3, self.broker_count())
        try:
            self.raw.create_topics(
                {name: {"num_partitions": partitions, "replication_factor": rf,
                        "configs": dict(config or {})}},
                wait_for_metadata=True,
            )
            log.info("created topic %s (%d partitions, replication %d)", name, partitions, rf)
            return True
        except TopicAlreadyExistsError:
            # Created a moment ago by someone else (two processors starting
            # together): its metadata may not have reached us yet.
            have = retry(lambda: self.describe_topic(name), backoff=Backoff(initial=0.05, max_delay=0.5, attempts=20),
                         retry_on=lambda exc: isinstance(exc, UnknownTopicError)).partitions
            if have < partitions:
                log.warning("topic %s exists with %d partitions, fewer than the %d asked for",
                            name, have, partitions)
            return False

    def ensure_topics(self, *names: str | None, partitions: int = 3) -> None:
        """:meth:`ensure_topic` for each name given (``None``, an output turned off, is skipped).

        Pipelines create their topics up front: the consumer refuses a topic
        that does not exist, and a real cluster may not auto-create outputs.
        """
        for name in names:
            if name:
                self.ensure_topic(name, partitions=partitions)

    def describe_topic(self, name: str) -> TopicInfo:
        """Partition count, replication and leaders; :class:`UnknownTopicError` if missing."""
        if name not in self.raw.list_topics():
            raise UnknownTopicError(name)
        try:
            (meta,) = self.raw.describe_topics([name])
        except UnknownTopicOrPartitionError:  # deleted between the two calls
            raise UnknownTopicError(name) from None
        parts = sorted(meta["partitions"], key=lambda p: p["partition_index"])
        if not parts:
            raise UnknownTopicError(name)
        return TopicInfo(
            name=name,
            partitions=len(parts),
            replication_factor=len(parts[0]["replica_nodes"]),
            leaders=tuple(p["leader_id"] for p in parts),
            topic_id=str(meta["topic_id"]) if meta.get("topic_id") else None,
        )

    def delete_topic(self, name: str, missing_ok: bool = True) -> bool:
        """Delete a topic; return False if it did not exist (and ``missing_ok``)."""
        try:
            self.raw.delete_topics([name])
            return True
        except UnknownTopicOrPartitionError:
            if missing_ok:
                return False
            raise UnknownTopicError(name) from None

    def partitions(self, topic: str) -> list[TopicPartition]:
        return [TopicPartition(topic, p) for p in range(self.describe_topic(topic).partitions)]

    # -- offsets ---------------------------------------------------------

    def end_offsets(self, partitions: str | Iterable[TopicPartition],
                    timeout: float = 10.0) -> dict[TopicPartition, int]:
        """The next offset to be written on each partition (the high watermark), by ListOffsets."""
        tps = self.partitions(partitions) if isinstance(partitions, str) else list(partitions)
        if not tps:
            return {}
        consumer = KafkaConsumer(**client_config(self.settings, enable_auto_commit=False))
        try:
            return consumer.end_offsets(tps, timeout_ms=int(timeout * 1000))
        finally:
            consumer.close()

    def beginning_offsets(self, partitions: str | Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        tps = self.partitions(partitions) if isinstance(partitions, str) else list(partitions)
        consumer = KafkaConsumer(**client_config(self.settings, enable_auto_commit=False))
        try:
            return consumer.beginning_offsets(tps)
        finally:
            consumer.close()

    def message_count(self, topic: str) -> int:
        """Records in a topic (end minus beginning offsets, summed; includes control records)."""
        ends = self.end_offsets(topic)
        starts = self.beginning_offsets(list(ends))
        return sum(ends[tp] - starts[tp] for tp in ends)

    # -- groups ----------------------------------------------------------

    def groups(self) -> list[str]:
        """Group ids the cluster knows."""
        return sorted(g["group_id"] for g in self.raw.list_groups())

    def group_offsets(self, group: str) -> dict[TopicPartition, int]:
        """Committed offsets of a group (empty if it never committed)."""
        # The first group request on a new cluster makes the broker create its
        # __consumer_offsets topic; until that is loaded it answers "coordinator
        # not available", a retriable error: ask again, briefly, as Kafka's own
        # clients do.
        result = retry(lambda: self.raw.list_group_offsets({group: None}),
                       backoff=_COORDINATOR_BACKOFF).get(group, {})
        return {tp: om.offset for tp, om in result.items() if om.offset >= 0}

    def set_group_offsets(self, group: str, offsets: dict[TopicPartition, int]) -> None:
        """Overwrite committed offsets; the group must have no live members."""
        if offsets:
            self.raw.alter_group_offsets(
                group, {tp: OffsetAndMetadata(off, "", -1) for tp, off in offsets.items()})

    def describe_group(self, group: str) -> dict[str, Any]:
        """State and member ids of a group."""
        desc = self.raw.describe_groups([group])[group]
        return {"group": group, "state": desc.get("group_state"),
                "members": [m.get("member_id") for m in desc.get("members", [])]}

    def delete_group(self, group: str) -> bool:
        """Delete a group and its committed offsets; return False if it did not exist."""
        try:
            result = self.raw.delete_groups([group])
        except GroupIdNotFoundError:
            return False
        return result.get(group) == "OK"

    def lag(self, group: str, topic: str | None = None) -> list[PartitionLag]:
        """Lag per partition of ``group`` on ``topic`` (or on every topic it committed on)."""
        committed = self.group_offsets(group)
        tps = self.partitions(topic) if topic else sorted(committed)
        ends = self.end_offsets(tps)
        return [PartitionLag(tp.topic, tp.partition, committed.get(tp), ends[tp])
                for tp in sorted(tps)]
