"""``python -m kafkalab.iot``: week 7's IoT pipeline outside Jupyter, every command bounded.

Commands::

    python -m kafkalab.iot simulate --devices 12 --minutes 240 --seed 42
    python -m kafkalab.iot run --max-messages 3000 --timeout 60 --db readings.duckdb
    python -m kafkalab.iot demo --devices 12 --minutes 240
    python -m kafkalab.iot evaluate --devices 12 --minutes 720

``demo`` publishes a seeded fleet to a fresh run of ``iot-sensors``, runs the
pipeline over it and prints what was stored, dead-lettered, alerted and
predicted. ``evaluate`` needs no broker: it scores the anomaly detectors and
the maintenance model on the labelled simulation. The broker is read from
``KAFKA_BROKERS`` (a local broker when unset).
"""

from __future__ import annotations

import argparse
import collections
import sys
import uuid
from collections.abc import Sequence

from kafkalab.clients.bounds import Bounds
from kafkalab.iot.anomaly import compare
from kafkalab.iot.maintenance import PREDICTIONS_TOPIC, evaluate
from kafkalab.iot.pipeline import SENSORS_TOPIC, IoTPipeline
from kafkalab.iot.simulator import Simulation, publish, simulate
from kafkalab.iot.validation import InvalidReading, validate


def _simulation(args: argparse.Namespace) -> Simulation:
    return simulate(args.devices, args.minutes, interval_s=args.interval, seed=args.seed)


def _pipeline(args: argparse.Namespace) -> IoTPipeline:
    return IoTPipeline(topic=args.topic, group_id=args.group, store=args.db,
                       alerts_topic=args.alerts_topic, predictions_topic=args.predictions_topic,
                       dead_letter_topic=args.dead_letter_topic)


def _report(p: IoTPipeline) -> None:
    s = p.stats
    print(f"read {s.seen} records: {s.stored} readings stored, {s.already_stored} already "
          f"stored (duplicates), {s.dead_lettered} dead-lettered; {s.alerts} alerts "
          f"({s.anomalies} anomalies); {s.predictions} maintenance predictions")
    print(f"time series: {p.store.count()} rows in {p.store.path}")
    kinds = collections.Counter(a.rule for a in p.alerts)
    for detector, n in sorted(kinds.items()):
        print(f"  {n:4d} alerts from {detector}")
    due = sorted({pr.device_id for pr in p.predictions if pr.alarm})
    print(f"maintenance due (alarm at some point): {', '.join(due) or 'none'}")
    latest = p.store.latest()
    if not latest.empty:
        print("\nlatest reading per device:")
        print(latest.to_string(index=False))


def _publish(args: argparse.Namespace) -> tuple[Simulation, int]:
    """Simulate and publish to ``args.topic``; return the simulation and the records sent."""
    from kafkalab.clients import Admin, Producer

    sim = _simulation(args)
    with Admin() as admin:
        admin.ensure_topic(args.topic, partitions=3)
    with Producer() as producer:
        n = publish(sim, producer, args.topic)
    print(f"published {n} records to {args.topic}: {sim.summary()}")
    return sim, n


def cmd_simulate(args: argparse.Namespace) -> int:
    _publish(args)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    with _pipeline(args) as p:
        p.run(Bounds.from_args(args))
        _report(p)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    sim, n = _publish(args)
    with _pipeline(args) as p:
        p.run(max_messages=args.max_messages or n, timeout=args.timeout,
              idle_timeout=args.idle_timeout)
        _report(p)
        ok = p.store.keys() == set(sim.valid)
        print(f"\nstored readings equal the valid input: {ok}")
    return 0 if ok else 1


def cmd_evaluate(args: argparse.Namespace) -> int:
    sim = _simulation(args)
    readings, rejected = [], 0
    for r in sim.readings():
        try:
            readings.append(validate(r))
        except InvalidReading:
            rejected += 1  # the pipeline would dead-letter these; here they are counted
    print(f"simulated {sim.summary()}; {rejected} records rejected by validation")
    print("\nanomaly detectors (score before learn, per device):")
    for report in compare(readings, sim.anomalies):
        print(" ", report)
    maintenance = evaluate(readings)
    print(f"\npredictive maintenance (fails within 30 min, prequential):\n  {maintenance}\n")
    print(maintenance.frame().to_string(index=False))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kafkalab.iot", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    def simulation(p: argparse.ArgumentParser, minutes: float) -> None:
        p.add_argument("--devices", type=int, default=12)
        p.add_argument("--minutes", type=float, default=minutes, help="simulated minutes")
        p.add_argument("--interval", type=float, default=60, help="seconds between readings")
        p.add_argument("--seed", type=int, default=42)

    def topics(p: argparse.ArgumentParser) -> None:
        p.add_argument("--topic", default=SENSORS_TOPIC)

    def pipeline(p: argparse.ArgumentParser) -> None:
        p.add_argument("--group", default=f"iot-pipeline-{uuid.uuid4().hex[:6]}")
        p.add_argument("--db", default=":memory:", help="a DuckDB file (default: in memory)")
        p.add_argument("--alerts-topic", default="alerts")
        p.add_argument("--predictions-topic", default=PREDICTIONS_TOPIC)
        p.add_argument("--dead-letter-topic", default="dead-letter-queue")
        Bounds.add_arguments(p, timeout=60, idle_timeout=5.0)

    p = sub.add_parser("simulate", help="publish a seeded fleet's readings")
    simulation(p, 240)
    topics(p)
    p.set_defaults(func=cmd_simulate)

    p = sub.add_parser("run", help="run the pipeline over the topic, bounded")
    topics(p)
    pipeline(p)
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("demo", help="simulate and run the pipeline, end to end")
    simulation(p, 240)
    topics(p)
    pipeline(p)
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("evaluate", help="score detectors and the maintenance model (no broker)")
    simulation(p, 720)
    p.set_defaults(func=cmd_evaluate)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from kafkalab.cli import area_main

    return area_main(build_parser, argv)


if __name__ == "__main__":
    from kafkalab.cli import guarded

    sys.exit(guarded(main, prog="python -m kafkalab.iot"))
