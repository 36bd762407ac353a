"""The log aggregator: one consumer that validates, filters, aggregates and alerts.

This is the course brief's ``LogAggregator``. For every record read from
``application-logs`` it:

1. validates it: a record that is not JSON, or lacks a required field, goes
   to the dead-letter topic with the reason, and the aggregator carries on;
2. applies the optional :class:`~kafkalab.logs.filters.LogFilter`;
3. adds it to the tumbling windows; each window that closes is published to
   ``log-summaries`` (keyed by service) and kept for :meth:`summaries_frame`;
4. runs the alert rules; alerts that pass the cool-down go to the ``alerts``
   topic and to the notifiers.

It runs on :class:`~kafkalab.clients.ConsumerLoop`, so offsets are committed
only after a batch is handled and its summaries and alerts are stored, and
every run is bounded (records, seconds, idle seconds).

Window state lives in memory: if the process dies, the windows open at that
moment are lost (their records are committed). Week 6 shows how a state
store fixes that; here a bounded run calls :meth:`~LogAggregator.flush` on its
windows at the end.
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from kafkalab.alerts import ALERTS_TOPIC, Alert, Notifier
from kafkalab.clients import DEAD_LETTER_TOPIC, Batch, Bounds, LoopStats, Message, PermanentError
from kafkalab.logs.aggregate import WindowAggregator, summaries_frame
from kafkalab.logs.alerts import AlertEngine
from kafkalab.logs.filters import LogFilter, to_frame
from kafkalab.logs.handler import APPLICATION_LOGS_TOPIC
from kafkalab.logs.record import InvalidLogRecord, validate
from kafkalab.logs.rules import DEFAULT_RULES, Rule
from kafkalab.pipeline import TopicPipeline
from kafkalab.settings import Settings, get_settings

__all__ = ["LogAggregator", "SUMMARIES_TOPIC"]

log = logging.getLogger(__name__)

#: Where window summaries are published.
SUMMARIES_TOPIC = "log-summaries"


class InvalidRecord(PermanentError):
    """Raised for a record the aggregator cannot use: the loop dead-letters it."""


class LogAggregator(TopicPipeline):
    """Validate, filter, aggregate and alert on log records from Kafka.

    Parameters
    ----------
    topic
        Where logs are read (``application-logs``).
    group_id
        The consumer group; give each independent aggregator its own.
    settings
        Where the brokers are.
    window_s, lateness_s
        Window length and how long to wait for stragglers (seconds).
    rules
        An :class:`AlertEngine`, a list of rules, or a config (dict, YAML text
        or file) as :func:`~kafkalab.logs.rules.rules_from_config` takes.
        Defaults to ``default_rules.yaml``.
    notifiers
        Told about each alert, besides the ``alerts`` topic.
    log_filter
        Only records passing it are aggregated and alerted on.
    summaries_topic, alerts_topic, dead_letter_topic
        Output topics; ``None`` for the first two publishes nothing there.
    from_beginning
        Where a new group starts: the oldest record or only new ones.
    keep
        How many accepted records to keep for :meth:`records_frame` (the newest).
    on_summary, on_alert
        Optional callbacks, e.g. to update a live chart.
    close_idle_windows
        Also close windows by the wall clock (``clock``, seconds), so the last
        minute of a service that went quiet is summarised. For live logs
        only: on a replay of old logs every window would close at once.

    Examples
    --------
    >>> agg = LogAggregator(group_id="doc-agg", window_s=10)   # no network I/O yet
    >>> [r.name for r in agg.engine.rules]
    ['high-error-rate', 'error-burst', 'out-of-memory-or-timeout', 'new-error']
    """

    def __init__(self, *, topic: str = APPLICATION_LOGS_TOPIC, group_id: str = "log-aggregator",
                 settings: Settings | None = None, window_s: float = 60, lateness_s: float = 5,
                 rules: AlertEngine | Iterable[Rule] | Mapping[str, Any] | str | Path | None = None,
                 cooldown_s: float | None = None, notifiers: Iterable[Notifier] = (),
                 log_filter: LogFilter | None = None,
                 summaries_topic: str | None = SUMMARIES_TOPIC,
                 alerts_topic: str | None = ALERTS_TOPIC,
                 dead_letter_topic: str = DEAD_LETTER_TOPIC, from_beginning: bool = True,
                 keep: int = 20_000,
                 on_summary: Callable[[dict[str, Any]], Any] | None = None,
                 on_alert: Callable[[Alert], Any] | None = None,
                 close_idle_windows: bool = False,
                 clock: Callable[[], float] = time.time) -> None:
        self.settings = settings or get_settings()
        self.topic = topic
        self.group_id = group_id
        self.summaries_topic = summaries_topic
        self.alerts_topic = alerts_topic
        self.dead_letter_topic = dead_letter_topic
        self.from_beginning = from_beginning
        self.log_filter = log_filter
        self.on_summary = on_summary
        self.on_alert = on_alert
        self.close_idle_windows = close_idle_windows
        self.clock = clock
        self.windows = WindowAggregator(window_s, lateness_s=lateness_s)
        if isinstance(rules, AlertEngine):
            self.engine = rules
        elif rules is None or isinstance(rules, (Mapping, str, Path)):
            self.engine = AlertEngine.from_config(DEFAULT_RULES if rules is None else rules)
        else:
            self.engine = AlertEngine(rules)
        if cooldown_s is not None:
            self.engine.cooldown_ms = int(cooldown_s * 1000)
        self.engine.notifiers.extend(notifiers)
        self.records: collections.deque[dict[str, Any]] = collections.deque(maxlen=keep)
        self.filtered_out = 0
        self.invalid = 0
        self.stats = LoopStats()
        self._unsent: list[Alert] = []  # alerts whose send failed, sent again first

    # -- the per-record work (no Kafka here: unit-testable) -----------------

    def handle(self, msg: Message) -> None:
        """Process one decoded record; raise :class:`InvalidRecord` for bad input."""
        if self._unsent:
            self._publish_alerts()  # first, any alert a failed send left behind
        try:
            record = validate(msg.value)
        except InvalidLogRecord as exc:
            self.invalid += 1
            raise InvalidRecord(str(exc)) from None
        if self.log_filter is not None and not self.log_filter(record):
            self.filtered_out += 1
            return
        self.records.append(record)
        for summary in self.windows.process(record):
            self._emit_summary(summary)
        for alert in self.engine.process(record):
            self._emit_alert(alert)

    def _emit_summary(self, summary: dict[str, Any]) -> None:
        if self.summaries_topic and self._producer is not None:
            self._producer.send(self.summaries_topic, summary, key=summary["service"])
        if self.on_summary is not None:
            self.on_summary(summary)

    def _emit_alert(self, alert: Alert) -> None:
        if self.on_alert is not None:
            self.on_alert(alert)
        # The engine told its notifiers (console, webhook); the topic is told here.
        if self._alerts_out is not None:
            self._unsent.append(alert)
            self._publish_alerts()

    def _publish_alerts(self) -> None:
        # Each send is waited for: the loop commits the record right after
        # handle() returns, and flush() would not report a failed send. A failure
        # raises (the record is retried, not committed), and the alert stays in
        # _unsent: a retried record does not raise it again (the gate has seen
        # it), so it is sent before the next record. Alerts are rare: waiting
        # for each costs little.
        while self._unsent and self._alerts_out is not None:
            self._alerts_out.notify(self._unsent[0]).get(timeout=30)
            self._unsent.pop(0)

    def flush(self) -> None:
        """Close every open window and let rules judge what they hold; publish it all."""
        for summary in self.windows.flush():
            self._emit_summary(summary)
        for alert in self.engine.flush():
            self._emit_alert(alert)
        if self._producer is not None:
            self._producer.flush()

    # -- running against Kafka ---------------------------------------------

    def _output_topics(self) -> tuple[str | None, ...]:
        return (self.summaries_topic,)

    def _loop_options(self) -> dict[str, Any]:
        # Live logs: between polls, close the windows the wall clock has
        # passed, so a quiet service's last minute is still summarised.
        return {"handler": self.handle, "before_commit": self._before_commit,
                "on_tick": self.tick if self.close_idle_windows else None, "tick_every": 1.0}

    def _before_commit(self, _batch: Batch) -> None:
        # Summaries and alerts sent for this batch are stored before its
        # offsets are committed: a crash re-sends them, never loses them.
        assert self._producer is not None
        self._producer.flush()

    def tick(self, now_ms: int | None = None) -> list[dict[str, Any]]:
        """Close windows by the wall clock (``close_idle_windows=True``); return their summaries."""
        now_ms = int(self.clock() * 1000) if now_ms is None else now_ms
        closed = self.windows.advance_all(now_ms - self.windows.lateness_ms)
        for summary in closed:
            self._emit_summary(summary)
        return closed

    def batches(self, bounds: Bounds | None = None, *, max_messages: int | None = None,
                timeout: float | None = None,
                idle_timeout: float | None = None) -> Iterator[Batch]:
        """Run batch by batch (for live charts); windows are flushed when the run ends."""
        try:
            yield from super().batches(bounds, max_messages=max_messages, timeout=timeout,
                                       idle_timeout=idle_timeout)
        finally:
            self.flush()

    # -- DataFrames ------------------------------------------------------------

    def records_frame(self) -> pd.DataFrame:
        """The accepted records kept so far (newest ``keep``), as a DataFrame."""
        return to_frame(self.records)

    def summaries_frame(self) -> pd.DataFrame:
        """Every window summary closed so far."""
        return summaries_frame(self.windows.summaries)

    def alerts_frame(self) -> pd.DataFrame:
        """Every alert sent so far."""
        rows = [a.to_record() for a in self.engine.alerts]
        cols = ["timestamp", "rule", "kind", "service", "severity", "message", "suppressed"]
        df = pd.DataFrame(rows, columns=cols + ["details"])[cols]
        df["timestamp"] = pd.to_datetime(df["timestamp"], utc=True, format="ISO8601")
        return df
