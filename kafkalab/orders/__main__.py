"""``python -m kafkalab.orders``: run one service, all of them, or the API, outside Jupyter.

    python -m kafkalab.orders inventory            # one service (start several: they share partitions)
    python -m kafkalab.orders all --duration 60    # every service in one process, no API
    python -m kafkalab.orders up --port 3000       # every service + the HTTP API
    python -m kafkalab.orders api --port 3000      # the HTTP API alone (services run elsewhere)
    python -m kafkalab.orders rebuild              # replay the read model from the topics
    python -m kafkalab.orders demo --orders 20     # place orders, wait, check the invariants

The broker comes from ``KAFKA_BROKERS`` (a local broker when unset).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time

from kafkalab import configure_logging
from kafkalab.cli import port_arg, positive_arg, seconds_arg
from kafkalab.orders.catalog import CATALOG
from kafkalab.orders.faults import Faults
from kafkalab.orders.system import SERVICES, OrdersConfig, OrderSystem


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m kafkalab.orders", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("what", choices=[*SERVICES, "all", "up", "api", "rebuild", "demo"])
    p.add_argument("--duration", type=seconds_arg, default=None, help="seconds to run (default: until Ctrl-C)")
    p.add_argument("--prefix", default="", help="topic and group name prefix")
    p.add_argument("--data-dir", default=None, help="folder of the SQLite stores")
    p.add_argument("--port", type=port_arg, default=3000)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--decline-rate", type=float, default=0.0, help="share of payments declined")
    p.add_argument("--shipping-failure-rate", type=float, default=0.0)
    p.add_argument("--stock", type=int, default=None,
                   help="starting units of every product (default 1000): small numbers cause shortages")
    p.add_argument("--timeout", type=seconds_arg, default=10.0, help="seconds per saga step")
    p.add_argument("--orders", type=positive_arg, default=20, help="orders placed by `demo`")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    configure_logging()
    # Week 5: the services' log lines also go to the application-logs topic,
    # where the log aggregator filters, aggregates and alerts on them.
    from kafkalab import logs

    logs.install(service=args.what if args.what in SERVICES else "orders", logger="kafkalab.orders")
    stock = None if args.stock is None else {pid: args.stock for pid in CATALOG}
    config = OrdersConfig(prefix=args.prefix, data_dir=args.data_dir, step_timeout_s=args.timeout,
                          stock=stock,
                          faults=Faults(payment_decline_rate=args.decline_rate,
                                        shipping_failure_rate=args.shipping_failure_rate))
    if args.what in ("up", "api"):
        from kafkalab.orders.server import up

        up(port=args.port, host=args.host, duration=args.duration, config=config,
           services=args.what == "up")
        return 0
    if args.what == "rebuild":
        from kafkalab.orders.server import rebuild_read_model

        print(f"rebuilt {rebuild_read_model(config)} orders from the event topics")
        return 0
    if args.what == "demo":
        from kafkalab.orders import invariants

        with OrderSystem(config).start() as system:
            ids = [system.place(f"CUST-{i % 7:03d}", [{"productId": "ITEM-002", "name": "Mouse",
                                                        "price": 25, "quantity": 1}]).order_id
                   for i in range(args.orders)]
            system.wait_for(ids, timeout=args.duration or 120)
            problems = invariants.check_settled(config, ids)
            print(invariants.summary(config, ids))
        print("\n".join(problems) if problems else "all invariants hold")
        return 1 if problems else 0
    names = list(SERVICES) if args.what == "all" else [args.what]
    system = OrderSystem(config)
    stop = threading.Event()
    # SIGTERM (docker stop, kill) stops gracefully like Ctrl-C: each service
    # finishes its batch, commits, and leaves its group so others take over at once.
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        system.start(names)
        print(f"running {', '.join(names)}; Ctrl-C to stop", file=sys.stderr)
        started = time.monotonic()
        while not stop.wait(0.5):
            if args.duration is not None and time.monotonic() - started >= args.duration:
                break
            dead = [n for n, t in system.threads.items() if not t.is_alive()]
            if dead:
                print(f"service(s) {dead} stopped: {[str(system.runners[n].error) for n in dead]}",
                      file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        system.stop()
    return 0


if __name__ == "__main__":
    from kafkalab.cli import guarded

    sys.exit(guarded(main, prog="python -m kafkalab.orders"))
