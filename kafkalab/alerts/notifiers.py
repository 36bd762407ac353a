"""Where alerts go: a topic, the console, a webhook, or a list (in tests).

A notifier is anything with ``notify(alert)``. The console, webhook and memory
notifiers never raise: a webhook that is down logs the reason and counts it in
``failures``, because one broken notifier must not stop the pipeline or the
others. The topic notifier is different on purpose: it returns the send's
result (a future) so the caller can wait for it before committing the input
that raised the alert. An alert whose send failed must not be committed away.

>>> from kafkalab.alerts import Alert
>>> alert = Alert(rule="oom", kind="pattern", service="payments", severity="critical",
...               timestamp_ms=0, message="pattern 'OutOfMemory' matched")
>>> ConsoleNotifier().notify(alert)
ALERT [critical] oom payments at 1970-01-01T00:00:00Z: pattern 'OutOfMemory' matched
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Protocol, TextIO, runtime_checkable

from kafkalab.alerts.alert import ALERTS_TOPIC, Alert

__all__ = ["ConsoleNotifier", "MemoryNotifier", "Notifier", "TopicNotifier", "WebhookNotifier"]

log = logging.getLogger(__name__)


@runtime_checkable
class Notifier(Protocol):
    """Anything that can be told about an alert."""

    def notify(self, alert: Alert) -> Any: ...


class ConsoleNotifier:
    """Print one line per alert (to stdout unless ``stream`` is given)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.failures = 0

    def notify(self, alert: Alert) -> None:
        print(f"ALERT {alert}", file=self.stream or sys.stdout)


class MemoryNotifier:
    """Keep alerts in a list: for tests and notebooks."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []
        self.failures = 0

    def notify(self, alert: Alert) -> None:
        self.alerts.append(alert)


class WebhookNotifier:
    """POST each alert as JSON to ``url`` (Slack-style incoming webhooks, PagerDuty...).

    Parameters
    ----------
    url
        The endpoint.
    timeout
        Seconds per request: a slow webhook must not hold up the pipeline.
    headers
        Extra HTTP headers (an auth token, for example).
    """

    def __init__(self, url: str, *, timeout: float = 2.0,
                 headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self.headers = dict(headers or {})
        self.sent = 0
        self.failures = 0
        self.last_error: str | None = None

    def notify(self, alert: Alert) -> None:
        import httpx

        try:
            response = httpx.post(self.url, json=alert.to_record(), headers=self.headers,
                                  timeout=self.timeout)
            response.raise_for_status()
            self.sent += 1
        except httpx.HTTPError as exc:
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("webhook %s did not take alert %s/%s: %s", self.url, alert.rule,
                        alert.subject, self.last_error)


class TopicNotifier:
    """Publish each alert to a Kafka topic (``alerts``), keyed by its subject.

    :meth:`notify` returns the producer's send result (a future): wait for it
    (``.get(timeout)``) before committing the records that raised the alert,
    since ``flush()`` returns even when a send failed. It is also callable, so
    it can be passed wherever a ``publish(alert)`` function is expected.

    Parameters
    ----------
    producer
        A :class:`~kafkalab.clients.Producer`.
    topic
        Defaults to ``alerts``.
    """

    def __init__(self, producer: Any, topic: str = ALERTS_TOPIC) -> None:
        self.producer = producer
        self.topic = topic
        self.sent = 0

    def notify(self, alert: Alert) -> Any:
        # Keyed by subject: one service's (one metric's) alerts stay in order.
        # The alert's event time is in its body; the Kafka timestamp is the
        # time it was raised (retention counts from there).
        result = self.producer.send(self.topic, alert.to_record(), key=alert.subject)
        self.sent += 1
        log.warning("alert: %s", alert)
        return result

    __call__ = notify
