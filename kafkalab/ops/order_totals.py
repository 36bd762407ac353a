"""Order totals: the small Kafka service that week 8's testing lesson writes tests for.

It reads orders (JSON) from one topic, writes each order's total to another, keyed like the
order, and sends a record it cannot read (a *poison* record) to a dead-letter topic instead of
stopping. Plain kafka-python, one file, so that a test file next to it can ``import
order_totals`` (the lesson copies this file into a folder of its own).

>>> total({"order_id": "O-1", "items": [{"sku": "A", "qty": 2, "price": 1.25}]}, 1_700_000_000_000)
{'order_id': 'O-1', 'total': 2.5, 'at': 1700000000000}
>>> total({"order_id": "O-2", "items": []}, 0)
Traceback (most recent call last):
...
ValueError: order O-2 has no items
"""

from __future__ import annotations

import json
import time
from typing import Any

from kafka import KafkaConsumer, KafkaProducer


def total(order: dict[str, Any], timestamp_ms: int) -> dict[str, Any]:
    """The total of one order: the sum of quantity times price over its items, rounded to two
    decimals; ``at`` is the record's timestamp. An order without items is refused (ValueError)."""
    items = order.get("items")
    if not items:
        raise ValueError(f"order {order.get('order_id')} has no items")
    amount = sum(item["qty"] * item["price"] for item in items)
    return {"order_id": order["order_id"], "total": round(amount, 2), "at": timestamp_ms}


def run(bootstrap: str, source: str, sink: str, dead_letter: str, group: str, *,
        max_records: int, timeout_s: float = 20.0) -> int:
    """Read ``source`` as consumer group ``group`` from the beginning, write totals to ``sink``
    and poison records to ``dead_letter``; stop after ``max_records`` records or ``timeout_s``
    seconds. Offsets are committed after each batch's output is flushed (at least once).
    Returns the number of records handled."""
    consumer = KafkaConsumer(source, bootstrap_servers=bootstrap, group_id=group,
                             auto_offset_reset="earliest",  # a new group reads what is there
                             enable_auto_commit=False)
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    handled = 0
    deadline = time.monotonic() + timeout_s
    try:
        while handled < max_records and time.monotonic() < deadline:
            batch = consumer.poll(timeout_ms=500)
            for records in batch.values():
                for record in records:
                    try:
                        out = total(json.loads(record.value), record.timestamp)
                        producer.send(sink, key=record.key, value=json.dumps(out).encode())
                    except (ValueError, KeyError, TypeError) as exc:  # JSONDecodeError is a ValueError
                        # a record we cannot read goes aside, with the reason, and we go on
                        producer.send(dead_letter, key=record.key, value=record.value,
                                      headers=[("error", f"{type(exc).__name__}: {exc}".encode())])
                    handled += 1
            if batch:
                producer.flush()   # the output is stored before the input counts as done
                consumer.commit()
    finally:
        producer.close(timeout=5)
        consumer.close(autocommit=False)
    return handled
