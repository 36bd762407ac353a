"""Real log lines: loghub's ZooKeeper sample as course log records (weeks 5 and 6).

The generators (:func:`kafkalab.logs.simulate`) stay for scale and scripted
incidents; these 2,000 lines were written by a real ZooKeeper ensemble in a
lab at CUHK in 2015 (``data/README.md`` gives the source and licence). The
source gives no time zone: like every zone-less time in the course, we read
it as UTC.

>>> recs = records(limit=2)
>>> recs[0]["service"], recs[0]["logger"], recs[0]["level"], recs[0]["timestamp"]
('zookeeper', 'FastLeaderElection', 'INFO', '2015-07-29T17:41:44.747Z')
>>> recs[1]["metadata"]
{'line': 2, 'thread': '/10.10.34.11:3888'}
"""

from __future__ import annotations

from typing import Any

from kafkalab import datasets
from kafkalab.logs.record import InvalidLogRecord, make_record, timestamp_ms

__all__ = ["DATASET", "from_row", "records"]

#: The data set's name for :func:`kafkalab.datasets.load`.
DATASET = "zookeeper-logs"


def from_row(row: dict[str, Any]) -> dict[str, Any]:
    """One CSV row of ``zookeeper-logs`` as a course log record (service ``zookeeper``).

    ``logger`` is the Java class that wrote the line (the component); the
    line number and thread go to ``metadata``. A row it cannot read raises
    :class:`~kafkalab.logs.InvalidLogRecord` with the reason.

    >>> from_row({"line": "x", "timestamp": "2015-07-29T17:41:44.747", "level": "INFO",
    ...           "thread": "t", "logger": "L", "message": "m"})
    Traceback (most recent call last):
    ...
    kafkalab.logs.record.InvalidLogRecord: zookeeper-logs row has line 'x', not a number
    """
    missing = [f for f in ("line", "timestamp", "level", "thread", "logger", "message") if row.get(f) is None]
    if missing:
        raise InvalidLogRecord(f"zookeeper-logs row lacks {', '.join(missing)}")
    try:
        line = int(row["line"])
    except ValueError:
        raise InvalidLogRecord(f"zookeeper-logs row has line {row['line']!r}, not a number") from None
    ts = timestamp_ms({"timestamp": row["timestamp"]})
    return make_record(service="zookeeper", level=row["level"], message=row["message"], timestamp_ms=ts,
                       host="zk-lab", logger=row["logger"],
                       metadata={"line": line, "thread": row["thread"]})


def records(limit: int | None = None) -> list[dict[str, Any]]:
    """The sample's lines, in file order, as course log records (at most ``limit``)."""
    return [from_row(row) for row in datasets.load(DATASET, limit=limit)]
