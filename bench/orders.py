"""Orders per second end to end, and p50/p99 time from POST to completed.

Three runs against the same broker, each as a ratio to the first:

1. **baseline**: N produce -> consume round trips (one hop each: a record is
   sent, a consumer in a group receives it), the raw cost of Kafka here;
   sent as fast as the producer goes;
2. **one process**: every service in this process (threads), N orders POSTed
   to the HTTP API by eight concurrent clients;
3. **separate processes**: each service in its own ``python -m kafkalab.orders
   <service>`` process; the API in this one.

An order is about eight hops (OrderPlaced, three commands, three replies,
OrderCompleted), so compare its latency with eight round trips.

    python bench/orders.py            # 300 orders
    python bench/orders.py --n 50     # quicker

The broker is a local Apache Kafka one unless KAFKA_BROKERS is set. Results are
appended to bench/results/orders.jsonl.
"""

from __future__ import annotations

import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import httpx  # noqa: E402
from _common import bench_parser, record  # noqa: E402

from kafkalab.clients import Admin, Consumer, Producer, bootstrap_servers  # noqa: E402
from kafkalab.orders import ApiServer, OrdersConfig, OrderSystem  # noqa: E402
from kafkalab.orders.api import create_app  # noqa: E402
from kafkalab.orders.system import SERVICES  # noqa: E402

BODY = {"customerId": "CUST-001",
        "items": [{"productId": "ITEM-002", "name": "Mouse", "price": 25, "quantity": 1}]}


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def baseline(n: int) -> dict:
    """N records, each sent and then received by a group consumer: latency per hop."""
    topic = f"bench-rt-{uuid.uuid4().hex[:6]}"
    with Admin() as admin:
        admin.ensure_topic(topic, partitions=3)
    consumer = Consumer(topic, group_id=f"{topic}-g", fetch_max_wait_ms=100)
    consumer.wait_for_assignment(30)
    producer = Producer(linger_ms=2)
    latencies: list[float] = []
    done = threading.Event()

    def receive() -> None:
        deadline = time.monotonic() + 60
        while len(latencies) < n and time.monotonic() < deadline:
            for m in consumer.poll(0.2):
                latencies.append(time.time() * 1000 - m.value["sentMs"])
            consumer.commit()
        done.set()

    reader = threading.Thread(target=receive)
    reader.start()
    start = time.perf_counter()
    for i in range(n):
        producer.send(topic, {"i": i, "sentMs": time.time() * 1000}, key=str(i))
    producer.flush()
    reader.join(90)
    seconds = time.perf_counter() - start
    producer.close()
    consumer.close()
    if len(latencies) < n:
        raise RuntimeError(f"baseline: only {len(latencies)} of {n} round trips completed")
    return {"name": "baseline: produce->consume round trip", "n": n, "per_s": n / seconds,
            "p50_ms": pct(latencies, 0.5), "p99_ms": pct(latencies, 0.99)}


def drive(name: str, config: OrdersConfig, n: int, producer: Producer | None = None) -> dict:
    """POST n orders, wait for all to finish, read each one's POST->completed time."""
    with ApiServer(create_app(config, producer)) as api, httpx.Client(base_url=api.url,
                                                                       timeout=10) as http:
        sent: dict[str, float] = {}

        def post(_: int) -> None:
            t = time.time() * 1000
            r = http.post("/api/orders", json=BODY)
            r.raise_for_status()
            sent[r.json()["orderId"]] = t

        start = time.perf_counter()
        # Eight clients at once, as a web shop would see them (httpx.Client is thread-safe).
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(post, range(n)))
        store = config.store("projection")
        deadline = time.monotonic() + 120
        views: dict = {}
        while time.monotonic() < deadline:
            views = {i: store.get(f"order/{i}") for i in sent}
            if all(v and v["status"] in ("completed", "cancelled") for v in views.values()):
                break
            time.sleep(0.05)
        seconds = time.perf_counter() - start
        store.close()
    unfinished = [i for i, v in views.items() if not v or v["status"] != "completed"]
    if unfinished:
        raise RuntimeError(f"{name}: {len(unfinished)} of {n} orders did not complete")
    latencies = [views[i]["finishedAt"] - sent[i] for i in sent]
    return {"name": name, "n": n, "per_s": n / seconds, "p50_ms": pct(latencies, 0.5),
            "p99_ms": pct(latencies, 0.99), "mean_ms": statistics.fmean(latencies)}


def one_process(n: int) -> dict:
    config = OrdersConfig(prefix=f"bench1-{uuid.uuid4().hex[:6]}-", data_dir=tempfile.mkdtemp())
    with OrderSystem(config).start() as system:
        drive("orders: one process", config, 1, system.producer)  # warm-up
        return drive("orders: one process", config, n, system.producer)


def separate_processes(n: int) -> dict:
    config = OrdersConfig(prefix=f"bench2-{uuid.uuid4().hex[:6]}-", data_dir=tempfile.mkdtemp())
    config.ensure_topics()
    env = {**os.environ, "LOG_LEVEL": "warning"}
    procs = [subprocess.Popen([sys.executable, "-m", "kafkalab.orders", name, "--prefix",
                               config.prefix, "--data-dir", str(config.path())],
                              env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for name in SERVICES]
    try:
        drive("orders: separate processes", config, 1)  # waits until every service has joined
        return drive("orders: separate processes", config, n)
    finally:
        for p in procs:  # all told at once; each leaves its group as it stops
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, 300, "orders (and round trips)")
    parser.add_argument("--skip-processes", action="store_true",
                        help="skip the separate-processes run")
    args = parser.parse_args(argv)
    rows = [baseline(args.n), one_process(args.n)]
    if not args.skip_processes:
        rows.append(separate_processes(args.n))
    base = rows[0]
    print(f"{'what':<40} {'per second':>10} {'ratio':>7} {'p50 ms':>8} {'p99 ms':>8} {'p50 / hop p50':>14}")
    for r in rows:
        r["ratio"] = round(r["per_s"] / base["per_s"], 3)
        r["latency_ratio"] = round(r["p50_ms"] / base["p50_ms"], 2) if base["p50_ms"] else None
        print(f"{r['name']:<40} {r['per_s']:>10,.1f} {r['ratio']:>6.2f}x {r['p50_ms']:>8.1f} "
              f"{r['p99_ms']:>8.1f} {r['latency_ratio']:>13}x")
    path = record("orders", {"n": args.n, "broker": ",".join(bootstrap_servers())}, rows,
                  args.results_dir)
    print(f"appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
