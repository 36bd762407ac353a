"""Real-time log aggregation: ship, filter, aggregate and alert (week 5).

Programs ship structured JSON log records to the ``application-logs`` topic
through a standard ``logging`` handler (two lines: ``from kafkalab import logs;
logs.install(service="orders")``). One pipeline, :class:`LogAggregator`, reads
them, filters, counts per service and level in time windows, and raises
deduplicated alerts on an ``alerts`` topic and to pluggable notifiers.
"""

# The alert, its topic and the notifiers are the course's one set (kafkalab.alerts),
# named here too because week 5 is where learners meet them.
from kafkalab.alerts import (
    ALERTS_TOPIC,
    Alert,
    ConsoleNotifier,
    MemoryNotifier,
    Notifier,
    TopicNotifier,
    WebhookNotifier,
)
from kafkalab.logs.aggregate import WindowAggregator, counts_frame, summaries_frame
from kafkalab.logs.alerts import AlertEngine
from kafkalab.logs.filters import FollowStats, LogFilter, follow, to_frame
from kafkalab.logs.handler import APPLICATION_LOGS_TOPIC, HandlerStats, KafkaLogHandler
from kafkalab.logs.install import install, uninstall
from kafkalab.logs.pipeline import SUMMARIES_TOPIC, LogAggregator
from kafkalab.logs.record import LEVELS, InvalidLogRecord, make_record, normalise_level, timestamp_ms, validate
from kafkalab.logs.rules import (
    DEFAULT_RULES,
    BurstRule,
    ErrorRateRule,
    NewTemplateRule,
    PatternRule,
    Rule,
    rules_from_config,
)
from kafkalab.logs.simulate import SERVICES, ErrorBurst, SlowDependency, publish, replay, simulate
from kafkalab.logs.templates import Templater, template

__all__ = [
    "ALERTS_TOPIC",
    "APPLICATION_LOGS_TOPIC",
    "Alert",
    "AlertEngine",
    "BurstRule",
    "ConsoleNotifier",
    "DEFAULT_RULES",
    "ErrorBurst",
    "ErrorRateRule",
    "FollowStats",
    "HandlerStats",
    "InvalidLogRecord",
    "KafkaLogHandler",
    "LEVELS",
    "LogAggregator",
    "LogFilter",
    "MemoryNotifier",
    "NewTemplateRule",
    "Notifier",
    "PatternRule",
    "Rule",
    "SERVICES",
    "SUMMARIES_TOPIC",
    "SlowDependency",
    "Templater",
    "TopicNotifier",
    "WebhookNotifier",
    "WindowAggregator",
    "counts_frame",
    "follow",
    "install",
    "make_record",
    "normalise_level",
    "publish",
    "replay",
    "rules_from_config",
    "simulate",
    "summaries_frame",
    "template",
    "timestamp_ms",
    "to_frame",
    "uninstall",
    "validate",
]
