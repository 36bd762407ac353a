"""The consume-process-commit loop every kafkalab service runs.

For each batch of records: decode, call your handler (retrying transient
failures with backoff), send what still fails to the dead-letter topic, and
only then commit. A crash anywhere before the commit re-delivers the batch,
so handlers must be idempotent (the order services of week 3 show how).

The loop stops gracefully: on :meth:`ConsumerLoop.stop` (from any thread), on
SIGINT/SIGTERM when run in the main thread, or at a bound (a number of
records, a total time, an idle time), finishing and committing the current
batch first.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from kafka.errors import CommitFailedError, RebalanceInProgressError

from kafkalab.clients.consumer import Consumer
from kafkalab.clients.deadletter import DeadLetterQueue
from kafkalab.clients.message import Message
from kafkalab.clients.retry import Backoff, RetriesExhausted, is_retriable, retry

__all__ = ["ConsumerLoop", "LoopStats", "run"]

log = logging.getLogger(__name__)

Handler = Callable[[Message], Any]


@dataclass
class LoopStats:
    """What a loop did: counts, and the seconds spent in handlers."""

    processed: int = 0
    dead_lettered: int = 0
    retries: int = 0
    batches: int = 0
    refused_commits: int = 0
    handler_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)

    @property
    def seen(self) -> int:
        return self.processed + self.dead_lettered


class ConsumerLoop:
    """Run ``handler`` on every record of ``consumer``.

    Parameters
    ----------
    consumer
        A :class:`~kafkalab.clients.consumer.Consumer` (in a group, to commit).
    handler
        Called once per record that decoded cleanly. Raise
        :class:`~kafkalab.clients.retry.TransientError` to have it retried,
        anything else to dead-letter the record (or, without a dead-letter
        queue, to stop the loop uncommitted).
    dead_letter
        Where failed records go. Without one, a failure stops the loop with
        the error, and the batch is re-delivered next time.
    backoff
        Retry policy for transient failures.
    """

    def __init__(self, consumer: Consumer, handler: Handler, *,
                 dead_letter: DeadLetterQueue | None = None, backoff: Backoff = Backoff(),
                 poll_timeout: float = 0.5, sleep: Callable[[float], Any] = time.sleep) -> None:
        self.consumer = consumer
        self.handler = handler
        self.dead_letter = dead_letter
        self.backoff = backoff
        self.poll_timeout = poll_timeout
        self.sleep = sleep
        self.stats = LoopStats()
        self._stop = threading.Event()

    def stop(self) -> None:
        """Ask the loop to finish its current batch, commit and return."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def _handle(self, msg: Message) -> None:
        if not msg.ok:
            self._fail(msg, msg.error or "undecodable record", stage="decode", attempts=1)
            return
        attempts = 0

        def call() -> Any:
            nonlocal attempts
            attempts += 1
            return self.handler(msg)

        def counted(_n: int, _exc: BaseException, _delay: float) -> None:
            self.stats.retries += 1

        started = time.perf_counter()
        try:
            retry(call, backoff=self.backoff, retry_on=is_retriable, sleep=self.sleep,
                  on_retry=counted)
            self.stats.processed += 1
        except RetriesExhausted as exc:
            self._fail(msg, exc.last, stage="handler", attempts=attempts)
        except Exception as exc:
            self._fail(msg, exc, stage="handler", attempts=attempts)
        finally:
            self.stats.handler_seconds += time.perf_counter() - started

    def _fail(self, msg: Message, error: BaseException | str, *, stage: str, attempts: int) -> None:
        if self.dead_letter is None:
            if isinstance(error, BaseException):
                raise error
            raise ValueError(f"{msg.topic}[{msg.partition}]@{msg.offset}: {error}")
        self.dead_letter.send(msg, error, stage=stage, attempts=attempts)
        self.stats.dead_lettered += 1
        self.stats.errors.append(f"{msg.topic}[{msg.partition}]@{msg.offset}: {error}")

    def batches(self, *, max_messages: int | None = None, timeout: float | None = None,
                idle_timeout: float | None = None) -> Iterator[list[Message]]:
        """Process batch by batch, yielding each after it is handled and committed."""
        start = last = time.monotonic()
        while not self._stop.is_set():
            now = time.monotonic()
            if timeout is not None and now - start >= timeout:
                break
            if not self.consumer.joined:
                last = now  # still joining the group: not idle yet
            if idle_timeout is not None and now - last >= idle_timeout:
                break
            if max_messages is not None and self.stats.seen >= max_messages:
                break
            limit = None if max_messages is None else max_messages - self.stats.seen
            batch = self.consumer.poll(self.poll_timeout, max_records=limit)
            if not batch:
                continue
            last = time.monotonic()
            for msg in batch:
                self._handle(msg)
            # Commit only after every record of the batch is handled or safely
            # dead-lettered: a crash before this line re-delivers the batch.
            try:
                self.consumer.commit(batch)
            except (CommitFailedError, RebalanceInProgressError) as exc:
                # The group rebalanced while we worked: these partitions may
                # belong to another member now, which will read the batch again
                # from the last commit. At-least-once, so handlers are idempotent.
                self.stats.refused_commits += 1
                log.warning("commit refused during a rebalance (%s); %d record(s) will be "
                            "delivered again to the partitions' next owner", exc, len(batch))
            self.stats.batches += 1
            yield batch

    def run(self, *, max_messages: int | None = None, timeout: float | None = None,
            idle_timeout: float | None = None, handle_signals: bool = True) -> LoopStats:
        """Run until stopped or a bound is reached; return the stats.

        In the main thread, SIGINT and SIGTERM stop the loop gracefully (after
        the current batch) instead of killing it mid-batch.
        """
        with self._signals(handle_signals):
            for _ in self.batches(max_messages=max_messages, timeout=timeout,
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
        backoff: Backoff = Backoff(), max_messages: int | None = None,
        timeout: float | None = None, idle_timeout: float | None = None,
        handle_signals: bool = True) -> LoopStats:
    """Shorthand for ``ConsumerLoop(consumer, handler, ...).run(...)``."""
    loop = ConsumerLoop(consumer, handler, dead_letter=dead_letter, backoff=backoff)
    return loop.run(max_messages=max_messages, timeout=timeout, idle_timeout=idle_timeout,
                    handle_signals=handle_signals)
