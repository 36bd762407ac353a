"""A consumer that decodes records, commits when told to and bounds every wait.

>>> c = Consumer("orders", group_id="billing")   # no network I/O yet
>>> c.connected
False
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer
from kafka.structs import OffsetAndMetadata, TopicPartition

from kafkalab.clients.admin import Admin, UnknownTopicError
from kafkalab.clients.connection import UNREACHABLE, client_config, group_config, unavailable
from kafkalab.clients.message import Message
from kafkalab.clients.serdes import DeserializationError, Format, from_bytes
from kafkalab.settings import Settings, get_settings

__all__ = ["Consumer"]

log = logging.getLogger(__name__)


class _Listener(ConsumerRebalanceListener):
    def __init__(self, owner: Consumer) -> None:
        self.owner = owner

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.owner._stable = False
        # Records fetched but not yet handed out (see wait_for_assignment) are
        # dropped, and the partition goes back to the first of them: the next
        # owner, or this consumer again (kafka-python keeps the position of a
        # partition a member keeps), reads them from there.
        first = self.owner._unbuffer(revoked)
        if self.owner._raw is not None:
            for tp, offset in first.items():
                self.owner._raw.seek(tp, offset)
        log.debug("%s: partitions revoked %s", self.owner.group_id, revoked)

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.owner._stable = True
        self.owner.rebalances += 1
        log.info("%s: assigned %s", self.owner.group_id,
                 sorted((tp.topic, tp.partition) for tp in assigned))


class Consumer:
    """Read decoded records from topics, alone or as a member of a consumer group.

    Parameters
    ----------
    topics
        A topic name or names (may be empty; then call :meth:`assign`).
    group_id
        The consumer group; ``None`` takes ``KAFKA_GROUP_ID``. ``False`` means no
        group: the consumer reads every partition of ``topics`` and commits
        nothing.
    from_beginning
        Where a group with no committed offset starts: the oldest record
        (``True``, the default) or only new records (``False``).
    value_format, key_format
        ``"json"``, ``"str"`` or ``"raw"``.
    **config
        Any ``KafkaConsumer`` setting.

    Notes
    -----
    Offsets are committed by you (``enable_auto_commit=False``): call
    :meth:`commit` after processing, which gives at-least-once delivery.
    Group members use a 6 s session (see
    :func:`~kafkalab.clients.connection.group_config`).
    """

    def __init__(self, topics: str | Iterable[str] = (), *, group_id: str | None | bool = None,
                 settings: Settings | None = None, from_beginning: bool = True,
                 value_format: Format = "json", key_format: Format = "str",
                 **config: Any) -> None:
        self.settings = settings or get_settings()
        self.topics = [topics] if isinstance(topics, str) else list(topics)
        self.group_id = None if group_id is False else (group_id or self.settings.group_id)
        self.from_beginning = from_beginning
        self.value_format = value_format
        self.key_format = key_format
        self.rebalances = 0
        self._overrides = config
        self._raw: KafkaConsumer | None = None
        self._admin: Admin | None = None
        self._buffer: collections.deque[Message] = collections.deque()
        self._stable = False

    # -- connection ------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._raw is not None

    @property
    def joined(self) -> bool:
        """True once this consumer has its partitions (always, without a group)."""
        return self._stable

    @property
    def admin(self) -> Admin:
        if self._admin is None:
            self._admin = Admin(self.settings)
        return self._admin

    @property
    def raw(self) -> KafkaConsumer:
        """The underlying ``kafka.KafkaConsumer`` (created, and subscribed, on first use)."""
        if self._raw is None:
            if self.topics:
                known = set(self.admin.raw.list_topics())
                for topic in self.topics:
                    if topic not in known:
                        raise UnknownTopicError(topic)
            config = client_config(
                self.settings,
                group_id=self.group_id,
                enable_auto_commit=False,
                auto_offset_reset="earliest" if self.from_beginning else "latest",
                **(group_config(self.settings) if self.group_id else {}),
            )
            config.update(self._overrides)
            try:
                self._raw = KafkaConsumer(**config)
            except UNREACHABLE as exc:
                raise unavailable(self.settings, exc) from exc
            if self.topics and self.group_id is not None:
                self._raw.subscribe(self.topics, listener=_Listener(self))
                # Learn the topics' partitions before the first join. Otherwise
                # a leader that joins first assigns nothing ("no partition
                # metadata"), and the rebalance that its next metadata update
                # starts can be lost in kafka-python 3.0.12 when a poll times
                # out during it: the member stays rebalancing, without
                # partitions or heartbeats, until the group expels it.
                self._know(self.topics)
            elif self.topics:
                # No group: read every partition of the topics, from the start,
                # or from the end as it is now. Both are looked up (ListOffsets)
                # here, not at the first poll: records written in between are
                # "new" to whoever created this consumer.
                tps = [tp for t in self.topics for tp in self.admin.partitions(t)]
                self._know(self.topics)
                self._raw.assign(tps)
                self._stable = True
                where = (self._raw.beginning_offsets(tps) if self.from_beginning
                         else self._raw.end_offsets(tps))
                for tp, offset in where.items():
                    self._raw.seek(tp, offset)
        return self._raw

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        """Read exactly these partitions, outside any group rebalancing."""
        tps = list(partitions)
        raw = self.raw
        self._know({tp.topic for tp in tps})
        raw.assign(tps)
        self._stable = True

    def _know(self, topics: Iterable[str]) -> None:
        # Make sure this client's own metadata has the topics' partitions and
        # leaders before it reads them, instead of relying on a refresh that
        # kafka-python 3.0.12 may start only later (see the group case above).
        assert self._raw is not None
        for topic in topics:
            self._raw.partitions_for_topic(topic)

    def assignment(self) -> set[TopicPartition]:
        return set(self.raw.assignment())

    # -- reading ---------------------------------------------------------

    def _decode(self, record: Any) -> Message:
        error = None
        key = value = None
        try:
            key = from_bytes(self.key_format, record.key)
            value = from_bytes(self.value_format, record.value)
        except DeserializationError as exc:
            error = str(exc)
            log.warning("cannot decode %s[%d]@%d: %s", record.topic, record.partition,
                        record.offset, exc)
        return Message(topic=record.topic, partition=record.partition, offset=record.offset,
                       key=key, value=value, headers=tuple(record.headers or ()),
                       timestamp_ms=record.timestamp, raw_key=record.key,
                       raw_value=record.value, error=error)

    def _unbuffer(self, partitions: Iterable[TopicPartition]) -> dict[TopicPartition, int]:
        """Drop buffered records of ``partitions``; return the first dropped offset of each.

        The deque is changed in place: the rebalance listener calls this from
        inside a poll whose records are about to be added to the same deque.
        """
        gone = set(partitions)
        first: dict[TopicPartition, int] = {}
        kept = [m for m in self._buffer if m.tp not in gone]
        for m in self._buffer:
            if m.tp in gone:
                first[m.tp] = min(first.get(m.tp, m.offset), m.offset)
        self._buffer.clear()
        self._buffer.extend(kept)
        return first

    def _fetch(self, timeout: float, max_records: int | None) -> list[Message]:
        # The one call of kafka-python's poll in kafkalab. Every loop goes
        # through Consumer.poll: ConsumerLoop (every pipeline), read_to_end
        # (snapshot reads), wait_for_assignment.
        batches = self.raw.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
        decode = self._decode
        out: list[Message] = []
        for records in batches.values():
            out += [decode(r) for r in records]
        return out

    def poll(self, timeout: float = 1.0, max_records: int | None = None) -> list[Message]:
        """Records available now, waiting up to ``timeout`` seconds for the first one.

        Records that fail to decode are returned too, with ``error`` set, so
        nothing is dropped silently (:class:`kafkalab.clients.ConsumerLoop` sends
        them to the dead-letter topic).

        This is the raw call, one poll; :class:`~kafkalab.clients.ConsumerLoop`
        runs it in a bounded loop.
        """
        if self._buffer:
            n = len(self._buffer) if max_records is None else min(max_records, len(self._buffer))
            return [self._buffer.popleft() for _ in range(n)]
        return self._fetch(timeout, max_records)

    def messages(self, *, max_messages: int | None = None, timeout: float | None = None,
                 idle_timeout: float | None = None) -> Iterator[Message]:
        """Iterate over records, bounded by a count, a total time or an idle time.

        ``timeout`` and ``idle_timeout`` are in seconds. The idle time counts
        from the last batch, or from when the group gave this consumer its
        partitions (a join is not idleness). Nothing is committed: that is up
        to you. With no bound at all this runs until interrupted; notebooks
        always pass one.
        """
        # The one loop every pipeline runs (kafkalab.clients.loop), as a reader:
        # no handler, no commit. Imported here because the loop builds on this class.
        from kafkalab.clients.loop import ConsumerLoop

        reader = ConsumerLoop(self, commit=False, name=f"{self.group_id or 'reader'}-messages")
        for batch in reader.batches(max_messages=max_messages, timeout=timeout,
                                    idle_timeout=idle_timeout):
            yield from batch

    def read_to_end(self, ends: Mapping[TopicPartition, int], *, timeout: float,
                    max_messages: int | None = None) -> tuple[list[Message], bool]:
        """The records before ``ends[tp]`` on each of those partitions, read from
        where this consumer is; and whether every partition got there.

        A snapshot read (a DataFrame of a topic, a read model rebuilt, the
        last checkpoint): no group, no commit, bounded by ``timeout`` seconds
        and ``max_messages``. Done is judged by positions, not by records:
        transaction markers take offsets too, and a ``read_committed``
        consumer skips aborted records, so counting records could wait forever.
        """
        deadline = time.monotonic() + timeout
        out: list[Message] = []
        while True:
            if all(self.raw.position(tp) >= end for tp, end in ends.items() if end > 0):
                return out, True
            if max_messages is not None and len(out) >= max_messages:
                return out, False
            if time.monotonic() > deadline:
                return out, False
            limit = None if max_messages is None else max_messages - len(out)
            out.extend(m for m in self.poll(0.2, max_records=limit)
                       if m.tp in ends and m.offset < ends[m.tp])

    def __iter__(self) -> Iterator[Message]:
        return self.messages()

    def wait_for_assignment(self, timeout: float = 30.0) -> set[TopicPartition]:
        """Block until the group has given this member its partitions (possibly none),
        and the position on each is known.

        The position is where reading starts: the committed offset, or else the
        beginning or the end of the partition (``from_beginning``). kafka-python
        looks the end up in the background, after the assignment; waiting for
        it here means a record sent once this returns is read, even with
        ``from_beginning=False``. Records fetched meanwhile are kept and
        returned by the next :meth:`poll`.
        """
        deadline = time.monotonic() + timeout
        while not self._stable:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"consumer in group {self.group_id!r} got no assignment within {timeout} s")
            fetched = self._fetch(0.1, None)  # may rebalance, and so change the buffer
            self._buffer.extend(fetched)
        owned = self.assignment()
        for tp in owned:
            left = max(0.0, deadline - time.monotonic())
            if self.raw.position(tp, timeout_ms=int(left * 1000)) is None:
                raise TimeoutError(f"no position on {tp.topic}[{tp.partition}] within {timeout} s")
        return owned

    # -- offsets ---------------------------------------------------------

    def commit(self, messages: Iterable[Message] | None = None) -> None:
        """Commit: the current positions, or just past each given message.

        Commit *after* processing: a crash before the commit re-delivers the
        records (at-least-once), never skips them.
        """
        if self.group_id is None:
            return
        if messages is None:
            self.raw.commit()
            return
        latest: dict[TopicPartition, int] = {}
        for m in messages:
            latest[m.tp] = max(latest.get(m.tp, -1), m.offset + 1)
        if latest:
            self.raw.commit({tp: OffsetAndMetadata(off, "", -1) for tp, off in latest.items()})

    def seek(self, tp: TopicPartition, offset: int) -> None:
        self.raw.seek(tp, offset)
        self._unbuffer([tp])

    def seek_to_beginning(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        tps = list(partitions) if partitions is not None else list(self.assignment())
        self.raw.seek_to_beginning(*tps)
        self._unbuffer(tps)

    def seek_to_end(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        """Skip to the end: only records written after this are read."""
        tps = list(partitions) if partitions is not None else list(self.assignment())
        self.raw.seek_to_end(*tps)
        self._unbuffer(tps)

    def lag(self) -> dict[TopicPartition, int]:
        """Records not yet read on each assigned partition (end - position)."""
        tps = list(self.assignment())
        ends = self.admin.end_offsets(tps)
        return {tp: ends[tp] - self.raw.position(tp) for tp in tps}

    # -- lifecycle -------------------------------------------------------

    def close(self) -> None:
        """Leave the group (so others take over at once) and disconnect."""
        if self._raw is not None:
            self._raw.close(autocommit=False)
            self._raw = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def __enter__(self) -> Consumer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
