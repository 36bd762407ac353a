"""The LogAggregator end to end on a real Apache Kafka broker, and the week's CLI.

Bad input is injected on purpose: a record that is not JSON and one that lacks
required fields must reach the dead-letter topic with the reason, while the
aggregator goes on with everything else.
"""

from __future__ import annotations

import collections
import subprocess
import sys
import uuid

import pytest

from kafkalab.clients import Consumer, Producer
from kafkalab.logs import ErrorBurst, LogAggregator, LogFilter, MemoryNotifier, publish, simulate


def read_all(topic: str, n: int | None = None, idle: float = 2.0) -> list:
    with Consumer(topic, group_id=False) as c:
        return [m.value for m in c.messages(max_messages=n, idle_timeout=idle, timeout=60)]


@pytest.mark.slow
def test_aggregator_end_to_end_with_bad_input_injected(admin) -> None:
    run = uuid.uuid4().hex[:8]
    topics = {k: f"{k}-{run}" for k in ("logs", "summaries", "alerts", "dlq")}
    records = simulate(420, seed=11, incidents=[ErrorBurst("payments", start_s=300, duration_s=60)])
    with Producer() as p:
        admin.ensure_topic(topics["logs"], 3)
        half = len(records) // 2
        publish(records[:half], p, topics["logs"])
        p.raw.send(topics["logs"], b'{"timestamp": 1, "level": "ERR', key=b"api")
        p.send(topics["logs"], {"timestamp": 1, "source": "api", "level": "ERROR"}, key="api")
        publish(records[half:], p, topics["logs"])
    memory = MemoryNotifier()
    with LogAggregator(topic=topics["logs"], group_id=f"agg-{run}", summaries_topic=topics["summaries"],
                       alerts_topic=topics["alerts"], dead_letter_topic=topics["dlq"],
                       notifiers=[memory]) as agg:
        stats = agg.run(max_messages=len(records) + 2, timeout=90)
        assert (stats.processed, stats.dead_lettered) == (len(records), 2)
        summaries = agg.summaries_frame()
        alerts = agg.alerts_frame()
    # Windows: 7 minutes x 4 services, and every record counted once.
    assert len(summaries) == 7 * 4 and summaries["total"].sum() == len(records)
    assert (collections.Counter(alerts["rule"]) == collections.Counter(
        ["high-error-rate", "error-burst", "out-of-memory-or-timeout", "new-error"]))
    assert set(alerts["service"]) == {"payments"} and len(memory.alerts) == 4
    # What went to Kafka matches what was kept in memory.
    published = read_all(topics["summaries"], len(summaries))
    assert sorted((s["service"], s["window_start"], s["total"]) for s in published) == sorted(
        (s["service"], s["window_start"], s["total"]) for s in agg.windows.summaries)
    assert sorted(a["rule"] for a in read_all(topics["alerts"], 4)) == sorted(alerts["rule"])
    dead = read_all(topics["dlq"], 2)
    reasons = sorted(d["error"]["message"] for d in dead)
    assert reasons[0].startswith("log record lacks required field(s) 'message'")
    assert reasons[1].startswith("not valid JSON")
    assert {d["source"]["topic"] for d in dead} == {topics["logs"]}
    for name in topics.values():
        admin.delete_topic(name)


def test_handle_filters_and_rejects_without_kafka() -> None:
    from kafkalab.logs.pipeline import InvalidRecord
    from kafkalab.testing import make_events

    agg = LogAggregator(log_filter=LogFilter(level="ERROR"), rules=[])
    good = simulate(30, seed=1)
    for msg in make_events(good):
        agg.handle(msg)
    with pytest.raises(InvalidRecord, match="lacks required field"):
        agg.handle(make_events([{"message": "no time, no level"}])[0])
    assert len(agg.records) + agg.filtered_out == len(good)
    assert {r["level"] for r in agg.records} == {"ERROR"} and agg.invalid == 1


@pytest.mark.slow
def test_cli_demo_runs_bounded_and_alerts_once_per_rule() -> None:
    run = uuid.uuid4().hex[:8]
    out = subprocess.run(
        [sys.executable, "-m", "kafkalab.logs", "demo", "--seconds", "420", "--topic",
         f"cli-logs-{run}", "--summaries-topic", f"cli-sum-{run}", "--alerts-topic",
         f"cli-alerts-{run}", "--dead-letter-topic", f"cli-dlq-{run}", "--timeout", "60"],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    alert_lines = [line for line in out.stdout.splitlines() if line.startswith("ALERT")]
    assert len(alert_lines) == 4 and all(" payments at " in line for line in alert_lines)
    assert "0 dead-lettered" in out.stdout and "error rate per window" in out.stdout


def test_follow_filters_a_live_topic_and_reports_invalid_records(admin) -> None:
    from kafkalab.logs import FollowStats, follow, make_record

    topic = f"follow-{uuid.uuid4().hex[:8]}"
    admin.ensure_topic(topic, 1)
    lines = [make_record(service=svc, level=lvl, message=msg, timestamp_ms=1_000 * i)
             for i, (svc, lvl, msg) in enumerate([
                 ("api", "INFO", "GET / 200"), ("payments", "ERROR", "card declined"),
                 ("api", "ERROR", "timeout after 5000 ms"), ("payments", "WARNING", "slow")])]
    with Producer() as p:
        for rec in lines[:2]:
            p.send(topic, rec, key=rec["service"])
        p.raw.send(topic, b"<html>not a log</html>")
        for rec in lines[2:]:
            p.send(topic, rec, key=rec["service"])
    stats = FollowStats()
    with Consumer(topic, group_id=False) as c:
        got = list(follow(c, LogFilter(level="ERROR"), max_messages=5, timeout=30, stats=stats))
    assert [r["message"] for r in got] == ["card declined", "timeout after 5000 ms"]
    assert (stats.matched, stats.filtered_out, stats.invalid) == (2, 2, 1)
    assert "not valid JSON" in stats.reasons[0]
    # The same from the command line.
    out = subprocess.run(
        [sys.executable, "-m", "kafkalab.logs", "tail", "--topic", topic, "--from-beginning",
         "--level", "ERROR", "--service", "api", "--timeout", "30", "--idle-timeout", "3"],
        capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "1970-01-01T00:00:02.000Z ERROR    api        timeout after 5000 ms"]
    admin.delete_topic(topic)


@pytest.mark.slow
def test_live_logs_from_the_handler_are_summarised_while_the_aggregator_runs(admin) -> None:
    import logging

    from kafkalab.logs import KafkaLogHandler

    run = uuid.uuid4().hex[:8]
    topic = f"live-logs-{run}"
    admin.ensure_topic(topic, 3)
    closed_while_running: list[dict] = []
    running = True

    def seen(summary: dict) -> None:
        if running:
            closed_while_running.append(summary)

    agg = LogAggregator(topic=topic, group_id=f"live-{run}", window_s=1, lateness_s=0.5,
                        summaries_topic=None, alerts_topic=None, dead_letter_topic=f"dlq-{run}",
                        rules=[], close_idle_windows=True, on_summary=seen)
    flush = agg.flush

    def final_flush() -> None:  # summaries from here on are the end-of-run flush's
        nonlocal running
        running = False
        flush()

    agg.flush = final_flush
    handler = KafkaLogHandler("checkout", topic=topic, flush_interval=0.05)
    log = logging.getLogger(f"t.live.{run}")
    log.handlers[:] = [handler]
    log.propagate = False
    try:
        agg.wait_ready()
        for i in range(5):
            log.warning("payment %d slow", i, extra={"duration_ms": 1500 + i})
        assert handler.flush(30)
        # The service then goes quiet: only the wall clock can close its window.
        for _ in agg.batches(timeout=30, idle_timeout=4):
            pass
    finally:
        handler.close()
        agg.close()
    assert not running  # the run ended through its flush
    assert sum(s["total"] for s in closed_while_running) == 5
    assert {s["service"] for s in closed_while_running} == {"checkout"}
    assert closed_while_running[0]["latency_ms"]["count"] >= 1
    admin.delete_topic(topic)
