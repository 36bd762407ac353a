"""``python -m kafkalab.ops``: week 8 outside Jupyter, every command bounded.

Commands::

    python -m kafkalab.ops health --group billing --topic orders --max-lag 1000
    python -m kafkalab.ops lag --group billing --samples 5 --interval 1
    python -m kafkalab.ops load --rate 500 --seconds 5 --consumers 2 --partitions 3
    python -m kafkalab.ops chaos killed-consumer      # or poison-message, slow-consumer,
                                                      # broker-unreachable, broker-restart, all

``health`` exits 1 when a check fails; ``chaos`` exits 1 when an invariant
does not hold. The broker is read from ``KAFKA_BROKERS`` (a local broker
when unset).
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence


def cmd_health(args: argparse.Namespace) -> int:
    from kafkalab.ops.health import health

    report = health(topics=args.topic, groups=args.group, max_lag=args.max_lag)
    print(report)
    return 0 if report.ok else 1


def cmd_lag(args: argparse.Namespace) -> int:
    from kafkalab.ops.lag import LagMonitor

    with LagMonitor(args.group, args.topic) as monitor:
        for k in range(args.samples):
            if k:
                time.sleep(args.interval)
            rows = monitor.sample()
            parts = ", ".join(f"{s.topic}[{s.partition}]={s.lag}" for s in rows) or "no partitions"
            print(f"t={k * args.interval:5.1f}s  total lag {sum(s.lag for s in rows):>7}  {parts}")
        t = monitor.trend()
        eta = f", caught up in about {t.catch_up_s:.0f} s" if t.catch_up_s else ""
        print(f"trend: {t.direction} ({t.rate:+.1f} records/s){eta}")
        if not monitor.history:
            print("(no partitions: the group has committed no offsets; --topic shows its lag on one)")
    return 0


def cmd_load(args: argparse.Namespace) -> int:
    from kafkalab.ops.load import run_load

    config = {}
    if args.linger_ms is not None:
        config["linger_ms"] = args.linger_ms
    if args.batch_size is not None:
        config["batch_size"] = args.batch_size
    if args.compression:
        config["compression_type"] = args.compression
    try:
        report = run_load(rate=args.rate, seconds=args.seconds, partitions=args.partitions,
                          consumers=args.consumers, cost_ms=args.cost_ms, producer_config=config)
    except ValueError as exc:  # impossible settings: say which, no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(report)
    return 0 if report.processed == report.records else 1


def cmd_chaos(args: argparse.Namespace) -> int:
    from kafkalab.ops.chaos import SCENARIOS

    names = list(SCENARIOS) if args.scenario == "all" else [args.scenario]
    ok = True
    for name in names:
        report = SCENARIOS[name]()
        print(report)
        ok = ok and report.ok
    return 0 if ok else 1


def build_parser() -> argparse.ArgumentParser:
    from kafkalab.ops.chaos import SCENARIOS

    parser = argparse.ArgumentParser(prog="python -m kafkalab.ops",
                                     description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("health", help="[OK]/[FAIL] lines for the broker, topics and group lag")
    p.add_argument("--group", action="append", default=[], help="a group to check (repeatable)")
    p.add_argument("--topic", action="append", default=[], help="a topic that must exist")
    p.add_argument("--max-lag", type=int, default=1000)
    p.set_defaults(func=cmd_health)

    p = sub.add_parser("lag", help="sample a group's lag per partition and its trend")
    p.add_argument("--group", required=True)
    p.add_argument("--topic", default=None)
    p.add_argument("--samples", type=int, default=3)
    p.add_argument("--interval", type=float, default=1.0)
    p.set_defaults(func=cmd_lag)

    p = sub.add_parser("load", help="a bounded load test on a fresh topic and group")
    p.add_argument("--rate", type=float, default=200.0, help="records per second")
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--partitions", type=int, default=3)
    p.add_argument("--consumers", type=int, default=1)
    p.add_argument("--cost-ms", type=float, default=0.0, help="pretend work per record")
    p.add_argument("--linger-ms", type=int, default=None)
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--compression", choices=["gzip", "snappy", "lz4", "zstd"], default=None)
    p.set_defaults(func=cmd_load)

    p = sub.add_parser("chaos", help="run a failure scenario and check its invariant")
    p.add_argument("scenario", choices=[*SCENARIOS, "all"])
    p.set_defaults(func=cmd_chaos)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from kafkalab.cli import area_main

    return area_main(build_parser, argv)


if __name__ == "__main__":
    from kafkalab.cli import guarded

    sys.exit(guarded(main, prog="python -m kafkalab.ops"))
