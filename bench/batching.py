"""Producer settings against the default producer: batching and each compression codec.

Sends the same N seeded orders through kafkalab producers with different
``linger_ms`` / ``batch_size`` / ``compression_type`` (via
:func:`kafkalab.measure.produce`, the same code week 2's notebook uses) and
prints records per second and bytes on the wire per record, each as a ratio
to the baseline: kafkalab's default producer (linger 5 ms, 16 KiB batches,
no compression).

    python bench/batching.py            # 20,000 orders per setting
    python bench/batching.py --n 2000   # quicker

The broker is a local Apache Kafka one unless KAFKA_BROKERS is set. Results are
appended to bench/results/batching.jsonl.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import bench_parser, record, table  # noqa: E402

from kafkalab import measure  # noqa: E402
from kafkalab.clients import Admin  # noqa: E402
from kafkalab.sampledata import orders  # noqa: E402

BASELINE = "default (linger 5, 16 KiB)"
SETTINGS: dict[str, dict] = {
    BASELINE: {},
    "linger 0": {"linger_ms": 0},
    "linger 20, 64 KiB": {"linger_ms": 20, "batch_size": 65536},
    "linger 50, 256 KiB": {"linger_ms": 50, "batch_size": 262144},
    "gzip (linger 20, 64 KiB)": {"linger_ms": 20, "batch_size": 65536, "compression_type": "gzip"},
    "snappy (linger 20, 64 KiB)": {"linger_ms": 20, "batch_size": 65536, "compression_type": "snappy"},
    "lz4 (linger 20, 64 KiB)": {"linger_ms": 20, "batch_size": 65536, "compression_type": "lz4"},
    "zstd (linger 20, 64 KiB)": {"linger_ms": 20, "batch_size": 65536, "compression_type": "zstd"},
}


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, 20000, "orders per setting")
    parser.add_argument("--partitions", type=int, default=3)
    args = parser.parse_args(argv)

    topic = f"bench-batching-{uuid.uuid4().hex[:8]}"
    with Admin() as admin:
        admin.ensure_topic(topic, partitions=args.partitions)
    data = orders(args.n, seed=42)
    keys = [o["customerId"] for o in data]
    rows = []
    try:
        for name, config in SETTINGS.items():
            run = measure.produce(topic, data, keys=keys, label=name, **config)
            rows.append({"name": name, "n": run.records, "seconds": round(run.seconds, 4),
                         "per_s": round(run.records_per_s, 1),
                         "wire_bytes_per_record": round(run.wire_bytes_per_record, 2),
                         "config": config})
    finally:
        with Admin() as admin:
            admin.delete_topic(topic)

    print(f"records per second, {args.n} orders per setting (ratio to {BASELINE}):")
    print(table(rows, BASELINE))
    base_bytes = next(r["wire_bytes_per_record"] for r in rows if r["name"] == BASELINE)
    print(f"\nbytes per record on the wire (ratio to {BASELINE}):")
    for r in rows:
        r["bytes_ratio"] = round(r["wire_bytes_per_record"] / base_bytes, 3)
        print(f"{r['name']:<34} {r['wire_bytes_per_record']:>12,.1f} {r['bytes_ratio']:>7.2f}x")
    path = record("batching", {"n": args.n, "partitions": args.partitions}, rows, args.results_dir)
    print(f"\nappended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
