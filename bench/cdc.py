"""Change events per second through the week-7 CDC pieces, as ratios to bare kafka-python.

    python bench/cdc.py            # 5,000 random changes to a SQLite shop
    python bench/cdc.py --n 500    # quicker

Capture: :class:`SQLiteCapture` reads the trigger-written change table,
publishes each change keyed by row, waits for the broker and records its
offset, batch by batch; the baseline is a bare KafkaProducer sending the same
JSON records with the same keys (linger 5 ms, kafka-python's default acks=all).
Also shown: the application's own writes with and without the triggers (what
capture costs the database).

Apply: :class:`LakeApplier` (consume, parse, dedupe, one Parquet file per
table per batch) against a bare KafkaConsumer that only decodes the same
records; and :meth:`Lake.apply` on events already in memory, without Kafka.

The broker is a local Apache Kafka one unless KAFKA_BROKERS is set. Results are
appended to bench/results/cdc.jsonl.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, bench_parser, raw_consume, record, table  # noqa: E402
from kafka import KafkaProducer  # noqa: E402

from kafkalab import cdc  # noqa: E402
from kafkalab.clients import Admin, Producer, bootstrap_servers  # noqa: E402


def raw_produce(topic: str, events: list[cdc.ChangeEvent]) -> None:
    p = KafkaProducer(bootstrap_servers=bootstrap_servers(), bootstrap_timeout_ms=5000,
                      linger_ms=5)
    for e in events:
        p.send(topic, json.dumps(e.to_record()).encode(), key=e.record_key.encode())
    p.flush()
    p.close()


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, 5000)
    args = parser.parse_args(argv)
    n = args.n
    work = Path(tempfile.mkdtemp(prefix="bench-cdc-"))
    try:
        return _run(args, n, work)
    finally:
        shutil.rmtree(work, ignore_errors=True)  # also when a check fails


def _run(args: argparse.Namespace, n: int, work: Path) -> int:

    def row(name: str, seconds: float, count: int = n) -> dict:
        return {"name": name, "n": count, "seconds": round(seconds, 4), "per_s": count / seconds}

    # The application's writes, without and with capture triggers: best of two
    # rounds each, alternating (SQLite commits wait for the disk, which is noisy).
    plain, db = work / "plain.db", work / "shop.db"
    best = {"plain": float("inf"), "triggers": float("inf")}
    for _ in range(2):
        for name, path in (("plain", plain), ("triggers", db)):
            cdc.create_shop(path, products=200, customers=50, seed=1)
            if name == "triggers":
                capture_events = cdc.SQLiteCapture(path, cdc.SHOP_TABLES, producer=None,
                                                   prune=False)
                capture_events.install()
                capture_events.close()
            with Timer() as t:
                cdc.random_changes(path, n, seed=2, per_transaction=10)
            best[name] = min(best[name], t.seconds)
    capture_events = cdc.SQLiteCapture(db, cdc.SHOP_TABLES, producer=None)
    events = capture_events.pending(limit=n)  # the exact records the capture will publish
    capture_events.close()
    assert len(events) == n, len(events)
    writes = [row("app writes: no triggers", best["plain"]),
              row("app writes: with CDC triggers", best["triggers"])]

    run = uuid.uuid4().hex[:6]
    raw_topic, cap_topic, dlq = f"bench-cdc-raw-{run}", f"bench-cdc-{run}", f"bench-cdc-dlq-{run}"
    pub, app = [], []
    with Admin() as admin:
        for topic in (raw_topic, cap_topic):
            admin.ensure_topic(topic, 3)
        with Timer() as t:
            raw_produce(raw_topic, events)
        pub.append(row("publish: bare kafka-python", t.seconds))
        with Producer() as producer:
            producer.send(cap_topic, {"warm": True}, key="warm").get(10)  # connect first
            cap = cdc.SQLiteCapture(db, cdc.SHOP_TABLES, topic=cap_topic, producer=producer)
            with Timer() as t:
                stats = cap.run(max_messages=n, timeout=600)
            cap.close()
        assert stats.published == n, stats
        pub.append(row("capture: SQLiteCapture", t.seconds))

        with Timer() as t:
            raw_consume(raw_topic, n)
        app.append(row("read: bare kafka-python", t.seconds))
        with cdc.LakeApplier(work / "lake", raw_topic, dead_letter_topic=dlq) as applier:
            _ = applier.consumer.raw  # connect and assign before timing
            with Timer() as t:
                s = applier.run(max_messages=n, timeout=600)
        assert s.applied == n and s.dead_lettered == 0, s
        app.append(row("apply: LakeApplier (Parquet)", t.seconds))
        with Timer() as t:
            assert cdc.Lake(work / "lake-memory").apply(events) == n
        app.append(row("apply: Lake.apply, no Kafka", t.seconds))
        for topic in (raw_topic, cap_topic, dlq):
            admin.delete_topic(topic)
    size = sum(len(json.dumps(e.to_record())) for e in events) / n
    print(f"{n:,} random changes to a SQLite shop; change events of about {size:.0f} bytes, "
          "3 partitions")
    print(table(writes, "app writes: no triggers"))
    print(table(pub, "publish: bare kafka-python"))
    print(table(app, "read: bare kafka-python"))
    path = record("cdc", {"n": n, "broker": ",".join(bootstrap_servers())}, writes + pub + app,
                  args.results_dir)
    print(f"results appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
