"""Run a pipeline over Kafka: consume, transform, aggregate per partition, checkpoint, emit.

One loop, in this order, for every batch of records::

    poll  ->  (new partitions? restore their checkpoints)  ->  process each record
          ->  flush outputs  ->  save checkpoints (state + offset)  ->  commit offsets

That loop is :class:`kafkalab.clients.ConsumerLoop`: restoring is its
``on_assign`` hook, the checkpoint its ``before_commit`` hook.

Processors with the same ``application_id`` form one consumer group, so two
of them split the partitions (and so the keys) between them, and together
produce what one would. The guarantee: **state is exactly once** (a record is
in a partition's state once, even after a crash), **outputs are at least
once** (after a crash, results since the last checkpoint are emitted again
with the same values; readers keep the latest value per key and window).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from kafka.structs import TopicPartition

from kafkalab.clients import Admin, Batch, Bounds, Consumer, ConsumerLoop, DeadLetterQueue, LoopStats, Message, Producer
from kafkalab.clients.deadletter import DEAD_LETTER_TOPIC
from kafkalab.settings import Settings, get_settings
from kafkalab.streams.checkpoint import Changelog
from kafkalab.streams.stream import WindowedTable
from kafkalab.streams.task import Task
from kafkalab.windows import LateRecord, WindowResult

__all__ = ["Processor", "ProcessorStats"]

log = logging.getLogger(__name__)


@dataclass
class ProcessorStats(LoopStats):
    """What a processor did (counters only grow): the loop's counts (``seen`` is
    records read, all topics), and the pipeline's own."""

    results: int = 0          # window results emitted
    late: int = 0             # late records sent to the side output
    skipped: int = 0          # already in a restored state, or a repartition duplicate
    repartitioned: int = 0    # records re-keyed into the repartition topic
    checkpoints: int = 0      # snapshots saved
    restored: int = 0         # partitions restored from a checkpoint


class Processor:
    """Run a :class:`~kafkalab.streams.WindowedTable` pipeline against the brokers.

    Parameters
    ----------
    table
        The pipeline, e.g. ``Stream("orders").group_by_key().window(...).count().to("out")``.
    application_id
        Names the consumer group and the internal topics
        (``<id>-changelog``, ``<id>-repartition``, ``<id>-late``).
    settings
        Where the brokers are (``KAFKA_BROKERS``, or a local broker).
    on_record
        Called after each record (tests use it to kill the process mid-window).
    batch_size
        Most records per poll; a checkpoint follows every batch, so smaller
        batches mean less to redo after a crash and more checkpoint writes.
        A checkpoint waits for the outputs, then for the changelog, then
        commits: three round trips to the broker, which at 500 records per
        poll took longer than reading the records (bench/windows.py). Kafka
        Streams commits every 30 s by default (``commit.interval.ms``),
        quix-streams every 5 s; 5000 records is a fraction of a second.

    Examples
    --------
    >>> from kafkalab import windows
    >>> from kafkalab.streams import Stream
    >>> table = Stream("orders").group_by_key().window(windows.Tumbling()).count()
    >>> p = Processor(table, application_id="orders-per-minute")   # no network I/O yet
    >>> p.changelog.topic, p.repartition_topic, p.late_topic
    ('orders-per-minute-changelog', None, 'orders-per-minute-late')
    """

    def __init__(self, table: WindowedTable, *, application_id: str,
                 settings: Settings | None = None, dead_letter_topic: str = DEAD_LETTER_TOPIC,
                 on_record: Callable[[Processor, Message], Any] | None = None,
                 batch_size: int = 5000) -> None:
        self.table = table
        self.application_id = application_id
        self.settings = settings or get_settings()
        self.source = table.source.topic
        self.repartition_topic = f"{application_id}-repartition" if table.repartitions else None
        # With a one-partition source all keys are in one partition already:
        # the new key is computed in place, no repartition topic needed.
        self._rekey_inline = False
        self.late_topic = f"{application_id}-late"
        self.dead_letter_topic = dead_letter_topic
        self.on_record = on_record
        self.batch_size = batch_size
        self.stats = ProcessorStats()
        self.changelog = Changelog(f"{application_id}-changelog", self.settings)
        self.tasks: dict[TopicPartition, Task] = {}
        self._consumer: Consumer | None = None
        self._producer: Producer | None = None
        self._dlq: DeadLetterQueue | None = None
        self._loop: ConsumerLoop | None = None

    @property
    def producer(self) -> Producer:
        """The producer outputs go through (flushed before every checkpoint).

        A sink that writes to Kafka itself (alerts, say) should use it, so that
        its records are stored before the offsets they follow from are committed.
        """
        if self._producer is None:
            raise RuntimeError("the processor is not running yet: call run() first")
        return self._producer

    @property
    def input_topic(self) -> str:
        """The topic the aggregation reads: the repartition topic, or the source."""
        return self.repartition_topic or self.source

    # -- set-up ------------------------------------------------------------

    def setup(self) -> None:
        """Create the internal and output topics (partitions as the source has)."""
        with Admin(self.settings) as admin:
            n = admin.describe_topic(self.source).partitions
            if self.repartition_topic and n == 1:
                self.repartition_topic, self._rekey_inline = None, True
            self.changelog.ensure(n, admin)
            if self.repartition_topic:
                admin.ensure_topic(self.repartition_topic, partitions=n)
            topics = {s for s in (*self.table.sinks, *self.table.late_sinks) if isinstance(s, str)}
            if not self.table.late_sinks:
                topics.add(self.late_topic)
            for topic in sorted(topics):
                admin.ensure_topic(topic, partitions=n)
            admin.ensure_topic(self.dead_letter_topic, partitions=1)

    def _connect(self) -> Consumer:
        if self._consumer is None:
            self.setup()
            self._producer = Producer(self.settings)
            self.changelog.attach(self._producer)
            self._dlq = DeadLetterQueue(self._producer, self.dead_letter_topic)
            topics = [self.source] + ([self.repartition_topic] if self.repartition_topic else [])
            self._consumer = Consumer(topics, group_id=self.application_id,
                                      settings=self.settings, from_beginning=True,
                                      max_poll_records=self.batch_size)
        return self._consumer

    # -- the loop ----------------------------------------------------------

    def stop(self) -> None:
        """Finish the current batch, checkpoint and return (from any thread)."""
        if self._loop is not None:
            self._loop.stop()

    def run(self, bounds: Bounds | None = None, *, max_messages: int | None = None,
            timeout: float | None = None, idle_timeout: float | None = None,
            flush_windows: bool = False) -> ProcessorStats:
        """Process until stopped or a bound is reached; checkpoint after every batch.

        Parameters
        ----------
        max_messages, timeout, idle_timeout
            Bounds: records read, total seconds, seconds without a record
            (counted from when the group has given this processor partitions).
        flush_windows
            At the end, emit every still-open window as final (for bounded
            demos). The flush is not checkpointed, so a later run continues
            the windows where they were.
        """
        # The one consume loop: new partitions are restored before their first
        # batch (on_assign), and each batch is checkpointed before its commit.
        # max_records: a run bounded by max_messages polls batch_size records at
        # a time too (not all it has left at once), with a checkpoint after each
        # batch, as an unbounded run does.
        self._loop = ConsumerLoop(self._connect(), batch_handler=self._process,
                                  dead_letter=self._dlq, on_assign=self._sync_assignment,
                                  before_commit=self._checkpoint, stats=self.stats,
                                  max_records=self.batch_size, name=self.application_id)
        self._loop.run(bounds, max_messages=max_messages, timeout=timeout,
                       idle_timeout=idle_timeout, handle_signals=False)
        if flush_windows:
            for task in self.tasks.values():
                self._emit(task.aggregation.flush())
            if self._producer is not None:
                self._producer.flush()
        return self.stats

    def _process(self, batch: Batch) -> None:
        # Every record polled, the undecodable ones too (the loop has
        # dead-lettered those): their offsets still move the partition on.
        # A poll holds runs of records of one partition; each run goes to its
        # partition's windows at once (one record at a time when on_record
        # must be called after each).
        one_by_one = self.on_record is not None
        run: list[Message] = []
        for msg in batch.polled:
            if run and (one_by_one or msg.tp != run[-1].tp):
                self._run(run, batch)
                run = []
            run.append(msg)
        if run:
            self._run(run, batch)

    def _run(self, run: list[Message], batch: Batch) -> None:
        """Records of one partition, in offset order."""
        if self.repartition_topic and run[0].topic == self.source:
            for msg in run:
                if msg.ok:
                    self._repartition(msg, batch)
        else:
            self._aggregate(run, batch)
        if self.on_record is not None:
            for msg in run:
                self.on_record(self, msg)

    def _sync_assignment(self, assigned: set[TopicPartition]) -> None:
        """Restore checkpoints of newly assigned partitions; forget revoked ones."""
        assert self._consumer is not None
        owned = {tp for tp in assigned if tp.topic == self.input_topic}
        for tp in [tp for tp in self.tasks if tp not in owned]:
            log.info("%s: partition %d moved to another processor", self.application_id,
                     tp.partition)
            del self.tasks[tp]
        new = sorted(owned - set(self.tasks))
        if not new:
            return
        snaps = self.changelog.load(tp.partition for tp in new)
        for tp in new:
            task = Task(self.table, tp.partition)
            if tp.partition in snaps:
                task.restore(snaps[tp.partition]["task"])
                # Continue right after what the state covers.
                self._consumer.seek(tp, task.next_offset)
                self.stats.restored += 1
                log.info("%s: restored partition %d at offset %d (%d open windows)",
                         self.application_id, tp.partition, task.next_offset,
                         task.aggregation.open_windows)
            self.tasks[tp] = task

    def _repartition(self, msg: Message, batch: Batch) -> None:
        """Stage 1 of ``group_by``: transform, re-key, write to the repartition topic."""
        assert self._producer is not None and self.repartition_topic is not None
        try:
            keyed = self.table.transform(msg, rekey=True)
        except Exception as exc:  # noqa: BLE001 - a bad record is dead-lettered, not dropped
            batch.dead_letter(msg, exc, stage="transform")
            return
        for i, (key, value) in enumerate(keyed):
            # The source position travels along, so stage 2 can drop the copies
            # a crashed processor wrote before its commit.
            self._producer.send(self.repartition_topic, value, key=key,
                                timestamp_ms=msg.timestamp_ms,
                                headers={"src": f"{msg.partition}:{msg.offset}:{i}"})
            self.stats.repartitioned += 1

    def _aggregate(self, run: list[Message], batch: Batch) -> None:
        """Stage 2: add records of one partition to its windows (each once)."""
        task = self.tasks.get(run[0].tp)
        if task is None:  # revoked between poll and now: the new owner handles them
            return
        items: list[tuple[Message, list[tuple[Any, Any]]]] = []
        for msg in run:
            if msg.offset < task.next_offset:
                self.stats.skipped += 1  # already counted in the restored state
                continue
            task.next_offset = msg.offset + 1
            task.dirty = True
            if not msg.ok:
                continue  # dead-lettered by the loop; the offset above moves the partition on
            if self.repartition_topic:
                src = (msg.header("src") or b"").decode()
                part, offset, index = src.split(":") if src.count(":") == 2 else ("?", -1, -1)
                position = [int(offset), int(index)]
                if position <= task.seen.get(part, [-1, -1]):
                    self.stats.skipped += 1  # a copy written twice by a crashed stage 1
                    continue
                task.seen[part] = position
                items.append((msg, [(msg.key, msg.value)]))
            else:
                try:
                    items.append((msg, self.table.transform(msg, rekey=self._rekey_inline)))
                except Exception as exc:  # noqa: BLE001
                    batch.dead_letter(msg, exc, stage="transform")
        # The same path as run_local (Task.process is process_many of one):
        # what a notebook tries on a list is what runs here.
        outputs, errors = task.process_many(items)
        for msg, error, stage in errors:
            batch.dead_letter(msg, error, stage=stage)
        self._emit(outputs)

    def _emit(self, outputs: Sequence[WindowResult | LateRecord]) -> None:
        assert self._producer is not None
        for out in outputs:
            if isinstance(out, LateRecord):
                self.stats.late += 1
                for sink in self.table.late_sinks or (self.late_topic,):
                    if isinstance(sink, str):
                        self._producer.send(sink, out.to_record(), key=out.key)
                    else:
                        sink(out)
                continue
            self.stats.results += 1
            for sink in self.table.sinks:
                if isinstance(sink, str):
                    self._producer.send(sink, out.to_record(), key=out.key)
                else:
                    sink(out)

    def _checkpoint(self, batch: Batch) -> None:
        """Before each commit: outputs first, then state + offsets (one record each)."""
        assert self._consumer is not None and self._producer is not None
        # 1. Everything emitted for this batch is stored before the state says
        #    "done": a crash now re-emits, never loses.
        self._producer.flush()
        # 2. Only partitions we still own: a revoked one belongs to its new owner.
        owned = self._consumer.assignment()
        dirty = {tp.partition: {"task": task.snapshot(), "saved_at": int(time.time() * 1000)}
                 for tp, task in self.tasks.items() if task.dirty and tp in owned}
        if dirty:
            self.changelog.save(dirty, source=self.input_topic)
            self.stats.checkpoints += len(dirty)
            for tp, task in self.tasks.items():
                if tp.partition in dirty:
                    task.dirty = False
        # 3. The loop commits next. The commit is for lag monitoring and for the
        #    source topic of a repartitioned pipeline; the aggregation resumes
        #    from its checkpoint. A commit refused during a rebalance is
        #    harmless: the checkpoint above is what the next owner restores.

    def results(self) -> list[WindowResult]:
        """The current (not final) value of every open window this processor owns."""
        return [r for task in self.tasks.values() for r in task.aggregation.current()]

    def close(self) -> None:
        """Leave the group and disconnect (always call it; notebooks do at the end)."""
        if self._consumer is not None:
            self._consumer.close()
            self._consumer = None
        if self._producer is not None:
            self._producer.close()
            self._producer = None

    def __enter__(self) -> Processor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
