"""Window aggregations: kafkalab.windows against pandas, and kafkalab.streams against raw consumption.

    python bench/windows.py            # 100 000 orders
    python bench/windows.py --n 2000   # quicker
    python bench/windows.py --no-broker

In process (no broker): the same out-of-order orders through a tumbling
(1 min) and a hopping (3 min every 1 min) count-and-sum per customer, by
kafkalab's WindowedAggregation and by pandas (groupby + resample; one
resample per hop offset), checked equal, as events per second with pandas
as the baseline. pandas sees the whole batch at once; kafkalab one record at
a time (``process``), and a poll at a time (``process_batch``, what the
stream processor does), with late-record handling.

End to end: the same orders from a 3-partition topic, by the processor as
``python -m kafkalab.streams --emit final`` runs it (consumer group, its polls
of --batch-size, per-partition windows, a checkpoint to the changelog after each poll,
results to an output topic), checked against the in-process result, with raw
kafka-python consumption of the same records (assign, seek to beginning,
decode JSON, no processing) as the baseline.

quix-streams runs the same job from the same topic when it is installed (the
``bench`` extra: ``pip install -e '.[bench]'``; ``make bench`` does it), and
its final windows are checked against ours. Results are appended to
bench/results/windows.jsonl.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, bench_parser, raw_consume, record, table  # noqa: E402

from kafkalab import windows  # noqa: E402
from kafkalab.streams import __main__ as cli  # noqa: E402
from kafkalab.testing import seeded  # noqa: E402

T0 = 1_767_225_600_000
#: Records per poll: python -m kafkalab.streams' default batch size.
POLL = cli.parse_args([]).batch_size


def make_orders(n: int, seed: int = 7) -> list[dict]:
    """Orders 50 ms apart in arrival order, 10 % of them up to 30 s late."""
    rng = seeded(seed)
    out = []
    for i in range(n):
        delay = rng.randrange(30_000) if rng.random() < 0.1 else 0
        out.append({"customerId": f"CUST-{rng.randrange(50):03d}", "total": rng.randint(1, 500),
                    "timestamp": T0 + i * 50 - delay})
    return out


def ours(orders: list[dict], spec, batch: int = 1) -> dict:
    """kafkalab's windows: record by record (``batch=1``), or ``batch`` records at a time
    through ``process_batch``, as the stream processor hands it each poll."""
    agg = windows.WindowedAggregation(
        spec, windows.Fields(count=windows.Count(), revenue=windows.Sum("total")),
        grace_ms=60_000, emit="final")
    out = {}
    if batch == 1:
        for o in orders:
            for r in agg.process(o["customerId"], o, o["timestamp"]):
                out[(r.key, r.window.start_ms)] = r.value
    else:
        for i in range(0, len(orders), batch):
            chunk = orders[i:i + batch]
            emitted, refused = agg.process_batch([o["customerId"] for o in chunk], chunk,
                                                 [o["timestamp"] for o in chunk])
            assert not refused
            for r in emitted:
                out[(r.key, r.window.start_ms)] = r.value
    for r in agg.flush():
        out[(r.key, r.window.start_ms)] = r.value
    return out


def with_pandas(orders: list[dict], size_ms: int, advance_ms: int) -> dict:
    df = pd.DataFrame(orders)
    df["time"] = pd.to_datetime(df["timestamp"], unit="ms")
    out = {}
    for offset in range(0, size_ms, advance_ms):
        g = (df.groupby(["customerId", pd.Grouper(key="time", freq=f"{size_ms}ms", origin="epoch",
                                                  offset=f"{offset}ms")])["total"]
             .agg(["count", "sum"]))
        g = g[g["count"] > 0]
        for (k, t), row in zip(g.index, g.itertuples(index=False), strict=False):
            out[(k, t.value // 1_000_000)] = {"count": int(row.count), "revenue": int(row.sum)}
    return out


def in_process(orders: list[dict]) -> list[dict]:
    rows = []
    n = len(orders)
    for label, spec, size, advance in [("tumbling 1 min", windows.Tumbling(60_000), 60_000, 60_000),
                                       ("hopping 3 min / 1 min", windows.Hopping(180_000, 60_000),
                                        180_000, 60_000)]:
        with Timer() as tp:
            expected = with_pandas(orders, size, advance)
        with Timer() as to:
            got = ours(orders, spec)
        assert got == expected, f"{label}: kafkalab and pandas disagree"
        with Timer() as tb:
            got = ours(orders, spec, batch=POLL)
        assert got == expected, f"{label}: kafkalab in batches and pandas disagree"
        rows.append({"name": f"{label}: pandas", "group": label, "n": n,
                     "seconds": round(tp.seconds, 4), "per_s": n / tp.seconds})
        rows.append({"name": f"{label}: kafkalab", "group": label, "n": n,
                     "seconds": round(to.seconds, 4), "per_s": n / to.seconds,
                     "note": "record by record (process)"})
        rows.append({"name": f"{label}: kafkalab, polls of {POLL}", "group": label, "n": n,
                     "seconds": round(tb.seconds, 4), "per_s": n / tb.seconds,
                     "note": "process_batch, as the stream processor hands it each poll"})
    return rows


def end_to_end(orders: list[dict]) -> list[dict]:
    """From a topic: raw kafka-python reads, then the processor as its command line runs it."""
    from kafkalab.clients import Admin, Bounds, Producer
    from kafkalab.frames import read_topic
    n = len(orders)
    topic = f"bench-windows-{uuid.uuid4().hex[:8]}"
    with Admin() as admin:
        admin.ensure_topic(topic, 3)
    with Producer(compression_type="lz4", linger_ms=20) as p:
        for o in orders:
            p.send(topic, o, key=o["customerId"])
        p.flush()

    with Timer() as t_raw:
        raw_consume(topic, n)

    # python -m kafkalab.streams with its own poll size and checkpoint after every
    # poll; final results only (as quix-streams' .final() below), a grace that lets
    # no order be late, and a bound on the records read instead of waiting idle.
    app = f"bench-{uuid.uuid4().hex[:8]}"
    args = cli.parse_args(["--input", topic, "--output", f"{topic}-out", "--app-id", app,
                           "--emit", "final", "--grace-ms", "60000", "--max-messages", str(n),
                           "--timeout", "600"])
    with Timer() as t_ours:
        with cli.processor(args) as proc:
            stats = proc.run(Bounds.from_args(args))
            still_open = proc.results()
    assert stats.seen == n and stats.late == 0 and not stats.dead_lettered, stats
    # Check: the final results in the output topic and the windows still open are
    # exactly the in-process result.
    out = read_topic(f"{topic}-out", timeout=60)
    final = {} if out.empty else {
        (k, start): value for k, start, value in zip(out["key"], out["windowStart"], out["value"], strict=True)}
    got = dict(final)
    got.update({(r.key, r.window.start_ms): r.value for r in still_open})
    assert len(out) == stats.results and got == ours(orders, windows.Tumbling(60_000)), \
        "the processor's windows differ from the in-process ones"
    rows = [
        {"name": "from topic: raw kafka-python", "group": "e2e", "n": n,
         "seconds": round(t_raw.seconds, 4), "per_s": n / t_raw.seconds},
        {"name": "from topic: kafkalab Processor", "group": "e2e", "n": n,
         "seconds": round(t_ours.seconds, 4), "per_s": n / t_ours.seconds,
         "batches": stats.batches, "checkpoints": stats.checkpoints,
         "note": f"as python -m kafkalab.streams runs it: polls of {args.batch_size}, a checkpoint "
                 "after each; includes the group join"},
    ]
    rows += quix(topic, orders, final)
    with Admin() as admin:
        for t in (topic, f"{topic}-out", f"{app}-changelog", f"{app}-late"):
            admin.delete_topic(t)
    return rows


def quix(topic: str, orders: list[dict], final: dict) -> list[dict]:
    """The same job with quix-streams (the ``bench`` extra), on the same broker and topic.

    Its defaults (checkpoint every 5 s, a changelog topic per window state),
    tumbling 1 min with the same grace, count and sum per customer, final
    results closed by partition stream time as the processor does. It stops once
    it has read every order; its final windows must be the processor's ``final`` ones.
    """
    import logging
    import tempfile
    import warnings

    try:
        with warnings.catch_warnings():  # its dependencies' deprecation notices
            warnings.simplefilter("ignore")
            from quixstreams import Application
            from quixstreams.dataframe.windows import Count, Sum
    except ImportError:
        print("quix-streams is not installed (pip install -e '.[bench]', or make bench): skipped")
        return []
    from kafkalab.clients import bootstrap_servers

    n, seen, results = len(orders), [0], {}
    with warnings.catch_warnings(), tempfile.TemporaryDirectory() as state_dir, Timer() as t:
        warnings.simplefilter("ignore")  # its dependencies' deprecation notices
        app = Application(broker_address=",".join(bootstrap_servers()),
                          consumer_group=f"bench-quix-{uuid.uuid4().hex[:8]}",
                          auto_offset_reset="earliest", state_dir=state_dir, loglevel=logging.WARNING)
        source = app.topic(topic, key_deserializer="str", value_deserializer="json",
                           timestamp_extractor=lambda value, headers, ts, ts_type: value["timestamp"])

        def read(_value: dict) -> None:
            seen[0] += 1
            if seen[0] == n:
                app.stop()

        def keep(row: dict, key: str, _ts: int, _headers: object) -> None:
            results[(key, row["start"])] = {"count": row["count"], "revenue": row["revenue"]}

        sdf = app.dataframe(source).update(read)
        (sdf.tumbling_window(60_000, grace_ms=60_000).agg(count=Count(), revenue=Sum("total"))
         .final(closing_strategy="partition").update(keep, metadata=True))
        app.run()
    assert seen[0] == n and results == final, "quix-streams' final windows differ from kafkalab's"
    return [{"name": "from topic: quix-streams", "group": "e2e", "n": n, "seconds": round(t.seconds, 4),
             "per_s": n / t.seconds, "windows": len(results),
             "note": "its defaults (state in RocksDB, checkpoint every 5 s); includes the group join"}]


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, 100_000)
    parser.add_argument("--no-broker", action="store_true", help="only the in-process part")
    args = parser.parse_args(argv)
    orders = make_orders(args.n)
    print(f"{args.n:,} orders, 50 customers, 10 % up to 30 s late")
    rows = in_process(orders)
    for group in ("tumbling 1 min", "hopping 3 min / 1 min"):
        print(table([r for r in rows if r["group"] == group], f"{group}: pandas"))
    if not args.no_broker:
        e2e = end_to_end(orders)
        print(table(e2e, "from topic: raw kafka-python"))
        rows += e2e
    from kafkalab.clients import bootstrap_servers

    params = {"n": args.n, "broker": None if args.no_broker else ",".join(bootstrap_servers())}
    path = record("windows", params, rows, args.results_dir)
    print(f"results appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
