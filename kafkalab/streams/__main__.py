"""Orders per customer per minute, as a stand-alone processor: ``python -m kafkalab.streams``.

Reads order events (``{"customerId", "total", "timestamp"}``) from a topic,
counts them and sums their totals per customer in tumbling windows, writes the
results to an output topic, and checkpoints to ``<app-id>-changelog``. Run two
with the same ``--app-id`` and they split the partitions. Bounded by
``--max-messages``, ``--timeout`` and ``--idle-timeout``.

``--die-after N`` kills the process with SIGKILL after N records (no clean
shutdown, no last checkpoint): the week 6 lesson and the tests use it to show
that a restarted processor gives the same results.

Example::

    python -m kafkalab.streams --input orders --output orders-per-minute --idle-timeout 10
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys

from kafkalab import configure_logging, windows
from kafkalab.cli import positive_arg
from kafkalab.clients.bounds import Bounds
from kafkalab.streams.processor import Processor
from kafkalab.streams.stream import Stream, WindowedTable
from kafkalab.windows import EmitMode


def orders_per_minute(input_topic: str, output_topic: str, *, window_ms: int = 60_000,
                      grace_ms: int = 10_000, emit: EmitMode = "update") -> WindowedTable:
    """The pipeline: orders -> per customer -> tumbling window -> count and revenue."""
    return (Stream(input_topic)
            .filter(lambda key, order: order.get("total", 0) > 0)
            .group_by_key()
            .window(windows.Tumbling(window_ms), grace_ms=grace_ms, emit=emit,
                    time="timestamp")
            .aggregate(windows.Fields(count=windows.Count(), revenue=windows.Sum("total")))
            .to(output_topic))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (bench/windows.py runs the processor from it, as the CLI does)."""
    ap = argparse.ArgumentParser(prog="python -m kafkalab.streams", description=__doc__.split("\n")[0])
    ap.add_argument("--input", default="orders")
    ap.add_argument("--output", default="orders-per-minute")
    ap.add_argument("--app-id", default="orders-per-minute")
    ap.add_argument("--window-ms", type=positive_arg, default=60_000)
    ap.add_argument("--grace-ms", type=int, default=10_000)
    ap.add_argument("--emit", choices=["update", "final"], default="update")
    Bounds.add_arguments(ap, timeout=60.0, idle_timeout=10.0)
    ap.add_argument("--batch-size", type=positive_arg, default=5000,
                    help="records per poll, and per checkpoint (fewer: less to redo after a crash)")
    ap.add_argument("--die-after", type=int, help="SIGKILL this process after N records")
    return ap.parse_args(argv)


def processor(args: argparse.Namespace) -> Processor:
    """The processor the command line describes (not started)."""
    on_record = None
    if args.die_after is not None:
        # Only then a callback per record: with one, the processor takes its
        # polls record by record instead of a partition's records at once.
        handled = [0]

        def die(_proc: Processor, _msg: object) -> None:
            handled[0] += 1
            if handled[0] >= args.die_after:
                sys.stdout.flush()
                os.kill(os.getpid(), signal.SIGKILL)

        on_record = die
    table = orders_per_minute(args.input, args.output, window_ms=args.window_ms,
                              grace_ms=args.grace_ms, emit=args.emit)
    return Processor(table, application_id=args.app_id, on_record=on_record,
                     batch_size=args.batch_size)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging()
    with processor(args) as proc:
        stats = proc.run(Bounds.from_args(args))
    print(json.dumps(stats.__dict__))
    return 0


if __name__ == "__main__":
    from kafkalab.cli import guarded

    sys.exit(guarded(main, prog="python -m kafkalab.streams"))
