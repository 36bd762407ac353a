"""Ship Python log records to Kafka without ever slowing the program down.

:class:`KafkaLogHandler` is a standard :class:`logging.Handler`. ``emit`` only
turns the record into a dict and puts it on a bounded in-memory buffer; a
background thread takes batches from the buffer and sends them to the
``application-logs`` topic, keyed by service (so one service's lines stay in
order on one partition).

When the broker is unreachable the thread keeps the batch it holds and
retries with backoff; new records pile up in the buffer until it is full, and
then further records are *dropped and counted*: a logging system must never
block or crash the application it observes. Once sends succeed again, the
handler ships one WARNING record saying how many it dropped, so the gap is
visible where the logs are read.

>>> import logging
>>> h = KafkaLogHandler(service="api", capacity=2, flush_interval=60)  # no network I/O yet
>>> log = logging.getLogger("doc.handler")
>>> log.addHandler(h); log.propagate = False
>>> for i in range(5):
...     log.warning("request %d failed", i)
>>> h.stats.dropped, h.stats.buffered
(3, 2)
>>> h.close(timeout=0)     # give up at once: nothing was ever sent
>>> h.stats.dropped
5
"""

from __future__ import annotations

import collections
import logging
import socket
import sys
import threading
import time
import traceback
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kafkalab.clients.producer import Producer
from kafkalab.clients.serdes import _json_default
from kafkalab.logs.record import make_record
from kafkalab.settings import Settings, get_settings

__all__ = ["APPLICATION_LOGS_TOPIC", "HandlerStats", "KafkaLogHandler"]

log = logging.getLogger(__name__)

#: The topic name the course brief uses.
APPLICATION_LOGS_TOPIC = "application-logs"

# Attributes every logging.LogRecord has; anything else came from ``extra=``
# and becomes metadata.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message", "asctime", "taskName", "service"}


@dataclass
class HandlerStats:
    """What a :class:`KafkaLogHandler` has done so far.

    ``emitted = sent + dropped + buffered + in_flight`` at any moment (records
    skipped to avoid feedback loops are counted apart, in ``skipped``).
    """

    emitted: int = 0
    sent: int = 0
    dropped: int = 0
    dropped_reported: int = 0
    skipped: int = 0
    failures: int = 0
    buffered: int = 0
    in_flight: int = 0
    last_error: str | None = None


def _jsonable(value: Any) -> Any:
    # ``extra=`` may hold anything; metadata must survive JSON encoding.
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    try:
        return _json_default(value)
    except TypeError:
        return repr(value)


class KafkaLogHandler(logging.Handler):
    """A logging handler that sends structured JSON records to Kafka.

    Parameters
    ----------
    service
        Who is logging (``api``, ``orders``...): the record's ``service`` and
        ``source`` and the Kafka key. A record may override it with
        ``extra={"service": ...}`` (the simulator does, to play many services).
    topic
        Defaults to ``application-logs``.
    settings
        Where the brokers are; read from the environment when omitted.
    level
        The lowest level shipped.
    capacity
        Records held in memory while the broker is slow or unreachable; beyond
        that, records are dropped and counted.
    batch_size
        Records taken from the buffer per send.
    flush_interval
        Seconds the sender waits for a batch to fill before sending a partial one.
    send_timeout
        Seconds to wait for the broker to acknowledge a batch before counting
        it as failed and retrying it.
    max_backoff
        Longest pause between retries while the broker is unreachable.
    host
        Defaults to this machine's host name.
    exclude
        Loggers never shipped, with their children: ``"kafka"`` excludes
        ``kafka`` and ``kafka.conn`` (not ``kafkalab``). kafka-python's own
        loggers are excluded by default: shipping them would log about
        shipping logs.
    producer_config
        Extra ``KafkaProducer`` settings.

    Notes
    -----
    The producer compresses with lz4 (when installed) and waits only for the
    leader (``acks=1``): log lines favour availability over durability (and an
    idempotent producer needs ``acks="all"``, so it is not idempotent). After
    a failure the producer is closed and a new one is made for the retry,
    which also looks the cluster up again. Records of a batch that failed are sent again, so
    a record may arrive twice after an outage, never silently not at all.
    """

    _installed_on: logging.Logger  # set by logs.install() (declared only: no class default)

    def __init__(self, service: str, *, topic: str = APPLICATION_LOGS_TOPIC,
                 settings: Settings | None = None, level: int | str = logging.NOTSET,
                 capacity: int = 10_000, batch_size: int = 500, flush_interval: float = 0.2,
                 send_timeout: float = 5.0, max_backoff: float = 5.0, host: str | None = None,
                 exclude: Iterable[str] = ("kafka",),
                 producer_config: dict[str, Any] | None = None) -> None:
        super().__init__(level)
        if capacity < 1 or batch_size < 1:
            raise ValueError("capacity and batch_size must be at least 1")
        self.service = service
        self.topic = topic
        self.settings = settings or get_settings()
        self.capacity = capacity
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.send_timeout = send_timeout
        self.max_backoff = max_backoff
        self.host = host or socket.gethostname()
        self.exclude = tuple(exclude)
        self.producer_config = dict(producer_config or {})
        self.stats = HandlerStats()
        self._buffer: collections.deque[dict[str, Any]] = collections.deque()
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._producer: Producer | None = None
        self._unreported = 0  # dropped since the last report reached the broker
        self._busy = False
        self._healthy = True  # did the last send attempt succeed?

    # -- the application's side: must never block -------------------------

    def to_record(self, record: logging.LogRecord) -> dict[str, Any]:
        """The JSON-ready dict for a ``logging.LogRecord``."""
        exception = None
        if record.exc_info and record.exc_info[0] is not None:
            exception = "".join(traceback.format_exception(*record.exc_info)).rstrip()
        elif record.exc_text:
            exception = record.exc_text
        metadata = {k: _jsonable(v) for k, v in vars(record).items() if k not in _STANDARD}
        return make_record(
            service=str(getattr(record, "service", None) or self.service),
            level=record.levelno, message=record.getMessage(),
            timestamp_ms=int(record.created * 1000), host=self.host, logger=record.name,
            exception=exception, metadata=metadata)

    def emit(self, record: logging.LogRecord) -> None:
        name = record.name
        if any(name == p or name.startswith(p + ".") for p in self.exclude) or (
                self._thread is not None and record.thread == self._thread.ident):
            # The sender thread's own lines (and kafka-python's) would feed back
            # into the buffer they are about: skip them, but count them.
            self.stats.skipped += 1
            return
        try:
            body = self.to_record(record)
        except Exception:
            # e.g. log.info("%d items", "three"): logging's standard path prints
            # the error to stderr; we also count the line, which cannot be shipped.
            with self._cond:
                self.stats.emitted += 1
                self.stats.dropped += 1
            self.handleError(record)
            return
        with self._cond:
            self.stats.emitted += 1
            if self._stop.is_set():
                # Closed: nothing will send this any more; count it, never hold it silently.
                self.stats.dropped += 1
                return
            if len(self._buffer) >= self.capacity:
                # Full: drop the newest. The oldest lines usually say how the
                # trouble began, so they are the ones worth keeping.
                self.stats.dropped += 1
                self._unreported += 1
            else:
                self._buffer.append(body)
                self.stats.buffered = len(self._buffer)
                if len(self._buffer) >= self.batch_size:
                    self._cond.notify()
        self._start()

    def _start(self) -> None:
        if self._thread is None and not self._stop.is_set():
            with self._cond:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name=f"kafka-log-handler-{self.service}", daemon=True)
                    self._thread.start()

    # -- the sender thread ----------------------------------------------------

    def _take(self) -> list[dict[str, Any]]:
        with self._cond:
            if len(self._buffer) < self.batch_size and not self._stop.is_set():
                self._cond.wait(self.flush_interval)
            n = min(self.batch_size, len(self._buffer))
            batch = [self._buffer.popleft() for _ in range(n)]
            self.stats.buffered = len(self._buffer)
            self.stats.in_flight = len(batch)
            self._busy = bool(batch)
            return batch

    def _producer_now(self) -> Producer:
        if self._producer is None:
            ms = int(self.send_timeout * 1000)
            # Every wait inside kafka-python is bounded by send_timeout, so a
            # dead broker fails a batch in seconds and we fall back to our own
            # retry loop (which keeps the records) instead of its long defaults.
            from kafka.codec import has_lz4

            config: dict[str, Any] = {"acks": 1, "enable_idempotence": False, "linger_ms": 20,
                      # Log lines repeat themselves: lz4 shrinks them a lot and is
                      # cheap (measured: ~25% more records/s through the handler).
                      "compression_type": "lz4" if has_lz4() else None,
                      "max_block_ms": ms, "request_timeout_ms": ms, "bootstrap_timeout_ms": ms,
                      # kafka-python insists on delivery > linger + request timeout.
                      "delivery_timeout_ms": ms + 1000}
            config.update(self.producer_config)
            self._producer = Producer(self.settings, **config)
        return self._producer

    def _drop_producer(self) -> None:
        if self._producer is None:
            return
        raw = self._producer.raw if self._producer.connected else None
        try:
            self._producer.close(timeout=0)
        except Exception as exc:
            # kafka-python 3.0.12: close() flushes first and raises KafkaTimeoutError
            # when records are still pending, leaving its sender thread running
            # (and __del__ raising again later). Force it closed.
            log.debug("closing the log producer failed (%s); forcing it closed", exc)
            if raw is not None:
                sender = getattr(raw, "_sender", None)
                if sender is not None:
                    sender.force_close()
                raw._closed = True
        self._producer = None

    def _send(self, batch: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Send a batch; return the records that did not make it."""
        producer = self._producer_now()
        futures = []
        for i, body in enumerate(batch):
            try:
                futures.append((body, producer.send(self.topic, body, key=body["service"])))
            except Exception as exc:  # e.g. no metadata within max_block_ms
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
                self._settle(producer)
                return self._failed(futures) + batch[i:]
        self._settle(producer)
        return self._failed(futures)

    def _settle(self, producer: Producer) -> None:
        # Wait past the delivery timeout, so every record is either acknowledged
        # or expired by kafka-python: none is left pending inside it when we
        # decide what to resend (and when a failed producer is closed).
        try:
            producer.flush(timeout=self.send_timeout + 2.0)
        except Exception as exc:
            self.stats.last_error = f"{type(exc).__name__}: {exc}"

    def _failed(self, futures: list[tuple[dict[str, Any], Any]]) -> list[dict[str, Any]]:
        failed = []
        for body, fut in futures:
            if not (fut.is_done and fut.succeeded()):
                # Not acknowledged (failed, or still unknown): send it again.
                failed.append(body)
                if fut.is_done:
                    self.stats.last_error = f"{type(fut.exception).__name__}: {fut.exception}"
        return failed

    def _report_drops(self) -> None:
        with self._cond:
            count = self._unreported
        if not count:
            return
        now = int(time.time() * 1000)
        body = make_record(
            service=self.service, level="WARNING", timestamp_ms=now, host=self.host,
            logger=__name__,
            message=f"log handler dropped {count} records while the broker was unreachable "
                    f"or slow (buffer capacity {self.capacity})",
            metadata={"dropped": count, "dropped_total": self.stats.dropped})
        if not self._send([body]):
            with self._cond:
                self._unreported -= count
                self.stats.dropped_reported += count
            log.warning("reported %d dropped log records to %s", count, self.topic)

    def _run(self) -> None:
        pending: list[dict[str, Any]] = []
        delay = 0.1
        while True:
            if not pending:
                pending = self._take()
            # close() has already flushed what it could within its timeout;
            # past that, the thread stops without sending more.
            if self._stop.is_set():
                break
            if not pending:
                continue
            try:
                pending = self._send(pending)
            except Exception as exc:  # unreachable cluster, bad config...: retry later
                self.stats.last_error = f"{type(exc).__name__}: {exc}"
            self._healthy = not pending
            if not pending:
                with self._cond:
                    self.stats.sent += self.stats.in_flight
                    self.stats.in_flight = 0
                    self._busy = False
                    self._cond.notify_all()
                delay = 0.1
                try:
                    self._report_drops()
                except Exception as exc:  # tried again after the next successful send
                    self.stats.last_error = f"{type(exc).__name__}: {exc}"
                continue
            # Some or all of the batch failed: keep it, make a fresh producer,
            # and back off (doubling, capped) so an outage costs little CPU.
            with self._cond:
                self.stats.sent += self.stats.in_flight - len(pending)
                self.stats.in_flight = len(pending)
            self.stats.failures += 1
            log.warning("could not ship %d log records (%s); retrying in %.1f s",
                        len(pending), self.stats.last_error, delay)
            self._drop_producer()
            if self._stop.wait(delay):
                break
            delay = min(delay * 2, self.max_backoff)
        # Stopped: whatever is still held could not be sent in time.
        with self._cond:
            lost = len(pending) + len(self._buffer)
            self._buffer.clear()
            self.stats.dropped += lost
            self.stats.in_flight = self.stats.buffered = 0
            self._busy = False
            self._cond.notify_all()
        if lost:
            self._report_loss(lost)
        self._drop_producer()

    # -- control --------------------------------------------------------------

    # logging.Handler.flush returns None; this one also says whether everything was
    # sent (logging ignores the result), so the override is deliberate.
    def flush(self, timeout: float = 10.0) -> bool:  # type: ignore[override]
        """Wait until everything buffered is sent; return False on timeout.

        Note that ``logging.shutdown`` calls ``flush()`` with no argument, so
        the default is bounded too.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            self._cond.notify()
            while self._buffer or self._busy:
                if self._thread is None:
                    return False
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(min(left, 0.05))
        return True

    def close(self, timeout: float = 5.0) -> None:
        """Send what can be sent within ``timeout`` seconds, then stop.

        Records still unsent after that are counted in ``stats.dropped``.
        When the broker was unreachable at the last attempt, at most one
        second is spent hoping it is back: a program must be able to exit
        quickly during an outage (``install`` closes the handler at exit).
        """
        if self._thread is not None and not self._stop.is_set() and timeout > 0:
            self.flush(timeout if self._healthy else min(timeout, 1.0))
        self._stop.set()
        with self._cond:
            self._cond.notify_all()
        if self._thread is not None:
            # A send under way when we stopped may take up to max_block_ms
            # plus the delivery timeout (see _send).
            limit = 2 * self.send_timeout + 3.0
            self._thread.join(limit)
            if self._thread.is_alive():
                log.warning("the log sender is still busy after %.1f s; it will count what it "
                            "could not send as dropped when it finishes", limit)
        else:
            with self._cond:
                lost = len(self._buffer)
                self.stats.dropped += lost
                self._buffer.clear()
                self.stats.buffered = 0
            if lost:
                self._report_loss(lost)
        super().close()

    def _report_loss(self, count: int) -> None:
        """Say on stderr, always, that log lines are lost for good.

        Not through ``logging``: this handler may be the program's only one (it
        would buffer its own warning, which can no longer be sent), and at exit
        the program's other handlers may be closed already. Lines dropped while
        the broker was away and later *reported to the topic* are not this case.
        """
        reason = f" ({self.stats.last_error})" if self.stats.last_error else ""
        print(f"kafkalab.logs: {count} log record(s) for {self.topic!r} could not be sent and "
              f"are lost{reason}", file=sys.__stderr__ or sys.stderr, flush=True)
