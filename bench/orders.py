"""Orders at a fixed arrival rate: orders per second and p50/p95/p99 from POST to completed.

Open loop, as a web shop sees it: POSTs are sent at ``--rate`` per second on a
fixed schedule, whether or not earlier orders have finished, so a system that
falls behind shows it as growing latency (measured from each order's
*scheduled* time, never from when a late client got round to it). Three runs
against the same broker:

1. **baseline**: the same number of records, at the same rate, each produced
   and received by a group consumer: one hop, the raw cost of Kafka here;
2. **one process**: every service in this process (threads), orders POSTed to
   the HTTP API;
3. **separate processes**: each service in its own ``python -m kafkalab.orders
   <service>`` process, the API in another (``python -m kafkalab.orders api``);
   only the HTTP client in this one.

An order is eight hops (OrderPlaced, three commands, three replies,
OrderCompleted): compare its p50 with eight hop p50s. Latency is POST (as
scheduled) to the ``finishedAt`` of the order's view in the read model (the
time the order service decided ``OrderCompleted``). Every order must end
``completed``: the run fails, naming how many did not, before printing a rate.
After each run the records of every topic are read back to split an order's
time into hops (``--no-hops`` skips that).

    python bench/orders.py                          # 100 orders/s for 5 s
    python bench/orders.py --rate 200 --seconds 60  # the issue's goal
    python bench/orders.py --n 50 --rate 25         # quicker

The broker is a local Apache Kafka one unless KAFKA_BROKERS is set. Results are
appended to bench/results/orders.jsonl.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import httpx  # noqa: E402
from _common import bench_parser, record  # noqa: E402

from kafkalab.clients import Admin, Consumer, Producer, bootstrap_servers  # noqa: E402
from kafkalab.net import free_port  # noqa: E402
from kafkalab.orders import ApiServer, OrdersConfig, OrderSystem  # noqa: E402
from kafkalab.orders.api import create_app  # noqa: E402
from kafkalab.orders.catalog import CATALOG  # noqa: E402
from kafkalab.orders.load import SEED_ORDER, at_rate, hops, summarise, wait_finished  # noqa: E402
from kafkalab.orders.system import SERVICES  # noqa: E402
from kafkalab.stats import percentile  # noqa: E402

BODY = SEED_ORDER


def latency_row(name: str, n: int, per_s: float, latencies: list[float], **extra: Any) -> dict:
    row = {"name": name, "n": n, "per_s": per_s}
    for q in (50, 95, 99):
        row[f"p{q}_ms"] = round(percentile(latencies, q) or 0.0, 1)
    row["max_ms"] = round(max(latencies), 1)
    return {**row, **extra}


def baseline(rate: float, n: int) -> dict:
    """N records at ``rate`` per second, each produced then received by a group consumer."""
    topic = f"bench-rt-{uuid.uuid4().hex[:6]}"
    with Admin() as admin:
        admin.ensure_topic(topic, partitions=3)
    consumer = Consumer(topic, group_id=f"{topic}-g", fetch_max_wait_ms=100)
    consumer.wait_for_assignment(30)
    producer = Producer(linger_ms=0)
    latencies: list[float] = []
    seen: set[int] = set()
    last = [0.0]

    def receive() -> None:
        deadline = time.monotonic() + 60 + n / rate
        while len(seen) < n and time.monotonic() < deadline:
            for m in consumer.poll(0.1):
                now = time.time() * 1000
                latencies.append(now - m.value["dueMs"])
                seen.add(m.value["i"])
                last[0] = now
            consumer.commit()

    reader = threading.Thread(target=receive)
    reader.start()
    first = at_rate(rate, n, lambda i, due: producer.send(
        topic, {"i": i, "dueMs": due}, key=str(i)), workers=1)
    producer.flush()
    reader.join(90 + n / rate)
    producer.close()
    consumer.close()
    if len(seen) < n:
        raise RuntimeError(f"baseline: only {len(seen)} of {n} records arrived")
    return latency_row("baseline: produce->consume round trip", n, n / ((last[0] - first) / 1000),
                       latencies, rate=rate)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds process ``pid`` has used so far (Linux ``/proc``)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def processes(here: str, others: dict[str, int] | None = None) -> dict[str, int]:
    """The processes whose CPU a run counts: this one (named ``here``), the
    others given, and the local broker's JVM."""
    from kafkalab import broker

    pids = {here: os.getpid(), **(others or {})}
    info = broker.status()
    if info is not None and set(info.bootstrap.split(",")) & set(bootstrap_servers()):
        pids.update({f"broker node {node.id} (JVM)": node.pid for node in info.nodes if node.pid})
    return pids


def drive(name: str, config: OrdersConfig, rate: float, n: int, producer: Producer | None = None,
          *, url: str | None = None, with_hops: bool = True,
          pids: dict[str, int] | None = None) -> dict:
    """POST n orders at ``rate`` per second to the API at ``url`` (or one served
    in this process); check each one completed; latencies and rate.

    With ``pids``, the CPU each of those processes used from the first POST to
    the last order finished is reported per order: what bounds the rate on a
    machine with few cores, whatever else runs on it.
    """
    can_count = pids is not None and Path("/proc/self/stat").exists()
    cpu0 = {k: cpu_seconds(v) for k, v in pids.items()} if can_count and pids else {}
    with contextlib.ExitStack() as stack:
        if url is None:
            url = stack.enter_context(ApiServer(create_app(config, producer))).url
        http = stack.enter_context(httpx.Client(base_url=url, timeout=30,
                                                limits=httpx.Limits(max_connections=64)))
        due: dict[str, float] = {}
        answered: list[float] = []

        def post(_i: int, due_ms: float) -> None:
            r = http.post("/api/orders", json=BODY)
            r.raise_for_status()
            answered.append(time.time() * 1000 - due_ms)
            due[r.json()["orderId"]] = due_ms

        at_rate(rate, n, post)
        views = wait_finished(config, list(due), timeout=60 + n / rate)
        cpu = {k: round((cpu_seconds(pids[k]) - v) * 1000 / n, 2) for k, v in cpu0.items()} if pids else {}
    result = summarise(name, rate, due, views)  # raises unless every order completed
    row = {"name": name, "n": n, "rate": rate, "per_s": result.per_s, "p50_ms": result.p50_ms,
           "p95_ms": result.p95_ms, "p99_ms": result.p99_ms, "max_ms": result.max_ms,
           "post_p50_ms": round(percentile(answered, 50) or 0, 1),
           "post_p99_ms": round(percentile(answered, 99) or 0, 1)}
    if cpu:
        # Includes each process's idle polling and the waits after the last POST.
        row["cpu_ms_per_order"] = {**cpu, "total": round(sum(cpu.values()), 2)}
    if with_hops:
        row["hops"] = hops(config, list(due))
    return row


def _config(tag: str, n: int) -> OrdersConfig:
    # Enough stock for every order: a shortage would cancel orders, not measure them.
    return OrdersConfig(prefix=f"{tag}-{uuid.uuid4().hex[:6]}-", data_dir=tempfile.mkdtemp(),
                        stock={pid: n + 1000 for pid in CATALOG})


def one_process(rate: float, n: int, with_hops: bool = True) -> dict:
    config = _config("bench1", n)
    with OrderSystem(config).start() as system:
        drive("orders: one process", config, rate, 1, system.producer, with_hops=False)  # warm-up
        return drive("orders: one process", config, rate, n, system.producer, with_hops=with_hops,
                     pids=processes("everything (this process)"))


def separate_processes(rate: float, n: int, with_hops: bool = True) -> dict:
    config = _config("bench2", n)
    config.ensure_topics()
    env = {**os.environ, "LOG_LEVEL": "warning"}
    port = free_port()
    common = ["--prefix", config.prefix, "--data-dir", str(config.path()), "--stock", str(n + 1000)]
    procs = {name: subprocess.Popen([sys.executable, "-m", "kafkalab.orders", name, *common,
                                     *(["--port", str(port)] if name == "api" else [])],
                                    env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
             for name in [*SERVICES, "api"]}
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:  # the API process answers once it listens
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or procs["api"].poll() is not None:
                raise RuntimeError("the API process did not start")
            time.sleep(0.2)
        # One order first: it waits until every service has joined its group.
        drive("orders: separate processes", config, rate, 1, url=url, with_hops=False)
        return drive("orders: separate processes", config, rate, n, url=url, with_hops=with_hops,
                     pids=processes("HTTP client (this process)",
                                    {name: p.pid for name, p in procs.items()}))
    finally:
        for p in procs.values():  # all told at once; each leaves its group as it stops
            p.send_signal(signal.SIGTERM)
        for p in procs.values():
            try:
                p.wait(20)
            except subprocess.TimeoutExpired:
                p.kill()


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, 0, "orders per run (default: rate x seconds)")
    parser.add_argument("--rate", type=float, default=100.0, help="orders (and records) per second")
    parser.add_argument("--seconds", type=float, default=5.0, help="how long each run sends")
    parser.add_argument("--skip-processes", action="store_true",
                        help="skip the separate-processes run")
    parser.add_argument("--skip-one-process", action="store_true", help="skip the one-process run")
    parser.add_argument("--no-hops", action="store_true",
                        help="do not read the topics back to split the time into hops")
    args = parser.parse_args(argv)
    if not (0 < args.rate < math.inf and 0 < args.seconds < math.inf) or args.n < 0:  # nan too
        parser.error("--rate and --seconds must be positive, --n at least 1")
    n = args.n or max(1, round(args.rate * args.seconds))
    rows = [baseline(args.rate, n)]
    if not args.skip_one_process:
        rows.append(one_process(args.rate, n, not args.no_hops))
    if not args.skip_processes:
        rows.append(separate_processes(args.rate, n, not args.no_hops))
    base = rows[0]
    print(f"{n} orders (records) at {args.rate:g}/s; latency from the scheduled POST (send)")
    print(f"{'what':<40} {'per second':>10} {'ratio':>7} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
          f"{'p50 / hop p50':>14}")
    for r in rows:
        r["ratio"] = round(r["per_s"] / base["per_s"], 3)
        r["latency_ratio"] = round(r["p50_ms"] / base["p50_ms"], 2) if base["p50_ms"] else None
        print(f"{r['name']:<40} {r['per_s']:>10,.1f} {r['ratio']:>6.2f}x {r['p50_ms']:>8.1f} "
              f"{r['p95_ms']:>8.1f} {r['p99_ms']:>8.1f} {r['latency_ratio']:>13}x")
    for r in rows:
        if "cpu_ms_per_order" in r:
            print(f"\n{r['name']}: CPU ms per order: " + ", ".join(
                f"{k} {v}" for k, v in r["cpu_ms_per_order"].items()))
        if "hops" in r:
            print(f"\n{r['name']}: POST answered p50 {r['post_p50_ms']} ms, p99 {r['post_p99_ms']} ms; "
                  "per hop (ms, p50 / p99):")
            for hop, q in r["hops"].items():
                print(f"  {hop:<42} {q['p50']:>7.1f} {q['p99']:>8.1f}")
    path = record("orders", {"n": n, "rate": args.rate, "broker": ",".join(bootstrap_servers())},
                  rows, args.results_dir)
    print(f"appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
