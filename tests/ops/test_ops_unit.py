"""Pure logic of week 8 with fixed timestamps: no broker, no sleeping.

Histogram percentiles, the Prometheus text format, counter rates, lag trends,
alert rules with hold times, hysteresis and cool-downs, and the health report.
"""

from __future__ import annotations

import itertools
import math
import re

import pytest

from kafkalab import ops
from kafkalab.clients import BrokerUnavailable, PartitionLag
from kafkalab.testing import FakeClock

# One sample line of the text format: name, optional {labels}, value.
SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(\\.|[^"\\])*",?)*\})? '
                    r'(-?[0-9.e+-]+|NaN|[+-]Inf)$')


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(start_ms=1_700_000_000_000)


@pytest.fixture
def reg(clock: FakeClock) -> ops.Registry:
    return ops.Registry(now=clock.now)


# -- histogram -----------------------------------------------------------------

def test_percentiles_interpolate_between_ranks_like_numpy() -> None:
    values = [10.0, 20.0, 30.0, 40.0, 50.0]
    assert ops.percentile(values, 0) == 10.0
    assert ops.percentile(values, 100) == 50.0
    assert ops.percentile(values, 50) == 30.0
    assert ops.percentile(values, 90) == pytest.approx(46.0)
    assert ops.percentile(list(reversed(values)), 90) == pytest.approx(46.0)  # order does not matter


def test_histogram_p99_sees_the_slow_tail_that_the_mean_hides() -> None:
    h = ops.Histogram("processing_seconds")
    for _ in range(98):
        h.observe(0.002)
    h.observe(0.5)
    h.observe(0.5)
    s = h.summary()
    assert s["p50"] == pytest.approx(0.002)
    assert s["p99"] > 0.4
    assert h.count == 100 and h.sum == pytest.approx(98 * 0.002 + 1.0)


def test_histogram_keeps_a_bounded_recent_window_and_an_all_time_count() -> None:
    h = ops.Histogram("x", keep=10)
    for v in range(100):
        h.observe(v)
    assert h.count == 100
    assert h.values() == list(range(90, 100))
    assert h.percentile(0) == 90


def test_histogram_time_observes_with_the_given_clock_also_on_error() -> None:
    ticks = itertools.count(0.0, 0.25)  # each call to the clock moves 250 ms
    h = ops.Histogram("x")
    with h.time(clock=lambda: next(ticks)):
        pass
    with pytest.raises(ZeroDivisionError):
        with h.time(clock=lambda: next(ticks)):
            _ = 1 / 0
    assert h.values() == [0.25, 0.25]


def test_histogram_time_is_also_a_decorator() -> None:
    ticks = itertools.count(0.0, 0.5)
    h = ops.Histogram("x")

    @h.time(clock=lambda: next(ticks))
    def handle(x):
        return x + 1

    assert [handle(1), handle(2)] == [2, 3]
    assert h.values() == [0.5, 0.5]


def test_instrument_times_counts_and_re_raises(reg: ops.Registry) -> None:
    ticks = itertools.count(0.0, 0.01)
    seen = []

    def handler(x):
        if x == "bad":
            raise ValueError("bad record")
        seen.append(x)

    wrapped = ops.instrument(handler, reg, "billing", clock=lambda: next(ticks))
    wrapped("a")
    wrapped("b")
    with pytest.raises(ValueError, match="bad record"):
        wrapped("bad")
    assert seen == ["a", "b"]
    assert reg.latest("records_total", handler="billing") == 3
    assert reg.latest("errors_total", handler="billing") == 1
    assert reg.histogram("processing_seconds", handler="billing").values() == pytest.approx([0.01] * 3)


# -- registry and Prometheus text ----------------------------------------------

def test_prometheus_text_is_valid_and_escapes_label_values(reg: ops.Registry) -> None:
    reg.set("consumer-lag", 7, group='we"ird\\group\nname', partition=0)
    reg.inc("records_total", handler="a")
    reg.inc("records_total", handler="a")
    reg.histogram("processing_seconds", handler="a").observe(0.5)
    text = reg.prometheus()
    assert text.endswith("\n")
    lines = text.splitlines()
    assert "# TYPE consumer_lag gauge" in lines
    assert "# TYPE records_total counter" in lines
    assert "# TYPE processing_seconds summary" in lines
    assert 'consumer_lag{group="we\\"ird\\\\group\\nname",partition="0"} 7' in lines
    assert 'records_total{handler="a"} 2' in lines
    assert 'processing_seconds_count{handler="a"} 1' in lines
    assert 'processing_seconds{handler="a",quantile="0.99"} 0.5' in lines
    for line in lines:
        assert line.startswith("# TYPE ") or SAMPLE.match(line), line
    # Every sample follows its own TYPE line (one block per metric name).
    types = [line.split()[2] for line in lines if line.startswith("# TYPE")]
    assert len(types) == len(set(types))


def test_small_and_large_values_keep_their_precision(reg: ops.Registry) -> None:
    reg.set("tiny_seconds", 2.5e-07)
    reg.set("rate", 1234567.891)
    lines = reg.prometheus().splitlines()
    assert "tiny_seconds 2.5e-07" in lines and "rate 1234567.891" in lines


def test_load_test_refuses_impossible_settings_before_touching_the_broker() -> None:
    with pytest.raises(ValueError, match="at least one consumer"):
        ops.run_load(rate=10, seconds=1, consumers=0)
    with pytest.raises(ValueError, match="must be positive"):
        ops.run_load(rate=-5, seconds=1)
    with pytest.raises(ValueError, match="give a rate"):
        ops.run_load(rate=None)
    with pytest.raises(ValueError, match="not both"):  # records is not silently ignored
        ops.run_load(records=1000)
    with pytest.raises(ValueError, match="seconds must be positive"):
        ops.run_load(rate=100, seconds=0)


def test_empty_registry_exports_nothing(reg: ops.Registry) -> None:
    assert reg.prometheus() == ""
    assert list(reg.frame().columns) == ["time", "name", "value"]


def test_counter_rate_over_a_window(reg: ops.Registry, clock: FakeClock) -> None:
    for _ in range(10):
        reg.inc("records_total", 5)
        clock.advance(1)
    assert reg.rate("records_total", 3.5) == pytest.approx(5.0)
    assert reg.rate("nothing_total", 10) == 0.0


def test_increase_counts_from_zero_until_samples_are_dropped(clock: FakeClock) -> None:
    reg = ops.Registry(now=clock.now, keep=3)
    for _ in range(3):  # exactly `keep` samples, none dropped yet: 5 + 5 + 5 from zero
        reg.inc("records_total", 5)
        clock.advance(1)
    assert reg.increase("records_total", 60) == 15
    reg.inc("records_total", 5)  # the first sample (5) falls off: count from the oldest kept
    assert reg.increase("records_total", 60) == 10


def test_frame_has_one_row_per_sample_with_labels(reg: ops.Registry, clock: FakeClock) -> None:
    reg.set("consumer_lag", 3, partition=0)
    clock.advance(1)
    reg.set("consumer_lag", 1, partition=0)
    df = reg.frame()
    assert list(df["value"]) == [3.0, 1.0]
    assert set(df["partition"]) == {"0"}
    assert (df["time"].diff().dropna() == "1s").all()


def test_series_keep_is_bounded(clock: FakeClock) -> None:
    reg = ops.Registry(now=clock.now, keep=5)
    for v in range(20):
        reg.set("g", v)
    (series,) = reg.series("g")
    assert [v for _, v in series.points] == [15, 16, 17, 18, 19]


def test_client_metrics_are_copied_under_prometheus_names(reg: ops.Registry) -> None:
    class FakeConsumer:  # a kafkalab Consumer: metrics live on .raw once connected
        connected = True

        class raw:
            @staticmethod
            def metrics():
                return {"consumer-fetch-manager-metrics": {"records-lag-max": 12.0,
                                                           "fetch-rate": float("nan")},
                        "consumer-coordinator-metrics": {"commit-rate": 0.5}}

    assert ops.collect_client_metrics(reg, FakeConsumer(), client_name="c1") == 2
    assert reg.latest("kafka_consumer_records_lag_max", client="c1") == 12.0
    assert reg.latest("kafka_consumer_coordinator_commit_rate", client="c1") == 0.5


# -- lag trend -----------------------------------------------------------------

def samples(points, partitions=1):
    return [ops.LagSample("t", p, committed=0, end=lag, t=t, group="g")
            for t, lag in points for p in range(partitions)]


def test_trend_growing_shrinking_steady_and_unknown() -> None:
    assert ops.trend(samples([(0, 10), (1, 30), (2, 50)])).direction == "growing"
    t = ops.trend(samples([(0, 100), (1, 80), (2, 60)]))
    assert (t.direction, t.rate, t.lag, t.catch_up_s) == ("shrinking", -20.0, 60, 3.0)
    assert ops.trend(samples([(0, 5), (1, 5), (2, 5)])).direction == "steady"
    assert ops.trend(samples([(0, 5)])).direction == "unknown"
    assert ops.trend([]).direction == "unknown"


def test_trend_sums_partitions_and_looks_only_at_the_window() -> None:
    # Growing long ago, shrinking lately: the window decides.
    points = [(0, 0), (10, 100), (20, 200), (100, 300), (101, 290), (102, 280)]
    t = ops.trend(samples(points, partitions=3), window_s=5)
    assert t.direction == "shrinking" and t.lag == 840 and t.rate == -30.0


def test_lag_monitor_records_gauges_and_keeps_a_bounded_history(reg: ops.Registry) -> None:
    monitor = ops.LagMonitor("g", "t", registry=reg, keep=3)
    for t in range(5):
        monitor.add([ops.LagSample("t", p, committed=t, end=10, t=t, group="g") for p in range(2)])
    assert len(monitor.history) == 6
    assert monitor.total() == 2 * (10 - 4)
    assert reg.latest("consumer_lag", group="g", topic="t", partition=1) == 6
    assert reg.latest("consumer_lag_total", group="g") == 12
    assert list(monitor.frame()["lag"])[-2:] == [6, 6]


def test_partition_lag_of_a_group_that_never_committed_is_the_whole_partition() -> None:
    assert ops.LagSample("t", 0, committed=None, end=42, t=0, group="g").lag == 42


# -- alert rules ---------------------------------------------------------------

def run_lags(reg, clock, manager, lags, group="g"):
    """Feed one lag value per second; return (second, kind) for each event."""
    out = []
    for lag in lags:
        reg.set("consumer_lag_total", lag, group=group)
        out += [(round(clock.now() - 1_700_000_000), e.kind) for e in manager.evaluate()]
        clock.advance(1)
    return out


def test_lag_alert_needs_the_hold_time_and_ignores_a_spike(reg, clock) -> None:
    manager = ops.AlertManager([ops.LagAbove(100, for_s=2, group="g")], reg)
    # one spike (t=1) does not fire; three seconds above (t=3..5) fires at t=5
    assert run_lags(reg, clock, manager, [0, 500, 0, 150, 150, 150]) == [(5, "fired")]


def test_lag_alert_fires_once_then_clears_below_half_the_threshold(reg, clock) -> None:
    published = []
    manager = ops.AlertManager([ops.LagAbove(100, group="g")], reg, publish=published.append)
    events = run_lags(reg, clock, manager, [120, 200, 90, 60, 120, 40, 10])
    # 90 and 60 are under 100 but above 50: still the same incident (no flapping)
    assert events == [(0, "fired"), (5, "cleared")]
    (alert,) = published
    assert alert.rule == "lag-above" and alert.value == 120 and alert.expected == (0, 100)
    assert alert.to_record()["metric"] == "consumer_lag_total{group=g}"


def test_cool_down_suppresses_a_second_fire_then_allows_it(reg, clock) -> None:
    published = []
    manager = ops.AlertManager([ops.LagAbove(100, group="g")], reg, cooldown_s=10,
                               publish=published.append)
    events = run_lags(reg, clock, manager, [200, 0, 200, 0] + [0] * 8 + [200])
    assert events == [(0, "fired"), (1, "cleared"), (2, "suppressed"), (3, "cleared"),
                      (12, "fired")]
    assert len(published) == 2
    assert reg.latest("alert_events_total", rule="lag-above", kind="suppressed") == 1


def test_a_suppressed_condition_that_stays_fires_once_the_cool_down_is_over(reg, clock) -> None:
    published = []
    manager = ops.AlertManager([ops.LagAbove(100, group="g")], reg, cooldown_s=10,
                               publish=published.append)
    # flaps at t=1, comes back at t=2 and stays: muted during the cool-down, paged at t=10
    events = run_lags(reg, clock, manager, [200, 0] + [200] * 12 + [0])
    assert events == [(0, "fired"), (1, "cleared"), (2, "suppressed"), (10, "fired"),
                      (14, "cleared")]
    assert len(published) == 2


def test_lag_hold_time_counts_from_the_value_in_force_at_its_start(reg, clock) -> None:
    # Irregular samples: lag 10 until t=1.5, then above. At t=3 it has been above
    # for 1.5 s only, although every sample inside [1, 3] is above.
    manager = ops.AlertManager([ops.LagAbove(100, for_s=2, group="g")], reg)
    kinds = []
    for dt, lag in [(0, 10), (1.5, 150), (1.5, 200), (0.5, 200)]:
        clock.advance(dt)
        reg.set("consumer_lag_total", lag, group="g")
        kinds.append([e.kind for e in manager.evaluate()])
    assert kinds == [[], [], [], ["fired"]]  # at t=3.5: above since t=1.5, 2 s


def test_lag_growing_rule(reg, clock) -> None:
    manager = ops.AlertManager([ops.LagGrowing(group="g", min_rate=5, window_s=10)], reg)
    assert run_lags(reg, clock, manager, [0, 10, 20, 30, 30, 20, 10, 0]) == [
        (2, "fired"), (5, "cleared")]  # the fitted slope drops under 5/s at t=5


def test_error_rate_rule_waits_for_enough_records(reg, clock) -> None:
    rule = ops.ErrorRate(handler="h", max_ratio=0.1, window_s=10, min_records=20)
    manager = ops.AlertManager([rule], reg)
    reg.inc("records_total", 2, handler="h")
    reg.inc("errors_total", 2, handler="h")
    clock.advance(1)
    reg.inc("records_total", 2, handler="h")
    reg.inc("errors_total", 2, handler="h")
    assert manager.evaluate() == []  # 100 % of 4 records is not yet an incident
    for _ in range(5):
        clock.advance(1)
        reg.inc("records_total", 10, handler="h")
        reg.inc("errors_total", 3, handler="h")
    (event,) = manager.evaluate()
    assert event.kind == "fired" and event.value == pytest.approx(19 / 54, abs=1e-4)


def test_dead_letter_p99_and_broker_rules(reg, clock) -> None:
    rules = [ops.DeadLetterRate(max_per_s=0.5, window_s=5), ops.P99Above(handler="h", limit_s=0.1),
             ops.BrokerUnreachable()]
    manager = ops.AlertManager(rules, reg)
    assert manager.evaluate() == []  # nothing measured yet: nothing fires
    reg.inc("dead_letters_total", 0)
    clock.advance(1)
    reg.inc("dead_letters_total", 5)
    hist = reg.histogram("processing_seconds", handler="h")
    for v in [0.01] * 25 + [0.9]:
        hist.observe(v)
    reg.set("broker_up", 0)
    fired = {e.rule for e in manager.evaluate() if e.kind == "fired"}
    assert fired == {"dead-letter-rate", "p99-above", "broker-unreachable"}
    reg.set("broker_up", 1)
    assert [(e.rule, e.kind) for e in manager.evaluate()] == [("broker-unreachable", "cleared")]
    assert sorted(manager.active) == ["dead-letter-rate", "p99-above"]


def test_dead_letter_rate_counts_every_source_unless_told_one(reg, clock) -> None:
    everything = ops.DeadLetterRate(max_per_s=0.5, window_s=5)
    orders = ops.DeadLetterRate(max_per_s=0.5, window_s=5, source="orders")
    reg.inc("dead_letters_total", 0, source="payments")
    clock.advance(1)
    reg.inc("dead_letters_total", 2, source="payments")  # 0.4/s: under the limit alone
    reg.inc("dead_letters_total", 2, source="orders")
    cond = everything.check(reg, clock.now(), active=False)
    assert cond.holds and cond.value == pytest.approx(0.8)
    assert not orders.check(reg, clock.now(), active=False).holds


# -- health report -------------------------------------------------------------

class FakeAdmin:
    def __init__(self, lag=None, down=False):
        self._lag = lag or {}
        self.down = down

    def topics(self):
        if self.down:
            raise BrokerUnavailable("no Kafka broker answered at 127.0.0.1:1")
        return ["orders", "alerts"]

    def groups(self):
        return sorted(self._lag)

    def lag(self, group, topic=None):
        return self._lag[group]

    def close(self):
        pass


def test_health_lines_for_topics_groups_alerts_and_p99(reg) -> None:
    admin = FakeAdmin({"billing": [PartitionLag("orders", 0, 10, 1510),
                                   PartitionLag("orders", 1, 5, 5)]})
    reg.histogram("processing_seconds", handler="billing").observe(0.002)
    manager = ops.AlertManager([ops.LagAbove(1000, group="billing")], reg)
    reg.set("consumer_lag_total", 1500, group="billing")
    manager.evaluate()
    report = ops.health(admin=admin, topics=["orders", "payments"], groups=["billing", "ghost"],
                        max_lag=1000, registry=reg, manager=manager, p99_limit_s=0.05)
    lines = str(report).splitlines()
    assert lines[0].startswith("[OK] broker: answered in")
    assert lines[1:] == [
        "[OK] topic orders: exists",
        "[FAIL] topic payments: missing: create it or let the first write create it",
        "[FAIL] lag billing: 1500 records behind on 2 partitions (limit 1000); most on orders[0]: 1500",
        "[FAIL] lag ghost: unknown group: no consumer has joined it",
        "[OK] p99 billing: 2.0 ms per record over the last 1 (limit 50 ms)",
        "[FAIL] alerts: active: lag-above",
    ]
    assert not report.ok and len(report.failures) == 4
    assert reg.latest("broker_up") == 1


def test_health_stops_at_an_unreachable_broker(reg) -> None:
    report = ops.health(admin=FakeAdmin(down=True), groups=["billing"], registry=reg)
    assert str(report) == "[FAIL] broker: no Kafka broker answered at 127.0.0.1:1"
    assert reg.latest("broker_up") == 0


# -- sampler and dashboard ------------------------------------------------------

def test_sampler_needs_a_bound_keeps_errors_and_stops() -> None:
    with pytest.raises(ValueError, match="must stop on its own"):
        ops.Sampler(lambda: None)
    calls = []

    def flaky():
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("lag read failed")

    s = ops.Sampler(flaky, interval=0.0, max_samples=4).start()
    s.join(10)
    assert len(calls) == 4 and s.errors == ["RuntimeError: lag read failed"] and not s.running
    forever = ops.Sampler(lambda: None, interval=0.01, duration=60).start()
    forever.stop()
    assert not forever.running


def test_dashboard_draws_one_lag_line_per_partition(reg, clock) -> None:
    board = ops.Dashboard(reg, handler="h")
    for t in range(3):
        for p in range(2):
            reg.set("consumer_lag", 10 * t + p, group="g", topic="orders", partition=p)
        reg.inc("records_total", 5, handler="h")
        reg.histogram("processing_seconds", handler="h").observe(0.004)
        board.refresh()
        clock.advance(1)
    names = [t.name for t in board.figure.data]
    assert names == ["throughput", "p99 ms", "orders[0]", "orders[1]"]
    assert list(board.figure.data[3].y) == [1, 11, 21]
    assert list(board.figure.data[0].y) == [0.0, 5.0, 5.0]
    assert math.isclose(board.figure.data[1].y[-1], 4.0)


def test_a_background_sampler_can_redraw_the_dashboard_while_metrics_change(reg) -> None:
    board = ops.Dashboard(reg, handler="h")
    sampler = ops.Sampler(board.refresh, interval=0.0, max_samples=50).start()
    for i in range(200):  # written from this thread while the sampler reads and redraws
        reg.set("consumer_lag", i, group="g", topic="t", partition=i % 3)
        reg.inc("records_total", handler="h")
    sampler.join(30)
    board.refresh()
    assert sampler.errors == [] and sampler.samples == 50 and not sampler.running
    assert {t.name: t.y[-1] for t in board.figure.data[2:]} == {"t[0]": 198, "t[1]": 199,
                                                                "t[2]": 197}


def test_dashboard_draws_a_lag_gauge_set_without_a_topic_label(reg) -> None:
    board = ops.Dashboard(reg, handler="h")
    reg.set("consumer_lag", 12, group="billing", partition="0")  # as in the metrics docs
    board.refresh()
    assert [t.name for t in board.figure.data][2:] == ["?[0]"]
