"""End-to-end records per second through the week-8 load test, as ratios to bare kafka-python.

    python bench/load.py            # 5,000 records per run
    python bench/load.py --n 1000   # quicker

Baseline: a bare KafkaProducer (linger 5 ms, acks=all, as kafkalab's Producer)
sends ``n`` JSON records like the load test's while a bare KafkaConsumer on
another thread reads and decodes them (assign + seek to the beginning), timed
from the first send to the last record read: produce and consume overlap, as
in the load test, so the ratio compares like with like.

Rows: :func:`kafkalab.ops.run_load` sending the same ``n`` records as fast as
it can while a consumer group processes them (no pretend work), timed from the
first send to the last record processed (the group join is done before), for
a small matrix: producer defaults, linger 20 ms + 64 KiB batches + lz4, and
3 consumers instead of 1 on 3 partitions. Latency p99 and the producer's
batching are recorded with each row.

The broker is a local Apache Kafka one unless KAFKA_BROKERS is set. Results are
appended to bench/results/load.jsonl.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, bench_parser, raw_consume, record, table  # noqa: E402
from kafka import KafkaProducer  # noqa: E402

from kafkalab import ops  # noqa: E402
from kafkalab.clients import Admin, bootstrap_servers  # noqa: E402

MATRIX = [
    ("load: defaults, 1 consumer", {}, 1),
    ("load: linger 20 + lz4, 1 consumer", {"linger_ms": 20, "batch_size": 65536,
                                           "compression_type": "lz4"}, 1),
    ("load: defaults, 3 consumers", {}, 3),
]


def raw_produce(topic: str, n: int) -> None:
    p = KafkaProducer(bootstrap_servers=bootstrap_servers(), bootstrap_timeout_ms=5000,
                      linger_ms=5)
    try:
        for i in range(n):
            p.send(topic, json.dumps({"i": i, "sent_ms": time.time() * 1000}).encode())
        p.flush()
    finally:
        p.close()


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, 5000)
    args = parser.parse_args(argv)
    n = args.n
    rows = []
    with Admin() as admin:
        topic = f"bench-load-raw-{uuid.uuid4().hex[:6]}"
        admin.ensure_topic(topic, 3)
        try:
            with Timer() as t:
                # daemon and a bounded join: raw_consume loops until it has n records,
                # so a failed produce must not leave the process waiting for ever
                reader = threading.Thread(target=raw_consume, args=(topic, n), daemon=True)
                reader.start()
                raw_produce(topic, n)
                reader.join(timeout=120)
            if reader.is_alive():
                raise RuntimeError(f"the baseline consumer did not read {n} records in 120 s")
        finally:
            admin.delete_topic(topic)
    baseline = "raw kafka-python produce+consume"
    rows.append({"name": baseline, "n": n, "seconds": round(t.seconds, 4), "per_s": n / t.seconds})
    for name, config, consumers in MATRIX:
        r = ops.run_load(rate=None, records=n, partitions=3, consumers=consumers,
                         producer_config=config, label=name)
        if r.processed != n or r.duplicates:  # not an assert: python -O would skip it
            raise RuntimeError(f"load run lost or repeated records: {r}")
        rows.append({"name": name, "n": n, "seconds": round(r.seconds, 4),
                     "per_s": r.throughput, "p99_ms": r.latency_ms["p99"],
                     "max_backlog": r.max_backlog, **r.producer_metrics})
    print(f"{n:,} JSON records per run, 3 partitions, end to end (produce -> processed)")
    print(table(rows, baseline))
    for r in rows[1:]:
        print(f"  {r['name']}: p99 {r['p99_ms']:.0f} ms, "
              f"{r.get('records_per_request_avg', 0):.0f} records per request")
    path = record("load", {"n": n, "broker": ",".join(bootstrap_servers())}, rows,
                  args.results_dir)
    print(f"results appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
