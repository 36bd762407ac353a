"""Produce and consume the same N messages through kafkalab, raw kafka-python
and confluent-kafka, against the same broker, and print each as a ratio to raw
kafka-python.

    python bench/clients.py            # 100,000 messages, 3 rounds
    python bench/clients.py --n 2000 --rounds 1   # quicker

The clients take turns: one warm-up round (not counted: the broker's JIT and
the first connections would otherwise be charged to whoever goes first), then
``--rounds`` rounds in which each client produces and consumes in turn; each
row is the median round. (One round, in a fixed order, put the producer ratio
anywhere between 0.84 and 1.42 from one run to the next.)

The broker is a local Apache Kafka one unless KAFKA_BROKERS is set. Results are
appended to bench/results/clients.jsonl.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, bench_parser, raw_consume, record, table  # noqa: E402
from kafka import KafkaProducer  # noqa: E402

from kafkalab.clients import Admin, Consumer, Producer, bootstrap_servers  # noqa: E402

PRODUCER = dict(linger_ms=5, batch_size=65536)


def payloads(n: int, seed: int = 7) -> list[dict]:
    rng = random.Random(seed)
    return [{"orderId": f"ORD-{i:07d}", "customerId": f"CUST-{rng.randrange(1000):04d}",
             "items": [{"productId": f"ITEM-{rng.randrange(50):03d}", "price": rng.randrange(5, 500),
                        "quantity": rng.randrange(1, 4)}],
             "status": "PLACED"} for i in range(n)]


def raw_produce(topic: str, values: list[dict]) -> None:
    p = KafkaProducer(bootstrap_servers=bootstrap_servers(), bootstrap_timeout_ms=5000, **PRODUCER)
    for v in values:
        p.send(topic, json.dumps(v, separators=(",", ":")).encode(), key=v["customerId"].encode())
    p.flush()
    p.close()


def kafkalab_produce(topic: str, values: list[dict]) -> None:
    with Producer(**PRODUCER) as p:
        for v in values:
            p.send(topic, v, key=v["customerId"])
        p.flush()


def confluent_produce(topic: str, values: list[dict]) -> None:
    import confluent_kafka

    p = confluent_kafka.Producer({"bootstrap.servers": ",".join(bootstrap_servers()),
                                  "linger.ms": 5, "batch.size": 65536, "enable.idempotence": True})
    for v in values:
        while True:
            try:
                p.produce(topic, json.dumps(v, separators=(",", ":")).encode(),
                          key=v["customerId"].encode())
                break
            except BufferError:
                p.poll(0.05)
        p.poll(0)
    p.flush(30)


def kafkalab_consume(topic: str, n: int) -> int:
    with Consumer(topic, group_id=False) as c:
        return sum(1 for _ in c.messages(max_messages=n, timeout=120))


def confluent_consume(topic: str, n: int) -> int:
    import confluent_kafka

    c = confluent_kafka.Consumer({"bootstrap.servers": ",".join(bootstrap_servers()),
                                  "group.id": f"bench-{uuid.uuid4().hex[:6]}",
                                  "auto.offset.reset": "earliest", "enable.auto.commit": False})
    md = c.list_topics(topic, timeout=10)
    c.assign([confluent_kafka.TopicPartition(topic, p, confluent_kafka.OFFSET_BEGINNING)
              for p in md.topics[topic].partitions])
    got = 0
    while got < n:
        for m in c.consume(num_messages=10000, timeout=1.0):
            if m.error() is None:
                json.loads(m.value())
                got += 1
    c.close()
    return got


def main(argv: list[str] | None = None) -> int:
    # 100,000: at 20,000 a consume took a quarter of a second here, and the fixed
    # cost of connecting (the same for every client) was a third of it.
    parser = bench_parser(__doc__, 100_000)
    parser.add_argument("--rounds", type=int, default=3, help="counted rounds (median is reported)")
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    values = payloads(args.n)
    clients = [("raw kafka-python", raw_produce, raw_consume),
               ("kafkalab", kafkalab_produce, kafkalab_consume)]
    try:
        import confluent_kafka  # noqa: F401

        clients.append(("confluent-kafka", confluent_produce, confluent_consume))
    except ImportError:
        print("confluent-kafka is not installed: skipped")
    seconds: dict[str, list[float]] = {}
    with Admin() as admin:
        for round_ in range(args.rounds + 1):  # round 0 warms up and is not counted
            for name, produce, consume in clients:
                topic = f"bench-{uuid.uuid4().hex[:8]}"
                admin.ensure_topic(topic, 3)
                with Timer() as tp:
                    produce(topic, values)
                with Timer() as tc:
                    got = consume(topic, args.n)
                assert got == args.n, f"{name} consumed {got} of {args.n}"
                admin.delete_topic(topic)
                if round_:
                    seconds.setdefault(f"produce: {name}", []).append(tp.seconds)
                    seconds.setdefault(f"consume: {name}", []).append(tc.seconds)
    rows = [{"name": name, "n": args.n, "seconds": round(statistics.median(s), 4),
             "per_s": args.n / statistics.median(s), "rounds": [round(x, 4) for x in s]}
            for name, s in seconds.items()]
    prod = [r for r in rows if r["name"].startswith("produce")]
    cons = [r for r in rows if r["name"].startswith("consume")]
    print(f"{args.n:,} JSON messages of about {len(json.dumps(values[0]))} bytes, 3 partitions")
    print(table(prod, "produce: raw kafka-python"))
    print(table(cons, "consume: raw kafka-python"))
    path = record("clients", {"n": args.n, "rounds": args.rounds, "broker": ",".join(bootstrap_servers())},
                  prod + cons, args.results_dir)
    print(f"results appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
