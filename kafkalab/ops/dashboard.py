"""A live notebook dashboard: lag per partition, throughput and p99, from a registry.

:class:`Sampler` calls a function every ``interval`` seconds on a background
thread, a bounded number of times (or for a bounded time), and stops cleanly
on :meth:`Sampler.stop`. :class:`Dashboard` is a Plotly FigureWidget with
three panels that redraws from a :class:`~kafkalab.ops.metrics.Registry`
each time it is refreshed, typically by a sampler that first takes a lag
sample and evaluates the alert rules.

>>> calls = []
>>> s = Sampler(lambda: calls.append(1), interval=0.01, max_samples=3).start()
>>> s.join(5)
>>> len(calls), s.running
(3, False)
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from kafkalab.ops.metrics import Registry

__all__ = ["Dashboard", "Sampler"]

log = logging.getLogger(__name__)


class Sampler:
    """Run ``fn`` every ``interval`` seconds on a daemon thread, within bounds.

    Parameters
    ----------
    fn
        Called with no arguments. An exception is logged and kept in
        :attr:`errors`; sampling goes on (a failed lag read must not stop
        the dashboard).
    interval
        Seconds between calls (measured start to start).
    max_samples, duration
        Stop after this many calls or seconds, whichever comes first. At
        least one bound is required: notebooks never leave threads running.
    """

    def __init__(self, fn: Callable[[], Any], *, interval: float = 0.5,
                 max_samples: int | None = None, duration: float | None = None) -> None:
        if max_samples is None and duration is None:
            raise ValueError("give max_samples or duration: a sampler must stop on its own")
        self.fn = fn
        self.interval = interval
        self.max_samples = max_samples
        self.duration = duration
        self.samples = 0
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _run(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            if self.max_samples is not None and self.samples >= self.max_samples:
                break
            if self.duration is not None and time.monotonic() - start >= self.duration:
                break
            began = time.monotonic()
            try:
                self.fn()
            except Exception as exc:  # kept and logged, see the class docstring
                self.errors.append(f"{type(exc).__name__}: {exc}")
                log.warning("sampler: %s", exc)
            self.samples += 1
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))

    def start(self) -> Sampler:
        self._thread = threading.Thread(target=self._run, name="kafkalab-sampler", daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def join(self, timeout: float | None = None) -> None:
        """Wait for the sampler to reach its bound."""
        if self._thread is not None:
            self._thread.join(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current call; wait for the thread to end."""
        self._stop.set()
        self.join(timeout)

    def __enter__(self) -> Sampler:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


class Dashboard:
    """Lag per partition, throughput and p99 processing time, as one FigureWidget.

    Parameters
    ----------
    registry
        Where ``consumer_lag{partition}`` gauges (from a
        :class:`~kafkalab.ops.lag.LagMonitor`), the ``records_total`` counter
        and the ``processing_seconds`` histogram (from
        :func:`~kafkalab.ops.metrics.instrument`) are.
    handler
        Which handler's counter and histogram to draw.
    keep
        Points kept per line (older ones scroll off).

    >>> from kafkalab.testing import FakeClock
    >>> clock = FakeClock()
    >>> reg = Registry(now=clock.now)
    >>> board = Dashboard(reg, handler="billing")
    >>> reg.set("consumer_lag", 5, group="g", topic="t", partition=0)
    >>> reg.inc("records_total", 10, handler="billing"); clock.advance(1)
    >>> reg.inc("records_total", 20, handler="billing")
    >>> board.refresh()
    >>> [t.name for t in board.figure.data]
    ['throughput', 'p99 ms', 't[0]']
    >>> board.figure.data[0].y
    (20.0,)
    """

    def __init__(self, registry: Registry, *, handler: str = "handler", keep: int = 300,
                 title: str = "consumer health") -> None:
        self.registry = registry
        self.handler = handler
        self.keep = keep
        self.redraws = 0
        self._lock = threading.Lock()
        self._throughput: list[tuple[float, float]] = []
        self._p99: list[tuple[float, float]] = []
        # Three panels side by side in a notebook's output area (~700-900 px): short
        # subplot titles in a smaller font, room between panels, the figure title in a
        # band of its own above them and the legend below, so no two texts overlap.
        fig = make_subplots(rows=1, cols=3, horizontal_spacing=0.09, subplot_titles=(
            "lag (records)", "throughput (records/s)", "p99 processing (ms)"))
        fig.update_annotations(font_size=12)
        fig.add_trace(go.Scatter(x=[], y=[], name="throughput", mode="lines"), row=1, col=2)
        fig.add_trace(go.Scatter(x=[], y=[], name="p99 ms", mode="lines"), row=1, col=3)
        fig.update_xaxes(nticks=4, tickformat="%H:%M:%S")  # one line: the date would add a second
        fig.update_layout(title={"text": title, "x": 0.01, "y": 0.97, "yanchor": "top"},
                          height=380, margin={"t": 80, "b": 40, "l": 50, "r": 20},
                          legend={"orientation": "h", "x": 0, "y": -0.15, "yanchor": "top"})
        self.figure = go.FigureWidget(fig)
        self._lag_traces: dict[str, Any] = {}

    def refresh(self) -> None:
        """Redraw from the registry now (safe to call from a sampler thread)."""
        with self._lock:
            now = self.registry.now()
            rate = self.registry.rate("records_total", 2.0, handler=self.handler)
            self._throughput = (self._throughput + [(now, rate)])[-self.keep:]
            hist = self.registry.histogram("processing_seconds", handler=self.handler)
            p99 = hist.percentile(99)  # None before any observation
            if p99 is not None:
                self._p99 = (self._p99 + [(now, p99 * 1000)])[-self.keep:]
            # A gauge set by hand may lack a label: draw it as "?" rather than fail
            # every redraw with a KeyError.
            lags = {f"{dict(s.labels).get('topic', '?')}[{dict(s.labels).get('partition', '?')}]": s
                    for s in self.registry.series("consumer_lag")}
            for name in sorted(set(lags) - set(self._lag_traces)):
                self.figure.add_trace(go.Scatter(x=[], y=[], name=name, mode="lines"),
                                      row=1, col=1)
                self._lag_traces[name] = self.figure.data[-1]
            with self.figure.batch_update():
                for name, series in lags.items():
                    points = list(series.points)[-self.keep:]
                    trace = self._lag_traces[name]
                    trace.x = [_ts(t) for t, _ in points]
                    trace.y = [v for _, v in points]
                self.figure.data[0].x = [_ts(t) for t, _ in self._throughput]
                self.figure.data[0].y = [v for _, v in self._throughput]
                self.figure.data[1].x = [_ts(t) for t, _ in self._p99]
                self.figure.data[1].y = [v for _, v in self._p99]
            self.redraws += 1

    def _ipython_display_(self) -> Any:  # shows the widget when it is a cell's result
        from IPython.display import display

        display(self.figure)


def _ts(t: float) -> Any:
    import pandas as pd

    return pd.Timestamp(t, unit="s", tz="UTC")
