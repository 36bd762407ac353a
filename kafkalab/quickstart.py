"""Week 1 outside Jupyter: create a topic, send keyed orders, read them back in a group.

``python -m kafkalab.quickstart --n 200`` runs the same steps as the week-1
notebooks against the broker in ``KAFKA_BROKERS`` (or a local one) and
prints what a learner should check: records per partition, that every
customer's orders sit on one partition in order, and the group's committed
offsets.

>>> report = ordering_report([
...     {"partition": 0, "offset": 0, "customerId": "CUST-001", "seq": 0},
...     {"partition": 0, "offset": 1, "customerId": "CUST-001", "seq": 1},
...     {"partition": 1, "offset": 0, "customerId": "CUST-002", "seq": 0},
... ])
>>> report
{'customers': 2, 'split_across_partitions': [], 'out_of_order': []}
"""

from __future__ import annotations

import argparse
import logging
import sys
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from kafkalab.clients.admin import Admin
from kafkalab.clients.consumer import Consumer
from kafkalab.clients.producer import Producer
from kafkalab.frames import read_topic
from kafkalab.sampledata import orders

__all__ = ["main", "ordering_report", "run"]

log = logging.getLogger(__name__)


def ordering_report(rows: Iterable[Mapping[str, Any]], key: str = "customerId",
                    seq: str = "seq") -> dict[str, Any]:
    """Check Kafka's promise for keyed records: one key, one partition, in order.

    ``rows`` are records read back (``partition``, ``offset`` and the value's
    fields), e.g. ``read_topic(...).to_dict("records")``. Returns the keys
    found on more than one partition and the keys whose ``seq`` does not
    increase with the offset.
    """
    by_key: dict[Any, list[tuple[int, int, int]]] = {}
    for r in rows:
        by_key.setdefault(r[key], []).append((r["partition"], r["offset"], r[seq]))
    split = sorted(k for k, recs in by_key.items() if len({p for p, _, _ in recs}) > 1)
    disorder = []
    for k, recs in by_key.items():
        seqs = [s for _, _, s in sorted(recs, key=lambda x: (x[0], x[1]))]
        if seqs != sorted(seqs):
            disorder.append(k)
    return {"customers": len(by_key), "split_across_partitions": split,
            "out_of_order": sorted(disorder)}


def run(topic: str, n: int = 200, partitions: int = 3, group_id: str | None = None,
        timeout: float = 30.0) -> dict[str, Any]:
    """The week-1 pipeline; returns what it saw (also logged)."""
    group_id = group_id or f"quickstart-{uuid.uuid4().hex[:6]}"
    with Admin() as admin:
        admin.ensure_topic(topic, partitions=partitions)
    data = orders(n, customers=10, seed=1)
    with Producer() as producer:
        for order in data:
            # The key decides the partition: all of one customer's orders
            # land on one partition, so they stay in the order they were sent.
            producer.send(topic, order, key=order["customerId"])
        producer.flush()
    consumed = 0
    with Consumer(topic, group_id=group_id) as consumer:
        for _msg in consumer.messages(max_messages=n, timeout=timeout):
            consumed += 1
        consumer.commit()  # the group's bookmark: a restart continues from here
        with Admin() as admin:
            committed = admin.group_offsets(group_id)
    frame = read_topic(topic, timeout=timeout)
    report = ordering_report(frame.to_dict("records"))
    return {"topic": topic, "produced": n, "consumed": consumed,
            "per_partition": frame.groupby("partition").size().to_dict(),
            "committed": {tp.partition: off for tp, off in sorted(committed.items())},
            **report}


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kafkalab.quickstart``: produce and consume keyed orders, then check them."""
    from kafkalab import configure_logging

    parser = argparse.ArgumentParser(prog="python -m kafkalab.quickstart", description=main.__doc__)
    parser.add_argument("--topic", default=None, help="default: a fresh week01-quickstart-* topic")
    parser.add_argument("--n", type=int, default=200, help="orders to send")
    parser.add_argument("--partitions", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for records")
    args = parser.parse_args(argv)
    configure_logging()
    topic = args.topic or f"week01-quickstart-{uuid.uuid4().hex[:6]}"
    result = run(topic, args.n, args.partitions, timeout=args.timeout)
    for name, value in result.items():
        print(f"{name:>24}: {value}")
    ok = (result["consumed"] == args.n and not result["split_across_partitions"]
          and not result["out_of_order"])
    print("OK: every customer's orders are on one partition, in order" if ok else "PROBLEM (see above)")
    return 0 if ok else 1


if __name__ == "__main__":
    from kafkalab.cli import guarded

    sys.exit(guarded(main, prog="python -m kafkalab.quickstart"))
