"""Where the in-process pipelines spend their time: cProfile of each, top functions by cumulative time.

    python bench/profiles.py                 # windows, iot, logs, orders; 20 000 records each
    python bench/profiles.py iot --n 5000 --top 30
    python bench/profiles.py orders --n 2000 # the order services' own work, per order

Profile before optimising (the speed issue asks for it): this runs the same
in-process work as bench/windows.py, bench/iot.py and bench/logs.py (no broker),
and the work the six order services do for each seed order of bench/orders.py
(their handlers and SQLite stores, with the events routed by hand, no Kafka),
under cProfile, and prints the functions that cost most. Timings under cProfile
are inflated; read the shares, not the rates. Nothing is appended to
bench/results (this measures where, not how fast).
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


def iot_job(n: int) -> Callable[[], object]:
    import iot as bench

    from kafkalab.iot import IoTPipeline
    from kafkalab.testing import make_events

    msgs = make_events([v for _, v in bench.records_for(n)])
    # No output topics: the per-batch work only (validate, store, alert, detect, predict).
    pipeline = IoTPipeline(group_id="profile", alerts_topic=None, predictions_topic=None)
    return lambda: [pipeline.process(msgs[i:i + 500]) for i in range(0, len(msgs), 500)]


def logs_job(n: int) -> Callable[[], object]:
    import logs as bench

    recs = bench.records_for(n)
    return lambda: bench.in_memory(recs)


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


JOBS = {"windows": windows_job, "iot": iot_job, "logs": logs_job, "orders": orders_job}


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
    for name in args.jobs or list(JOBS):
        job = JOBS[name](args.n)
        profiler = cProfile.Profile()
        profiler.runcall(job)
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.strip_dirs().sort_stats("cumulative").print_stats(args.top)
        print(f"== {name}: {args.n:,} records")
        print("\n".join(line for line in out.getvalue().splitlines()[4:] if line.strip()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
