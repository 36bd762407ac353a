"""Measurements: the bytes-on-the-wire arithmetic, then real runs (no timing assertions)."""

from __future__ import annotations

import json
import uuid

import pytest

from kafkalab import clients, measure
from kafkalab.sampledata import orders


def test_wire_bytes_per_record_is_the_ratio_of_two_rates():
    m = {"producer-topic-metrics.t": {"byte-rate": 500.0, "record-send-rate": 20.0}}
    assert measure.wire_bytes_per_record(m, "t") == 25.0


def test_wire_bytes_per_record_explains_a_missing_topic():
    with pytest.raises(ValueError, match="nothing was sent"):
        measure.wire_bytes_per_record({}, "orders")


def test_produce_refuses_nothing_to_send_and_mismatched_keys():
    with pytest.raises(ValueError, match="at least one value"):
        measure.produce("t", [])
    with pytest.raises(ValueError, match="2 keys for 1 values"):
        measure.produce("t", [{"a": 1}], keys=["x", "y"])


def _topic(partitions: int) -> str:
    topic = f"test-measure-{uuid.uuid4().hex[:8]}"
    with clients.Admin() as admin:
        admin.ensure_topic(topic, partitions=partitions)
    return topic


def test_compression_shrinks_bytes_on_the_wire_and_every_record_arrives():
    topic = _topic(2)
    data = orders(400, seed=3)
    keys = [o["customerId"] for o in data]
    plain = measure.produce(topic, data, keys=keys, linger_ms=20)
    gz = measure.produce(topic, data, keys=keys, linger_ms=20, compression_type="gzip")
    assert plain.records == gz.records == 400
    # JSON orders repeat field names: gzip must take far fewer bytes than none.
    assert gz.wire_bytes < 0.5 * plain.wire_bytes
    assert plain.wire_ratio > 0.9                   # uncompressed: about the payload size
    with clients.Admin() as admin:
        assert admin.message_count(topic) == 800
    frame = measure.to_frame([plain, gz])
    assert list(frame["label"]) == ["linger_ms=20", "linger_ms=20,compression_type=gzip"]


@pytest.mark.slow
def test_consume_counts_every_record_and_idle_members():
    topic = _topic(2)
    data = orders(60, seed=1)
    run = measure.consume(topic, data, keys=[o["customerId"] for o in data], consumers=3,
                          partitions=2, record_delay=0.0, timeout=30)
    assert run.records == 60
    assert sum(run.per_member.values()) == 60
    assert run.idle_members >= 1                    # 3 members, 2 partitions
    assert measure.to_frame([run])["idle_members"].tolist() == [run.idle_members]


@pytest.mark.slow
def test_the_week2_twin_runs_bounded_and_prints_every_run(capsys):
    assert measure.main(["--n", "200", "--codecs", "none,gzip", "--consumers", "1",
                         "--consume-n", "20", "--partitions", "2", "--json"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    labels = [r.get("label") for r in rows if "label" in r]
    assert labels == ["linger 0, batch 16 KiB", "linger 20, batch 64 KiB", "none", "gzip"]
    (scaling,) = [r for r in rows if "consumers" in r]
    assert scaling["consumers"] == 1 and scaling["records"] == 20
