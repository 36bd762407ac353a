"""Feed the earlier weeks' topics into week 6: orders and application logs become shop events.

Week 6 has its own generator, but the dashboard can just as well watch the
order system of weeks 3-4 and the services' logs of week 5. This is a
stateless stream job (a ``mapValues`` + ``to`` in Kafka Streams terms): read
``orders`` and ``application-logs``, turn what matters into the shop-event
shape, write it to ``shop-events``.

* an ``OrderPlaced`` envelope (week 3) becomes an ``order`` event;
* a log record (week 5) with ``metadata.duration_ms`` becomes a ``request``
  event, an error if its level is ERROR or worse;
* everything else (other order events, logs without a duration) is counted
  as *ignored*; a record that cannot be read goes to the dead-letter topic.

>>> to_shop_event({"eventType": "OrderPlaced", "orderId": "ORD-1", "timestamp": 1000,
...                "data": {"customerId": "CUST-001", "total": 1500, "items": []}})
{'type': 'order', 'orderId': 'ORD-1', 'customerId': 'CUST-001', 'total': 1500.0, 'timestamp': 1000}
>>> to_shop_event({"timestamp": "2026-01-01T00:00:00.250Z", "source": "payments", "level": "ERROR",
...                "message": "timeout", "metadata": {"duration_ms": 3000, "userId": "U1"}})
{'type': 'request', 'userId': 'U1', 'service': 'payments', 'responseTimeMs': 3000.0, 'status': 500,
 'timestamp': 1767225600250}
>>> to_shop_event({"eventType": "OrderShipped", "orderId": "ORD-1", "timestamp": 5, "data": {}}) is None
True
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from kafkalab.analytics.pipeline import EVENTS_TOPIC
from kafkalab.clients import Admin, Bounds, Consumer, ConsumerLoop, DeadLetterQueue, LoopStats, Message, Producer
from kafkalab.clients.deadletter import DEAD_LETTER_TOPIC
from kafkalab.logs.record import level_number, timestamp_ms
from kafkalab.settings import Settings, get_settings

__all__ = ["BridgeStats", "bridge", "to_shop_event"]

log = logging.getLogger(__name__)

#: The topics of weeks 3 (orders) and 5 (application logs).
SOURCES = ("orders", "application-logs")


def to_shop_event(value: Any) -> dict[str, Any] | None:
    """The shop event for one record of the earlier weeks, or None if it is not one.

    Raises ``ValueError`` (with the reason) for a record that looks like an
    order event or a log record but cannot be read.
    """
    if not isinstance(value, dict):
        raise ValueError(f"expected a JSON object; got {type(value).__name__}")
    if "eventType" in value:                                   # week 3: an order envelope
        if value["eventType"] != "OrderPlaced":
            return None
        data = value.get("data") or {}
        try:
            return {"type": "order", "orderId": value["orderId"],
                    "customerId": data["customerId"], "total": float(data["total"]),
                    "timestamp": int(value["timestamp"])}
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"OrderPlaced without a usable {exc}") from None
    if "level" in value:                                       # week 5: a log record
        meta = value.get("metadata") or {}
        if "duration_ms" not in meta:
            return None
        return {"type": "request", "userId": meta.get("userId") or meta.get("customerId"),
                "service": value.get("source") or value.get("service"),
                "responseTimeMs": float(meta["duration_ms"]),
                "status": 500 if level_number(value["level"]) >= logging.ERROR else 200,
                "timestamp": timestamp_ms(value)}
    raise ValueError("neither an order event (no 'eventType') nor a log record (no 'level')")


@dataclass
class BridgeStats(LoopStats):
    """The loop's counts, and shop events written and records ignored."""

    written: int = 0
    ignored: int = 0


def bridge(sources: Sequence[str] = SOURCES, target: str = EVENTS_TOPIC, *,
           max_messages: int | None = None, timeout: float | None = 60.0,
           idle_timeout: float | None = 10.0, settings: Settings | None = None,
           dead_letter_topic: str = DEAD_LETTER_TOPIC) -> BridgeStats:
    """Copy the earlier weeks' records into ``target`` as shop events; bounded.

    Sources that do not exist are skipped with a warning. Each batch is
    written and flushed *before* its offsets are committed (at-least-once).
    """
    settings = settings or get_settings()
    stats = BridgeStats()
    with Admin(settings) as admin:
        existing = set(admin.topics())
        admin.ensure_topic(target, partitions=1)
        admin.ensure_topic(dead_letter_topic, partitions=1)
    present = [s for s in sources if s in existing]
    for missing in sorted(set(sources) - set(present)):
        log.warning("bridge: topic %s does not exist (yet); skipping it", missing)
    if not present:
        return stats
    with Producer(settings) as producer, Consumer(present, group_id=f"{target}-bridge",
                                                  settings=settings) as consumer:

        def copy(msg: Message) -> None:
            event = to_shop_event(msg.value)  # ValueError: dead-lettered with the reason
            if event is None:
                stats.ignored += 1
                return
            producer.send(target, event, key=event.get("customerId") or event.get("userId"),
                          timestamp_ms=event["timestamp"])
            stats.written += 1

        loop = ConsumerLoop(consumer, batch_handler=lambda batch: batch.each(copy, stage="bridge"),
                            dead_letter=DeadLetterQueue(producer, dead_letter_topic),
                            # written before committed: nothing lost on a crash
                            before_commit=lambda _batch: producer.flush(),
                            stats=stats, name=f"{target}-bridge")
        loop.run(Bounds(max_messages, timeout, idle_timeout), handle_signals=False)
    return stats
