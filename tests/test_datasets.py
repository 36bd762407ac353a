"""The real data sets in data/ load through kafkalab.datasets.load and parse (one test per set, named for it)."""

from __future__ import annotations

import collections
from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest

from kafkalab import datasets
from kafkalab.logs import InvalidLogRecord, validate, zookeeper


def test_water_flow_loads_the_whole_series():
    rows = datasets.load("water-flow")
    assert len(rows) == 1268
    assert list(rows[0]) == ["Time", "Water flow [l/s]"]
    assert rows[0] == {"Time": "2022-03-20T11:00:00+01:00", "Water flow [l/s]": "100.59"}
    assert rows[-1]["Time"] == "2022-05-16T22:00:00+02:00"


def test_water_flow_is_hourly_and_numeric():
    rows = datasets.load("water-flow")
    times = [datetime.fromisoformat(r["Time"]) for r in rows]
    assert all(t.tzinfo is not None for t in times)      # an offset on every stamp: no guessing the zone
    steps = [b - a for a, b in pairwise(times)]
    assert all(step >= timedelta(hours=1) for step in steps)     # in time order, across the DST change
    # Real data has holes: 10 places where hours are missing, the longest 32 h (README says so).
    gaps = [step for step in steps if step > timedelta(hours=1)]
    assert len(gaps) == 10 and max(gaps) == timedelta(hours=32)
    flows = [float(r["Water flow [l/s]"]) for r in rows]
    assert 20 < min(flows) < 30 and 105 < max(flows) < 110   # the low stretches and the peak river describes


def test_water_flow_limit_reads_only_the_first_rows():
    assert [r["Time"] for r in datasets.load("water-flow", limit=2)] == [
        "2022-03-20T11:00:00+01:00", "2022-03-20T12:00:00+01:00"]


def test_water_flow_is_rivers_file_unchanged():
    river = pytest.importorskip("river")
    shipped = Path(river.__file__).parent / "datasets" / "water-flow.csv"
    if not shipped.is_file():
        pytest.skip("this river has no water-flow.csv")
    assert (datasets.data_dir() / "water-flow.csv").read_bytes() == shipped.read_bytes()


def test_water_flow_is_small():
    assert (datasets.data_dir() / "water-flow.csv").stat().st_size < 100_000




def test_zookeeper_logs():
    rows = datasets.load("zookeeper-logs")
    assert len(rows) == 2000                                   # loghub's 2k sample, every line kept
    assert list(rows[0]) == ["line", "timestamp", "level", "thread", "logger", "source_line", "message"]
    assert [int(r["line"]) for r in rows] == list(range(1, 2001))
    assert collections.Counter(r["level"] for r in rows) == {"WARN": 1318, "INFO": 669, "ERROR": 13}
    records = zookeeper.records()
    assert all(validate(rec) == rec for rec in records)        # every line is a valid course log record
    assert records[0]["timestamp"] == "2015-07-29T17:41:44.747Z"
    assert records[0]["logger"] == "FastLeaderElection" and records[0]["message"] == "Notification time out: 3200"
    assert {rec["level"] for rec in records} == {"INFO", "WARNING", "ERROR"}
    assert len(datasets.load("zookeeper-logs", limit=7)) == 7


@pytest.mark.parametrize("row, reason", [
    ({"line": "1", "timestamp": "yesterday", "level": "INFO", "thread": "t", "logger": "L", "message": "m"},
     "not ISO 8601"),
    ({"line": "1", "timestamp": "2015-07-29T17:41:44.747", "level": "INFO", "thread": "t", "logger": "L"},
     "lacks message"),
    ({"line": "one", "timestamp": "2015-07-29T17:41:44.747", "level": "INFO", "thread": "t", "logger": "L",
      "message": "m"}, "not a number"),
])
def test_zookeeper_rows_it_cannot_read_are_refused_with_a_reason(row, reason):
    with pytest.raises(InvalidLogRecord, match=reason):
        zookeeper.from_row(row)
