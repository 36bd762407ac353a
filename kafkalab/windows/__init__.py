"""Windows and their aggregators: tumbling, hopping, session, sliding and count windows.

A window type maps an event's time (for count windows, its number) to the
windows it belongs to; an aggregator (``initialize / add / result``, and
``merge``) folds a window's records into one value; :class:`WindowedAggregation`
puts them together for one partition, with stream time (the partition's or
each key's), a grace period, late records sent to a side output and three
emit modes. It is
the one windowing engine: the week-5 log summaries and alert rules and the
week-7 minute means run on it too. Everything here is pure Python with fixed
timestamps: :mod:`kafkalab.streams` connects it to topics.
"""

from kafkalab.windows.aggregation import Closing, EmitMode, LateRecord, WindowedAggregation, WindowResult
from kafkalab.windows.aggregators import (
    Aggregator,
    Collect,
    Count,
    CountBy,
    CountDistinct,
    Fields,
    Max,
    Mean,
    Min,
    Reduce,
    Sum,
    field_getter,
)
from kafkalab.windows.count_based import CountBased
from kafkalab.windows.hopping import Hopping
from kafkalab.windows.session import Session
from kafkalab.windows.sliding import Sliding
from kafkalab.windows.tumbling import Tumbling
from kafkalab.windows.watermark import Watermark
from kafkalab.windows.window import Window, WindowSpec, iso, window_start

__all__ = [
    "Aggregator",
    "Closing",
    "Collect",
    "Count",
    "CountBased",
    "CountBy",
    "CountDistinct",
    "EmitMode",
    "Fields",
    "Hopping",
    "LateRecord",
    "Max",
    "Mean",
    "Min",
    "Reduce",
    "Session",
    "Sliding",
    "Sum",
    "Tumbling",
    "Watermark",
    "Window",
    "WindowResult",
    "WindowSpec",
    "WindowedAggregation",
    "field_getter",
    "iso",
    "window_start",
]
