"""The IoT pipeline on a real Apache Kafka broker, a crash mid-batch, and the week's twin.

Faults are injected on purpose: the seeded fleet sends records that are not
JSON, lack fields, have wrong types, unknown units, impossible values and
broken clocks, plus duplicates and out-of-order arrivals. The store must end
up holding exactly the valid readings, and every bad record must reach the
dead-letter topic with its reason.
"""

from __future__ import annotations

import collections
import subprocess
import sys

import pytest

from kafkalab import iot
from kafkalab.clients import Consumer, Producer
from tests.conftest import unique


def read_all(topic: str, n: int) -> list:
    """``n`` records: wait for the count, not for an idle gap (a busy machine has gaps)."""
    with Consumer(topic, group_id=False) as c:
        return [m.value for m in c.messages(max_messages=n, timeout=60)]


def read_until_sources(topic: str, n: int) -> list:
    """Dead letters until ``n`` distinct source records are among them (some come twice)."""
    dead, sources = [], set()
    with Consumer(topic, group_id=False) as c:
        for m in c.messages(timeout=60):
            dead.append(m.value)
            sources.add((m.value["source"]["partition"], m.value["source"]["offset"]))
            if len(sources) >= n:
                break
    return dead


def topics(admin, prefix: str) -> dict[str, str]:
    names = {k: unique(f"{prefix}-{k}") for k in ("sensors", "alerts", "predictions", "dlq")}
    admin.ensure_topic(names["sensors"], 3)
    return names


def pipeline(names: dict[str, str], group: str, **kw) -> iot.IoTPipeline:
    return iot.IoTPipeline(topic=names["sensors"], group_id=group, alerts_topic=names["alerts"],
                           predictions_topic=names["predictions"],
                           dead_letter_topic=names["dlq"], **kw)


def test_pipeline_stores_exactly_the_valid_readings_and_dead_letters_the_rest(admin) -> None:
    names = topics(admin, "iot")
    sim = iot.simulate(8, 180, seed=21)
    with Producer() as p:
        sent = iot.publish(sim, p, names["sensors"])
    with pipeline(names, unique("iot-grp")) as pipe:
        stats = pipe.run(max_messages=sent, timeout=60)
        assert stats.seen == sent
        assert pipe.store.keys() == set(sim.valid)
        assert stats.stored == len(sim.valid) and stats.already_stored == sim.duplicates
        assert stats.dead_lettered == len(sim.malformed)
        # Normalised: one unit per type in the store, whatever the devices sent.
        df = pipe.store.frame()
        assert set(zip(df["type"], df["unit"], strict=False)) <= set(iot.CANONICAL_UNITS.items())
        alerts, predictions = list(pipe.alerts), list(pipe.predictions)
        assert alerts and predictions  # else the checks of their topics below prove nothing
    dead = read_all(names["dlq"], len(sim.malformed))
    assert len(dead) == len(sim.malformed)
    reasons = collections.Counter(d["error"]["message"].split(":")[0].split(" '")[0]
                                  for d in dead)
    assert {"not valid JSON", "missing field(s)", "value must be a number; got str",
            "impossible value", "unknown unit", "timestamp"} <= set(reasons), reasons
    assert {d["source"]["topic"] for d in dead} == {names["sensors"]}
    published = read_all(names["alerts"], len(alerts))
    assert sorted((a["metric"], a["timestampMs"]) for a in published) == sorted(
        (a.metric, a.timestamp_ms) for a in alerts)
    assert len(read_all(names["predictions"], len(predictions))) == len(predictions)


@pytest.mark.slow
def test_a_crash_mid_batch_redelivers_and_the_result_is_the_same(admin, tmp_path) -> None:
    names = topics(admin, "iot-crash")
    sim = iot.simulate(6, 120, seed=4)
    with Producer() as p:
        sent = iot.publish(sim, p, names["sensors"])
    group, db = unique("iot-crash-grp"), tmp_path / "readings.duckdb"
    # Small batches, so that some are committed before the crash hits one in the middle.
    first = pipeline(names, group, store=db, crash_after=len(sim.valid) // 2, batch_size=100)
    try:
        first.run(max_messages=sent, timeout=60)
        raise AssertionError("the injected crash did not happen")
    except iot.InjectedCrash:
        pass
    stored_before_crash = first.store.count()
    first.close(close_store=True)
    assert 0 < stored_before_crash < len(sim.valid)
    assert 0 < first.stats.committed < first.stats.seen  # the last batch was not committed
    # A new process: same group, same database. The uncommitted batch comes again.
    second = pipeline(names, group, store=db)
    try:
        stats = second.run(timeout=60, idle_timeout=3)
        # Exactly the uncommitted records come again; some of them were stored already.
        assert stats.seen == sent - first.stats.committed
        assert stats.already_stored > 0
        assert second.store.keys() == set(sim.valid)
        assert second.store.count() == len(sim.valid)
    finally:
        second.close(close_store=True)
    # Every bad record was dead-lettered (some twice: at-least-once), none lost.
    dead = read_until_sources(names["dlq"], len(sim.malformed))
    sources = {(d["source"]["partition"], d["source"]["offset"]) for d in dead}
    assert len(sources) == len(sim.malformed) <= len(dead)


@pytest.mark.slow
def test_twin_demo_and_evaluate_run_bounded(tmp_path) -> None:
    run = unique("twin")
    out = subprocess.run(
        [sys.executable, "-m", "kafkalab.iot", "demo", "--devices", "6", "--minutes", "90",
         "--topic", f"{run}-sensors", "--alerts-topic", f"{run}-alerts", "--predictions-topic",
         f"{run}-pred", "--dead-letter-topic", f"{run}-dlq", "--db", str(tmp_path / "t.duckdb"),
         "--timeout", "60"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "stored readings equal the valid input: True" in out.stdout
    assert "dead-lettered" in out.stdout and "latest reading per device" in out.stdout
    out = subprocess.run([sys.executable, "-m", "kafkalab.iot", "evaluate", "--devices", "8",
                          "--minutes", "480"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "half-space-trees" in out.stdout and "rolling-zscore" in out.stdout
    assert "predictive maintenance" in out.stdout and "thresholdWarningMin" in out.stdout
