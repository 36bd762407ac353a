"""The real data sets in data/ load and parse (one test function per set, named for it)."""

from __future__ import annotations

import collections

import pytest

from kafkalab import datasets
from kafkalab.logs import InvalidLogRecord, validate, zookeeper


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
