"""Log records per second through the week-5 pieces, as ratios to bare kafka-python.

    python bench/logs.py            # 20,000 simulated log records
    python bench/logs.py --n 2000   # quicker

Shipping: ``logging`` + :class:`KafkaLogHandler` (emit, batch in the
background, lz4, until every record is acknowledged) against a bare
KafkaProducer sending the same JSON records (acks=1, not idempotent, linger
20 ms, as the handler; uncompressed, and with lz4 as a second row). Also shown: the time the *application* thread
spends in ``emit``, which is what the handler costs the program.

Aggregating: :class:`LogAggregator` (validate, window, alert, commit per
batch; the group join is done before timing) against a bare KafkaConsumer
that only decodes the same records. Also: the same aggregation on records
already in memory, without Kafka.

The broker is a local Apache Kafka one unless KAFKA_BROKERS is set. Results are
appended to bench/results/logs.jsonl.
"""

from __future__ import annotations

import json
import logging
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, bench_parser, raw_consume, record, table  # noqa: E402
from kafka import KafkaProducer  # noqa: E402

from kafkalab.clients import Admin, bootstrap_servers  # noqa: E402
from kafkalab.logs import (  # noqa: E402
    DEFAULT_RULES,
    AlertEngine,
    ErrorBurst,
    KafkaLogHandler,
    LogAggregator,
    WindowAggregator,
    simulate,
    validate,
)


def records_for(n: int, seed: int = 7) -> list[dict]:
    # About 24 records per simulated second with the default services.
    recs = simulate(n / 20 + 60, seed=seed, incidents=[ErrorBurst("payments", 300, 60)])
    assert len(recs) >= n, f"simulated {len(recs)} < {n}"
    return recs[:n]


def raw_produce(topic: str, recs: list[dict], compression: str | None = None) -> None:
    p = KafkaProducer(bootstrap_servers=bootstrap_servers(), bootstrap_timeout_ms=5000, acks=1,
                      enable_idempotence=False, linger_ms=20, compression_type=compression)
    for r in recs:
        p.send(topic, json.dumps(r, separators=(",", ":")).encode(), key=r["service"].encode())
    p.flush()
    p.close()


def handler_produce(topic: str, recs: list[dict]) -> tuple[float, float]:
    """Returns (seconds until all acknowledged, seconds spent inside emit)."""
    h = KafkaLogHandler("bench", topic=topic, capacity=len(recs) + 1, batch_size=1000)
    log = logging.getLogger(f"bench.logs.{uuid.uuid4().hex}")
    log.handlers[:] = [h]
    log.setLevel(logging.DEBUG)
    log.propagate = False
    # Records were built beforehand, so only logging + shipping is timed.
    calls = [(logging.getLevelName(r["level"]), r["message"],
              dict(r["metadata"], service=r["service"])) for r in recs]
    with Timer() as total:
        with Timer() as emit:
            for level, message, extra in calls:
                log.log(level, message, extra=extra)
        assert h.flush(120), h.stats
    h.close()
    assert h.stats.sent == len(recs) and h.stats.dropped == 0, h.stats
    return total.seconds, emit.seconds


def aggregator_consume(topic: str, n: int) -> float:
    run = uuid.uuid4().hex[:6]
    with LogAggregator(topic=topic, group_id=f"bench-{run}", summaries_topic=f"bench-sum-{run}",
                       alerts_topic=f"bench-alerts-{run}",
                       dead_letter_topic=f"bench-dlq-{run}") as agg:
        agg.wait_ready()  # the ~1 s group join is not what we measure
        with Timer() as t:
            stats = agg.run(max_messages=n, timeout=300)
        assert stats.processed == n, stats
    with Admin() as admin:
        for name in (f"bench-sum-{run}", f"bench-alerts-{run}", f"bench-dlq-{run}"):
            admin.delete_topic(name)
    return t.seconds


def in_memory(recs: list[dict]) -> float:
    payloads = [json.dumps(r).encode() for r in recs]
    with Timer() as t:
        windows = WindowAggregator(60)
        engine = AlertEngine.from_config(DEFAULT_RULES)
        for p in payloads:
            r = validate(json.loads(p))
            windows.process(r)
            engine.process(r)
        windows.flush()
        engine.flush()
    return t.seconds


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, 20000)
    args = parser.parse_args(argv)
    n = args.n
    recs = records_for(n)

    def row(name: str, seconds: float) -> dict:
        return {"name": name, "n": n, "seconds": round(seconds, 4), "per_s": n / seconds}

    ship, agg = [], []
    with Admin() as admin:
        raw_topic, h_topic = f"bench-logs-raw-{uuid.uuid4().hex[:6]}", f"bench-logs-h-{uuid.uuid4().hex[:6]}"
        for t in (raw_topic, h_topic):
            admin.ensure_topic(t, 3)
        with Timer() as t:
            raw_produce(raw_topic, recs)
        ship.append(row("ship: bare kafka-python", t.seconds))
        # The handler compresses with lz4; this row shows how much of its
        # difference to the baseline is that alone.
        lz4_topic = f"bench-logs-lz4-{uuid.uuid4().hex[:6]}"
        admin.ensure_topic(lz4_topic, 3)
        with Timer() as t:
            raw_produce(lz4_topic, recs, "lz4")
        ship.append(row("ship: bare kafka-python, lz4", t.seconds))
        admin.delete_topic(lz4_topic)
        total, emit = handler_produce(h_topic, recs)
        ship.append(row("ship: KafkaLogHandler (acked)", total))
        ship.append(row("ship: emit() in the app thread", emit))
        with Timer() as t:
            raw_consume(raw_topic, n)
        agg.append(row("read: bare kafka-python", t.seconds))
        agg.append(row("aggregate: LogAggregator", aggregator_consume(raw_topic, n)))
        agg.append(row("aggregate: in memory, no Kafka", in_memory(recs)))
        for t in (raw_topic, h_topic):
            admin.delete_topic(t)
    size = sum(len(json.dumps(r)) for r in recs) / n
    print(f"{n:,} simulated log records of about {size:.0f} bytes, 3 partitions")
    print(table(ship, "ship: bare kafka-python"))
    print(table(agg, "read: bare kafka-python"))
    path = record("logs", {"n": n, "broker": ",".join(bootstrap_servers())}, ship + agg,
                  args.results_dir)
    print(f"results appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
