"""Show what ``read_committed`` hides: records of aborted transactions.

Apache Kafka promises that a consumer with ``isolation_level="read_committed"``
never sees records of an aborted transaction (a ``read_uncommitted`` one sees
them all). :func:`measure_read_committed` writes committed and aborted records
and reads them back both ways, so a notebook or test can show the promise kept.

The order services do not rely on transactions: they deduplicate by event id
(:mod:`kafkalab.orders.store`), which also covers a producer that retried
outside any transaction.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from kafkalab.clients import Admin, Producer
from kafkalab.orders.reader import read_topic

__all__ = ["IsolationReport", "measure_read_committed"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IsolationReport:
    """What a ``read_committed`` and a ``read_uncommitted`` consumer saw."""

    committed_written: int
    aborted_written: int
    read_committed_saw: list[str]
    read_uncommitted_saw: list[str]

    @property
    def aborted_hidden(self) -> bool:
        """True when read_committed showed no aborted record (as Kafka promises)."""
        return not any(v.startswith("aborted") for v in self.read_committed_saw)

    def __str__(self) -> str:
        verdict = ("read_committed hides aborted transactions here"
                   if self.aborted_hidden else
                   "read_committed does NOT hide aborted transactions here")
        return (f"wrote {self.committed_written} committed + {self.aborted_written} aborted; "
                f"read_committed saw {len(self.read_committed_saw)} "
                f"({sum(v.startswith('aborted') for v in self.read_committed_saw)} aborted), "
                f"read_uncommitted saw {len(self.read_uncommitted_saw)}: {verdict}")


def _read_all(topic: str, isolation: str, settings: Any, timeout: float) -> list[str]:
    return [m.value for m in read_topic(topic, settings=settings, timeout=timeout,
                                        value_format="str", isolation_level=isolation)]


def measure_read_committed(topic: str | None = None, *, settings: Any = None,
                           committed: int = 3, aborted: int = 2,
                           timeout: float = 15.0) -> IsolationReport:
    """Write ``committed`` records in a committed transaction and ``aborted``
    in an aborted one, then read the topic both ways."""
    topic = topic or f"isolation-{uuid.uuid4().hex[:8]}"
    with Admin(settings) as admin:
        admin.ensure_topic(topic, partitions=1)
    producer = Producer(settings, value_format="str",
                        transactional_id=f"measure-{uuid.uuid4().hex[:8]}")
    try:
        raw = producer.raw  # transactions are the raw client's API
        raw.init_transactions()
        raw.begin_transaction()
        for i in range(committed):
            producer.send(topic, f"committed-{i}")
        raw.commit_transaction()
        raw.begin_transaction()
        for i in range(aborted):
            producer.send(topic, f"aborted-{i}")
        producer.flush()
        raw.abort_transaction()
    finally:
        producer.close()
    return IsolationReport(
        committed, aborted,
        _read_all(topic, "read_committed", settings, timeout),
        _read_all(topic, "read_uncommitted", settings, timeout))
