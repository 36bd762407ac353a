"""Real-time analytics end to end: events topic -> windowed metrics -> table, detectors, alerts.

:func:`shop_metrics` is the stream-processing part, written with the DSL.
:class:`ShopAnalytics` runs it and fans each result out: into the
:class:`~kafkalab.analytics.table.LiveTable` (and through the broadcaster to
every dashboard page), and, once a window is final, through the anomaly
monitors; their alerts go to the ``alerts`` topic and to the pages.

>>> a = ShopAnalytics("events", application_id="shop-analytics")   # no network I/O yet
>>> [m.name for m in a.monitors]
['zscore', 'halfspacetrees']
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import Any

from kafkalab.alerts import ALERTS_TOPIC, Alert, TopicNotifier
from kafkalab.analytics.broadcast import Broadcaster
from kafkalab.analytics.metrics import ShopMetrics, flatten
from kafkalab.analytics.monitor import AnomalyMonitor, hst_monitor, zscore_monitor
from kafkalab.analytics.table import LiveTable
from kafkalab.clients import Admin, Producer
from kafkalab.settings import Settings, get_settings
from kafkalab.streams import Processor, ProcessorStats, Stream, WindowedTable
from kafkalab.windows import EmitMode, Tumbling, WindowResult

__all__ = ["EVENTS_TOPIC", "ShopAnalytics", "produce_events", "shop_metrics"]

log = logging.getLogger(__name__)

#: Where the week 6 generator writes its events.
EVENTS_TOPIC = "shop-events"


def shop_metrics(topic: str = EVENTS_TOPIC, *, window_ms: int = 60_000, grace_ms: int = 30_000,
                 emit: EmitMode = "both") -> WindowedTable:
    """Site-wide metrics per window: the course brief's ``groupByKey().windowedBy(60000).aggregate``.

    Every event gets the one key ``"shop"`` (the metrics are for the whole
    site), so all of a window's events meet in one place.
    """
    return (Stream(topic)
            .group_by(lambda key, event: "shop")
            .window(Tumbling(window_ms), grace_ms=grace_ms, emit=emit, time="timestamp")
            .aggregate(ShopMetrics()))


def produce_events(topic: str, events: list[dict[str, Any]], *, speed: float = 0.0,
                   stop: threading.Event | None = None) -> int:
    """Write events keyed by user, with their event time as the Kafka timestamp.

    ``speed`` 0 writes as fast as possible; 60 plays one minute of event time
    per second of wall time (a live stream to watch).
    """
    with Admin() as admin:
        # One partition: site-wide metrics need every event in one ordered stream.
        admin.ensure_topic(topic, partitions=1)
    sent = 0
    with Producer() as producer:
        t_wall, t_event = time.monotonic(), events[0]["timestamp"] if events else 0
        for event in events:
            if stop is not None and stop.is_set():
                break
            if speed > 0:
                due = t_wall + (event["timestamp"] - t_event) / 1000 / speed
                delay = due - time.monotonic()
                if delay > 0:
                    producer.flush()
                    time.sleep(delay)
            producer.send(topic, event, key=event.get("customerId") or event.get("userId"),
                          timestamp_ms=event["timestamp"])
            sent += 1
        producer.flush()
    return sent


class ShopAnalytics:
    """Run :func:`shop_metrics` and feed the live table, the detectors and the alerts.

    Parameters
    ----------
    topic
        The events topic.
    application_id
        Consumer group and internal-topic prefix of the processor.
    monitors
        Anomaly monitors (default: rolling z-score and HalfSpaceTrees).
    alerts_topic
        Where alerts are published; ``None`` keeps them in :attr:`alerts` only.
    """

    def __init__(self, topic: str = EVENTS_TOPIC, *, application_id: str = "shop-analytics",
                 monitors: Sequence[AnomalyMonitor] | None = None,
                 alerts_topic: str | None = ALERTS_TOPIC, window_ms: int = 60_000,
                 grace_ms: int = 30_000, hub: Broadcaster | None = None,
                 settings: Settings | None = None) -> None:
        self.settings = settings or get_settings()
        self.table = LiveTable()
        self.hub = hub or Broadcaster()
        self.monitors = list(monitors) if monitors is not None else [zscore_monitor(),
                                                                     hst_monitor()]
        self.alerts: list[Alert] = []
        self.alerts_topic = alerts_topic
        self._publisher: TopicNotifier | None = None
        # Keyed by window: a slow page skips intermediate values of a window,
        # never its latest one.
        self.table.on_update(lambda row: self.hub.publish({"type": "metrics", "row": row},
                                                          key=row["windowStart"]))
        pipeline = shop_metrics(topic, window_ms=window_ms, grace_ms=grace_ms).foreach(self.handle)
        self.processor = Processor(pipeline, application_id=application_id, settings=self.settings)
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def handle(self, result: WindowResult) -> None:
        """One window result: update the table; when final, run the detectors."""
        self.table.update(result)
        if not result.final or result.value is None:
            return
        metrics = flatten(result.value)
        for monitor in self.monitors:
            for alert in monitor.process(result.window.start_ms, metrics):
                self.alerts.append(alert)
                self.hub.publish({"type": "alert", "alert": alert.to_record()})
                if self.alerts_topic:
                    self._alert_publisher().notify(alert)

    def _alert_publisher(self) -> TopicNotifier:
        if self._publisher is None:
            # The processor's own producer: it is flushed before each checkpoint,
            # so an alert is stored before the records that raised it count as done.
            self._publisher = TopicNotifier(self.processor.producer,
                                           self.alerts_topic or ALERTS_TOPIC)
        return self._publisher

    def run(self, **bounds: Any) -> ProcessorStats:
        """Process in this thread; ``bounds`` go to :meth:`Processor.run` (always pass one)."""
        return self.processor.run(**bounds)

    def start(self, **bounds: Any) -> ShopAnalytics:
        """Process in a background thread (for notebooks and the web dashboard)."""

        def target() -> None:
            try:
                self.run(**bounds)
            except BaseException as exc:  # noqa: BLE001 - reported by wait()/stop()
                self.error = exc
                log.exception("analytics stopped with an error")

        self._thread = threading.Thread(target=target, name="shop-analytics", daemon=True)
        self._thread.start()
        return self

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait(self, timeout: float = 60.0) -> None:
        """Wait for the background run to reach its bound; re-raise its error."""
        if self._thread is not None:
            self._thread.join(timeout)
        if self.error is not None:
            raise self.error

    def stop(self, timeout: float = 30.0) -> None:
        """Ask the background run to finish its batch, then wait for it."""
        self.processor.stop()
        self.wait(timeout)

    def close(self) -> None:
        """Stop, leave the group, flush alerts, disconnect."""
        if self.running:
            self.stop()
        self.processor.close()
        self._publisher = None

    def __enter__(self) -> ShopAnalytics:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
