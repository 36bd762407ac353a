"""The IoT pipeline: consume readings, validate, store, alert, detect, predict.

This is the course brief's ``IoTDataProcessor``. For every batch read from
``iot-sensors`` (keyed by ``deviceId``, so one device's readings stay in order
on one partition) it:

1. validates each record: one that is not JSON, lacks a field, has a wrong
   type, an unknown unit or an impossible value goes to the dead-letter topic
   with the reason; the rest are normalised to canonical units;
2. stores the valid readings in the DuckDB time series (idempotent: the
   primary key ignores a reading stored before);
3. runs the threshold alerts (hysteresis and cool-down) and the per-device
   anomaly detector; alerts go to ``alerts``;
4. feeds the maintenance model; its predictions go to ``maintenance-predictions``;
5. commits the batch's offsets, and only then.

So a crash anywhere before step 5 re-delivers the batch: storing it again
changes nothing. Alerts and predictions are at-least-once: after a crash a
few may be published twice (the detectors' state lives in memory, like week
5's windows), and consumers of ``alerts`` should tolerate that.
"""

from __future__ import annotations

import collections
import logging
import math
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kafkalab.alerts import ALERTS_TOPIC, Alert
from kafkalab.clients import DEAD_LETTER_TOPIC, Batch, Bounds, LoopStats, Message
from kafkalab.iot.alerts import Threshold, ThresholdAlerter
from kafkalab.iot.anomaly import DETECTORS, Detector, DeviceDetectors
from kafkalab.iot.maintenance import PREDICTIONS_TOPIC, MaintenancePredictor, Prediction
from kafkalab.iot.timeseries import TimeSeriesStore
from kafkalab.iot.validation import SENSOR_TYPES, InvalidReading, Reading, Validator
from kafkalab.pipeline import TopicPipeline
from kafkalab.settings import Settings, get_settings

__all__ = ["SENSORS_TOPIC", "InjectedCrash", "IoTPipeline", "PipelineStats"]

log = logging.getLogger(__name__)

#: Where devices publish their readings (the course brief names no topic).
SENSORS_TOPIC = "iot-sensors"


class InjectedCrash(RuntimeError):
    """Raised by ``crash_after``: the process "dies" mid-batch, before committing."""


@dataclass
class PipelineStats(LoopStats):
    """What a run did: the loop's counts, and the pipeline's own."""

    stored: int = 0
    already_stored: int = 0
    alerts: int = 0
    anomalies: int = 0
    predictions: int = 0


class IoTPipeline(TopicPipeline):
    """Validate, store, alert on and predict from sensor readings in Kafka.

    Parameters
    ----------
    topic, group_id
        Where readings are read, and the consumer group (commits need one).
    store
        A :class:`TimeSeriesStore`, a DuckDB file path, or ``None`` (in memory).
    thresholds, cooldown_s
        For :class:`~kafkalab.iot.alerts.ThresholdAlerter`.
    detector
        The anomaly detector per device: one of
        :data:`~kafkalab.iot.anomaly.DETECTORS` or its name. The default is the
        rolling z-score, because it won the comparison on the labelled fleet
        (see :func:`~kafkalab.iot.anomaly.compare` and the notebook); a score
        above its threshold is an anomaly alert.
    predictor
        The maintenance model (:class:`MaintenancePredictor` by default).
    alerts_topic, predictions_topic, dead_letter_topic
        Output topics.
    batch_size
        At most this many records per batch (one store insert and one commit each).
    keep
        How many of the latest alerts, predictions and anomaly scores to keep in
        memory for the DataFrames (older ones are only on their topics).
    crash_after
        For tests: raise :class:`InjectedCrash` once this many readings have
        been stored in this run, in the middle of a batch, before its commit.
    on_batch
        Called with the batch's valid readings after each commit (live charts).

    Examples
    --------
    >>> from kafkalab.testing import make_events
    >>> p = IoTPipeline(group_id="doc-iot")            # no network I/O yet
    >>> msgs = make_events([{"deviceId": "SENSOR-004", "type": "humidity", "value": 91.0,
    ...                      "unit": "%", "timestamp": "2026-01-01T00:00:00Z"},
    ...                     {"deviceId": "SENSOR-004", "type": "humidity"}])
    >>> good, bad = p.process(msgs)
    >>> [r.value for r in good], [reason for _, reason in bad]
    ([91.0], ["missing field(s) 'value', 'unit', 'timestamp'"])
    >>> p.store.count(), [a.metric for a in p.alerts]
    (1, ['SENSOR-004.humidity'])
    """

    def __init__(self, *, topic: str = SENSORS_TOPIC, group_id: str = "iot-pipeline",
                 settings: Settings | None = None,
                 store: TimeSeriesStore | str | Path | None = None,
                 validator: Validator | None = None,
                 thresholds: Mapping[str, Threshold] | None = None, cooldown_s: float = 600,
                 detector: Detector | str = "rolling-zscore",
                 predictor: MaintenancePredictor | None = None,
                 alerts_topic: str | None = ALERTS_TOPIC,
                 predictions_topic: str | None = PREDICTIONS_TOPIC,
                 dead_letter_topic: str = DEAD_LETTER_TOPIC, from_beginning: bool = True,
                 batch_size: int = 500, keep: int = 100_000, crash_after: int | None = None,
                 on_batch: Callable[[list[Reading]], Any] | None = None) -> None:
        self.settings = settings or get_settings()
        self.topic = topic
        self.group_id = group_id
        self.store = store if isinstance(store, TimeSeriesStore) else TimeSeriesStore(
            store or ":memory:")
        self.validator = validator or Validator()
        self.alerter = ThresholdAlerter(thresholds, cooldown_s=cooldown_s)
        if isinstance(detector, str):
            by_name = {d.name: d for d in DETECTORS}
            if detector not in by_name:
                raise ValueError(
                    f"unknown detector {detector!r}; expected one of {sorted(by_name)}")
            detector = by_name[detector]
        self.detector = detector
        self.detectors = DeviceDetectors(detector.factory)
        self.predictor = predictor or MaintenancePredictor()
        self.alerts_topic = alerts_topic
        self.predictions_topic = predictions_topic
        self.dead_letter_topic = dead_letter_topic
        self.from_beginning = from_beginning
        self.batch_size = batch_size
        self.crash_after = crash_after
        self.on_batch = on_batch
        self.stats: PipelineStats = PipelineStats()
        self.alerts: collections.deque[Alert] = collections.deque(maxlen=keep)
        self.predictions: collections.deque[Prediction] = collections.deque(maxlen=keep)
        self.scores: collections.deque[tuple[tuple[str, str, int], float]] = collections.deque(
            maxlen=keep)
        self._sent: list[Any] = []  # this batch's alert and prediction sends, awaited before commit
        # Alerts whose send failed: the redelivered batch does not raise them again
        # (the gate has seen them), so they are sent again with the next batch.
        self._unsent: list[Alert] = []
        self._alert_sends: list[tuple[Alert, Any]] = []

    # -- the per-batch work (Kafka only at the edges) --------------------------

    def validate(self, msg: Message) -> Reading:
        """The reading in ``msg``, or :class:`InvalidReading` with the reason."""
        if not msg.ok:
            raise InvalidReading(msg.error or "undecodable record")
        return self.validator(msg.value)

    def process(self, batch: Sequence[Message]) -> tuple[list[Reading],
                                                          list[tuple[Message, str]]]:
        """Validate, store, alert, detect and predict for one batch; no commit here.

        Returns the valid readings and the ``(message, reason)`` of the invalid
        ones. Given a :class:`~kafkalab.clients.Batch` (by the consume loop),
        the invalid ones go to the dead-letter topic; a plain list (a test, a
        notebook) just counts them.
        """
        if not isinstance(batch, Batch):
            self.stats.seen += len(batch)
        good: list[Reading] = []
        bad: list[tuple[Message, str]] = []
        for msg in batch:
            try:
                good.append(self.validate(msg))
            except InvalidReading as exc:
                bad.append((msg, str(exc)))
        for msg, reason in bad:
            if isinstance(batch, Batch):
                # The loop waits for the broker's ack before the commit.
                batch.dead_letter(msg, InvalidReading(reason), stage="validate")
            else:
                self.stats.dead_lettered += 1
        self._store(good)
        unsent, self._unsent = self._unsent, []
        for alert in unsent:
            self._send_alert(alert)
        for r in good:
            self._observe(r)
        if self._producer is not None:
            self._producer.flush()
            # flush() returns even when a send failed; get() raises then, so the
            # batch is not committed and comes again (at-least-once, not at-most).
            self._wait_for_alerts()
            sent, self._sent = self._sent, []
            for future in sent:
                future.get(timeout=30)
        return good, bad

    def _wait_for_alerts(self) -> None:
        sends, self._alert_sends = self._alert_sends, []
        error: Exception | None = None
        for alert, future in sends:
            try:
                future.get(timeout=30)
            except Exception as exc:  # noqa: BLE001 (any failure: keep each, raise the first)
                self._unsent.append(alert)
                error = error or exc
        if error is not None:
            raise error

    def _store(self, good: list[Reading]) -> None:
        if self.crash_after is not None and self.stats.stored + self.stats.already_stored + len(
                good) > self.crash_after:
            # Store part of the batch, then die before the commit.
            part = good[:max(0, self.crash_after - self.stats.stored - self.stats.already_stored)]
            self.stats.stored += self.store.insert(part)
            raise InjectedCrash(f"injected crash after {self.crash_after} readings")
        new = self.store.insert(good)
        self.stats.stored += new
        self.stats.already_stored += len(good) - new

    def _observe(self, r: Reading) -> None:
        alert = self.alerter.process(r)
        if alert is not None:
            self._emit_alert(alert)
        det = self.detectors.detector(r)
        x: dict[Hashable, Any] = {"value": r.value}
        score = det.score_one(x)  # score, then learn: never judge a value against itself
        anomalous = score > self.detector.threshold
        if anomalous:  # the range goes into the alert: of the history the score was judged on
            expected = det.expected_range()
            if not all(math.isfinite(v) for v in expected):  # JSON has no infinity
                spec = SENSOR_TYPES[r.type]
                expected = (spec.low, spec.high)
        det.learn_one(x)
        self.scores.append((r.key, score))
        if anomalous:
            self.stats.anomalies += 1
            self._emit_alert(Alert(rule=self.detector.name, kind="anomaly",
                                   metric=f"{r.device_id}.{r.type}", value=r.value,
                                   expected=expected, score=score, timestamp_ms=r.timestamp_ms))
        for pred in self.predictor.process(r):
            self.predictions.append(pred)
            self.stats.predictions += 1
            if self._producer is not None and self.predictions_topic:
                self._sent.append(self._producer.send(self.predictions_topic, pred.to_record(),
                                                      key=pred.device_id))

    def _emit_alert(self, alert: Alert) -> None:
        self.alerts.append(alert)
        self.stats.alerts += 1
        self._send_alert(alert)

    def _send_alert(self, alert: Alert) -> None:
        if self._alerts_out is not None:
            # Keep the send's result: process() waits for it before the commit.
            self._alert_sends.append((alert, self._alerts_out.notify(alert)))

    # -- running against Kafka -----------------------------------------------

    def _output_topics(self) -> tuple[str | None, ...]:
        return (self.predictions_topic,)

    def _producer_options(self) -> dict[str, Any]:
        # About one prediction per reading: process() flushes at the end of
        # every batch anyway, so a long linger adds no delay past the batch; it
        # lets the producer send one request per partition per batch instead of
        # one every 5 ms (the sender thread's CPU per reading about halved).
        return {"linger_ms": 100, "batch_size": 64 * 1024}

    def _loop_options(self) -> dict[str, Any]:
        # Commit only after the batch is stored, alerted, dead-lettered and
        # its sends acknowledged. A crash before re-delivers it, and the
        # store ignores repeats.
        return {"batch_handler": self.process, "max_records": self.batch_size}

    def batches(self, bounds: Bounds | None = None, *, max_messages: int | None = None,
                timeout: float | None = None,
                idle_timeout: float | None = None) -> Iterator[list[Reading]]:
        """Process batch by batch, yielding each batch's valid readings after its commit."""
        for batch in self._connect().batches(bounds, max_messages=max_messages,
                                             timeout=timeout, idle_timeout=idle_timeout):
            good, _ = batch.result
            if self.on_batch is not None:
                self.on_batch(good)
            yield good

    def run(self, bounds: Bounds | None = None, *, max_messages: int | None = None,
            timeout: float | None = None, idle_timeout: float | None = None) -> PipelineStats:
        """Run until a bound is reached; return the stats (stored, alerts, predictions, ...)."""
        super().run(bounds, max_messages=max_messages, timeout=timeout, idle_timeout=idle_timeout)
        return self.stats

    def close(self, *, close_store: bool = False) -> None:
        """Leave the group and disconnect (the store stays open unless asked)."""
        super().close()
        self._sent = []
        self._alert_sends = []
        if close_store:
            self.store.close()

    # -- DataFrames ----------------------------------------------------------

    def alerts_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame([a.to_record() for a in self.alerts],
                            columns=["metric", "value", "expected", "rule", "score",
                                     "timestampMs", "timestamp"])

    def predictions_frame(self) -> Any:
        import pandas as pd

        df = pd.DataFrame([p.to_record() for p in self.predictions],
                          columns=["deviceId", "type", "timestamp", "failureProbability",
                                   "maintenanceDue", "horizonMinutes", "features"])
        df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, format="ISO8601")
        return df
