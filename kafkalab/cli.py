"""The ``kafkalab`` command line.

::

    kafkalab broker up|down|status|restart   the embedded broker
    kafkalab doctor                          is this machine ready?
    kafkalab topics list|create|describe|delete
    kafkalab produce TOPIC                   one JSON value per stdin line
    kafkalab consume TOPIC                   tail a topic, JSON pretty-printed
    kafkalab lab                             broker + JupyterLab on the course
    kafkalab notebooks build|check           clean notebooks, derive exercises
    kafkalab quickstart|measure|orders|logs|streams|analytics|cdc|iot|ops ...
                                             each week's pipeline outside Jupyter
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from kafkalab import broker, configure_logging

__all__ = ["main"]

#: Each week's plain-Python twin, reachable as `kafkalab <area> ...`.
AREAS = {
    "quickstart": "week 1: produce, consume and check ordering",
    "measure": "week 2: throughput per producer setting and per number of consumers",
    "orders": "weeks 3-4: the order services and the HTTP API (`kafkalab orders up`)",
    "logs": "week 5: ship, aggregate and alert on logs",
    "streams": "week 6: windowed aggregation from a topic",
    "analytics": "week 6: live metrics, anomaly detection and the dashboard",
    "cdc": "week 7: change data capture: SQLite/PostgreSQL -> db-changes -> lake and cache",
    "iot": "week 7: IoT sensors: validate, store as a time series, alert, predict maintenance",
    "ops": "week 8: health, lag, load tests and failure scenarios",
}


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False))


# -- broker -------------------------------------------------------------------

def cmd_broker(args: argparse.Namespace) -> int:
    if args.action == "up":
        info, started = broker.up(port=args.port)
        print(f"{'started' if started else 'already running'}: {info.bootstrap} (pid {info.pid})")
        print(broker.MEMORY_ONLY_NOTICE)
        if args.foreground:
            print("Ctrl-C stops it.")
            try:
                while broker.status() is not None:
                    import time

                    time.sleep(1)
            except KeyboardInterrupt:
                broker.down()
        return 0
    if args.action == "down":
        print("stopped" if broker.down() else "no embedded broker was running")
        return 0
    if args.action == "restart":
        info = broker.restart()
        print(f"restarted: {info.bootstrap} (pid {info.pid}); all data is gone (memory only)")
        return 0
    info = broker.status()
    if info is None:
        print("not running (it starts by itself when kafkalab needs it and KAFKA_BROKERS is unset)")
        return 3
    print(f"running: {info.bootstrap} (pid {info.pid}); log {info.log}")
    print(broker.MEMORY_ONLY_NOTICE)
    return 0


# -- topics -------------------------------------------------------------------

def _config_pairs(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise SystemExit(f"--config expects key=value, got {pair!r}")
        k, v = pair.split("=", 1)
        out[k] = v
    return out


def cmd_topics(args: argparse.Namespace) -> int:
    from kafkalab.clients import Admin

    with Admin() as admin:
        if args.action == "list":
            for name in admin.topics():
                print(name)
        elif args.action == "create":
            created = admin.ensure_topic(args.name, args.partitions, args.replication_factor,
                                         _config_pairs(args.config))
            print(f"{'created' if created else 'exists'}: {args.name}")
        elif args.action == "delete":
            print("deleted" if admin.delete_topic(args.name) else f"no topic {args.name}")
        elif args.action == "describe":
            info = admin.describe_topic(args.name)
            ends = admin.end_offsets(args.name)
            starts = admin.beginning_offsets(list(ends))
            print(f"{info.name}: {info.partitions} partitions, replication {info.replication_factor}")
            lags = {(p.topic, p.partition): p for p in admin.lag(args.group, args.name)} if args.group else {}
            header = f"{'partition':>9} {'leader':>6} {'start':>8} {'end':>8}"
            print(header + (f" {'committed':>9} {'lag':>6}" if args.group else ""))
            for tp in sorted(ends):
                row = (f"{tp.partition:>9} {info.leaders[tp.partition]:>6} {starts[tp]:>8} "
                       f"{ends[tp]:>8}")
                if args.group:
                    lag = lags[(tp.topic, tp.partition)]
                    committed = "-" if lag.committed is None else str(lag.committed)
                    row += f" {committed:>9} {lag.lag:>6}"
                print(row)
    return 0


# -- produce / consume ----------------------------------------------------------

def cmd_produce(args: argparse.Namespace) -> int:
    from kafkalab.clients import Producer

    source = open(args.file) if args.file else sys.stdin
    sent = 0
    with Producer(value_format=args.format) as producer:
        for lineno, line in enumerate(source, 1):
            line = line.rstrip("\n")
            if not line.strip():
                continue
            key = args.key
            if args.key_separator:
                if args.key_separator not in line:
                    print(f"line {lineno}: no key separator {args.key_separator!r}; nothing more sent",
                          file=sys.stderr)
                    return 2
                key, line = line.split(args.key_separator, 1)
            value: Any = line
            if args.format == "json":
                try:
                    value = json.loads(line)
                except json.JSONDecodeError as exc:
                    print(f"line {lineno}: not valid JSON ({exc}); {sent} sent before it, "
                          "nothing after", file=sys.stderr)
                    producer.flush()
                    return 2
            producer.send(args.topic, value, key=key)
            sent += 1
        producer.flush()
    print(f"sent {sent} record(s) to {args.topic}", file=sys.stderr)
    return 0


def cmd_consume(args: argparse.Namespace) -> int:
    from kafkalab.clients import Consumer

    group = args.group if args.group else False
    with Consumer(args.topic, group_id=group, from_beginning=not args.new,
                  value_format="raw") as consumer:
        count = 0
        for msg in consumer.messages(max_messages=args.count, timeout=args.timeout,
                                     idle_timeout=args.idle):
            count += 1
            text = msg.raw_value.decode("utf-8", "replace") if msg.raw_value is not None else "null"
            print(f"# {msg.topic}[{msg.partition}]@{msg.offset} key={msg.key!r} ts={msg.timestamp_ms}")
            try:
                _print_json(json.loads(text)) if args.pretty else print(text)
            except json.JSONDecodeError:
                print(text)  # not JSON: print as it is
            if group:
                consumer.commit([msg])
    print(f"{count} record(s)", file=sys.stderr)
    return 0


# -- lab ----------------------------------------------------------------------

def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def cmd_lab(args: argparse.Namespace) -> int:
    from kafkalab.settings import get_settings

    cmd = [sys.executable, "-m", "jupyterlab", f"--notebook-dir={_repo_root() / 'notebooks'}",
           f"--port={args.port}"]
    if args.no_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI run as root; Jupyter refuses otherwise
    if get_settings().local:
        # The lab owns the local broker only if it started it; one already
        # running (another terminal's) is shared and left running.
        info, started = broker.up()
        try:
            print(f"local Apache Kafka broker at {info.bootstrap}")
            return subprocess.call(cmd)
        finally:
            if started:
                broker.down()
    return subprocess.call(cmd)


def cmd_doctor(args: argparse.Namespace) -> int:
    from kafkalab import doctor

    return 1 if doctor.run(include_broker=not args.no_broker) else 0


def cmd_notebooks(args: argparse.Namespace) -> int:
    from kafkalab import curriculum

    return curriculum.main([args.action] + args.rest)


def cmd_area(args: argparse.Namespace) -> int:
    package = importlib.import_module(f"kafkalab.{args.area}")
    # A package keeps its command line in __main__; a single module in main().
    if hasattr(package, "__path__"):
        package = importlib.import_module(f"kafkalab.{args.area}.__main__")
    return package.main(args.rest) or 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kafkalab", description="The kafkalab course tools.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("broker", help="the embedded broker")
    p.add_argument("action", choices=["up", "down", "status", "restart"])
    p.add_argument("--port", type=int, default=None)
    p.add_argument("--foreground", action="store_true", help="stay in front; Ctrl-C stops it")
    p.set_defaults(func=cmd_broker)

    p = sub.add_parser("doctor", help="check this machine")
    p.add_argument("--no-broker", action="store_true", help="skip the broker check")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("topics", help="list, create, describe (with lag) or delete topics")
    tsub = p.add_subparsers(dest="action", required=True)
    tsub.add_parser("list")
    c = tsub.add_parser("create")
    c.add_argument("name")
    c.add_argument("-p", "--partitions", type=int, default=3)
    c.add_argument("-r", "--replication-factor", type=int, default=None)
    c.add_argument("--config", action="append", default=[], metavar="KEY=VALUE")
    d = tsub.add_parser("describe")
    d.add_argument("name")
    d.add_argument("-g", "--group", help="also show this group's committed offsets and lag")
    x = tsub.add_parser("delete")
    x.add_argument("name")
    p.set_defaults(func=cmd_topics)

    p = sub.add_parser("produce", help="send one value per line of stdin (or --file)")
    p.add_argument("topic")
    p.add_argument("-k", "--key", help="the same key for every record")
    p.add_argument("-K", "--key-separator", help="each line is KEY<sep>VALUE, like kcat -K")
    p.add_argument("-f", "--file")
    p.add_argument("--format", choices=["json", "str"], default="json")
    p.set_defaults(func=cmd_produce)

    p = sub.add_parser("consume", help="print a topic's records, kcat-style")
    p.add_argument("topic")
    p.add_argument("-g", "--group", help="consume in this group and commit (default: no group)")
    p.add_argument("--new", action="store_true", help="only records that arrive from now on")
    p.add_argument("-n", "--count", type=int, default=None, help="stop after N records")
    p.add_argument("--timeout", type=float, default=None, help="stop after S seconds")
    p.add_argument("--idle", type=float, default=None, help="stop after S seconds without records")
    p.add_argument("--no-pretty", dest="pretty", action="store_false")
    p.set_defaults(func=cmd_consume)

    p = sub.add_parser("lab", help="start a local Kafka broker and JupyterLab on the course")
    p.add_argument("--port", type=int, default=8888)
    p.add_argument("--no-browser", action="store_true")
    p.set_defaults(func=cmd_lab)

    p = sub.add_parser("notebooks", help="clean notebooks, derive exercises, regenerate the index")
    p.add_argument("action", choices=["build", "check"])
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_notebooks)

    for area, purpose in AREAS.items():
        p = sub.add_parser(area, help=f"{purpose} (python -m kafkalab.{area})", add_help=False)
        p.add_argument("rest", nargs=argparse.REMAINDER)
        p.set_defaults(func=cmd_area, area=area)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in AREAS:
        # Hand everything after the area to its own parser (its --help included).
        args = argparse.Namespace(func=cmd_area, area=argv[0], rest=argv[1:])
    else:
        args = build_parser().parse_args(argv)
    from kafkalab.clients import BrokerUnavailable, UnknownTopicError
    from kafkalab.settings import SettingsError

    try:
        configure_logging()
        return args.func(args)
    except (SettingsError, broker.BrokerError, BrokerUnavailable, UnknownTopicError) as exc:
        print(f"kafkalab: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
