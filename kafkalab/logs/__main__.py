"""``python -m kafkalab.logs``: week 5 outside Jupyter, every command bounded.

Commands::

    python -m kafkalab.logs simulate --seconds 600 --incident error-burst
    python -m kafkalab.logs aggregate --timeout 30 --idle-timeout 5 --webhook http://...
    python -m kafkalab.logs tail --level WARN --service payments --timeout 10
    python -m kafkalab.logs demo --seconds 600 --incident error-burst

``demo`` joins a fresh consumer group, publishes seeded simulated traffic,
aggregates it, prints the alerts (once each) and a table of error rates.
The broker is read from ``KAFKA_BROKERS`` (a local broker when unset).
"""

from __future__ import annotations

import argparse
import sys
import threading
import uuid
from collections.abc import Sequence

from kafkalab.alerts import ConsoleNotifier, Notifier, WebhookNotifier
from kafkalab.clients.bounds import Bounds
from kafkalab.logs.filters import LogFilter, follow
from kafkalab.logs.handler import APPLICATION_LOGS_TOPIC
from kafkalab.logs.pipeline import SUMMARIES_TOPIC, LogAggregator
from kafkalab.logs.simulate import ErrorBurst, SlowDependency, publish, simulate

INCIDENTS: dict[str, list[ErrorBurst | SlowDependency]] = {
    "none": [],
    "error-burst": [ErrorBurst("payments", start_s=300, duration_s=90)],
    "slow-dependency": [SlowDependency("api", start_s=300, duration_s=90)],
}


def _simulated(args: argparse.Namespace) -> list[dict]:
    incidents = [i for i in INCIDENTS[args.incident] if i.start_s < args.seconds]
    return simulate(args.seconds, seed=args.seed, incidents=incidents)


def _aggregator(args: argparse.Namespace, **kw) -> LogAggregator:
    notifiers: list[Notifier] = [ConsoleNotifier()]
    if args.webhook:
        notifiers.append(WebhookNotifier(args.webhook))
    return LogAggregator(topic=args.topic, group_id=args.group, window_s=args.window,
                         rules=args.rules, notifiers=notifiers,
                         summaries_topic=args.summaries_topic, alerts_topic=args.alerts_topic,
                         dead_letter_topic=args.dead_letter_topic, **kw)


def _report(agg: LogAggregator) -> None:
    stats = agg.stats
    print(f"\nread {stats.seen} records: {stats.processed} aggregated, "
          f"{stats.dead_lettered} dead-lettered; {len(agg.windows.summaries)} window summaries; "
          f"{agg.engine.stats.fired} alerts ({agg.engine.stats.suppressed} repeats suppressed)")
    df = agg.summaries_frame()
    if not df.empty:
        table = df.pivot(index="window_start", columns="service", values="error_rate")
        table.index = table.index.strftime("%H:%M")
        print("\nerror rate per window and service:")
        print(table.to_string(float_format=lambda v: f"{v:6.1%}"))


def cmd_simulate(args: argparse.Namespace) -> int:
    from kafkalab.clients import Producer

    records = _simulated(args)
    with Producer() as producer:
        n = publish(records, producer, args.topic, speed=args.speed or None)
    print(f"published {n} simulated log records to {args.topic}")
    return 0


def cmd_aggregate(args: argparse.Namespace) -> int:
    with _aggregator(args, from_beginning=args.from_beginning,
                     close_idle_windows=args.live) as agg:
        agg.run(Bounds.from_args(args))
        _report(agg)
    return 0


def cmd_tail(args: argparse.Namespace) -> int:
    from kafkalab.clients import Consumer

    flt = LogFilter(level=args.level, services=args.service or None, regex=args.grep)
    with Consumer(args.topic, group_id=False, from_beginning=args.from_beginning) as consumer:
        for r in follow(consumer, flt, max_messages=args.max_messages, timeout=args.timeout,
                        idle_timeout=args.idle_timeout):
            print(f"{r['timestamp']} {r['level']:<8} {r['service']:<10} {r['message']}")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from kafkalab.clients import Producer

    records = _simulated(args)
    with _aggregator(args, from_beginning=False) as agg:
        agg.wait_ready()  # join first: this group reads only what is published next
        done = threading.Event()

        def produce() -> None:
            with Producer() as producer:
                publish(records, producer, args.topic, speed=args.speed or None)
            done.set()

        threading.Thread(target=produce, daemon=True).start()
        agg.run(max_messages=len(records), timeout=args.timeout)
        _report(agg)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kafkalab.logs", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--topic", default=APPLICATION_LOGS_TOPIC)

    def simulation(p: argparse.ArgumentParser) -> None:
        p.add_argument("--seconds", type=float, default=600, help="simulated seconds of traffic")
        p.add_argument("--seed", type=int, default=42)
        p.add_argument("--incident", choices=sorted(INCIDENTS), default="error-burst",
                       help="scripted at 5 minutes in")
        p.add_argument("--speed", type=float, default=0,
                       help="simulated seconds per real second (0: as fast as possible)")

    def aggregation(p: argparse.ArgumentParser) -> None:
        p.add_argument("--group", default=f"log-aggregator-{uuid.uuid4().hex[:6]}")
        p.add_argument("--window", type=float, default=60, help="window length in seconds")
        p.add_argument("--rules", default=None, help="a YAML file of alert rules")
        p.add_argument("--webhook", default=None, help="also POST alerts to this URL")
        p.add_argument("--summaries-topic", default=SUMMARIES_TOPIC)
        p.add_argument("--alerts-topic", default="alerts")
        p.add_argument("--dead-letter-topic", default="dead-letter-queue")

    def bounds(p: argparse.ArgumentParser, timeout: float) -> None:
        Bounds.add_arguments(p, timeout=timeout, idle_timeout=5.0)

    p = sub.add_parser("simulate", help="publish seeded simulated logs")
    common(p)
    simulation(p)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("aggregate", help="aggregate and alert on a topic, bounded")
    common(p)
    aggregation(p)
    bounds(p, 60)
    p.add_argument("--from-beginning", action="store_true")
    p.add_argument("--live", action="store_true",
                   help="also close windows by the wall clock (for logs shipped now, not replays)")
    p.set_defaults(func=cmd_aggregate)

    p = sub.add_parser("tail", help="print matching records, bounded")
    common(p)
    bounds(p, 30)
    p.add_argument("--level", default=None)
    p.add_argument("--service", action="append")
    p.add_argument("--grep", default=None, help="a regular expression")
    p.add_argument("--from-beginning", action="store_true")
    p.set_defaults(func=cmd_tail)

    p = sub.add_parser("demo", help="simulate, aggregate and alert, end to end")
    common(p)
    simulation(p)
    aggregation(p)
    p.add_argument("--timeout", type=float, default=60)
    p.set_defaults(func=cmd_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from kafkalab.cli import area_main

    return area_main(build_parser, argv)


if __name__ == "__main__":
    from kafkalab.cli import guarded

    sys.exit(guarded(main, prog="python -m kafkalab.logs"))
