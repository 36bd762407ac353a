"""The one alerting path: the gate's semantics, the alert record, the notifiers. Pure, fixed times."""

from __future__ import annotations

import io
import json

import pytest

from kafkalab import alerts
from kafkalab.alerts import Alert, Gate, Threshold
from kafkalab.testing import FakeClock

T0 = 1_767_603_600.0  # seconds: a 2026 event time


def run(gate: Gate, answers, start: float = 0.0, step: float = 1.0):
    """Feed one answer per step; return (time, kind, suppressed) of each event."""
    out = []
    for i, holds in enumerate(answers):
        event = gate.update("k", holds, now=start + i * step)
        if event:
            out.append((round(event.t - start, 3), event.kind, event.suppressed))
    return out


# -- fired / cleared ---------------------------------------------------------------

def test_fires_once_when_it_starts_to_hold_and_clears_once_when_it_stops() -> None:
    assert run(Gate(), [False, True, True, True, False, False]) == [
        (1, "fired", 0), (4, "cleared", 0)]


def test_any_truth_value_counts_and_a_string_names_the_excursion() -> None:
    import numpy as np

    assert run(Gate(), [np.bool_(False), np.bool_(True), 1, 0]) == [(1, "fired", 0),
                                                                   (3, "cleared", 0)]
    assert run(Gate(), ["high", "high", "low", ""]) == [(0, "fired", 0), (2, "fired", 0),
                                                         (3, "cleared", 0)]


def test_keys_are_independent() -> None:
    gate = Gate(cooldown_s=100)
    assert gate.update(("oom", "api"), True, now=0).kind == "fired"
    assert gate.update(("oom", "payments"), True, now=1).kind == "fired"
    assert gate.active(("oom", "api")) and not gate.active(("oom", "shop"))


# -- hold time ---------------------------------------------------------------------

def test_hold_time_ignores_a_spike_and_fires_after_for_s() -> None:
    assert run(Gate(for_s=2), [False, True, False, True, True, True]) == [(5, "fired", 0)]


def test_hold_time_counts_from_the_answer_at_which_it_started_to_hold() -> None:
    # Irregular answers: holding from t=1.5 on; at t=3 that is 1.5 s only.
    gate = Gate(for_s=2)
    kinds = [getattr(gate.update("k", h, now=t), "kind", None)
             for t, h in [(0, False), (1.5, True), (3, True), (3.5, True)]]
    assert kinds == [None, None, None, "fired"]


# -- cool-down ---------------------------------------------------------------------

def test_cool_down_suppresses_a_comeback_and_counts_it() -> None:
    assert run(Gate(cooldown_s=10), [True, False, True, False] + [False] * 8 + [True]) == [
        (0, "fired", 0), (1, "cleared", 0), (2, "suppressed", 0), (3, "cleared", 0),
        (12, "fired", 1)]


def test_a_suppressed_condition_that_still_holds_fires_when_the_cool_down_ends() -> None:
    gate = Gate(cooldown_s=10)
    assert run(gate, [True, False] + [True] * 12 + [False]) == [
        (0, "fired", 0), (1, "cleared", 0), (2, "suppressed", 0), (10, "fired", 1),
        (14, "cleared", 0)]
    assert (gate.stats.fired, gate.stats.suppressed, gate.stats.cleared) == (2, 1, 2)


def test_exactly_one_cool_down_later_counts_as_over_despite_float_noise() -> None:
    # Seconds made from large millisecond timestamps are not exact.
    gate = Gate(cooldown_s=300)
    assert gate.trigger("k", now=1_767_603_600_123 / 1000).kind == "fired"
    assert gate.trigger("k", now=1_767_603_900_123 / 1000).kind == "fired"


def test_trigger_is_a_momentary_condition_counted_while_cooling_down() -> None:
    gate = Gate(cooldown_s=300, for_s=60)  # an instant has no hold time
    kinds = [gate.trigger("k", now=T0 + s).kind for s in list(range(50)) + [400, 401]]
    assert kinds == ["fired"] + ["suppressed"] * 49 + ["fired", "suppressed"]
    assert not gate.active("k")
    assert gate.trigger("k", now=T0 + 800).suppressed == 1


def test_the_injected_clock_is_used_without_now() -> None:
    clock = FakeClock(start_ms=1_700_000_000_000)
    gate = Gate(cooldown_s=60, clock=clock.now)
    assert gate.trigger("k").t == 1_700_000_000
    clock.advance(30)
    assert gate.trigger("k").kind == "suppressed"
    clock.advance(30)
    assert gate.trigger("k").kind == "fired"


def test_negative_durations_are_refused() -> None:
    with pytest.raises(ValueError, match="durations"):
        Gate(cooldown_s=-1)


# -- hysteresis ----------------------------------------------------------------------

def test_hysteresis_makes_a_hovering_value_one_excursion() -> None:
    gate, th = Gate(), Threshold(high=85, clear=80)
    kinds = [getattr(gate.observe("h", v, th, now=i), "kind", None)
             for i, v in enumerate([84, 86, 84.5, 85.3, 84.9, 86.1, 79, 83, 86])]
    assert kinds == [None, "fired", None, None, None, None, "cleared", None, "fired"]
    plain = Gate()
    fired = [getattr(plain.observe("h", v, Threshold(high=85), now=i), "kind", None)
             for i, v in enumerate([84, 86, 84.5, 85.3, 84.9, 86.1])]
    assert fired.count("fired") == 3


def test_a_value_past_the_other_limit_while_armed_is_a_new_excursion() -> None:
    gate = Gate()
    th = Threshold(high=700, clear=650, low=150, clear_low=200)
    events = [gate.observe("p", v, th, now=i) for i, v in enumerate([400, 750, 720, 100, 120,
                                                                      400, 760])]
    assert [(e.kind, e.state) for e in events if e] == [
        ("fired", "high"), ("fired", "low"), ("cleared", None), ("fired", "high")]


def test_threshold_limits_inclusive_and_bad_hysteresis() -> None:
    assert Threshold(high=100).side(100) is None
    assert Threshold(high=100, inclusive=True).side(100) == "high"
    # armed: stays armed until back strictly below clear
    assert Threshold(high=100, clear=50, inclusive=True).side(50, "high") == "high"
    assert Threshold(high=100, clear=50, inclusive=True).side(49, "high") is None
    with pytest.raises(ValueError, match="must not exceed high"):
        Threshold(high=80, clear=85)
    with pytest.raises(ValueError, match="must not be below low"):
        Threshold(low=80, clear_low=70)


# -- the alert record ------------------------------------------------------------------

@pytest.mark.parametrize("alert", [
    Alert(rule="oom", kind="pattern", service="payments", severity="critical",
          timestamp_ms=1_767_603_600_000, message="OutOfMemoryError", details={"matched": "Out"},
          suppressed=3),
    Alert(rule="zscore", kind="anomaly", metric="orders.revenue", value=7012.5,
          expected=(980.0, 1630.0), score=14.2, timestamp_ms=1_767_225_600_000),
    Alert(rule="lag-above", metric="consumer_lag_total{group=g}", value=120.0, timestamp_ms=0),
])
def test_to_record_and_from_record_round_trip_through_json(alert) -> None:
    record = json.loads(json.dumps(alert.to_record()))
    assert Alert.from_record(record) == alert
    assert record["timestampMs"] == alert.timestamp_ms and record["rule"] == alert.rule


def test_an_alert_needs_a_subject_and_a_known_severity() -> None:
    with pytest.raises(ValueError, match="service or a metric"):
        Alert(rule="x", timestamp_ms=0)
    with pytest.raises(ValueError, match="severity"):
        Alert(rule="x", service="a", timestamp_ms=0, severity="loud")
    a = Alert(rule="t", metric="m", value=3, expected=(0, 2), score=1.5, timestamp_ms=0)
    assert a.subject == "m" and a.message == "3 outside 0..2 (score 1.5)"


# -- notifiers: one contract -------------------------------------------------------------

class FakeProducer:
    def __init__(self):
        self.sent = []

    def send(self, topic, value=None, *, key=None, **kw):
        self.sent.append((topic, key, value))
        return f"future-{len(self.sent)}"


NOTIFIERS = {
    "ConsoleNotifier": lambda: alerts.ConsoleNotifier(io.StringIO()),
    "MemoryNotifier": alerts.MemoryNotifier,
    "TopicNotifier": lambda: alerts.TopicNotifier(FakeProducer()),
    "WebhookNotifier": lambda: alerts.WebhookNotifier("http://127.0.0.1:1/x", timeout=0.2),
}


def test_the_contract_covers_every_notifier() -> None:
    assert set(NOTIFIERS) == {n for n in alerts.__all__ if n.endswith("Notifier") and n != "Notifier"}


@pytest.mark.parametrize("name", sorted(NOTIFIERS))
def test_every_notifier_takes_an_alert(name) -> None:
    notifier = NOTIFIERS[name]()
    assert isinstance(notifier, alerts.Notifier)
    alert = Alert(rule="oom", service="api", timestamp_ms=0, message="m")
    notifier.notify(alert)  # a dead webhook is counted, never raised


def test_topic_notifier_returns_the_send_result_and_keys_by_subject() -> None:
    producer = FakeProducer()
    topic = alerts.TopicNotifier(producer)
    a = Alert(rule="threshold", metric="SENSOR-1.humidity", value=90, timestamp_ms=0)
    assert topic.notify(a) == "future-1" and topic(a) == "future-2"
    (name, key, value), _ = producer.sent
    assert (name, key, value["metric"], topic.sent) == ("alerts", "SENSOR-1.humidity",
                                                        "SENSOR-1.humidity", 2)


def test_console_notifier_says_what_was_held_back() -> None:
    out = io.StringIO()
    alerts.ConsoleNotifier(out).notify(Alert(rule="oom", service="api", timestamp_ms=0,
                                             message="m", suppressed=4))
    assert out.getvalue() == "ALERT [warning] oom api at 1970-01-01T00:00:00Z: m (+4 suppressed)\n"


# -- every producer of alerts: one shape, through the gate ----------------------------------

def _logs():
    from kafkalab import logs

    engine = logs.AlertEngine([logs.PatternRule("oom", pattern="OutOfMemory")], cooldown_s=300)
    out = []
    for s in range(5):  # one incident, five matching lines
        out += engine.process(logs.make_record(service="api", level="ERROR", message="OutOfMemory",
                                               timestamp_ms=int(T0 * 1000) + s * 1000))
    return out


def _ops():
    from kafkalab import ops

    clock = FakeClock(start_ms=int(T0 * 1000))
    reg = ops.Registry(now=clock.now)
    out = []
    manager = ops.AlertManager([ops.LagAbove(100, group="g")], reg, publish=out.append)
    for lag in [200, 0, 200, 200]:  # back within the cool-down: suppressed
        reg.set("consumer_lag_total", lag, group="g")
        manager.evaluate()
        clock.advance(1)
    return out


def _iot():
    from kafkalab import iot

    alerter = iot.ThresholdAlerter({"humidity": iot.Threshold(high=85, clear=80)})
    return [a for i, v in enumerate([90, 84, 91, 70, 95])
            if (a := alerter.process(iot.Reading("S-1", "humidity", v, "%",
                                                int(T0 * 1000) + i * 60_000)))]


def _analytics():
    from kafkalab import analytics

    mon = analytics.AnomalyMonitor(lambda m: analytics.RollingZScore(window=10, k=3),
                                   threshold=3, name="zscore", cooldown_s=600)
    out = []
    for m in range(12):
        out += mon.process(int(T0 * 1000) + m * 60_000, {"x": 10.0 + m % 2})
    for m in range(12, 15):  # three anomalous minutes in a row: one alert
        out += mon.process(int(T0 * 1000) + m * 60_000, {"x": 500.0})
    return out


PRODUCERS = {"logs": _logs, "ops": _ops, "iot": _iot, "analytics": _analytics}


@pytest.mark.parametrize("area", sorted(PRODUCERS))
def test_every_area_raises_the_one_alert_once_per_incident(area) -> None:
    raised = PRODUCERS[area]()
    assert len(raised) == 1, f"{area} should alert once; got {raised}"
    (alert,) = raised
    assert type(alert) is Alert and alert.subject and alert.rule
    assert Alert.from_record(json.loads(json.dumps(alert.to_record()))) == alert
