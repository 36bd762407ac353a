"""Records as pandas DataFrames: one row per record, its place in Kafka beside its fields.

Reading a topic into a DataFrame is how you *look* at a stream while learning:
which partition each key went to, whether offsets have gaps, what the values
contain. :func:`to_frame` is pure (tested without a broker);
:func:`read_topic` reads a whole topic once, bounded, then stops.

>>> from kafkalab.testing import make_events
>>> df = to_frame(make_events([{"customerId": "CUST-001", "total": 25}], key="CUST-001"))
>>> list(df.columns)
['topic', 'partition', 'offset', 'key', 'timestamp', 'customerId', 'total']
>>> df.loc[0, "total"]
np.int64(25)
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

import pandas as pd

from kafkalab.clients.admin import Admin
from kafkalab.clients.consumer import Consumer
from kafkalab.clients.message import Message
from kafkalab.clients.serdes import Format
from kafkalab.settings import Settings, get_settings

__all__ = ["read_topic", "to_frame"]

log = logging.getLogger(__name__)

_META = ["topic", "partition", "offset", "key", "timestamp"]


def to_frame(messages: Iterable[Message], *, flatten: bool = True) -> pd.DataFrame:
    """One row per message: ``topic, partition, offset, key, timestamp`` then the value.

    With ``flatten``, the top-level fields of dict values become columns
    (nested lists such as ``items`` stay as Python objects in one column);
    otherwise the value is one ``value`` column. ``timestamp`` is a UTC
    datetime. Records that failed to decode get an ``error`` column with the
    reason rather than being left out.
    """
    messages = list(messages)
    meta = pd.DataFrame(
        {"topic": [m.topic for m in messages],
         "partition": pd.Series([m.partition for m in messages], dtype="int64"),
         "offset": pd.Series([m.offset for m in messages], dtype="int64"),
         "key": [m.key for m in messages],
         "timestamp": pd.to_datetime([m.timestamp_ms for m in messages], unit="ms", utc=True)},
        columns=_META,
    )
    if flatten and messages and all(isinstance(m.value, dict) or m.value is None for m in messages):
        values = pd.DataFrame([m.value or {} for m in messages])
        # A field called like a metadata column would silently overwrite it.
        values = values.rename(columns={c: f"value.{c}" for c in values.columns if c in _META})
        out = pd.concat([meta, values], axis=1)
    else:
        out = meta.assign(value=[m.value for m in messages])
    if any(not m.ok for m in messages):
        out["error"] = [m.error for m in messages]
    return out


def read_topic(topic: str, *, max_messages: int | None = None, timeout: float = 15.0,
               value_format: Format = "json", settings: Settings | None = None) -> pd.DataFrame:
    """Read ``topic`` from its first record to its current end into a DataFrame.

    No consumer group is used (nothing is committed; other readers are not
    disturbed). It stops when every partition has been read up to the end
    offsets measured at the start, at ``max_messages``, or after ``timeout``
    seconds (with a warning saying how much is missing), so it never hangs.
    Rows are sorted by partition, then offset.
    """
    settings = settings or get_settings()
    with Admin(settings) as admin:
        # The high watermark (Admin.end_offsets: ListOffsets "latest").
        ends = {tp: end for tp, end in admin.end_offsets(topic).items() if end > 0}
    consumer = Consumer(topic, group_id=False, settings=settings, value_format=value_format)
    try:
        messages, done = consumer.read_to_end(ends, timeout=timeout, max_messages=max_messages)
    finally:
        consumer.close()
    if not done and (max_messages is None or len(messages) < max_messages):
        log.warning("read_topic(%r): stopped after %.0f s with %d records; some partitions "
                    "were not read to their end", topic, timeout, len(messages))
    frame = to_frame(messages)
    return frame.sort_values(["partition", "offset"], ignore_index=True)
