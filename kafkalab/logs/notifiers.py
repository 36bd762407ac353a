"""Where alerts go: a topic, the console, a webhook, or a list (in tests).

A notifier is anything with ``notify(alert)``. A notifier that fails (a
webhook that is down) logs the reason and counts it in ``failures``; it never
raises, because one broken notifier must not stop the pipeline or the others.

>>> from kafkalab.logs.alert import Alert
>>> alert = Alert(rule="oom", kind="pattern", service="payments", severity="critical",
...               timestamp_ms=0, message="pattern 'OutOfMemory' matched")
>>> ConsoleNotifier().notify(alert)
ALERT [critical] oom/payments at 1970-01-01T00:00:00.000Z: pattern 'OutOfMemory' matched
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Protocol, TextIO

from kafkalab.logs.alert import ALERTS_TOPIC, Alert

__all__ = ["ConsoleNotifier", "MemoryNotifier", "Notifier", "TopicNotifier", "WebhookNotifier"]

log = logging.getLogger(__name__)


class Notifier(Protocol):
    """Anything that can be told about an alert."""

    def notify(self, alert: Alert) -> None: ...


class ConsoleNotifier:
    """Print one line per alert (to stdout unless ``stream`` is given)."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream
        self.failures = 0

    def notify(self, alert: Alert) -> None:
        extra = f" (+{alert.suppressed} suppressed)" if alert.suppressed else ""
        print(f"ALERT [{alert.severity}] {alert.rule}/{alert.service} at "
              f"{alert.to_dict()['timestamp']}: {alert.message}{extra}",
              file=self.stream or sys.stdout)


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
            response = httpx.post(self.url, json=alert.to_dict(), headers=self.headers,
                                  timeout=self.timeout)
            response.raise_for_status()
            self.sent += 1
        except httpx.HTTPError as exc:
            self.failures += 1
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("webhook %s did not take alert %s/%s: %s", self.url, alert.rule,
                        alert.service, self.last_error)


class TopicNotifier:
    """Publish each alert to a Kafka topic (``alerts``), keyed by service."""

    def __init__(self, producer: Any, topic: str = ALERTS_TOPIC) -> None:
        self.producer = producer
        self.topic = topic
        self.sent = 0
        self.failures = 0

    def notify(self, alert: Alert) -> None:
        try:
            # The alert's event time is in its body; the Kafka timestamp is the
            # time it was raised (retention counts from there).
            self.producer.send(self.topic, alert.to_dict(), key=alert.service)
            self.sent += 1
        except Exception as exc:  # the producer is unreachable: report, keep going
            self.failures += 1
            log.warning("could not publish alert %s/%s to %s: %s", alert.rule, alert.service,
                        self.topic, exc)
