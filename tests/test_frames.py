"""Records into DataFrames: the pure conversion, then a real topic read to its end."""

from __future__ import annotations

import uuid

import pandas as pd

from kafkalab import clients
from kafkalab.clients.message import Message
from kafkalab.frames import read_topic, to_frame
from kafkalab.testing import make_events


def test_flattens_dict_values_and_keeps_kafka_coordinates():
    events = make_events([{"customerId": "CUST-001", "total": 25, "offset": "clash"},
                          {"customerId": "CUST-002", "total": 70}], start_ms=1_700_000_000_000,
                         key="k")
    df = to_frame(events)
    assert list(df["offset"]) == [0, 1]                      # Kafka's offset, not the field
    assert list(df["value.offset"].fillna("-")) == ["clash", "-"]
    assert list(df["total"]) == [25, 70]
    assert str(df["timestamp"].dt.tz) == "UTC"
    assert df["timestamp"].iloc[1] - df["timestamp"].iloc[0] == pd.Timedelta("1s")


def test_non_dict_values_stay_in_one_column():
    df = to_frame(make_events(["a", 1]))
    assert list(df["value"]) == ["a", 1]


def test_undecodable_records_are_kept_with_their_error():
    bad = Message(topic="t", partition=0, offset=3, key=None, value=None, raw_value=b"{",
                  error="not valid JSON")
    df = to_frame(make_events([{"x": 1}]) + [bad])
    assert len(df) == 2
    assert list(df["error"].fillna("")) == ["", "not valid JSON"]


def test_empty_input_gives_the_columns():
    assert list(to_frame([]).columns)[:5] == ["topic", "partition", "offset", "key", "timestamp"]


def test_read_topic_reads_every_partition_to_its_end_in_order():
    topic = f"test-frames-{uuid.uuid4().hex[:8]}"
    with clients.Admin() as admin:
        admin.ensure_topic(topic, partitions=3)
    with clients.Producer() as producer:
        for i in range(60):
            producer.send(topic, {"i": i}, key=f"k{i % 7}")
        producer.flush()
    with clients.Producer(value_format="raw") as raw:
        raw.send_and_wait(topic, b"{not json", key="bad")
    df = read_topic(topic, timeout=20)
    assert len(df) == 61
    assert sorted(df["i"].dropna().astype(int)) == list(range(60))
    assert df.loc[df["key"] == "bad", "error"].str.contains("not valid JSON").all()
    for _, part in df.groupby("partition"):
        assert list(part["offset"]) == list(range(len(part)))
    assert len(read_topic(topic, max_messages=5)) == 5
