"""Windows over event time: tumbling, hopping and session windows, and their aggregators.

A window type maps an event's time to the windows it belongs to; an
aggregator (``initialize / add / result``, and ``merge``) folds a window's
records into one value; :class:`WindowedAggregation` puts them together for
one partition, with stream time, a grace period, late records sent to a side
output and two emit modes. Everything here is pure Python with fixed
timestamps: :mod:`kafkalab.streams` connects it to topics.
"""

from kafkalab.windows.aggregation import EmitMode, LateRecord, WindowedAggregation, WindowResult
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
from kafkalab.windows.hopping import Hopping
from kafkalab.windows.session import Session
from kafkalab.windows.tumbling import Tumbling
from kafkalab.windows.watermark import Watermark
from kafkalab.windows.window import Window, WindowSpec, iso, window_start

__all__ = [
    "Aggregator",
    "Collect",
    "Count",
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
