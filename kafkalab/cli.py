"""The ``kafkalab`` command line.

::

    kafkalab broker up|down|status|restart|reset|stop-node|start-node
                                             the local Apache Kafka broker
    kafkalab tool kafka-topics ...           Kafka's own command-line tools
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
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kafkalab import broker, configure_logging

__all__ = ["area_main", "guarded", "main"]

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

def _describe(info: broker.ClusterInfo) -> str:
    nodes = ", ".join(f"node {n.id} {'pid ' + str(n.pid) if n.running else 'stopped'}"
                      for n in info.nodes)
    if info.secure:  # clients must log in: KAFKA_BROKERS alone would not reach it
        return (f"Apache Kafka {info.version}, secured with SASL/SCRAM and ACLs, {len(info.nodes)} "
                f"node(s) ({nodes}); data in {info.folder}; clients log in at {info.bootstrap} "
                "(the security lesson, week 8)")
    return (f"Apache Kafka {info.version}, {len(info.nodes)} node(s) ({nodes}); data in "
            f"{info.folder}\nexport KAFKA_BROKERS={info.bootstrap}")


def cmd_broker(args: argparse.Namespace) -> int:
    nodes = args.nodes
    if args.action == "up":
        info, started = broker.up(nodes or 1, port=args.port)
        print(f"{'started' if started else 'already running'}: {_describe(info)}")
        if (nodes or 1) > 1:
            print("(the single-node broker kafkalab uses when KAFKA_BROKERS is unset is separate; "
                  "export the line above to point kafkalab at this cluster)")
        if args.foreground:
            print("Ctrl-C stops it.")
            try:
                while broker.status(nodes or 1) is not None:
                    time.sleep(1)
            except KeyboardInterrupt:
                broker.down(nodes or 1)
        return 0
    if args.action == "down":
        print("stopped (the data is kept)" if broker.down(nodes)
              else "no local Kafka cluster was running")
        return 0
    if args.action == "restart":
        info = broker.restart(nodes or 1)
        print(f"restarted: {_describe(info)}")
        return 0
    if args.action == "reset":
        for folder in broker.reset(nodes):
            print(f"deleted every topic, record and offset in {folder}")
        return 0
    if args.action in ("stop-node", "start-node"):
        if args.node is None:
            print(f"kafkalab: broker {args.action} needs a node number, e.g. "
                  f"`kafkalab broker {args.action} 2`", file=sys.stderr)
            return 2
        act = broker.stop_node if args.action == "stop-node" else broker.start_node
        info = act(args.node, nodes or 3)
        print(f"node {args.node} {'stopped' if args.action == 'stop-node' else 'running'}: "
              f"{_describe(info)}")
        return 0
    found = [c for c in broker.clusters() if nodes is None or len(c.nodes) == nodes]
    running = [c for c in found if any(n.running for n in c.nodes)]
    for c in found:
        print(("running: " if c in running else "stopped: ") + _describe(c))
    if not running:
        print("no local Kafka cluster is running (one starts by itself when kafkalab needs it "
              "and KAFKA_BROKERS is unset)")
        return 3
    return 0


# Argument types for every command line of the course (kafkalab and python -m kafkalab.<area>):
# a bad value is argparse's one-line error, exit code 2.

def port_arg(text: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise argparse.ArgumentTypeError(f"expected a port number 1-65535, got {text!r}")
    return int(text)


def positive_arg(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of 1 or more, got {text!r}")
    return int(text)


def seconds_arg(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a number of seconds (0 or more), got {text!r}")
    return value


def cmd_tool(args: argparse.Namespace) -> int:
    """Run one of Kafka's own command-line tools through the broker's Java."""
    from kafkalab.broker.tools import tool_command

    return subprocess.call(tool_command(args.name, args.rest))


# -- topics -------------------------------------------------------------------

def _config_pairs(pairs: list[str]) -> dict[str, str]:
    from kafkalab.clients.topics import TopicSpecError, check_topic_configs

    out = {}
    for pair in pairs:
        if "=" not in pair:
            raise TopicSpecError(f"--config: expected KEY=VALUE, e.g. retention.ms=60000; got {pair!r}")
        k, v = pair.split("=", 1)
        out[k.strip()] = v.strip()
    return check_topic_configs(out)


def cmd_topics(args: argparse.Namespace) -> int:
    from kafkalab.clients import Admin
    from kafkalab.clients.topics import check_replication_factor, check_topic_name

    # Everything the command line says is checked before the first call to the broker.
    if args.action != "list":
        check_topic_name(args.name)
    configs = _config_pairs(args.config) if args.action == "create" else {}
    with Admin() as admin:
        if args.action == "list":
            for name in admin.topics():
                print(name)
        elif args.action == "create":
            if args.replication_factor is not None:
                check_replication_factor(args.replication_factor, admin.broker_count())
            created = admin.ensure_topic(args.name, args.partitions, args.replication_factor,
                                         configs)
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

class InputError(ValueError):
    """A line of input the command cannot send; the message names the line."""


#: kafka-python's default max_request_size: a larger record is refused by the producer.
MAX_RECORD_BYTES = 1048576


def _records(args: argparse.Namespace) -> list[tuple[Any, Any]]:
    """Every line of the input as ``(key, value)``, all checked before anything is sent."""
    from kafkalab.clients.serdes import loads_json

    try:
        if args.file:
            with open(args.file, "rb") as fh:
                data = fh.read()
        else:
            data = sys.stdin.buffer.read()
    except OSError as exc:
        raise InputError(f"cannot read {args.file}: {exc.strerror}") from None
    if args.key_separator == "":
        raise InputError("-K/--key-separator must not be empty")
    out = []
    for lineno, raw in enumerate(data.split(b"\n"), 1):
        raw = raw.rstrip(b"\r")
        if not raw.strip():
            continue
        if len(raw) > MAX_RECORD_BYTES:
            raise InputError(f"line {lineno}: {len(raw)} bytes; a record must fit the producer's "
                             f"max_request_size of {MAX_RECORD_BYTES} bytes")
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise InputError(f"line {lineno}: not UTF-8 text ({exc.reason} at byte "
                             f"{exc.start}); send binary data with a client, not this command") from None
        key = args.key
        if args.key_separator:
            if args.key_separator not in line:
                raise InputError(f"line {lineno}: no key separator {args.key_separator!r}")
            key, line = line.split(args.key_separator, 1)
        value: Any = line
        if args.format == "json":
            try:
                value = loads_json(line)
            except ValueError as exc:
                raise InputError(f"line {lineno}: not valid JSON ({exc})") from None
        out.append((key, value))
    return out


def cmd_produce(args: argparse.Namespace) -> int:
    from kafkalab.clients import Producer
    from kafkalab.clients.topics import check_topic_name

    check_topic_name(args.topic)
    try:
        records = _records(args)
    except InputError as exc:
        print(f"kafkalab: {exc}; nothing was sent", file=sys.stderr)
        return 2
    with Producer(value_format=args.format) as producer:
        for key, value in records:
            producer.send(args.topic, value, key=key)
        producer.flush()
    print(f"sent {len(records)} record(s) to {args.topic}", file=sys.stderr)
    return 0


def cmd_consume(args: argparse.Namespace) -> int:
    from kafkalab.clients import Consumer
    from kafkalab.clients.topics import check_topic_name

    check_topic_name(args.topic)
    group = args.group if args.group else False
    with Consumer(args.topic, group_id=group, from_beginning=not args.new,
                  value_format="raw") as consumer:
        count = 0
        for msg in consumer.messages(max_messages=args.max_messages, timeout=args.timeout,
                                     idle_timeout=args.idle_timeout):
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


#: Jupyter configuration `kafkalab lab` adds to the user's: `labconfig/page_config.json`
#: disables the plugin that asks about (and fetches) Jupyter news on every start.
JUPYTER_CONFIG = Path(__file__).resolve().parent / "jupyter_config"


def lab_command(port: int, *, no_browser: bool = False, root: Path | None = None,
                extra: list[str] | tuple[str, ...] = ()) -> tuple[list[str], dict[str, str]]:
    """The command and environment `kafkalab lab` starts JupyterLab with (tests reuse them)."""
    cmd = [sys.executable, "-m", "jupyterlab",
           f"--ServerApp.root_dir={root or _repo_root() / 'notebooks'}", f"--port={port}",
           # No news feed and no update check: the course runs offline and starts quietly.
           "--LabApp.news_url=None",
           "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
    if no_browser:
        cmd.append("--no-browser")
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")  # containers and CI run as root; Jupyter refuses otherwise
    cmd.extend(extra)
    env = dict(os.environ)
    env["JUPYTER_CONFIG_PATH"] = os.pathsep.join(
        p for p in (str(JUPYTER_CONFIG), env.get("JUPYTER_CONFIG_PATH", "")) if p)
    return cmd, env


def cmd_lab(args: argparse.Namespace) -> int:
    from kafkalab.settings import get_settings

    cmd, env = lab_command(args.port, no_browser=args.no_browser)
    if get_settings().local:
        # The lab owns the local broker only if it started it; one already
        # running (another terminal's) is shared and left running.
        with broker.running() as info:
            print(f"Apache Kafka {info.version} at {info.bootstrap} (data in {info.folder})")
            return subprocess.call(cmd, env=env)
    return subprocess.call(cmd, env=env)


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

    p = sub.add_parser("broker", help="the local Apache Kafka broker (or a 3-node cluster)")
    p.add_argument("action", choices=["up", "down", "status", "restart", "reset", "stop-node",
                                      "start-node"])
    p.add_argument("node", nargs="?", type=positive_arg, help="the node, for stop-node/start-node")
    p.add_argument("--nodes", type=positive_arg, default=None,
                   help="which cluster: 1 (the default broker) or 3 (the replication labs)")
    p.add_argument("--port", type=port_arg, default=None, help="the first node's port (first start)")
    p.add_argument("--foreground", action="store_true", help="stay in front; Ctrl-C stops it")
    p.set_defaults(func=cmd_broker)

    p = sub.add_parser("tool", help="run one of Kafka's own CLI tools (kafka-topics, ...)",
                       add_help=False)
    p.add_argument("name", choices=sorted(broker.TOOLS))
    p.add_argument("rest", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_tool)

    p = sub.add_parser("doctor", help="check this machine")
    p.add_argument("--no-broker", action="store_true", help="skip the broker check")
    p.set_defaults(func=cmd_doctor)

    p = sub.add_parser("topics", help="list, create, describe (with lag) or delete topics")
    tsub = p.add_subparsers(dest="action", required=True)
    tsub.add_parser("list")
    c = tsub.add_parser("create")
    c.add_argument("name")
    c.add_argument("-p", "--partitions", type=positive_arg, default=3)
    c.add_argument("-r", "--replication-factor", type=positive_arg, default=None)
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
    p.add_argument("-n", "--max-messages", type=positive_arg, default=None, help="stop after N records")
    p.add_argument("--timeout", type=seconds_arg, default=None, help="stop after S seconds")
    p.add_argument("--idle-timeout", type=seconds_arg, default=None,
                   help="stop after S seconds without records")
    p.add_argument("--no-pretty", dest="pretty", action="store_false")
    p.set_defaults(func=cmd_consume)

    p = sub.add_parser("lab", help="start the local broker and JupyterLab on the course")
    p.add_argument("--port", type=port_arg, default=8888)
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


def guarded(entry: Callable[[], int | None], prog: str = "kafkalab") -> int:
    """Run a command's ``main``; a mistake in what the user gave (a variable, an
    argument, a topic, the broker) is one line on stderr and exit code 2, not a traceback.

    Every ``python -m kafkalab.<area>`` and ``kafkalab`` itself run through this.
    """
    from kafkalab.clients import BrokerUnavailable, UnknownTopicError
    from kafkalab.clients.topics import TopicSpecError
    from kafkalab.settings import SettingsError

    try:
        return entry() or 0
    except (SettingsError, broker.BrokerError, BrokerUnavailable, UnknownTopicError,
            TopicSpecError) as exc:
        print(f"{prog}: {exc}", file=sys.stderr)
        return 2


def area_main(build_parser: Callable[[], argparse.ArgumentParser], argv: Sequence[str] | None,
              *, log_level: str = "warning") -> int:
    """The ``main`` of a ``python -m kafkalab.<area>``: quiet logging, parse, run the sub-command.

    Each area's parser sets ``func`` on every sub-command (``set_defaults(func=...)``).
    """
    configure_logging(log_level)
    args = build_parser().parse_args(argv)
    return int(args.func(args) or 0)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in AREAS:
        # Hand everything after the area to its own parser (its --help included).
        args = argparse.Namespace(func=cmd_area, area=argv[0], rest=argv[1:])
    else:
        args = build_parser().parse_args(argv)

    def run() -> int:
        configure_logging()
        return int(args.func(args))

    return guarded(run)


if __name__ == "__main__":
    sys.exit(main())
