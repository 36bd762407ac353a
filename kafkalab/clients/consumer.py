"""A consumer that decodes records, joins groups quickly and recovers stuck groups.

>>> c = Consumer("orders", group_id="billing")   # no network I/O yet
>>> c.connected
False
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Iterable, Iterator
from typing import Any

from kafka import ConsumerRebalanceListener, KafkaConsumer
from kafka.structs import OffsetAndMetadata, TopicPartition

from kafkalab.clients.admin import Admin, UnknownTopicError
from kafkalab.clients.connection import UNREACHABLE, client_config, group_config, unavailable
from kafkalab.clients.message import Message
from kafkalab.clients.serdes import DeserializationError, Format, from_bytes
from kafkalab.settings import Settings, get_settings

__all__ = ["Consumer", "StuckGroupError"]

log = logging.getLogger(__name__)

_DEFAULT = object()


class StuckGroupError(RuntimeError):
    """The consumer could not get into its group (and was not allowed to repair it)."""


class _Listener(ConsumerRebalanceListener):
    def __init__(self, owner: "Consumer") -> None:
        self.owner = owner

    def on_partitions_revoked(self, revoked: list[TopicPartition]) -> None:
        self.owner._stable = False
        self.owner._waiting_since = time.monotonic()
        # Records buffered for partitions we no longer own belong to the next owner.
        self.owner._buffer = collections.deque(
            m for m in self.owner._buffer if m.tp not in set(revoked))
        log.debug("%s: partitions revoked %s", self.owner.group_id, revoked)

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        self.owner._stable = True
        self.owner.rebalances += 1
        log.info("%s: assigned %s", self.owner.group_id,
                 sorted((tp.topic, tp.partition) for tp in assigned))
        needs_position = not self.owner.from_beginning or self.owner._restore
        if needs_position and assigned and self.owner._raw is not None:
            # This runs on kafka-python's I/O thread, which must not block; pause
            # the partitions and position them from the user's thread (_fetch).
            self.owner._raw.pause(*assigned)
            self.owner._to_position.update(assigned)


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
    stuck_after
        Seconds without an assignment after which a group counts as stuck.
    **config
        Any ``KafkaConsumer`` setting.

    Notes
    -----
    Offsets are committed by you (``enable_auto_commit=False``): call
    :meth:`commit` after processing, which gives at-least-once delivery.

    Embedded-broker quirks handled here:

    * joins take half the session timeout, so the session timeout is 2 s on
      the embedded broker and 6 s on real Kafka (see
      :func:`~kafkalab.clients.connection.group_config`);
    * a group whose member left during a rebalance never forms again: after
      ``stuck_after`` seconds without partitions, the group is deleted and
      re-created with its committed offsets restored, with a warning in the log;
    * "latest" is computed from the high watermark, because its ListOffsets
      answer is wrong after batched sends.
    """

    def __init__(self, topics: str | Iterable[str] = (), *, group_id: str | None | bool = None,
                 settings: Settings | None = None, from_beginning: bool = True,
                 value_format: Format = "json", key_format: Format = "str",
                 stuck_after: float = 15.0, **config: Any) -> None:
        self.settings = settings or get_settings()
        self.topics = [topics] if isinstance(topics, str) else list(topics)
        self.group_id = None if group_id is False else (group_id or self.settings.group_id)
        self.from_beginning = from_beginning
        self.value_format = value_format
        self.key_format = key_format
        self.stuck_after = stuck_after
        self.rebalances = 0
        self.recoveries = 0
        self._overrides = config
        self._raw: KafkaConsumer | None = None
        self._admin: Admin | None = None
        self._buffer: collections.deque[Message] = collections.deque()
        self._stable = False
        self._waiting_since = time.monotonic()
        self._to_position: set[TopicPartition] = set()
        self._restore: dict[TopicPartition, int] = {}

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
                self._waiting_since = time.monotonic()
                self._raw.subscribe(self.topics, listener=_Listener(self))
            elif self.topics:
                # No group: read every partition of the topics, from the start
                # or from the end (the high watermark).
                tps = [tp for t in self.topics for tp in self.admin.partitions(t)]
                self._raw.assign(tps)
                self._stable = True
                if self.from_beginning:
                    self._raw.seek_to_beginning(*tps)
                else:
                    for tp, end in self.admin.end_offsets(tps).items():
                        self._raw.seek(tp, end)
        return self._raw

    def assign(self, partitions: Iterable[TopicPartition]) -> None:
        """Read exactly these partitions, outside any group rebalancing."""
        self.raw.assign(list(partitions))
        self._stable = True

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

    def _fetch(self, timeout: float, max_records: int | None) -> list[Message]:
        batches = self.raw.poll(timeout_ms=int(timeout * 1000), max_records=max_records)
        self._watch_group()
        if self._to_position:
            self._position_new_partitions()
        out: list[Message] = []
        for records in batches.values():
            out.extend(self._decode(r) for r in records)
        return out

    def poll(self, timeout: float = 1.0, max_records: int | None = None) -> list[Message]:
        """Records available now, waiting up to ``timeout`` seconds for the first one.

        Records that fail to decode are returned too, with ``error`` set, so
        nothing is dropped silently (:func:`kafkalab.clients.run` sends them to
        the dead-letter topic).
        """
        if self._buffer:
            n = len(self._buffer) if max_records is None else min(max_records, len(self._buffer))
            return [self._buffer.popleft() for _ in range(n)]
        return self._fetch(timeout, max_records)

    def messages(self, *, max_messages: int | None = None, timeout: float | None = None,
                 idle_timeout: float | None = None) -> Iterator[Message]:
        """Iterate over records, bounded by a count, a total time or an idle time.

        ``timeout`` and ``idle_timeout`` are in seconds. The idle time counts
        from the last record, or from when the group gave this consumer its
        partitions (a join is not idleness). With no bound at all this runs
        until interrupted; notebooks always pass one.
        """
        start = last = time.monotonic()
        seen = 0
        while max_messages is None or seen < max_messages:
            now = time.monotonic()
            if timeout is not None and now - start >= timeout:
                return
            if not self._stable:
                last = now  # joining the group is not idleness: the clock starts once we have partitions
            if idle_timeout is not None and now - last >= idle_timeout:
                return
            wait = 0.5 if timeout is None else max(0.0, min(0.5, timeout - (now - start)))
            limit = None if max_messages is None else max_messages - seen
            for msg in self.poll(wait, max_records=limit):
                seen += 1
                last = time.monotonic()
                yield msg

    def __iter__(self) -> Iterator[Message]:
        return self.messages()

    def wait_for_assignment(self, timeout: float = 30.0) -> set[TopicPartition]:
        """Block until the group has given this member its partitions (possibly none).

        Records fetched meanwhile are kept and returned by the next :meth:`poll`.
        """
        deadline = time.monotonic() + timeout
        while not self._stable:
            if time.monotonic() > deadline:
                raise TimeoutError(
                    f"consumer in group {self.group_id!r} got no assignment within {timeout} s")
            self._buffer.extend(self._fetch(0.1, None))
        return self.assignment()

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
        self._buffer = collections.deque(m for m in self._buffer if m.tp != tp)

    def seek_to_beginning(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        tps = list(partitions) if partitions is not None else list(self.assignment())
        self.raw.seek_to_beginning(*tps)
        self._buffer = collections.deque(m for m in self._buffer if m.tp not in set(tps))

    def seek_to_end(self, partitions: Iterable[TopicPartition] | None = None) -> None:
        """Skip to the end (the high watermark: right on every broker)."""
        tps = list(partitions) if partitions is not None else list(self.assignment())
        for tp, end in self.admin.end_offsets(tps).items():
            self.seek(tp, end)

    def lag(self) -> dict[TopicPartition, int]:
        """Records not yet read on each assigned partition (end - position)."""
        tps = list(self.assignment())
        ends = self.admin.end_offsets(tps)
        return {tp: ends[tp] - self.raw.position(tp) for tp in tps}

    def _position_new_partitions(self) -> None:
        # For partitions the group has no committed offset on: resume where a
        # recovered group had committed (see recover_group), or, for "only new
        # records", start at the high watermark (the embedded broker's
        # ListOffsets "latest" would re-deliver most of the last batch).
        owned = self._to_position & set(self.raw.assignment())
        self._to_position.clear()
        if self._restore:
            # The re-created group exists now that we joined it: store the old
            # offsets at once, for every partition (owned by us or not), so that
            # closing or crashing before our first commit loses nothing.
            restore, self._restore = self._restore, {}
            missing = {tp: off for tp, off in restore.items() if self.raw.committed(tp) is None}
            if missing:
                self.raw.commit({tp: OffsetAndMetadata(off, "", -1) for tp, off in missing.items()})
                log.info("%s: restored %d committed offsets", self.group_id, len(missing))
            for tp in owned:
                if tp in missing:
                    self.raw.seek(tp, missing[tp])
        to_end = [] if self.from_beginning else [
            tp for tp in owned if self.raw.committed(tp) is None]
        if to_end:
            for tp, end in self.admin.end_offsets(to_end).items():
                self.raw.seek(tp, end)
        self.raw.resume(*owned)

    # -- stuck groups ------------------------------------------------------

    def _watch_group(self) -> None:
        if self.group_id is None or self._stable or not self.topics:
            return
        waited = time.monotonic() - self._waiting_since
        if waited < self.stuck_after:
            return
        if not self.settings.local:
            log.warning("consumer in group %r has had no partitions for %.0f s; is the "
                        "group rebalancing?", self.group_id, waited)
            self._waiting_since = time.monotonic()
            return
        self.recover_group()

    def recover_group(self) -> None:
        """Delete and re-create a stuck group, keeping its committed offsets.

        The embedded broker keeps a departed member as the leader of a group
        whose member left during a rebalance, and the group never forms again.
        Deleting it lets a new join succeed, but also deletes its committed
        offsets, and the embedded broker refuses offset commits for a group
        that does not exist yet. So the offsets are kept here and each
        partition is positioned at them once it is assigned again; the next
        commit stores them in the new group.
        """
        group = self.group_id
        assert group is not None
        offsets = self.admin.group_offsets(group)
        log.warning(
            "consumer group %r is stuck: no partitions after %.0f s (an embedded-broker quirk: "
            "a member left while the group was rebalancing). Deleting and re-creating the group, "
            "keeping its %d committed offsets.", group, self.stuck_after, len(offsets))
        if self._raw is not None:
            self._raw.close(autocommit=False)
            self._raw = None
        self._buffer.clear()
        self.admin.delete_group(group)
        self._restore = dict(offsets)
        self.recoveries += 1
        self._stable = False
        _ = self.raw  # re-create and re-subscribe

    # -- lifecycle -------------------------------------------------------

    def close(self) -> None:
        """Leave the group (so others take over at once) and disconnect."""
        if self._raw is not None:
            self._raw.close(autocommit=False)
            self._raw = None
        if self._admin is not None:
            self._admin.close()
            self._admin = None

    def __enter__(self) -> "Consumer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
