"""The live table: the latest metrics of every window, as results stream in.

A windowed aggregation in ``update`` mode emits a new value for a window
whenever a record changes it; a reader keeps the latest per window. That is a
*table* (Kafka Streams' KTable), and it is what a dashboard shows. Thread
safe: the processor writes from its thread while a notebook or web server reads.

>>> from kafkalab.windows import Window, WindowResult
>>> t = LiveTable()
>>> t.update(WindowResult("shop", Window(0, 60_000), {"orders": {"count": 1, "revenue": 9.5}}))
>>> t.update(WindowResult("shop", Window(0, 60_000), {"orders": {"count": 2, "revenue": 20.0}}))
>>> t.rows()
[{'windowStart': 0, 'start': '1970-01-01T00:00:00Z', 'final': False, 'orders.count': 2, 'orders.revenue': 20.0}]
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from kafkalab.analytics.metrics import flatten
from kafkalab.windows import WindowResult, iso

__all__ = ["LiveTable"]


class LiveTable:
    """Latest flattened metrics per window start, newest ``max_rows`` kept."""

    def __init__(self, max_rows: int = 240) -> None:
        self.max_rows = max_rows
        self._rows: dict[int, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._listeners: list[Callable[[dict[str, Any]], Any]] = []
        self.updates = 0

    def on_update(self, fn: Callable[[dict[str, Any]], Any]) -> None:
        """Call ``fn(row)`` after every update (from the writer's thread)."""
        self._listeners.append(fn)

    def update(self, result: WindowResult) -> None:
        """Take one window result (a tombstone ``value=None`` removes the row)."""
        start = result.window.start_ms
        with self._lock:
            if result.value is None:
                self._rows.pop(start, None)
                return
            row = {"windowStart": start, "start": iso(start), "final": result.final,
                   **flatten(result.value)}
            self._rows[start] = row
            for old in sorted(self._rows)[:-self.max_rows]:
                del self._rows[old]
            self.updates += 1
        for fn in self._listeners:
            fn(row)

    def rows(self) -> list[dict[str, Any]]:
        """All rows, oldest window first (copies)."""
        with self._lock:
            return [dict(self._rows[k]) for k in sorted(self._rows)]

    def latest(self) -> dict[str, Any] | None:
        """The newest window's row, or None."""
        with self._lock:
            return dict(self._rows[max(self._rows)]) if self._rows else None

    def to_frame(self) -> Any:
        """The table as a pandas DataFrame indexed by window start time."""
        import pandas as pd

        df = pd.DataFrame(self.rows())
        if df.empty:
            return df
        df.index = pd.to_datetime(df.pop("windowStart"), unit="ms", utc=True)
        return df.drop(columns=["start"])

    def __len__(self) -> int:
        return len(self._rows)
