"""Metrics against pandas, detector contracts, evaluation, broadcasting and the web app."""

from __future__ import annotations

import asyncio
import inspect
import itertools

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from river import anomaly
from river.base import AnomalyDetector

from kafkalab import analytics
from kafkalab.analytics import (
    AnomalyMonitor,
    Broadcaster,
    EventGenerator,
    LiveTable,
    create_app,
    evaluate,
    flatten,
    roc_auc,
    shop_metrics,
)
from kafkalab.testing import make_message
from kafkalab.windows import Window, WindowResult


def labelled_series(seed: int = 42, minutes: int = 180):
    gen = EventGenerator(seed=seed, minutes=minutes)
    msgs = [make_message(e, offset=i, key="shop") for i, e in enumerate(gen.generate())]
    final = shop_metrics("t", emit="final").run_local(msgs).final()
    return gen, [(r.window.start_ms, flatten(r.value)) for r in final]


def test_metrics_per_window_equal_pandas():
    gen = EventGenerator(seed=3, minutes=20, late_share=0.2, max_delay_ms=25_000)
    events = gen.generate()
    msgs = [make_message(e, offset=i, key="k") for i, e in enumerate(events)]
    run = shop_metrics("t", grace_ms=30_000, emit="final").run_local(msgs)
    assert run.late == []  # 25 s of delay fits in 30 s of grace
    ours = {r.window.start_ms: flatten(r.value) for r in run.final()}

    df = pd.DataFrame(events)
    df["time"] = pd.to_datetime(df["timestamp"], unit="ms")
    df["user"] = df["customerId"].fillna(df["userId"])
    g = df.groupby(pd.Grouper(key="time", freq="1min"))
    orders = df[df.type == "order"].groupby(pd.Grouper(key="time", freq="1min"))
    req = df[df.type == "request"].groupby(pd.Grouper(key="time", freq="1min"))
    expected = pd.DataFrame({
        "orders.count": orders.size(), "orders.revenue": orders["total"].sum().round(2),
        "users.active": g["user"].nunique(),
        "users.new": df[df.type == "signup"].groupby(pd.Grouper(key="time", freq="1min")).size(),
        "performance.avgResponseTime": req["responseTimeMs"].mean().round(2),
        "performance.errorRate": (req["status"].apply(lambda s: (s >= 500).mean())).round(4),
    }).fillna(0)
    assert len(ours) == len(expected) == 20
    for ts, row in expected.iterrows():
        mine = ours[int(ts.value // 1_000_000)]
        for metric, value in row.items():
            assert mine[metric] == pytest.approx(value, abs=0.011), (ts, metric)


def test_unknown_event_type_is_reported():
    msgs = [make_message({"type": "refund", "timestamp": 5}, offset=0)]
    run = shop_metrics("t").run_local(msgs)
    assert run.dead and "unknown event type 'refund'" in run.dead[0][1]


# -- detectors: a contract over every detector class the package exports --------

DETECTORS = [getattr(analytics, n) for n in analytics.__all__
             if inspect.isclass(getattr(analytics, n))
             and issubclass(getattr(analytics, n), AnomalyDetector)]


def make_detector(cls, metric="orders.revenue"):
    if cls is analytics.ScaledHalfSpaceTrees:
        return cls({"value": analytics.BOUNDS[metric]}, seed=42)
    return cls()


def test_the_contract_covers_both_detectors():
    assert {c.__name__ for c in DETECTORS} == {"RollingZScore", "ScaledHalfSpaceTrees"}


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_scoring_does_not_learn(cls):
    det = make_detector(cls)
    for i in range(80):
        det.learn_one({"value": 1000 + 37 * (i % 9)})
    first = det.score_one({"value": 5000})
    for _ in range(20):
        det.score_one({"value": 5000})   # scoring alone must not change the model
    assert det.score_one({"value": 5000}) == first


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_detector_beats_chance_on_a_labelled_stream(cls):
    gen, series = labelled_series()
    report = evaluate(AnomalyMonitor(lambda m: make_detector(cls, m), threshold=1e9, name="x"),
                      series, gen.is_anomalous)
    assert report.anomalies >= 5
    assert report.roc_auc > 0.85, report


@pytest.mark.parametrize("cls", DETECTORS, ids=lambda c: c.__name__)
def test_fixed_seed_reproduces_scores(cls):
    gen, series = labelled_series(minutes=60)
    runs = []
    for _ in range(2):
        mon = AnomalyMonitor(lambda m: make_detector(cls, m), threshold=1e9, name="x")
        evaluate(mon, series, gen.is_anomalous)
        runs.append(mon.scores)
    assert runs[0] == runs[1]


def test_halfspacetrees_needs_scaled_features():
    """On raw numbers HST barely beats a coin toss; scaled to known bounds it works."""
    gen, series = labelled_series()

    class RawHST(AnomalyDetector):
        def __init__(self):
            self.model = anomaly.HalfSpaceTrees(n_trees=25, height=6, window_size=30, seed=42)

        def learn_one(self, x):
            self.model.learn_one(x)

        def score_one(self, x):
            return self.model.score_one(x)

    raw = evaluate(AnomalyMonitor(lambda m: RawHST(), threshold=0.95, name="raw"), series,
                   gen.is_anomalous)
    scaled = evaluate(analytics.hst_monitor(), series, gen.is_anomalous)
    assert scaled.roc_auc > raw.roc_auc + 0.2, (raw, scaled)


def test_monitor_scores_before_it_learns():
    seen = []

    class Spy(AnomalyDetector):
        def learn_one(self, x):
            seen.append(("learn", x["value"]))

        def score_one(self, x):
            seen.append(("score", x["value"]))
            return 0.0

    mon = AnomalyMonitor(lambda m: Spy(), threshold=1, name="spy")
    mon.process(0, {"a": 1.0})
    mon.process(60_000, {"a": 2.0})
    assert seen == [("score", 1.0), ("learn", 1.0), ("score", 2.0), ("learn", 2.0)]


def test_zscore_monitor_alert_has_metric_value_range_and_detector():
    mon = analytics.zscore_monitor(threshold=4.0)
    for m in range(20):
        assert mon.process(m * 60_000, {"orders.revenue": 1000 + (m % 5) * 10}) == []
    (alert,) = mon.process(20 * 60_000, {"orders.revenue": 5000})
    rec = alert.to_record()
    assert rec["metric"] == "orders.revenue" and rec["value"] == 5000
    assert rec["rule"] == "zscore" and rec["kind"] == "anomaly"
    assert rec["expected"]["low"] < 1020 < rec["expected"]["high"] < 5000


def test_every_anomalous_window_alerts_unless_a_cool_down_is_asked_for():
    class Always:  # scores every value as anomalous
        def score_one(self, x):
            return 1.0

        def learn_one(self, x):
            pass

    def alerted(monitor):
        return [m for m in range(6) if monitor.process(m * 60_000, {"a": 1.0})]

    assert alerted(AnomalyMonitor(lambda m: Always(), threshold=0.5, name="x")) == list(range(6))
    cooled = AnomalyMonitor(lambda m: Always(), threshold=0.5, name="x", cooldown_s=180)
    assert alerted(cooled) == [0, 3]
    assert cooled.gate.stats.suppressed == 4


# -- evaluation ------------------------------------------------------------------

def test_roc_auc_equals_pair_counting():
    labels = [0, 1, 0, 1, 1, 0, 0, 1, 0, 0]
    scores = [0.1, 0.9, 0.3, 0.3, 0.8, 0.2, 0.7, 0.4, 0.3, 0.0]
    pairs = [(p, n) for p, n in itertools.product(range(10), range(10))
             if labels[p] and not labels[n]]
    brute = sum(1.0 if scores[p] > scores[n] else 0.5 if scores[p] == scores[n] else 0.0
                for p, n in pairs) / len(pairs)
    assert roc_auc(labels, scores) == pytest.approx(brute)
    with pytest.raises(ValueError, match="both"):
        roc_auc([1, 1], [0.2, 0.3])


def test_precision_and_recall_count_alerts_against_labels():
    mon = AnomalyMonitor(lambda m: _Fixed(), threshold=0.5, name="fixed")
    series = [(0, {"a": 0.9}), (1, {"a": 0.1}), (2, {"a": 0.9}), (3, {"a": 0.1})]
    report = evaluate(mon, series, lambda ts, metric: ts in (0, 3))
    assert (report.true_positives, report.false_positives) == (1, 1)
    assert report.precision == 0.5 and report.recall == 0.5


class _Fixed(AnomalyDetector):
    """Scores a value as itself (to test the bookkeeping)."""

    def learn_one(self, x):
        pass

    def score_one(self, x):
        return x["value"]


# -- the live table, the broadcaster and the web app -------------------------------

def result(start, count, final=False):
    return WindowResult("shop", Window(start, start + 60_000),
                        {"orders": {"count": count, "revenue": 1.0}}, final=final)


def test_live_table_keeps_latest_and_bounded_rows():
    t = LiveTable(max_rows=2)
    for start, n in [(0, 1), (0, 2), (60_000, 5), (120_000, 7)]:
        t.update(result(start, n))
    assert [r["windowStart"] for r in t.rows()] == [60_000, 120_000]
    assert t.latest()["orders.count"] == 7
    t.update(WindowResult("shop", Window(60_000, 120_000), None))   # tombstone
    assert [r["windowStart"] for r in t.rows()] == [120_000]


def test_a_slow_client_does_not_slow_the_others():
    """A stuck client loses only stale values; the others get everything, at once."""

    async def scenario():
        table = {}
        hub = Broadcaster(queue_size=5, snapshot=lambda: {"type": "snapshot", "rows": dict(table)})
        fast, stuck = hub.connect(), hub.connect()
        received = []

        async def send_fast(msg):
            received.append(msg)

        release = asyncio.Event()
        got_by_stuck = []

        async def send_stuck(msg):
            await release.wait()   # a client that stopped reading
            got_by_stuck.append(msg)

        tasks = [asyncio.create_task(hub.pump(fast, send_fast)),
                 asyncio.create_task(hub.pump(stuck, send_stuck))]
        for n in range(100):
            window = n % 3 if n < 50 else n  # first many updates of 3 windows, then new ones
            table[window] = n
            hub.publish({"type": "metrics", "window": window, "n": n}, key=window)
            await asyncio.sleep(0)
        await asyncio.sleep(0.05)
        assert len(stuck.pending) <= 5, "the stuck client's buffer stays bounded"
        release.set()
        await asyncio.sleep(0.05)
        for t in tasks:
            t.cancel()
        return received, got_by_stuck, stuck

    received, got_by_stuck, stuck = asyncio.run(scenario())
    assert [m["n"] for m in received] == list(range(100)), "the fast client got everything"
    assert stuck.dropped > 80
    # The stuck one, released, catches up with one snapshot of the latest state.
    last = got_by_stuck[-1]
    assert last["type"] == "snapshot" or last["n"] == 99
    state = {}
    for m in got_by_stuck:
        if m["type"] == "snapshot":
            state = dict(m["rows"])
        else:
            state[m["window"]] = m["n"]
    assert state[0] == 48 and state[99] == 99


def test_app_serves_page_plotly_api_and_websocket():
    table, hub = LiveTable(), Broadcaster()
    table.on_update(lambda row: hub.publish({"type": "metrics", "row": row},
                                            key=row["windowStart"]))
    table.update(result(0, 3))
    with TestClient(create_app(table, hub)) as client:
        page = client.get("/").text
        assert '<script src="/static/plotly.min.js">' in page
        assert "https://" not in page and "http://" not in page, "no CDN: works offline"
        js = client.get("/static/plotly.min.js")
        assert js.status_code == 200 and len(js.content) > 1_000_000
        assert client.get("/api/analytics").json()["latest"]["orders.count"] == 3
        with client.websocket_connect("/ws/metrics") as ws:
            snap = ws.receive_json()
            assert snap["type"] == "snapshot" and snap["rows"][0]["orders.count"] == 3
            table.update(result(60_000, 4))
            msg = ws.receive_json()
            assert msg["type"] == "metrics" and msg["row"]["orders.count"] == 4


def test_shop_metrics_merge_of_halves_equals_the_whole():
    """ShopMetrics keeps the aggregator contract (it is also used for session windows)."""
    agg = analytics.ShopMetrics()
    events = EventGenerator(seed=2, minutes=2).generate()
    whole = agg.initialize()
    for e in events:
        whole = agg.add(whole, e)
    left = right = agg.initialize()
    for e in events[:100]:
        left = agg.add(left, e)
    for e in events[100:]:
        right = agg.add(right, e)
    assert agg.result(agg.merge(left, right)) == agg.result(whole)
    assert agg.result(agg.initialize())["performance"] == {"avgResponseTime": 0.0, "errorRate": 0.0}


def test_the_websocket_refuses_a_page_from_another_origin():
    from starlette.websockets import WebSocketDisconnect

    table, hub = LiveTable(), Broadcaster()
    with TestClient(create_app(table, hub)) as client:
        with pytest.raises(WebSocketDisconnect) as refused:
            with client.websocket_connect("/ws/metrics", headers={"origin": "https://evil.example"}):
                pass
        assert refused.value.code == 1008
        with client.websocket_connect("/ws/metrics", headers={"origin": "http://testserver"}) as ws:
            assert ws.receive_json()["type"] == "snapshot"


def test_speed_help_says_it_is_a_multiplier(capsys):
    from kafkalab.analytics.__main__ import main

    with pytest.raises(SystemExit):
        main(["demo", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "multiplier" in text and "times faster than real time" in text
    assert "minutes of event time per second" not in text


def test_rolling_zscore_scores_and_range_follow_every_learned_value():
    """Against statistics on the last ``window`` values, asked in any order between learns
    (the detector keeps its mean and std until the next learn_one)."""
    import statistics

    det = analytics.RollingZScore(window=5, min_history=2, k=2.0)
    history: list[float] = []
    for i, v in enumerate([10.0, 12.0, 11.5, 30.0, 9.0, 10.5, 10.0, 11.0, 50.0, 10.2]):
        if len(history) >= 2:
            last = history[-5:]
            mean, std = statistics.fmean(last), max(statistics.stdev(last), 0.01 * abs(statistics.fmean(last)))
            if i % 2:  # the range first, then the score; or the other way round
                det.expected_range()
            det.score_one({"value": v})
            assert det.score_one({"value": v}) == pytest.approx(abs(v - mean) / std, rel=1e-12)
            assert det.expected_range() == pytest.approx((round(mean - 2 * std, 2), round(mean + 2 * std, 2)))
        det.learn_one({"value": v})
        history.append(v)
