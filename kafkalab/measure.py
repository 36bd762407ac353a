"""Measure what producer settings and consumer counts do: throughput and bytes on the wire.

Two measurements, both against the real broker:

* :func:`produce` sends the same records with given producer settings
  (``linger_ms``, ``batch_size``, ``compression_type``, ``acks`` ...) and
  reports records per second and the bytes each record took *on the wire*,
  read from the producer's own metrics;
* :func:`consume` lets a group of ``n`` consumers process the same records
  and reports records per second, to see where adding consumers stops helping.

Run ``python -m kafkalab.measure --n 5000`` for the week-2 sweep outside Jupyter.

>>> m = {"producer-topic-metrics.t": {"byte-rate": 1100.0, "record-send-rate": 100.0,
...                                   "compression-rate": 0.25}}
>>> wire_bytes_per_record(m, "t")
11.0
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import pandas as pd

from kafkalab.clients.admin import Admin
from kafkalab.clients.producer import Producer
from kafkalab.clients.serdes import to_bytes
from kafkalab.groups import Group
from kafkalab.settings import Settings, get_settings

__all__ = ["ConsumeRun", "ProduceRun", "consume", "main", "produce", "to_frame", "wire_bytes_per_record"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Rate:
    """What every measurement reports: ``records`` in ``seconds``."""

    records: int = field(kw_only=True)
    seconds: float = field(kw_only=True)

    @property
    def records_per_s(self) -> float:
        return self.records / self.seconds


@dataclass(frozen=True)
class ProduceRun(_Rate):
    """One produce measurement. ``wire_bytes`` counts record batches as sent
    (after compression, with batch headers); ``payload_bytes`` the encoded
    keys and values before compression."""

    label: str
    payload_bytes: int
    wire_bytes: float
    batch_size_avg: float
    records_per_request: float
    config: dict[str, Any] = field(default_factory=dict)

    @property
    def wire_bytes_per_record(self) -> float:
        return self.wire_bytes / self.records

    @property
    def wire_ratio(self) -> float:
        """Bytes on the wire over payload bytes: below 1 means compression paid off."""
        return self.wire_bytes / self.payload_bytes


@dataclass(frozen=True)
class ConsumeRun(_Rate):
    """One group-consume measurement: ``consumers`` members over ``partitions``."""

    consumers: int
    partitions: int
    per_member: dict[str, int] = field(default_factory=dict)

    @property
    def idle_members(self) -> int:
        """Members that processed nothing: more members than partitions leaves some idle."""
        return sum(1 for n in self.per_member.values() if n == 0)


def wire_bytes_per_record(metrics: dict[str, dict[str, float]], topic: str) -> float:
    """Average bytes per record sent to ``topic``, from a producer's ``metrics()``.

    kafka-python reports rates, not totals: ``byte-rate`` (batch bytes per
    second) and ``record-send-rate`` (records per second) for each topic. Both
    are measured over the same time window, so their ratio is bytes per
    record, whatever the window.
    """
    topic_metrics = metrics.get(f"producer-topic-metrics.{topic}")
    if not topic_metrics or not topic_metrics.get("record-send-rate"):
        raise ValueError(f"the producer has no metrics for topic {topic!r}: nothing was sent")
    return topic_metrics["byte-rate"] / topic_metrics["record-send-rate"]


def produce(topic: str, values: Sequence[Any], *, keys: Sequence[Any] | None = None,
            label: str | None = None, settings: Settings | None = None,
            **producer_config: Any) -> ProduceRun:
    """Send ``values`` (with ``keys``) through a fresh producer and measure it.

    The clock runs from the first ``send`` to the end of ``flush``: the time
    until the broker acknowledged every record. A fresh producer per run keeps
    one run's metrics out of the next.
    """
    if not values:
        raise ValueError("produce needs at least one value to send")
    if keys is not None and len(keys) != len(values):
        raise ValueError(f"got {len(keys)} keys for {len(values)} values")
    producer = Producer(settings, **producer_config)
    payload = sum(len(to_bytes("json", v) or b"") for v in values)
    if keys is not None:
        payload += sum(len(to_bytes("str", k) or b"") for k in keys)
    try:
        # Connect (and fetch the topic's metadata) before the clock starts, so
        # the first run does not pay for connecting and the others do not.
        producer.raw.partitions_for(topic)
        started = time.perf_counter()
        for i, value in enumerate(values):
            producer.send(topic, value, key=None if keys is None else keys[i])
        producer.flush(timeout=60)
        seconds = time.perf_counter() - started
        metrics = producer.metrics()
    finally:
        producer.close()
    pm = metrics.get("producer-metrics", {})
    per_record = wire_bytes_per_record(metrics, topic)
    name = label or ",".join(f"{k}={v}" for k, v in producer_config.items()) or "defaults"
    run = ProduceRun(label=name, records=len(values), seconds=seconds, payload_bytes=payload,
                     wire_bytes=per_record * len(values),
                     batch_size_avg=pm.get("batch-size-avg", float("nan")),
                     records_per_request=pm.get("records-per-request-avg", float("nan")),
                     config=dict(producer_config))
    log.info("%s: %.0f records/s, %.1f bytes/record on the wire", name, run.records_per_s,
             run.wire_bytes_per_record)
    return run


def consume(topic: str, values: Sequence[Any], *, consumers: int, partitions: int,
            keys: Sequence[Any] | None = None, record_delay: float = 0.002,
            timeout: float = 60.0, settings: Settings | None = None) -> ConsumeRun:
    """Time ``consumers`` members of a new group processing ``values``.

    The group forms first (joins take a while and are not what we measure);
    then the records are produced and the clock runs until the group has
    processed all of them (a record re-delivered after a refused commit
    counts twice, as it costs twice). ``record_delay`` is pretend work per record (a
    database call): with no work at all, Python threads share one core and
    adding consumers cannot show its effect.
    """
    settings = settings or get_settings()
    group = Group(topic, f"measure-{uuid.uuid4().hex[:8]}", record_delay=record_delay,
                  from_beginning=False, settings=settings)
    try:
        for i in range(consumers):
            group.add(f"c{i + 1}")
        group.wait_settled(partitions, timeout=timeout)
        with Producer(settings) as producer:
            started = time.perf_counter()
            for i, value in enumerate(values):
                producer.send(topic, value, key=None if keys is None else keys[i])
            producer.flush(timeout=30)
        deadline = time.monotonic() + timeout
        while group.processed() < len(values):
            group.raise_errors()
            if time.monotonic() > deadline:
                raise TimeoutError(f"{consumers} consumers processed {group.processed()} of "
                                   f"{len(values)} records within {timeout} s")
            time.sleep(0.01)
        seconds = time.perf_counter() - started
        per_member = {name: m.processed for name, m in group.members.items()}
    finally:
        group.close()
    run = ConsumeRun(consumers=consumers, partitions=partitions, records=group.processed(),
                     seconds=seconds, per_member=per_member)
    log.info("%d consumers: %.0f records/s", consumers, run.records_per_s)
    return run


def to_frame(runs: Iterable[ProduceRun | ConsumeRun]) -> pd.DataFrame:
    """One row per run, with the derived rates as columns."""
    rows = []
    for run in runs:
        fields = asdict(run)
        # What was measured first (label, or consumers and partitions), then the counts.
        row = {k: v for k, v in fields.items() if k not in ("config", "per_member", "records", "seconds")}
        row |= {"records": run.records, "seconds": run.seconds}
        row["records_per_s"] = run.records_per_s
        if isinstance(run, ProduceRun):
            row["wire_bytes_per_record"] = run.wire_bytes_per_record
            row["wire_ratio"] = run.wire_ratio
        else:
            row["idle_members"] = run.idle_members
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m kafkalab.measure``: week 2's batching, compression and scaling sweep."""
    from kafkalab import configure_logging
    from kafkalab.sampledata import orders

    parser = argparse.ArgumentParser(prog="python -m kafkalab.measure", description=main.__doc__)
    parser.add_argument("--n", type=int, default=5000, help="records per produce run")
    parser.add_argument("--codecs", default="none,gzip,snappy,lz4,zstd")
    parser.add_argument("--consumers", default="1,2,4", help="group sizes to measure ('' to skip)")
    parser.add_argument("--consume-n", type=int, default=600, help="records per consume run")
    parser.add_argument("--partitions", type=int, default=4)
    parser.add_argument("--json", action="store_true", help="print JSON lines instead of tables")
    args = parser.parse_args(argv)
    configure_logging("warning")

    topic = f"week02-measure-{uuid.uuid4().hex[:6]}"
    with Admin() as admin:
        admin.ensure_topic(topic, partitions=args.partitions)
    data = orders(args.n, seed=42)
    keys = [o["customerId"] for o in data]
    runs: list[ProduceRun] = [
        produce(topic, data, keys=keys, label="linger 0, batch 16 KiB", linger_ms=0),
        produce(topic, data, keys=keys, label="linger 20, batch 64 KiB", linger_ms=20,
                batch_size=65536),
    ]
    for codec in [c.strip() for c in args.codecs.split(",") if c.strip()]:
        runs.append(produce(topic, data, keys=keys, label=codec,
                            linger_ms=20, batch_size=65536,
                            compression_type=None if codec == "none" else codec))
    scaling = [consume(topic, data[:args.consume_n], keys=keys[:args.consume_n], consumers=int(n),
                       partitions=args.partitions)
               for n in args.consumers.split(",") if n.strip()]
    with Admin() as admin:
        admin.delete_topic(topic)
    if args.json:
        for row in to_frame(runs).to_dict("records") + to_frame(scaling).to_dict("records"):
            print(json.dumps(row, default=str))
    else:
        print(to_frame(runs)[["label", "records_per_s", "wire_bytes_per_record", "wire_ratio"]]
              .round(2).to_string(index=False))
        if scaling:
            print()
            print(to_frame(scaling)[["consumers", "partitions", "records_per_s", "idle_members"]]
                  .round(1).to_string(index=False))
    return 0


if __name__ == "__main__":
    from kafkalab.cli import guarded

    sys.exit(guarded(main, prog="python -m kafkalab.measure"))
