"""The processor against a real Apache Kafka broker: restart, scaling, repartition, faults.

Each test uses its own topics and group (a uuid suffix): the broker is shared
by the whole run. The reference result is the same pipeline run in memory
over the same records (``run_local``), which tests/windows checks against pandas.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
import uuid

import pytest

from kafkalab import windows
from kafkalab.clients import Admin, Consumer, Producer
from kafkalab.streams import Processor, Stream
from kafkalab.streams.__main__ import orders_per_minute
from kafkalab.streams.checkpoint import Changelog
from kafkalab.testing import seeded

pytestmark = pytest.mark.slow

T0 = 1_700_000_040_000  # a minute boundary
CUSTOMERS = [f"CUST-{i:03d}" for i in range(1, 9)]


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


def make_orders(n: int, seed: int = 1) -> list[dict]:
    """Orders over ~n/2 seconds of event time, a quarter of them up to 40 s late."""
    rng = seeded(seed)
    out = []
    for i in range(n):
        delay = rng.randint(0, 40_000) if rng.random() < 0.25 else 0
        out.append({"orderId": f"ORD-{i:05d}", "customerId": rng.choice(CUSTOMERS),
                    "total": rng.randint(1, 300), "timestamp": T0 + i * 500 - delay})
    return out


def produce(topic: str, orders: list[dict], key: str = "customerId", extra=()) -> None:
    with Admin() as admin:
        admin.ensure_topic(topic, partitions=3)
    with Producer() as p:
        for o in orders:
            p.send(topic, o, key=o[key])
        for value in extra:
            p.raw.send(topic, value=value, key=b"CUST-001")
        p.flush()


def read_all(topic: str, idle: float = 2.0, format="json") -> list:
    with Consumer(topic, group_id=False, value_format=format) as c:
        return list(c.messages(idle_timeout=idle, timeout=30))


def table(messages) -> dict:
    """Latest value per (key, window start): how a reader sees an output topic."""
    return {(m.value["key"], m.value["windowStart"]): m.value["value"] for m in messages}


def reference(pipeline, topic: str) -> dict:
    run = pipeline.run_local(read_all(topic), flush=False)
    latest = {}
    for r in run.results:
        latest[(r.key, r.window.start_ms)] = r.value
    return latest


def run_cli(*args: str, timeout: float = 90) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kafkalab.streams", *args],
                          capture_output=True, text=True, timeout=timeout, env=os.environ.copy())


def test_killed_processor_restarts_with_identical_results():
    src, out, app = unique("orders"), unique("orders-per-minute"), unique("opm")
    orders = make_orders(600, seed=3)
    produce(src, orders)
    common = ["--input", src, "--output", out, "--app-id", app, "--batch-size", "40",
              "--grace-ms", "20000", "--idle-timeout", "4", "--timeout", "60"]

    killed = run_cli(*common, "--die-after", "290")
    assert killed.returncode == -9, killed.stderr[-2000:]
    before = read_all(out, idle=1.0)
    assert before, "the first run wrote results before it was killed"
    snaps = Changelog(f"{app}-changelog").load(range(3))
    assert snaps, "the first run checkpointed before it was killed"
    assert any(s["task"]["state"]["windows"] for s in snaps.values()), "killed mid-window"
    assert sum(s["task"]["offset"] for s in snaps.values()) < 600

    restarted = run_cli(*common)
    assert restarted.returncode == 0, restarted.stderr[-2000:]
    stats = json.loads(restarted.stdout.strip().splitlines()[-1])
    assert stats["restored"] >= 1
    assert stats["seen"] < 600, "the restart resumed, it did not start over"

    got = table(read_all(out))
    expected = reference(orders_per_minute(src, out, grace_ms=20_000), src)
    assert got == expected
    # no double counting: every order is in exactly one window or was late
    late = read_all(f"{app}-late", idle=1.0)
    assert sum(v["count"] for v in got.values()) + len(late) == 600


def test_a_bounded_run_polls_and_checkpoints_batch_size_records_at_a_time():
    """max_messages bounds the run, not the poll: the same batches (and a
    checkpoint after each) as an unbounded run, then the same results."""
    src, app = unique("orders"), unique("bounded")
    produce(src, make_orders(300, seed=7))
    results: list = []
    base = (Stream(src).group_by_key()
            .window(windows.Tumbling(60_000), grace_ms=20_000, time="timestamp")
            .aggregate(windows.Fields(count=windows.Count(), revenue=windows.Sum("total"))))
    with Processor(base.foreach(results.append), application_id=app, batch_size=50) as proc:
        stats = proc.run(max_messages=300, timeout=60)
    assert stats.seen == 300
    assert stats.batches >= 6 and stats.checkpoints >= 6, stats
    assert {(r.key, r.window.start_ms): r.value for r in results} == reference(base, src)


def test_two_processors_split_the_keys_and_match_one():
    src, app = unique("orders"), unique("opm2")
    with Admin() as admin:
        admin.ensure_topic(src, partitions=3)
    pipeline_results: dict[str, list] = {"a": [], "b": []}
    lock = threading.Lock()

    def collector(name):
        def sink(result):
            with lock:
                pipeline_results[name].append(result)
        return sink

    base = (Stream(src).group_by_key()
            .window(windows.Tumbling(60_000), grace_ms=20_000, time="timestamp")
            .aggregate(windows.Fields(count=windows.Count(), revenue=windows.Sum("total"))))
    procs = {name: Processor(base.foreach(collector(name)), application_id=app, batch_size=25)
             for name in "ab"}
    threads = {name: threading.Thread(target=p.run, kwargs={"idle_timeout": 10, "timeout": 60})
               for name, p in procs.items()}
    try:
        for t in threads.values():
            t.start()
        # Produce only once the group has split the partitions, so both work.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            owned = [set(p.tasks) for p in procs.values()]
            if all(owned) and len(owned[0] | owned[1]) == 3:
                break
            time.sleep(0.2)
        else:
            pytest.fail(f"the group did not split the partitions: {owned}")
        orders = make_orders(500, seed=5)
        produce(src, orders)
        for t in threads.values():
            t.join(timeout=90)
        assert not any(t.is_alive() for t in threads.values())
    finally:
        for p in procs.values():
            p.stop()
        for p in procs.values():
            p.close()

    keys = {name: {r.key for r in rs} for name, rs in pipeline_results.items()}
    assert keys["a"] and keys["b"], "both processors did some of the work"
    assert not keys["a"] & keys["b"], "each key is handled by one processor"
    union = {(r.key, r.window.start_ms): r.value
             for name in "ab" for r in pipeline_results[name]}
    assert union == reference(base, src)
    assert sum(p.stats.seen for p in procs.values()) == 500


def test_group_by_repartitions_and_bad_records_go_to_the_dead_letter_topic():
    src, out, app, dlq = unique("orders"), unique("per-customer"), unique("rp"), unique("dlq")
    orders = make_orders(300, seed=9)
    # keyed by order id: a customer's orders are spread over all partitions
    produce(src, orders, key="orderId",
            extra=[b'{"customerId": "CUST-001", "total": ', json.dumps({"total": 5}).encode()])
    pipeline = (Stream(src).group_by(lambda key, order: order["customerId"])
                .window(windows.Hopping(120_000, 60_000), grace_ms=10_000, time="timestamp",
                        emit="final")
                .aggregate(windows.Sum("total")).to(out))
    with Processor(pipeline, application_id=app, dead_letter_topic=dlq) as proc:
        stats = proc.run(idle_timeout=4, timeout=60, flush_windows=True)
    assert stats.repartitioned == 300
    assert stats.dead_lettered == 2
    dead = read_all(dlq, idle=1.0)
    reasons = sorted(d.value["error"]["message"] for d in dead)
    assert reasons[0].startswith("KeyError") or "customerId" in reasons[0]
    assert any("not valid JSON" in r for r in reasons)

    late = read_all(f"{app}-late", idle=1.0)
    assert len(late) == stats.late and stats.late > 0
    assert all("after its window(s) closed" in m.value["reason"] for m in late)

    got = table(read_all(out))
    # Every order is summed in its two hopping windows, or reported late for them.
    total = sum(o["total"] for o in orders)
    late_amount = sum(m.value["value"]["total"] * len(m.value["closed_windows"]) for m in late)
    assert sum(got.values()) + late_amount == 2 * total
    assert {k for k, _ in got} == set(CUSTOMERS)
