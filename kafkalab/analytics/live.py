"""A Plotly FigureWidget that redraws itself as the live table changes.

In JupyterLab the chart updates in place while the processor runs in a
background thread; the cell returns at once and its output stays live.
Redraws are throttled (at most one per ``min_interval`` seconds), because a
busy stream updates the table far more often than an eye can follow.

>>> from kafkalab.analytics.table import LiveTable
>>> chart = LiveChart(LiveTable(), metrics=["orders.count"])
>>> [t.name for t in chart.figure.data]
['orders.count']
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import Any

import plotly.graph_objects as go

from kafkalab.analytics.table import LiveTable

__all__ = ["LiveChart"]


class LiveChart:
    """One line per metric over window start time, following ``table``.

    Parameters
    ----------
    table
        The live table to follow.
    metrics
        Which metrics (flattened names) to draw.
    min_interval
        Seconds between redraws at most.
    """

    def __init__(self, table: LiveTable, metrics: Sequence[str] = ("orders.count",),
                 *, title: str = "live metrics", min_interval: float = 0.3) -> None:
        self.table = table
        self.metrics = list(metrics)
        self.min_interval = min_interval
        self.redraws = 0
        self._last = 0.0
        self._lock = threading.Lock()
        self.figure = go.FigureWidget(
            data=[go.Scatter(x=[], y=[], name=m, mode="lines+markers") for m in self.metrics],
            layout=go.Layout(title=title, height=320, margin={"t": 40, "b": 30, "l": 40, "r": 10}))
        table.on_update(lambda _row: self.refresh())

    def refresh(self, force: bool = False) -> None:
        """Redraw from the table now (throttled unless ``force``)."""
        now = time.monotonic()
        if not force and now - self._last < self.min_interval:
            return
        with self._lock:
            self._last = now
            rows = self.table.rows()
            x = [r["start"] for r in rows]
            with self.figure.batch_update():
                for trace, metric in zip(self.figure.data, self.metrics, strict=False):
                    trace.x = x
                    trace.y = [r.get(metric) for r in rows]
            self.redraws += 1

    def _ipython_display_(self) -> Any:  # shows the widget when it is a cell's result
        from IPython.display import display

        display(self.figure)
