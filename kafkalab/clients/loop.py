"""The consume-process-commit loop every kafkalab pipeline runs.

One loop, in this order, for every batch (quix-streams' ``Application`` runs
every pipeline the same way)::

    poll -> (assignment changed? on_assign) -> dead-letter undecodable records
         -> handler(batch) -> before_commit(batch) -> commit -> (on_tick, every tick_every s)

A crash anywhere before the commit re-delivers the batch, so handlers must be
idempotent (the order services of week 3 show how). A commit the group
refuses because it is rebalancing is counted, never raised: the batch's
records are delivered again to whoever owns their partitions next.

The handler gets the whole :class:`Batch`. A record it cannot use goes to the
dead-letter topic with the reason (:meth:`Batch.dead_letter`), and the
partition moves on. :meth:`Batch.each` does that record by record, retrying
transient failures with backoff; a handler for one record at a time
(``ConsumerLoop(consumer, handler)``, as week 2 writes it) runs through it.

The loop stops gracefully: on :meth:`ConsumerLoop.stop` (from any thread), on
SIGINT/SIGTERM when run in the main thread, or at a :class:`~kafkalab.clients.Bounds`
(records, seconds in total, seconds idle), finishing and committing the
current batch first.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, overload

from kafka.errors import CommitFailedError, RebalanceInProgressError
from kafka.structs import TopicPartition

from kafkalab.clients.bounds import Bounds
from kafkalab.clients.consumer import Consumer
from kafkalab.clients.deadletter import DeadLetterQueue
from kafkalab.clients.message import Message
from kafkalab.clients.retry import Backoff, RetriesExhausted, is_retriable, retry

__all__ = ["Batch", "ConsumerLoop", "LoopStats", "Metrics", "run"]

log = logging.getLogger(__name__)

Handler = Callable[[Message], Any]
BatchHandler = Callable[["Batch"], Any]

#: Commit errors that mean "the group rebalanced while you worked".
REFUSED = (CommitFailedError, RebalanceInProgressError)


@dataclass
class LoopStats:
    """What a loop did. Pipelines extend it with their own counters.

    ``seen`` counts deliveries: a record delivered again after a refused
    commit or a crash is seen twice.
    """

    seen: int = 0             # records polled
    processed: int = 0        # handled without error
    dead_lettered: int = 0    # sent to the dead-letter topic, with the reason
    retries: int = 0          # transient failures retried
    batches: int = 0          # batches handled
    committed: int = 0        # records whose offsets are committed: not read again by the group
    refused_commits: int = 0  # commits refused during a rebalance
    redelivered: int = 0      # records of those batches: delivered again to the next owner
    handler_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


class Metrics(Protocol):
    """Where a loop may report its timings: ``kafkalab.ops.Registry`` fits.

    A protocol rather than an import, because ``ops`` builds on ``clients``.
    """

    def inc(self, name: str, by: float = 1, **labels: Any) -> Any: ...

    def histogram(self, name: str, **labels: Any) -> Any: ...


class Batch(Sequence[Message]):
    """The records of one poll that decoded, handed to the handler.

    ``polled`` is every record of the poll (what the commit covers), including
    any the loop dead-lettered because they did not decode.
    """

    def __init__(self, loop: ConsumerLoop, messages: list[Message],
                 polled: list[Message]) -> None:
        self.loop = loop
        self.messages = messages
        self.polled = polled
        self.dead_lettered: list[Message] = []
        self.result: Any = None  # what the handler returned
        self._dead_letter_sends: list[Any] = []  # acknowledged before the batch counts as handled

    @overload
    def __getitem__(self, i: int) -> Message: ...

    @overload
    def __getitem__(self, i: slice) -> list[Message]: ...

    def __getitem__(self, i: int | slice) -> Message | list[Message]:
        return self.messages[i]

    def __len__(self) -> int:
        return len(self.messages)

    def __iter__(self) -> Iterator[Message]:
        # The list's own iterator: Sequence's default indexes one record at a time
        # through __getitem__, a Python call per record.
        return iter(self.messages)

    def __repr__(self) -> str:
        return f"Batch({len(self.messages)} records, {len(self.dead_lettered)} dead-lettered)"

    def dead_letter(self, msg: Message, error: BaseException | str, *, stage: str = "handler",
                    attempts: int = 1) -> None:
        """Send ``msg`` to the dead-letter topic with the reason; the partition moves on.

        Without a dead-letter queue the error is raised: the loop stops and
        nothing is committed. The send is acknowledged before the loop commits
        (the loop waits for all of a batch's dead letters at once).
        """
        self._dead_letter_sends.append(
            self.loop._dead_letter(msg, error, stage=stage, attempts=attempts))
        self.dead_lettered.append(msg)

    def _wait_for_dead_letters(self, timeout: float = 10.0) -> None:
        # get() raises when a send failed: the batch is then not committed and
        # comes again, so no dead letter is lost (at-least-once).
        sends, self._dead_letter_sends = self._dead_letter_sends, []
        for future in sends:
            if future is not None:
                future.get(timeout=timeout)

    def each(self, fn: Handler, *, stage: str = "handler") -> list[Any]:
        """Call ``fn`` on every record; return the results of those that worked.

        A :class:`~kafkalab.clients.TransientError` (or any retriable error) is
        retried with the loop's backoff; any other ``Exception`` dead-letters
        the record. Anything else (``KeyboardInterrupt``, a simulated crash)
        stops the loop uncommitted.
        """
        results = []
        for msg in self.messages:
            ok, result = self._one(fn, msg, stage)
            if ok:
                results.append(result)
        return results

    def _one(self, fn: Handler, msg: Message, stage: str) -> tuple[bool, Any]:
        loop, attempts = self.loop, 0

        def call() -> Any:
            nonlocal attempts
            attempts += 1
            return fn(msg)

        def counted(_n: int, _exc: BaseException, _delay: float) -> None:
            loop.stats.retries += 1

        try:
            return True, retry(call, backoff=loop.backoff, retry_on=is_retriable,
                               sleep=loop.sleep, on_retry=counted)
        except RetriesExhausted as exc:
            self.dead_letter(msg, exc.last, stage=stage, attempts=attempts)
        except Exception as exc:
            self.dead_letter(msg, exc, stage=stage, attempts=attempts)
        return False, None


class ConsumerLoop:
    """Poll ``consumer``, hand each batch to a handler, commit after it.

    Parameters
    ----------
    consumer
        A :class:`~kafkalab.clients.consumer.Consumer` (in a group, to commit).
    handler
        Called once per record that decoded cleanly (through :meth:`Batch.each`).
        Raise :class:`~kafkalab.clients.retry.TransientError` to have it
        retried, anything else to dead-letter the record.
    batch_handler
        Instead of ``handler``: called once per batch with the :class:`Batch`.
        It dead-letters records with :meth:`Batch.dead_letter`; an exception
        it raises stops the loop uncommitted.
    dead_letter
        Where failed records go. Without one, a failure stops the loop with
        the error, and the batch is re-delivered next time.
    backoff
        Retry policy for transient failures.
    on_assign
        Called with this member's partitions each time they change, and after
        every rebalance, before the batch of that poll is handled: restore state
        for them here (seeking is allowed).
    before_commit
        Called with every batch just before its commit: flush and wait for
        sends, save checkpoints, publish an outbox. If it raises, nothing is
        committed.
    on_tick, tick_every
        Housekeeping between polls, busy or idle, at most every ``tick_every``
        seconds (saga timeouts, closing windows by the wall clock).
    max_records
        At most this many records per batch.
    commit
        ``False`` to never commit, nor call ``before_commit`` (a reader:
        :meth:`Consumer.messages`).
    stats
        The :class:`LoopStats` to fill (a pipeline passes its subclass).
    metrics, name
        Optional: report ``handler_seconds`` (a histogram per batch),
        ``records_total``, ``dead_letters_total`` and ``refused_commits_total``
        with the label ``loop=name`` (a ``kafkalab.ops.Registry`` fits).
    """

    def __init__(self, consumer: Consumer, handler: Handler | None = None, *,
                 batch_handler: BatchHandler | None = None,
                 dead_letter: DeadLetterQueue | None = None, backoff: Backoff = Backoff(),
                 on_assign: Callable[[set[TopicPartition]], Any] | None = None,
                 before_commit: Callable[[Batch], Any] | None = None,
                 on_tick: Callable[[], Any] | None = None, tick_every: float = 0.5,
                 max_records: int | None = None, poll_timeout: float = 0.5, commit: bool = True,
                 stats: LoopStats | None = None, metrics: Metrics | None = None,
                 name: str = "loop", sleep: Callable[[float], Any] = time.sleep) -> None:
        if handler is not None and batch_handler is not None:
            raise ValueError("give handler= (one record) or batch_handler= (a batch), not both")
        self.consumer = consumer
        self.handler = handler
        self.batch_handler = batch_handler
        if handler is not None:
            self.batch_handler = lambda batch: batch.each(handler)
        self.dead_letter = dead_letter
        self.backoff = backoff
        self.on_assign = on_assign
        self.before_commit = before_commit
        self.on_tick = on_tick
        self.tick_every = tick_every
        self.max_records = max_records
        self.poll_timeout = poll_timeout
        self.commit = commit
        self.stats = stats if stats is not None else LoopStats()
        self.metrics = metrics
        self.name = name
        self.sleep = sleep
        self._stop = threading.Event()
        self._assigned: tuple[int, frozenset[TopicPartition]] | None = None
        self._ticked = time.monotonic()

    def stop(self) -> None:
        """Ask the loop to finish its current batch, commit and return."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # -- one batch ---------------------------------------------------------

    def _dead_letter(self, msg: Message, error: BaseException | str, *, stage: str,
                     attempts: int) -> Any:
        if self.dead_letter is None:
            if isinstance(error, BaseException):
                raise error
            raise ValueError(f"{msg.topic}[{msg.partition}]@{msg.offset}: {error}")
        # Not waited for here: _handle waits for the batch's dead letters together.
        future = self.dead_letter.send(msg, error, stage=stage, attempts=attempts, wait=False)
        self.stats.dead_lettered += 1
        self.stats.errors.append(f"{msg.topic}[{msg.partition}]@{msg.offset}: {error}")
        if self.metrics is not None:
            self.metrics.inc("dead_letters_total", loop=self.name, stage=stage)
        return future

    def _handle(self, polled: list[Message]) -> Batch:
        self.stats.seen += len(polled)
        if self.batch_handler is None:  # a reader: the caller gets every record as it is
            return Batch(self, polled, polled)
        batch = Batch(self, [m for m in polled if m.ok], polled)
        for msg in polled:
            if not msg.ok:  # undecodable: one place decides, for every pipeline
                batch._dead_letter_sends.append(self._dead_letter(
                    msg, msg.error or "undecodable record", stage="decode", attempts=1))
        started = time.perf_counter()
        try:
            batch.result = self.batch_handler(batch)
            # Every dead letter acknowledged before the commit may overtake it.
            batch._wait_for_dead_letters()
        finally:
            seconds = time.perf_counter() - started
            self.stats.handler_seconds += seconds
            if self.metrics is not None:
                self.metrics.histogram("handler_seconds", loop=self.name).observe(seconds)
                self.metrics.inc("records_total", len(polled), loop=self.name)
        self.stats.processed += len(batch.messages) - len(batch.dead_lettered)
        return batch

    def _commit(self, batch: Batch) -> None:
        if not self.commit:
            return
        if self.before_commit is not None:
            self.before_commit(batch)
        # Commit only after every record of the batch is handled or safely
        # dead-lettered: a crash before this line re-delivers the batch.
        try:
            self.consumer.commit(batch.polled)
            if self.consumer.group_id is not None:
                self.stats.committed += len(batch.polled)
        except REFUSED as exc:
            # The group rebalanced while we worked: these partitions may belong
            # to another member now, which reads the batch again from the last
            # commit. At-least-once, so handlers are idempotent.
            self.stats.refused_commits += 1
            self.stats.redelivered += len(batch.polled)
            if self.metrics is not None:
                self.metrics.inc("refused_commits_total", loop=self.name)
            log.warning("%s: commit refused during a rebalance (%s); %d record(s) will be "
                        "delivered again to the partitions' next owner", self.name,
                        type(exc).__name__, len(batch.polled))
            self._rewind(batch.polled)

    def _rewind(self, polled: list[Message]) -> None:
        """Read the uncommitted batch again if its partitions stay ours (the
        group resets the positions of partitions it deals out anew anyway)."""
        first: dict[TopicPartition, int] = {}
        for m in polled:
            first[m.tp] = min(first.get(m.tp, m.offset), m.offset)
        owned = self.consumer.assignment()
        for tp, offset in first.items():
            if tp in owned:
                with contextlib.suppress(ValueError):  # revoked meanwhile: not ours to read
                    self.consumer.seek(tp, offset)

    def _check_assignment(self) -> None:
        if self.on_assign is None:
            return
        owned = frozenset(self.consumer.assignment())
        key = (self.consumer.rebalances, owned)
        if key != self._assigned:
            self._assigned = key
            self.on_assign(set(owned))

    def _tick(self, force: bool = False) -> None:
        if self.on_tick is not None and (force or time.monotonic() - self._ticked
                                         >= self.tick_every):
            self._ticked = time.monotonic()
            self.on_tick()

    # -- running -------------------------------------------------------------

    def batches(self, bounds: Bounds | None = None, *, max_messages: int | None = None,
                timeout: float | None = None,
                idle_timeout: float | None = None) -> Iterator[Batch]:
        """Run batch by batch, yielding each after it is handled and committed.

        The bounds count this run only. Idle time restarts after each batch's
        work, including what the caller does with the yielded batch, and
        while this member owns no partitions (joining a group is not idleness).
        """
        bounds = bounds or Bounds(max_messages, timeout, idle_timeout)
        run = bounds.start()
        start_seen = self.stats.seen
        while not self._stop.is_set():
            seen = self.stats.seen - start_seen
            if (reason := run.stop_reason(seen)) is not None:
                log.debug("%s: stopping at %s", self.name, reason)
                break
            polled = self.consumer.poll(run.wait(self.poll_timeout),
                                        max_records=run.limit(seen, self.max_records))
            self._check_assignment()
            if not (self.consumer.joined and self.consumer.assignment()):
                run.busy()
            if polled:
                batch = self._handle(polled)
                self._commit(batch)
                self.stats.batches += 1
                yield batch
                run.busy()  # after the work: a slow batch is not idleness
            self._tick()

    def run(self, bounds: Bounds | None = None, *, max_messages: int | None = None,
            timeout: float | None = None, idle_timeout: float | None = None,
            handle_signals: bool = True) -> LoopStats:
        """Run until stopped or a bound is reached; return the stats.

        In the main thread, SIGINT and SIGTERM stop the loop gracefully (after
        the current batch) instead of killing it mid-batch.
        """
        with self._signals(handle_signals):
            for _ in self.batches(bounds, max_messages=max_messages, timeout=timeout,
                                  idle_timeout=idle_timeout):
                pass
        return self.stats

    @contextlib.contextmanager
    def _signals(self, enabled: bool) -> Iterator[None]:
        if not enabled or threading.current_thread() is not threading.main_thread():
            yield
            return
        previous = {}

        def graceful(signum: int, _frame: Any) -> None:
            log.info("signal %s: finishing the current batch, then stopping", signum)
            self.stop()

        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, graceful)
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)


def run(consumer: Consumer, handler: Handler, *, dead_letter: DeadLetterQueue | None = None,
        backoff: Backoff = Backoff(), bounds: Bounds | None = None,
        max_messages: int | None = None, timeout: float | None = None,
        idle_timeout: float | None = None, handle_signals: bool = True,
        **options: Any) -> LoopStats:
    """Shorthand for ``ConsumerLoop(consumer, handler, ...).run(...)``."""
    loop = ConsumerLoop(consumer, handler, dead_letter=dead_letter, backoff=backoff, **options)
    return loop.run(bounds, max_messages=max_messages, timeout=timeout,
                    idle_timeout=idle_timeout, handle_signals=handle_signals)
