"""Week 6 as plain Python: ``python -m kafkalab.analytics <command>``.

Commands (all bounded; the broker comes from ``KAFKA_BROKERS``, or a local
one is started):

* ``generate``  write seeded shop events to a topic (``--minutes``, ``--speed``);
* ``run``       compute the metrics, detect anomalies, publish alerts, and with
  ``--serve`` show the browser dashboard (``--timeout``, ``--idle-timeout``);
* ``evaluate``  score the detectors on a labelled stream, no broker needed;
* ``demo``      generate in real time and run the dashboard, side by side;
* ``bridge``    turn the ``orders`` and ``application-logs`` topics of weeks
  3-5 into shop events, so ``run`` watches those systems instead.

Examples::

    python -m kafkalab.analytics evaluate --minutes 240
    python -m kafkalab.analytics demo --serve --port 8000 --timeout 60
"""

from __future__ import annotations

import argparse
import sys
import threading

from kafkalab import configure_logging
from kafkalab.analytics.evaluation import evaluate
from kafkalab.analytics.generator import EventGenerator
from kafkalab.analytics.metrics import flatten
from kafkalab.analytics.monitor import hst_monitor, zscore_monitor
from kafkalab.analytics.pipeline import EVENTS_TOPIC, ShopAnalytics, produce_events, shop_metrics
from kafkalab.clients import Admin, Bounds
from kafkalab.testing import make_message


def cmd_evaluate(args: argparse.Namespace) -> None:
    gen = EventGenerator(seed=args.seed, minutes=args.minutes)
    msgs = [make_message(e, offset=i, key="shop") for i, e in enumerate(gen.generate())]
    final = shop_metrics("local", emit="final").run_local(msgs).final()
    series = [(r.window.start_ms, flatten(r.value)) for r in final]
    print(f"{len(series)} windows, {len(gen.labels)} with an injected anomaly")
    for monitor in (zscore_monitor(), hst_monitor(seed=args.seed)):
        print(evaluate(monitor, series, gen.is_anomalous))


def cmd_generate(args: argparse.Namespace) -> None:
    events = EventGenerator(seed=args.seed, minutes=args.minutes).generate()
    n = produce_events(args.topic, events, speed=args.speed)
    print(f"wrote {n} events to {args.topic}")


def run_analytics(args: argparse.Namespace) -> None:
    from kafkalab.analytics.dashboard import DashboardServer

    with ShopAnalytics(args.topic, application_id=args.app_id) as analytics:
        server = DashboardServer(analytics.table, analytics.hub, port=args.port) if args.serve else None
        if server:
            server.start()
            print(f"dashboard: {server.url}")
        try:
            stats = analytics.run(**vars(Bounds.from_args(args)))
        finally:
            if server:
                server.stop()
        print(f"processed {stats.seen} records into {len(analytics.table)} windows; "
              f"{stats.late} late, {stats.dead_lettered} dead-lettered")
        for alert in analytics.alerts:
            print("ALERT", alert)


def cmd_demo(args: argparse.Namespace) -> None:
    stop = threading.Event()
    events = EventGenerator(seed=args.seed, minutes=args.minutes).generate()
    feeder = threading.Thread(target=produce_events, args=(args.topic, events),
                              kwargs={"speed": args.speed, "stop": stop}, daemon=True)
    with Admin() as admin:
        admin.ensure_topic(args.topic, partitions=1)
    feeder.start()
    try:
        run_analytics(args)
    finally:
        stop.set()
        feeder.join(10)


def cmd_bridge(args: argparse.Namespace) -> None:
    from kafkalab.analytics.bridge import bridge

    stats = bridge(target=args.topic, **vars(Bounds.from_args(args)))
    print(f"read {stats.seen}, wrote {stats.written} shop events, ignored {stats.ignored}, "
          f"dead-lettered {stats.dead_lettered}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m kafkalab.analytics",
                                 description="week 6: real-time analytics")
    sub = ap.add_subparsers(dest="command", required=True)
    for name in ("generate", "run", "evaluate", "demo", "bridge"):
        p = sub.add_parser(name)
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--minutes", type=int, default=60 if name != "evaluate" else 240)
        p.add_argument("--topic", default=EVENTS_TOPIC)
        p.add_argument("--app-id", default="shop-analytics")
        p.add_argument("--speed", type=float, default=0.0 if name == "generate" else 60.0,
                       help="a multiplier: event time plays SPEED times faster than real time "
                            "(60 = one minute of events per second); 0 = as fast as possible")
        Bounds.add_arguments(p, timeout=30.0, idle_timeout=10.0)
        p.add_argument("--serve", action="store_true", help="serve the browser dashboard")
        p.add_argument("--port", type=int, default=8000)
    args = ap.parse_args(argv)
    configure_logging()
    {"generate": cmd_generate, "run": run_analytics, "evaluate": cmd_evaluate,
     "demo": cmd_demo, "bridge": cmd_bridge}[args.command](args)
    return 0


if __name__ == "__main__":
    from kafkalab.cli import guarded

    sys.exit(guarded(main, prog="python -m kafkalab.analytics"))
