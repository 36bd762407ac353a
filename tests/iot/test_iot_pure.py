"""Week 7 IoT logic without a broker: validation, units, storage, alerts, detectors, maintenance.

Timestamps are fixed (kafkalab.testing's FakeClock and make_events); the fleet
is seeded, so every number here is reproducible.
"""

from __future__ import annotations

import math

import pytest

from kafkalab import iot
from kafkalab.alerts import Alert, TopicNotifier
from kafkalab.testing import FakeClock, make_events

T0 = iot.START_MS


def reading(value: float, ts: int = T0, device: str = "SENSOR-001", kind: str = "humidity",
            status: str = "ok") -> iot.Reading:
    return iot.Reading(device, kind, value, iot.CANONICAL_UNITS[kind], ts, status=status)


def good(**overrides) -> dict:
    record = {"deviceId": "SENSOR-001", "type": "temperature", "value": 212.0, "unit": "°F",
              "timestamp": "2026-01-01T00:00:00Z"}
    record.update(overrides)
    return record


# -- validation and units ------------------------------------------------------

@pytest.mark.parametrize(("kind", "value", "unit", "expected"), [
    ("temperature", 212.0, "°F", 100.0),
    ("temperature", 32.0, "F", 0.0),
    ("temperature", 300.0, "K", 26.85),
    ("pressure", 1.0, "psi", 6.895),
    ("pressure", 2.5, "bar", 250.0),
    ("vibration", 0.1, "in/s", 2.54),
    ("humidity", 55.0, "%RH", 55.0),
])
def test_units_convert_to_the_canonical_unit_of_their_type(kind, value, unit, expected) -> None:
    converted, canonical = iot.convert(kind, value, unit)
    assert converted == pytest.approx(expected, abs=1e-3)
    assert canonical == iot.CANONICAL_UNITS[kind]


def test_a_valid_record_is_normalised_and_keeps_what_was_sent() -> None:
    r = iot.validate(good())
    assert (r.value, r.unit, r.timestamp_ms) == (100.0, "°C", T0)
    assert (r.raw_value, r.raw_unit, r.status) == (212.0, "°F", "ok")
    assert iot.validate(good(timestamp=T0)).key == r.key  # ISO or epoch ms: the same reading


@pytest.mark.parametrize(("record", "reason"), [
    ([1, 2, 3], "must be a JSON object"),
    ({"deviceId": "SENSOR-001", "type": "temperature"}, "missing field(s) 'value', 'unit'"),
    (good(value="21.5"), "value must be a number; got str"),
    (good(value=True), "value must be a number; got bool"),
    (good(value=math.nan), "value must be finite"),
    (good(value=10**400), "value must be a number within"),   # OverflowError before the fix
    (good(value=-(2**60)), "value must be a number within"),
    (good(timestamp=10**400), "outside the years 2000-2100"),
    (good(deviceId=42), "deviceId must be a short id string"),
    (good(type="radiation"), "unknown sensor type 'radiation'"),
    (good(unit="furlongs"), "unknown unit 'furlongs' for temperature"),
    (good(value=-999.0, unit="°C"), "impossible value: temperature -999.0 °C"),
    (good(type="humidity", value=140, unit="%"), "impossible value: humidity 140.0 %"),
    (good(type="vibration", value=-1.0, unit="mm/s"), "impossible value"),
    (good(timestamp="yesterday at noon"), "is not ISO-8601"),
    (good(timestamp=1_767_225_600), "outside the years 2000-2100"),
])
def test_each_kind_of_bad_record_is_rejected_with_its_reason(record, reason) -> None:
    with pytest.raises(iot.InvalidReading, match=reason.replace("(", r"\(").replace(")", r"\)")):
        iot.validate(record)


def test_extra_rules_add_a_reason_of_their_own() -> None:
    def no_future_firmware(r):
        return "firmware 9 is not released" if r.get("firmware") == 9 else None

    v = iot.Validator(rules=[no_future_firmware])
    assert v(good(firmware=8)).value == 100.0
    with pytest.raises(iot.InvalidReading, match="firmware 9"):
        v(good(firmware=9))


# -- the simulator ---------------------------------------------------------------

def test_the_simulation_is_deterministic_and_its_faults_are_all_present() -> None:
    a = iot.simulate(8, 360, seed=5)
    b = iot.simulate(8, 360, seed=5)
    assert a.records == b.records and a.failures == b.failures
    assert iot.simulate(8, 360, seed=6).records != a.records
    s = a.summary()
    assert s["duplicates"] > 0 and s["out_of_order"] > 0 and s["spikes"] > 0
    assert {kind for kind, _ in a.malformed} == set(iot.simulator.MALFORMED_KINDS)
    assert s["failures"] > 0 and all(a.valid[(d, t, ts)]["status"] == "failed"
                                     for d, ts in a.failures
                                     for t in [next(x.type for x in a.devices if x.device_id == d)])
    assert {r["unit"] for r in a.valid.values()} >= {"°C", "°F", "psi", "kPa", "in/s", "mm/s"}
    # Every valid record validates, every malformed one is rejected.
    assert all(iot.validate(r).key == k for k, r in a.valid.items())
    for kind, bad in a.malformed:
        if kind != "not-json":
            with pytest.raises(iot.InvalidReading):
                iot.validate(bad)


# -- storage -----------------------------------------------------------------------

def test_store_is_idempotent_and_downsamples_per_minute(tmp_path) -> None:
    rs = [reading(50.0 + i, T0 + i * 15_000) for i in range(8)]  # 2 minutes, 4 per minute
    with iot.TimeSeriesStore(tmp_path / "ts.duckdb") as store:
        assert store.insert(rs + rs[:3]) == 8       # duplicates inside the batch, too
        assert store.insert(rs[2:]) == 0            # re-delivery changes nothing
        assert store.insert([reading(99.0, T0)]) == 0   # first copy wins
        df = store.downsample("SENSOR-001")
        assert df["mean"].tolist() == [51.5, 55.5] and df["n"].tolist() == [4, 4]
        assert (df["min"].tolist(), df["max"].tolist()) == ([50.0, 54.0], [53.0, 57.0])
        assert store.latest()["value"].tolist() == [57.0]
    with iot.TimeSeriesStore(tmp_path / "ts.duckdb") as again:   # kept in the file
        assert again.count() == 8 and again.frame()["value"].iloc[0] == 50.0


# -- threshold alerts ------------------------------------------------------------------

def test_hysteresis_and_cooldown_make_a_hovering_sensor_alert_once() -> None:
    clock = FakeClock(T0)
    values = [84, 86, 84.5, 85.3, 84.9, 86.1, 85.5, 84.7, 86.0]
    naive = iot.ThresholdAlerter({"humidity": iot.Threshold(high=85)}, cooldown_s=0)
    smart = iot.ThresholdAlerter({"humidity": iot.Threshold(high=85, clear=80)}, cooldown_s=600)
    fired_naive = fired_smart = 0
    for v in values:
        r = reading(v, clock.now_ms())
        fired_naive += naive.process(r) is not None
        fired_smart += smart.process(r) is not None
        clock.advance(60)
    assert fired_naive == 4 and fired_smart == 1
    # Cleared (below 80), but within the cool-down: suppressed, not sent.
    smart.process(reading(79, clock.now_ms()))
    clock.advance(60)
    assert smart.process(reading(90, clock.now_ms())) is None and smart.suppressed == 1
    # After the cool-down a new excursion alerts again.
    smart.process(reading(70, clock.now_ms()))
    clock.advance(600)
    alert = smart.process(reading(91, clock.now_ms()))
    assert alert is not None and alert.metric == "SENSOR-001.humidity"
    assert alert.to_record()["expected"] == {"low": 0.0, "high": 85}


def test_an_excursion_held_back_by_the_cool_down_alerts_when_it_ends_if_still_on() -> None:
    alerter = iot.ThresholdAlerter({"humidity": iot.Threshold(high=85, clear=80)}, cooldown_s=600)
    values = [90, 70] + [90] * 10  # back after one minute, and it stays
    fired = [alerter.process(reading(v, T0 + i * 60_000)) for i, v in enumerate(values)]
    assert [i for i, a in enumerate(fired) if a] == [0, 10]
    assert fired[10].suppressed == 1 and alerter.suppressed == 1


def test_low_limits_and_bad_hysteresis() -> None:
    alerter = iot.ThresholdAlerter({"pressure": iot.Threshold(low=150, clear_low=200)})
    kinds = [alerter.process(reading(v, T0 + i * 60_000, kind="pressure")) is not None
             for i, v in enumerate([300, 140, 160, 190, 145, 250, 140])]
    assert kinds == [False, True, False, False, False, False, False]  # cool-down holds the last
    with pytest.raises(ValueError, match="must not exceed high"):
        iot.Threshold(high=80, clear=85)


# -- anomaly detectors ------------------------------------------------------------------

@pytest.fixture(scope="module")
def fleet_readings():
    sim = iot.simulate(12, 480, seed=42)
    readings = []
    for r in sim.readings():
        try:
            readings.append(iot.validate(r))
        except iot.InvalidReading:
            pass
    return sim, readings


def test_every_detector_scores_before_learning() -> None:
    for d in iot.DETECTORS:
        dets = iot.DeviceDetectors(d.factory)
        base = [reading(50.0 + 0.3 * (i % 3), T0 + i * 60_000) for i in range(60)]
        for r in base:
            dets.score_then_learn(r)
        spike = reading(58.0, T0 + 60 * 60_000)
        first = dets.score_then_learn(spike)
        # Scored before it was learnt: judged against the past, so it stands out.
        assert first > max(dets.score_then_learn(r) for r in base[:5]), d.name


def test_both_detectors_beat_chance_on_the_labelled_fleet(fleet_readings) -> None:
    sim, readings = fleet_readings
    reports = {r.detector: r for r in iot.compare(readings, sim.anomalies)}
    assert set(reports) == {"half-space-trees", "rolling-zscore"}
    for rep in reports.values():
        assert rep.anomalies == len(sim.anomalies) and rep.points == len(sim.valid)
        assert rep.roc_auc > 0.75, rep
        assert rep.recall > 0.5, rep
        # Better than alerting at random at the same rate.
        assert rep.precision > 2 * rep.anomalies / rep.points, rep


# -- predictive maintenance ---------------------------------------------------------------

def test_maintenance_warns_before_failures_and_earlier_than_the_threshold(fleet_readings) -> None:
    sim, readings = fleet_readings
    report = iot.evaluate(readings)
    assert [(w.device_id, w.failed_ms) for w in report.warnings] == sim.failures
    assert len(sim.failures) >= 6
    # It needs a couple of failures to learn from; after that it warns for most.
    assert report.warned("model") >= len(sim.failures) - 3
    assert report.mean_warning("model") > 2 * report.mean_warning("naive")
    assert report.precision > 0.5 and report.recall > 0.5
    assert all(0 <= w.model_min <= 30 for w in report.warnings if w.model_min is not None)


def test_labels_arrive_only_after_the_horizon() -> None:
    p = iot.MaintenancePredictor(horizon_min=10, window_min=3, baseline_min=2)
    minute = 60_000
    preds = []
    for i in range(8):
        preds += p.process(reading(50.0, T0 + i * minute, kind="temperature"))
    # Predictions made, but none is older than the horizon: nothing learnt yet.
    assert preds and p.resolved == []
    for i in range(8, 20):
        p.process(reading(50.0, T0 + i * minute, kind="temperature"))
    assert p.resolved and all(label is False for _, label in p.resolved)
    assert all(pred.timestamp_ms + 10 * minute < T0 + 19 * minute for pred, _ in p.resolved)
    n = len(p.resolved)
    p.process(reading(90.0, T0 + 20 * minute, kind="temperature", status="failed"))
    # The failure labels the predictions of the 10 minutes before it as
    # positives; older pending ones become known negatives at the same moment.
    failed = T0 + 20 * minute
    new = p.resolved[n:]
    assert sum(label for _, label in new) == 11  # made at minutes 10..20 (inclusive)
    assert all(label == (failed - pred.timestamp_ms <= 10 * minute) for pred, label in new)


def test_maintenance_restored_from_its_snapshot_predicts_the_same(fleet_readings) -> None:
    import copy
    import dataclasses
    import json

    _, readings = fleet_readings
    kw = {"window_min": 10, "baseline_min": 12}

    def run(p, rs):
        return [dataclasses.asdict(x) for r in rs for x in p.process(r)]

    whole = iot.MaintenancePredictor(**kw)
    expected = run(whole, readings)
    first = iot.MaintenancePredictor(**kw)
    cut = len(readings) * 3 // 5 + 7          # mid-minute: half-filled minutes in the snapshot
    got = run(first, readings[:cut])
    assert any(dev.pending for dev in first.devices.values())
    state = json.loads(json.dumps(first.snapshot()))      # a checkpoint is JSON
    second = iot.MaintenancePredictor(**kw, model=copy.deepcopy(first.model))  # the model apart
    second.restore(state)
    got += run(second, readings[cut:])
    assert got == expected
    assert second.failures_seen == whole.failures_seen


def test_pipeline_handles_a_batch_without_kafka() -> None:
    pipeline = iot.IoTPipeline(group_id="unit")
    msgs = make_events([good(), good(value="hot"), good(), good(type="humidity", value=95,
                                                                 unit="%")], start_ms=T0)
    valid, bad = pipeline.process(msgs)
    assert len(valid) == 3 and [reason for _, reason in bad] == [
        "value must be a number; got str 'hot'"]
    assert pipeline.store.count() == 2 and pipeline.stats.already_stored == 1
    assert [a.rule for a in pipeline.alerts] == ["threshold", "threshold"]


def test_pipeline_detector_is_chosen_by_name_and_scores_before_learning() -> None:
    with pytest.raises(ValueError, match="unknown detector 'magic'"):
        iot.IoTPipeline(detector="magic")
    pipeline = iot.IoTPipeline(detector="half-space-trees")
    base = [{"deviceId": "SENSOR-002", "type": "vibration", "value": 2.0 + 0.02 * (i % 5),
             "unit": "mm/s", "timestamp": T0 + i * 60_000} for i in range(120)]
    spike = dict(base[0], value=2.6, timestamp=T0 + 120 * 60_000)
    pipeline.process(make_events(base + [spike], start_ms=T0))
    scores = dict(pipeline.scores)
    assert scores[("SENSOR-002", "vibration", T0 + 120 * 60_000)] > 0.9
    (alert,) = [a for a in pipeline.alerts if a.rule == "half-space-trees"][-1:]
    assert alert.timestamp_ms == T0 + 120 * 60_000 and alert.value == 2.6


def test_a_failed_alert_send_stops_the_batch_before_its_commit() -> None:
    # flush() returns even when a send failed: the pipeline must look at each
    # send's result, or the batch would be committed with its alert lost.
    class FailedSend:
        def get(self, timeout=None):
            raise RuntimeError("broker refused the record")

    class RefusingProducer:
        def __init__(self):
            self.topics = []

        def send(self, topic, value=None, *, key=None, **kw):
            self.topics.append(topic)
            return FailedSend()

        def flush(self, timeout=None):
            pass

    pipeline = iot.IoTPipeline(group_id="unit")
    pipeline._producer = RefusingProducer()  # stands in for the broker connection
    pipeline._alerts_out = TopicNotifier(pipeline._producer)
    msgs = make_events([good(type="humidity", value=95, unit="%")], start_ms=T0)
    with pytest.raises(RuntimeError, match="broker refused"):
        pipeline.process(msgs)
    assert pipeline._producer.topics == ["alerts"]
    # The batch comes again; its reading no longer raises the alert (the gate has
    # seen it), so the alert that was not stored is sent again with it.
    accepted = []

    class AcceptingProducer(RefusingProducer):
        def send(self, topic, value=None, *, key=None, **kw):
            accepted.append((topic, value["metric"]))
            return type("Sent", (), {"get": lambda self, timeout=None: None})()

    pipeline._producer = AcceptingProducer()
    pipeline._alerts_out = TopicNotifier(pipeline._producer)
    pipeline.process(msgs)
    assert accepted == [("alerts", "SENSOR-001.humidity")]


def test_a_jump_from_above_high_to_below_low_is_a_new_alert() -> None:
    alerter = iot.ThresholdAlerter({"pressure": iot.Threshold(high=700, clear=650, low=150,
                                                              clear_low=200)}, cooldown_s=0)
    fired = [alerter.process(reading(v, T0 + i * 60_000, kind="pressure"))
             for i, v in enumerate([400, 750, 720, 100, 120, 400, 760])]
    assert [a is not None for a in fired] == [False, True, False, True, False, False, True]
    assert [a.value for a in fired if a] == [750, 100, 760]


@pytest.mark.parametrize("detector", ["rolling-zscore", "half-space-trees"])
def test_pipeline_batches_give_what_its_parts_give_one_reading_at_a_time(detector) -> None:
    """The pipeline's alerts, scores and predictions on a seeded fleet, against its parts
    (validator, threshold alerter, a detector per device, maintenance model) run by hand."""
    sim = iot.simulate(8, 240, seed=5)
    pipeline = iot.IoTPipeline(group_id="unit", detector=detector)
    msgs = make_events([v for _, v in sim.records], start_ms=T0)
    for i in range(0, len(msgs), 100):
        pipeline.process(msgs[i:i + 100])

    chosen = {d.name: d for d in iot.DETECTORS}[detector]
    alerter, dets = iot.ThresholdAlerter(), iot.DeviceDetectors(chosen.factory)
    predictor = iot.MaintenancePredictor()
    alerts, scores, predictions = [], [], []
    for m in msgs:
        try:
            r = iot.validate(m.value)
        except iot.InvalidReading:
            continue
        if (alert := alerter.process(r)) is not None:
            alerts.append(alert)
        det = dets.detector(r)
        score = det.score_one({"value": r.value})
        expected = det.expected_range()  # of the history the score was judged on
        det.learn_one({"value": r.value})
        scores.append((r.key, score))
        if score > chosen.threshold:
            spec = iot.SENSOR_TYPES[r.type]
            alerts.append(Alert(rule=chosen.name, kind="anomaly", metric=f"{r.device_id}.{r.type}",
                                    value=r.value, score=score, timestamp_ms=r.timestamp_ms,
                                    expected=expected if all(map(math.isfinite, expected))
                                    else (spec.low, spec.high)))
        predictions += predictor.process(r)
    assert list(pipeline.scores) == scores
    assert list(pipeline.alerts) == alerts
    assert list(pipeline.predictions) == predictions
    assert any(a.kind == "anomaly" for a in alerts) and any(a.kind == "threshold" for a in alerts)
    assert predictions and pipeline.stats.dead_lettered == len(sim.malformed)
