"""The /metrics text is what Prometheus reads: checked with prometheus_client's own parser."""

import math

import pytest

from kafkalab import ops
from kafkalab.ops.metrics import exposition, store
from kafkalab.testing import FakeClock

parser = pytest.importorskip("prometheus_client.parser")  # the dev extra (week 8)


def families(text: str) -> dict:
    return {f.name: f for f in parser.text_string_to_metric_families(text)}


@pytest.fixture
def reg() -> ops.Registry:
    r = ops.Registry(now=FakeClock(start_ms=1_700_000_000_000).now)
    r.set("consumer_lag", 12, group="billing", partition="0")
    r.set("consumer_lag", 0, group="billing", partition="1")
    r.inc("records_total", 3, handler="billing")
    r.inc("records_total", 2, handler="billing")
    r.set("kafka-producer.record-send-rate", 250.5, client="orders")  # needs renaming
    r.set("odd_labels", 1, path='C:\\tmp "x"\nnext')                  # needs escaping
    r.set("broken", math.nan)
    r.set("unbounded", math.inf)
    h = r.histogram("processing_seconds", handler="billing")
    for ms in [2, 4, 6, 8, 100]:
        h.observe(ms / 1000)
    r.histogram("processing_seconds", handler="idle")                 # no observations yet
    return r


def test_every_family_parses_with_its_type(reg):
    got = families(reg.prometheus())
    assert {name: f.type for name, f in got.items()} == {
        "broken": "gauge", "consumer_lag": "gauge", "kafka_producer_record_send_rate": "gauge",
        "odd_labels": "gauge", "processing_seconds": "summary",
        # The parser names a counter family without its _total suffix.
        "records": "counter", "unbounded": "gauge"}


def test_values_and_labels_survive_the_round_trip(reg):
    got = families(reg.prometheus())
    lag = {s.labels["partition"]: s.value for s in got["consumer_lag"].samples}
    assert lag == {"0": 12.0, "1": 0.0}
    (records,) = got["records"].samples
    assert (records.name, records.labels, records.value) == (
        "records_total", {"handler": "billing"}, 5.0)
    (rate,) = got["kafka_producer_record_send_rate"].samples
    assert rate.value == 250.5 and rate.labels == {"client": "orders"}
    (odd,) = got["odd_labels"].samples
    assert odd.labels == {"path": 'C:\\tmp "x"\nnext'}
    assert math.isnan(got["broken"].samples[0].value)
    assert got["unbounded"].samples[0].value == math.inf


def test_a_histogram_is_a_summary_with_the_registry_percentiles(reg):
    samples = families(reg.prometheus())["processing_seconds"].samples
    billing = {(s.name, s.labels.get("quantile")): s.value for s in samples
               if s.labels["handler"] == "billing"}
    h = reg.histogram("processing_seconds", handler="billing")
    assert billing == {
        ("processing_seconds", "0.5"): pytest.approx(h.percentile(50)),
        ("processing_seconds", "0.95"): pytest.approx(h.percentile(95)),
        ("processing_seconds", "0.99"): pytest.approx(h.percentile(99)),
        ("processing_seconds_sum", None): pytest.approx(0.12),
        ("processing_seconds_count", None): 5.0}
    idle = [s for s in samples if s.labels["handler"] == "idle"]
    quantiles = [s.value for s in idle if "quantile" in s.labels]
    assert len(quantiles) == 3 and all(math.isnan(v) for v in quantiles)
    assert {s.name: s.value for s in idle if "quantile" not in s.labels} == {
        "processing_seconds_sum": 0.0, "processing_seconds_count": 0.0}


def test_an_empty_registry_is_an_empty_exposition():
    assert ops.Registry().prometheus() == ""
    assert families("") == {}


def test_the_registry_and_render_give_the_same_text(reg):
    assert reg.prometheus() == exposition.render(reg.series(), reg.histograms())
    assert ops.Registry is store.Registry and ops.prometheus_name is exposition.prometheus_name


def test_the_app_serves_what_the_parser_reads(reg):
    from fastapi.testclient import TestClient

    scrapes = []
    app = ops.metrics_app(reg, collect=lambda: scrapes.append(1))
    with TestClient(app) as client:
        resp = client.get("/metrics")
        assert client.get("/health").json() == {"status": "ok"}
    assert resp.status_code == 200 and resp.headers["content-type"] == exposition.CONTENT_TYPE
    assert scrapes == [1]  # collect runs before each scrape
    assert families(resp.text).keys() == families(reg.prometheus()).keys()
