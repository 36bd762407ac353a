"""``python -m kafkalab.cdc``: week 7's change data capture outside Jupyter, bounded.

Commands::

    python -m kafkalab.cdc demo --rows 50 --seconds 5
    python -m kafkalab.cdc capture --db shop.db --table products --table customers --timeout 30
    python -m kafkalab.cdc capture --postgres "host=localhost dbname=shop user=postgres" \\
        --table products --timeout 30
    python -m kafkalab.cdc apply --lake ./lake --idle-timeout 5

``demo`` builds a SQLite shop database in a temporary directory, snapshots it,
makes seeded random changes for ``--seconds`` while capturing them to the
topic, applies them to a Parquet lake and a cache, and checks that the lake
equals the database (exit status 1 if not). The broker is read from
``KAFKA_BROKERS`` (a local broker when unset).
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from kafkalab.cdc.capture import Capture
from kafkalab.cdc.envelope import CDC_TOPIC
from kafkalab.clients.bounds import Bounds


def _sorted(rows: list[dict]) -> list[dict]:
    return sorted(rows, key=lambda r: tuple((v is None, v) for v in r.values()))


def cmd_demo(args: argparse.Namespace) -> int:
    if args.dir:
        return _demo(args, Path(args.dir))
    # No --dir: a temporary directory, removed afterwards (pass --dir to keep the files).
    with tempfile.TemporaryDirectory(prefix="kafkalab-cdc-") as work:
        return _demo(args, Path(work))


def _demo(args: argparse.Namespace, work: Path) -> int:
    from kafkalab.cdc.cache import CacheInvalidator, ReadThroughCache, sqlite_row_loader
    from kafkalab.cdc.lake import LakeApplier
    from kafkalab.cdc.shop import SHOP_TABLES, create_shop
    from kafkalab.cdc.sqlite import SQLiteCapture
    from kafkalab.clients import Admin

    work.mkdir(parents=True, exist_ok=True)
    db, lake_dir = work / "shop.db", work / "lake"
    create_shop(db, products=args.rows, customers=max(1, args.rows // 4), seed=args.seed)
    with Admin() as admin:
        admin.ensure_topic(args.topic, 3)
    cache = ReadThroughCache(sqlite_row_loader(db))
    # Both consumers start at the topic's end: they read only what this run publishes.
    with SQLiteCapture(db, SHOP_TABLES, topic=args.topic) as capture, \
            LakeApplier(lake_dir, args.topic, from_beginning=False) as applier, \
            CacheInvalidator(cache, args.topic, from_beginning=False) as invalidator:
        return _run_demo(args, db, lake_dir, capture, applier.ready(), invalidator.ready(),
                         cache)


def _run_demo(args: argparse.Namespace, db: Path, lake_dir: Path, capture, applier,
              invalidator, cache) -> int:
    from kafkalab.cdc.cache import sqlite_row_loader
    from kafkalab.cdc.shop import SHOP_TABLES, random_changes, table_rows

    snap = capture.snapshot()
    warm = [f"products:{i}" for i in range(1, min(args.rows, 10) + 1)]
    for key in warm:
        cache.get(key)

    made: Counter = Counter()
    failed: list[BaseException] = []
    ticks = max(1, int(args.seconds * 10))
    per_tick = math.ceil(args.changes / ticks)

    def change() -> None:
        # Seeded random changes spread over --seconds, as an application would make them.
        left = args.changes
        try:
            for i in range(ticks):
                if left <= 0:
                    break
                made.update(random_changes(db, min(per_tick, left), seed=args.seed + i))
                left -= per_tick
                time.sleep(args.seconds / ticks)
        except BaseException as exc:  # reported below: the check must not pass without it
            failed.append(exc)

    writer = threading.Thread(target=change, daemon=True)
    writer.start()
    capture.run(timeout=args.seconds + 0.5)
    writer.join()
    stats = capture.run(idle_timeout=0.3, timeout=30)  # what was written last
    published = stats.published
    lake_stats = applier.run(max_messages=published, timeout=60)
    inv_stats = invalidator.run(max_messages=published, timeout=60)
    fresh = sum(cache.get(k) == sqlite_row_loader(db)(k) for k in warm)
    print(f"database {db}: {snap} rows snapshotted, then {sum(made.values())} changes "
          f"({', '.join(f'{n} {op}' for op, n in sorted(made.items()))})")
    print(f"published {published} change events to {args.topic}")
    print(f"lake {lake_dir}: applied {lake_stats.applied}, skipped {lake_stats.skipped}, "
          f"dead-lettered {lake_stats.dead_lettered}")
    print(f"cache: {cache.hits} hits, {cache.misses} misses, {cache.invalidations} "
          f"invalidations from {inv_stats.seen} change events; {fresh} of {len(warm)} warmed "
          "keys fresh after invalidation")
    ok = True
    for table in SHOP_TABLES:
        lake_rows, db_rows = _sorted(applier.lake.rows(table)), table_rows(db, table)
        same = lake_rows == db_rows
        ok &= same
        print(f"  {table:<10} source {len(db_rows):>5} rows, lake {len(lake_rows):>5} rows: "
              f"{'lake equals source' if same else 'DIFFERENT'}")
    ok &= fresh == len(warm)
    if failed:
        print(f"the change writer failed: {failed[0]!r}")
        ok = False
    print("OK: the lake equals the source" if ok else "FAILED: the lake differs from the source")
    return 0 if ok else 1


def cmd_capture(args: argparse.Namespace) -> int:
    capture: Capture
    if args.postgres:
        from kafkalab.cdc.postgres import PostgresCapture

        capture = PostgresCapture(args.postgres, args.table, topic=args.topic, slot=args.slot)
    elif args.db:
        from kafkalab.cdc.sqlite import SQLiteCapture

        capture = SQLiteCapture(args.db, args.table, topic=args.topic)
    else:
        print("capture: give --db PATH (SQLite) or --postgres DSN", file=sys.stderr)
        return 2
    with capture:
        capture.install()
        if args.snapshot:
            snapshot = getattr(capture, "snapshot", None)
            if snapshot is None:
                print("capture: --snapshot is for SQLite only", file=sys.stderr)
                return 2
            print(f"snapshot: {snapshot()} existing rows queued")
        stats = capture.run(Bounds.from_args(args))
    print(f"published {stats.published} change events to {args.topic} "
          f"(last position {stats.position})")
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    from kafkalab.cdc.lake import LakeApplier

    with LakeApplier(args.lake, args.topic, group_id=args.group,
                     dead_letter_topic=args.dead_letter_topic) as applier:
        s = applier.run(Bounds.from_args(args))
        lake = applier.lake
        print(f"read {s.seen}: applied {s.applied}, skipped {s.skipped} (already applied), "
              f"dead-lettered {s.dead_lettered}")
        for table in lake.tables():
            if args.compact:
                lake.compact(table)
            print(f"  {table:<12} {len(lake.rows(table)):>6} rows in "
                  f"{len(lake.files(table))} files")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m kafkalab.cdc", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("demo", help="SQLite shop -> db-changes -> lake + cache, checked")
    p.add_argument("--rows", type=int, default=50, help="products in the shop to begin with")
    p.add_argument("--seconds", type=float, default=5, help="how long changes keep coming")
    p.add_argument("--changes", type=int, default=200, help="random changes in total")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--topic", default=CDC_TOPIC)
    p.add_argument("--dir", default=None,
                   help="keep the database and lake here (default: a temp dir, removed after)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("capture", help="publish a database's changes, bounded")
    p.add_argument("--db", help="a SQLite database file")
    p.add_argument("--postgres", metavar="DSN", help="a PostgreSQL connection string instead")
    p.add_argument("--table", action="append", required=True, help="repeat for more tables")
    p.add_argument("--topic", default=CDC_TOPIC)
    p.add_argument("--slot", default="kafkalab_cdc", help="PostgreSQL replication slot")
    p.add_argument("--snapshot", action="store_true", help="first queue the existing rows")
    Bounds.add_arguments(p, idle_timeout=5.0)
    p.set_defaults(func=cmd_capture)

    p = sub.add_parser("apply", help="apply db-changes to a Parquet lake, bounded")
    p.add_argument("--lake", required=True, help="the lake's directory")
    p.add_argument("--topic", default=CDC_TOPIC)
    p.add_argument("--group", default=f"cdc-lake-{uuid.uuid4().hex[:6]}",
                   help="consumer group (reuse it to resume)")
    p.add_argument("--dead-letter-topic", default="dead-letter-queue")
    Bounds.add_arguments(p, timeout=60, idle_timeout=5.0)
    p.add_argument("--compact", action="store_true", help="compact each table afterwards")
    p.set_defaults(func=cmd_apply)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from kafkalab.cli import area_main

    return area_main(build_parser, argv)


if __name__ == "__main__":
    from kafkalab.cli import guarded

    sys.exit(guarded(main, prog="python -m kafkalab.cdc"))
