"""Sensor readings per second through the week-7 pipeline, as ratios to baselines.

    python bench/iot.py            # 20,000 simulated sensor records
    python bench/iot.py --n 2000   # quicker

In process (no Kafka): decode, validate, normalise and store in DuckDB with
:mod:`kafkalab.iot` (one reading at a time through the validator, 500 per
insert), against a pandas baseline doing the same work column-wise (decode,
check required fields, types, units and limits, convert, de-duplicate, one
insert). Both store into a fresh in-memory DuckDB with the same primary key.

End to end: :class:`IoTPipeline` reading the records from a topic (validate,
dead-letter, store, threshold alerts, anomaly scores, maintenance model,
commit per batch; the group join is done before timing) against bare
kafka-python that only reads and decodes the same records. The pipeline also
writes about one record per reading (a maintenance prediction per device and
minute, as the simulator sends a reading per device and minute), so a second
baseline is bare kafka-python reading, decoding and writing one
prediction-sized record per record read, flushed per poll of 500 as the
pipeline does: what the client itself can do with that much output.

The records are the simulator's, faults included (about 1 % malformed, 1 %
duplicated). The broker is a local Apache Kafka one unless KAFKA_BROKERS is set.
Results are appended to bench/results/iot.jsonl.
"""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pandas as pd  # noqa: E402
from _common import Timer, bench_parser, raw_consume, record, table  # noqa: E402

from kafkalab.clients import Admin, Producer, bootstrap_servers  # noqa: E402
from kafkalab.iot import SENSOR_TYPES, InvalidReading, IoTPipeline, TimeSeriesStore, Validator, publish, simulate  # noqa: E402

# The same conversions as kafkalab.iot.validation, as (factor, offset) pairs
# that pandas can apply to a whole column at once.
_LINEAR = {("temperature", "°C"): (1, 0), ("temperature", "C"): (1, 0),
           ("temperature", "degC"): (1, 0), ("temperature", "°F"): (5 / 9, -32 * 5 / 9),
           ("temperature", "F"): (5 / 9, -32 * 5 / 9), ("temperature", "K"): (1, -273.15),
           ("vibration", "mm/s"): (1, 0), ("vibration", "in/s"): (25.4, 0),
           ("pressure", "kPa"): (1, 0), ("pressure", "psi"): (6.894757, 0),
           ("pressure", "bar"): (100, 0), ("humidity", "%"): (1, 0), ("humidity", "%RH"): (1, 0)}


def records_for(n: int, seed: int = 7) -> list[tuple[str, object]]:
    devices = 16
    sim = simulate(devices, n / devices + 10, seed=seed)
    assert len(sim.records) >= n, f"simulated {len(sim.records)} < {n}"
    return sim.records[:n]


def payloads_of(recs: list[tuple[str, object]]) -> list[bytes]:
    return [v if isinstance(v, bytes) else json.dumps(v).encode() for _, v in recs]


def kafkalab_in_process(payloads: list[bytes]) -> tuple[float, int]:
    store, validator = TimeSeriesStore(), Validator()
    with Timer() as t:
        batch = []
        for p in payloads:
            try:
                batch.append(validator(json.loads(p)))
            except (InvalidReading, ValueError):
                continue  # the pipeline dead-letters these
            if len(batch) == 500:
                store.insert(batch)
                batch = []
        store.insert(batch)
    return t.seconds, store.count()


def pandas_in_process(payloads: list[bytes]) -> tuple[float, int]:
    store = TimeSeriesStore()
    with Timer() as t:
        rows = []
        for p in payloads:
            try:
                obj = json.loads(p)
            except ValueError:
                continue
            if isinstance(obj, dict):
                rows.append(obj)
        df = pd.DataFrame(rows, columns=["deviceId", "type", "value", "unit", "timestamp",
                                         "status"])
        df = df.dropna(subset=["deviceId", "type", "value", "unit", "timestamp"])
        numeric = df["value"].map(lambda v: isinstance(v, (int, float)) and not isinstance(v, bool))
        df = df[numeric & df["deviceId"].map(lambda v: isinstance(v, str))]
        conv = pd.DataFrame([_LINEAR.get(k, (None, None)) for k in zip(df["type"], df["unit"], strict=False)],
                            columns=["factor", "offset"], index=df.index)
        df = df[conv["factor"].notna()]
        conv = conv.loc[df.index]
        ts = pd.to_datetime(df["timestamp"], utc=True, errors="coerce", format="ISO8601")
        value = (df["value"].astype(float) * conv["factor"] + conv["offset"]).round(3)
        low = df["type"].map({k: s.low for k, s in SENSOR_TYPES.items()})
        high = df["type"].map({k: s.high for k, s in SENSOR_TYPES.items()})
        ok = ts.notna() & value.between(low, high)
        out = pd.DataFrame({"device_id": df["deviceId"], "type": df["type"],
                            "ts": ts.dt.tz_localize(None), "value": value,
                            "unit": df["type"].map({k: s.unit for k, s in SENSOR_TYPES.items()}),
                            "status": df["status"].fillna("ok")})[ok]
        out = out.drop_duplicates(subset=["device_id", "type", "ts"])
        store.con.register("_batch", out)
        store.con.execute("INSERT INTO readings SELECT * FROM _batch ON CONFLICT DO NOTHING")
    return t.seconds, store.count()


#: A maintenance prediction as the pipeline publishes it (the read+write baseline writes its like).
_PREDICTION = {"deviceId": "SENSOR-001", "type": "temperature", "timestamp": "2026-01-01T00:15:00Z",
               "failureProbability": 0.0123, "maintenanceDue": False, "horizonMinutes": 30,
               "features": {"level": 0.0123, "slope": -0.0045}}


def raw_read_write(topic: str, out: str, n: int) -> float:
    """Bare kafka-python: read and decode ``n`` records, write one prediction-sized record per
    record read (keyed alike), flush per poll of 500; every write acknowledged. Returns seconds."""
    from kafka import KafkaConsumer, KafkaProducer
    from kafka.structs import TopicPartition

    c = KafkaConsumer(bootstrap_servers=bootstrap_servers(), enable_auto_commit=False)
    p = KafkaProducer(bootstrap_servers=bootstrap_servers(), linger_ms=5)
    try:
        tps = [TopicPartition(topic, i) for i in c.partitions_for_topic(topic)]
        c.assign(tps)
        c.seek_to_beginning(*tps)
        p.send(out, b"{}").get(timeout=30)  # connected before timing, as the pipeline is
        got = written = 0
        with Timer() as t:
            while got < n:
                futures = []
                for records in c.poll(timeout_ms=1000, max_records=500).values():
                    for r in records:
                        try:
                            json.loads(r.value)
                        except ValueError:
                            pass  # the simulator's malformed records: read, not written
                        futures.append(p.send(out, json.dumps(_PREDICTION).encode(), key=r.key))
                        got += 1
                p.flush()
                for f in futures:
                    f.get(timeout=30)
                    written += 1
        assert got == written == n, (got, written, n)
    finally:
        c.close()
        p.close()
    return t.seconds


def pipeline_from_topic(topic: str, n: int, stored: int) -> float:
    run = uuid.uuid4().hex[:6]
    names = [f"bench-iot-alerts-{run}", f"bench-iot-pred-{run}", f"bench-iot-dlq-{run}"]
    with IoTPipeline(topic=topic, group_id=f"bench-iot-{run}", alerts_topic=names[0],
                     predictions_topic=names[1], dead_letter_topic=names[2]) as pipe:
        pipe.wait_ready()  # the ~1 s group join is not what we measure
        with Timer() as t:
            stats = pipe.run(max_messages=n, timeout=600)
        # Every record read; each distinct valid reading stored, the rest dead-lettered.
        assert stats.seen == n and stats.stored == stored, stats
        assert stats.stored + stats.already_stored + stats.dead_lettered == n, stats
    with Admin() as admin:
        for name in names:
            admin.delete_topic(name)
    return t.seconds


def main(argv: list[str] | None = None) -> int:
    parser = bench_parser(__doc__, 20000)
    args = parser.parse_args(argv)
    n = args.n
    recs = records_for(n)
    payloads = payloads_of(recs)

    def row(name: str, seconds: float) -> dict:
        return {"name": name, "n": n, "seconds": round(seconds, 4), "per_s": n / seconds}

    local = []
    seconds, stored_pd = pandas_in_process(payloads)
    local.append(row("validate+store: pandas baseline", seconds))
    seconds, stored_kl = kafkalab_in_process(payloads)
    local.append(row("validate+store: kafkalab.iot", seconds))
    # Same work, same answer: otherwise the comparison means nothing.
    assert stored_pd == stored_kl, (stored_pd, stored_kl)

    e2e = []
    with Admin() as admin:
        topic = f"bench-iot-{uuid.uuid4().hex[:6]}"
        admin.ensure_topic(topic, 3)
        with Producer() as producer:
            publish(recs, producer, topic)
        with Timer() as t:
            raw_consume(topic, n, tolerate_invalid=True)
        e2e.append(row("read: bare kafka-python", t.seconds))
        out = f"{topic}-out"
        admin.ensure_topic(out, 3)
        e2e.append(row("read+write: bare kafka-python", raw_read_write(topic, out, n)))
        e2e.append(row("end to end: IoTPipeline", pipeline_from_topic(topic, n, stored_kl)))
        admin.delete_topic(topic)
        admin.delete_topic(out)
    print(f"{n:,} simulated sensor records ({stored_kl:,} distinct valid readings), "
          f"3 partitions")
    print(table(local, "validate+store: pandas baseline"))
    print(table(e2e, "read: bare kafka-python"))
    both, ours = (next(r["per_s"] for r in e2e if r["name"] == name)
                  for name in ("read+write: bare kafka-python", "end to end: IoTPipeline"))
    print(f"IoTPipeline / read+write baseline: {ours / both:.2f}x")
    path = record("iot", {"n": n, "broker": ",".join(bootstrap_servers())}, local + e2e,
                  args.results_dir)
    print(f"results appended to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
