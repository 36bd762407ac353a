"""A producer that encodes values and connects lazily, safe to share between threads.

>>> p = Producer(value_format="json")   # no network I/O yet
>>> p.connected
False
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from typing import Any

from kafka import KafkaProducer
from kafka.errors import KafkaTimeoutError
from kafka.producer.future import FutureRecordMetadata, RecordMetadata

from kafkalab.clients.connection import UNREACHABLE, client_config, unavailable
from kafkalab.clients.serdes import Format, to_bytes
from kafkalab.settings import Settings, get_settings

__all__ = ["Headers", "Producer", "normalise_headers"]

log = logging.getLogger(__name__)

Headers = Mapping[str, str | bytes] | Iterable[tuple[str, str | bytes]] | None


def normalise_headers(headers: Headers) -> list[tuple[str, bytes]]:
    """Headers as Kafka wants them: a list of ``(str, bytes)``; str values are UTF-8.

    >>> normalise_headers({"source": "api", "trace": b"\\x01"})
    [('source', b'api'), ('trace', b'\\x01')]
    """
    if not headers:
        return []
    items = headers.items() if isinstance(headers, Mapping) else headers
    return [(k, v.encode() if isinstance(v, str) else bytes(v)) for k, v in items]


class Producer:
    """Send Python values to topics.

    Parameters
    ----------
    settings
        Where the brokers are; read from the environment when omitted.
    value_format, key_format
        ``"json"``, ``"str"`` or ``"raw"`` (see :mod:`kafkalab.clients.serdes`).
    **config
        Any `KafkaProducer` setting, e.g. ``acks=1``, ``linger_ms=20``,
        ``compression_type="lz4"``, ``enable_idempotence=False``.

    Notes
    -----
    The kafka-python producer is created on the first ``send`` (no I/O in the
    constructor). Defaults are kafka-python's (``acks="all"``, idempotence on)
    except ``linger_ms=5`` (small batches instead of one request per record) and
    ``max_block_ms=10000`` (an unreachable cluster fails in 10 s, not 60 s).

    A broker that restarts keeps its records and producer ids, so the same
    idempotent producer carries on once the broker is back (sends made
    meanwhile are retried, within ``delivery_timeout_ms``).
    """

    def __init__(self, settings: Settings | None = None, *, value_format: Format = "json",
                 key_format: Format = "str", **config: Any) -> None:
        self.settings = settings or get_settings()
        self.value_format = value_format
        self.key_format = key_format
        self._overrides = config
        self._raw: KafkaProducer | None = None
        # One producer is shared by threads (a service's loop and the HTTP API):
        # it is created under this lock, so two first sends make one producer.
        self._lock = threading.Lock()

    @property
    def connected(self) -> bool:
        return self._raw is not None

    @property
    def raw(self) -> KafkaProducer:
        """The underlying ``kafka.KafkaProducer`` (created on first use)."""
        with self._lock:
            if self._raw is None:
                config = client_config(self.settings, linger_ms=5, max_block_ms=10000)
                config.update(self._overrides)
                try:
                    self._raw = KafkaProducer(**config)
                except UNREACHABLE as exc:
                    raise unavailable(self.settings, exc) from exc
            return self._raw

    def send(self, topic: str, value: Any = None, *, key: Any = None, headers: Headers = None,
             partition: int | None = None, timestamp_ms: int | None = None) -> FutureRecordMetadata:
        """Queue one record; returns a future whose ``.get(timeout)`` gives its offset.

        Records are sent in the background in batches; call :meth:`flush` (or
        ``.get()`` on the future) when you need to know they arrived.
        """
        value_bytes = to_bytes(self.value_format, value)
        key_bytes = to_bytes(self.key_format, key)
        try:
            return self.raw.send(topic, value=value_bytes, key=key_bytes,
                                 headers=normalise_headers(headers), partition=partition,
                                 timestamp_ms=timestamp_ms)
        except UNREACHABLE as exc:
            raise unavailable(self.settings, exc) from exc

    def send_and_wait(self, topic: str, value: Any = None, *, timeout: float = 10.0,
                      **kwargs: Any) -> RecordMetadata:
        """Send one record and wait until the broker has it (slow: for lessons and tests)."""
        return self.send(topic, value, **kwargs).get(timeout=timeout)

    def flush(self, timeout: float | None = 30.0) -> None:
        """Block until every queued record is sent (or ``timeout`` seconds pass)."""
        if self._raw is not None:
            self._raw.flush(timeout=timeout)

    def metrics(self) -> dict[str, Any]:
        """The producer's own metrics (batch sizes, compression rate, request rates)."""
        return self._raw.metrics() if self._raw is not None else {}

    def close(self, timeout: float | None = 10.0) -> None:
        """Send what is queued (waiting up to ``timeout`` s), then release the connection.

        Records still unsent after ``timeout`` (the broker is gone) are dropped
        with a warning: kafka-python 3.0.12's own ``close`` would instead raise
        and leave a sender thread reconnecting forever.
        """
        with self._lock:
            raw, self._raw = self._raw, None
        if raw is None:
            return
        try:
            raw.close(timeout=timeout)
        except KafkaTimeoutError:
            log.warning("closing the producer: records still unsent after %s s are dropped "
                        "(is the broker reachable?)", timeout)
            sender = getattr(raw, "_sender", None)
            if sender is not None:
                sender.force_close()  # aborts the pending batches, stops the thread
                sender.join(5)
            try:
                raw.close(timeout=0)
            except KafkaTimeoutError:
                log.warning("the producer's sender did not stop; abandoning it")

    def __enter__(self) -> Producer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
