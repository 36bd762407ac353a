"""Where the in-process pipelines spend their time: cProfile of each, top functions by cumulative time.

    python bench/profiles.py                 # windows, iot, logs, orders; 20 000 records each
    python bench/profiles.py iot --n 5000 --top 30
    python bench/profiles.py logs-pipeline   # LogAggregator.handle per record, as its loop calls it
    python bench/profiles.py iot-topic       # the IoT pipeline reading from a topic (a broker)
    python bench/profiles.py orders --n 2000 # the order services' own work, per order

Profile before optimising (the speed issue asks for it): this runs the same
in-process work as bench/windows.py, bench/iot.py and bench/logs.py (no broker),
and the work the six order services do for each seed order of bench/orders.py
(their handlers and SQLite stores, with the events routed by hand, no Kafka),
under cProfile, and prints the functions that cost most. Timings under cProfile
are inflated; read the shares, not the rates. Nothing is appended to
bench/results (this measures where, not how fast).

``iot-topic`` is the only job with a broker (a local one unless KAFKA_BROKERS
is set; not run by default): :class:`IoTPipeline` reading bench/iot.py's
records from a topic, with its output topics. cProfile sees the main thread
only, so it also prints the CPU time of the other threads (kafka-python's
sender, DuckDB's workers) per record.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import sys
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def windows_job(n: int) -> Callable[[], object]:
    import windows as bench

    from kafkalab import windows

    orders = bench.make_orders(n)
    return lambda: (bench.ours(orders, windows.Tumbling(60_000)),
                    bench.ours(orders, windows.Hopping(180_000, 60_000)))


def windows_batch_job(n: int) -> Callable[[], object]:
    import windows as bench

    from kafkalab import windows

    orders = bench.make_orders(n)
    return lambda: (bench.ours(orders, windows.Tumbling(60_000), batch=bench.POLL),
                    bench.ours(orders, windows.Hopping(180_000, 60_000), batch=bench.POLL))


def iot_job(n: int) -> Callable[[], object]:
    import iot as bench

    from kafkalab.iot import IoTPipeline
    from kafkalab.testing import make_events

    msgs = make_events([v for _, v in bench.records_for(n)])
    # No output topics: the per-batch work only (validate, store, alert, detect, predict).
    pipeline = IoTPipeline(group_id="profile", alerts_topic=None, predictions_topic=None)
    return lambda: [pipeline.process(msgs[i:i + 500]) for i in range(0, len(msgs), 500)]


def iot_topic_job(n: int) -> Callable[[], object]:
    import time
    import uuid

    import iot as bench

    from kafkalab.clients import Admin, Producer
    from kafkalab.iot import IoTPipeline, publish

    run = uuid.uuid4().hex[:6]
    topic, outputs = f"profile-iot-{run}", [f"profile-iot-{run}-{o}" for o in ("alerts", "pred", "dlq")]
    with Admin() as admin, Producer() as producer:
        admin.ensure_topic(topic, 3)
        publish(bench.records_for(n), producer, topic)
    pipeline = IoTPipeline(topic=topic, group_id=f"profile-{run}", alerts_topic=outputs[0],
                           predictions_topic=outputs[1], dead_letter_topic=outputs[2])
    pipeline.wait_ready()  # the group join is not what we profile

    def job() -> object:
        cpu, main = time.process_time(), time.thread_time()
        try:
            stats = pipeline.run(max_messages=n, timeout=600)
            cpu, main = time.process_time() - cpu, time.thread_time() - main
            print(f"== iot-topic: CPU per record {1e6 * cpu / n:.0f} us, of which "
                  f"{1e6 * (cpu - main) / n:.0f} us in threads cProfile does not see")
            return stats
        finally:
            pipeline.close(close_store=True)
            with Admin() as admin:
                for name in (topic, *outputs):
                    admin.delete_topic(name)
    return job


def logs_job(n: int) -> Callable[[], object]:
    import logs as bench

    recs = bench.records_for(n)
    return lambda: bench.in_memory(recs)


def logs_pipeline_job(n: int) -> Callable[[], object]:
    """What LogAggregator's loop does per record, without the broker: decode the
    value into a Message (Consumer._decode), then handle() it (validate, windows,
    rules), and flush at the end."""
    import json

    import logs as bench

    from kafkalab.clients import Message
    from kafkalab.clients.serdes import from_bytes
    from kafkalab.logs import LogAggregator

    raw = [json.dumps(r, separators=(",", ":")).encode() for r in bench.records_for(n)]
    # Built here, not profiled: reading the rules' YAML (and its first import) is not per-record work.
    agg = LogAggregator(group_id="profile", summaries_topic=None, alerts_topic=None)

    def run() -> None:
        for i, value in enumerate(raw):
            agg.handle(Message("logs", 0, i, "api", from_bytes("json", value), raw_value=value))
        agg.flush()
        assert agg.windows.stats.added + agg.windows.stats.late == n, agg.windows.stats

    return run


def orders_job(n: int) -> Callable[[], object]:
    """Every event of n seed orders through the services that consume its topic,
    in saga order, as the broker would route them (stores in a temporary folder)."""
    import collections
    import tempfile

    import orders as bench

    from kafkalab.orders import OrdersConfig
    from kafkalab.orders.catalog import CATALOG
    from kafkalab.orders.events import new_event
    from kafkalab.orders.system import SERVICES

    config = OrdersConfig(data_dir=tempfile.mkdtemp(), stock={pid: n + 1000 for pid in CATALOG})
    services = [config.make_service(name) for name in SERVICES]
    readers = collections.defaultdict(list)
    for svc in services:
        for topic in svc.consumes:
            readers[topic].append(svc)

    def run() -> None:
        for i in range(n):
            queue = collections.deque([new_event("OrderPlaced", f"ORD-{i}", {
                "customerId": bench.BODY["customerId"], "items": bench.BODY["items"],
                "total": 25}, source="api")])
            while queue:
                event = queue.popleft()
                for svc in readers[event.topic]:
                    queue.extend(svc.process(event))
                    svc.store.outbox_done([r[0] for r in svc.store.outbox_pending()])
        status = services[list(SERVICES).index("projection")].view(f"ORD-{n - 1}")["status"]
        assert status == "completed", status  # the work done is the whole saga

    return run


JOBS = {"windows": windows_job, "windows-batch": windows_batch_job, "iot": iot_job, "logs": logs_job,
        "logs-pipeline": logs_pipeline_job, "orders": orders_job, "iot-topic": iot_topic_job}
#: How many records each job handles per --n (the windows jobs run two windowings).
PASSES = {"windows": 2, "windows-batch": 2}
#: Jobs that need a broker: run only when named.
BROKER_JOBS = {"iot-topic"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("jobs", nargs="*", help=f"any of {', '.join(JOBS)} (default: all)")
    parser.add_argument("--n", type=int, default=20_000, help="records per job")
    parser.add_argument("--top", type=int, default=15, help="functions to show per job")
    args = parser.parse_args(argv)
    if args.n < 1 or args.top < 1:
        parser.error("--n and --top must be at least 1")
    unknown = [j for j in args.jobs if j not in JOBS]
    if unknown:
        parser.error(f"unknown job {unknown[0]!r}: expected one of {', '.join(JOBS)}")
    for name in args.jobs or [j for j in JOBS if j not in BROKER_JOBS]:
        job = JOBS[name](args.n)
        profiler = cProfile.Profile()
        profiler.runcall(job)
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats("cumulative").print_stats(args.top)
        records = args.n * PASSES.get(name, 1)
        print(f"== {name}: {records:,} records, {stats.total_calls / records:.1f} function calls "
              f"per record, {stats.total_tt / records * 1e6:.2f} µs per record under cProfile")
        print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
