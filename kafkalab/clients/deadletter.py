"""Dead-letter topic: where a record goes when it cannot be processed.

The record is kept whole, with why it failed and where it came from, so
nothing is lost and someone can fix and replay it later. The shape follows the
course brief, ``{originalMessage, error, timestamp}``, plus the source.

>>> from kafkalab.clients.message import Message
>>> bad = Message(topic="orders", partition=1, offset=42, key="A", value=None,
...               raw_value=b'{"total": ', error="not valid JSON")
>>> rec = dead_letter_record(bad, "not valid JSON", now_ms=1_700_000_000_000)
>>> rec["originalMessage"], rec["error"]["message"], rec["source"]["offset"]
('{"total": ', 'not valid JSON', 42)
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
import time
from typing import Any

from kafkalab.clients.message import Message

__all__ = ["DEAD_LETTER_TOPIC", "DeadLetterQueue", "dead_letter_record"]

log = logging.getLogger(__name__)

#: The topic name the course brief uses.
DEAD_LETTER_TOPIC = "dead-letter-queue"


def _text_or_b64(data: bytes | None) -> tuple[str | None, str]:
    if data is None:
        return None, "null"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return base64.b64encode(data).decode(), "base64"


def dead_letter_record(message: Message, error: BaseException | str, *, stage: str = "handler",
                       attempts: int = 1, now_ms: int | None = None) -> dict[str, Any]:
    """The JSON body published to the dead-letter topic for ``message``.

    ``originalMessage`` is the record's value exactly as it was read (UTF-8
    text, or base64 when it is not text, as ``encoding`` says).
    """
    now_ms = int(time.time() * 1000) if now_ms is None else now_ms
    value, encoding = _text_or_b64(message.raw_value)
    key, _ = _text_or_b64(message.raw_key)
    err_type = "DeserializationError" if isinstance(error, str) else type(error).__name__
    return {
        "originalMessage": value,
        "originalKey": key,
        "encoding": encoding,
        "error": {"type": err_type, "message": str(error), "stage": stage, "attempts": attempts},
        "timestamp": dt.datetime.fromtimestamp(now_ms / 1000, dt.UTC).isoformat(),
        "source": {"topic": message.topic, "partition": message.partition,
                   "offset": message.offset, "timestamp_ms": message.timestamp_ms},
    }


class DeadLetterQueue:
    """Publish failed records to a dead-letter topic.

    Parameters
    ----------
    producer
        A :class:`~kafkalab.clients.producer.Producer` with ``value_format="json"``.
    topic
        Defaults to ``dead-letter-queue``.
    """

    def __init__(self, producer: Any, topic: str = DEAD_LETTER_TOPIC) -> None:
        self.producer = producer
        self.topic = topic
        self.sent = 0

    def send(self, message: Message, error: BaseException | str, *, stage: str = "handler",
             attempts: int = 1, timeout: float = 10.0, wait: bool = True) -> Any:
        """Publish and wait for the broker's acknowledgement; return the send's future.

        Waiting matters: the caller commits the original record's offset next,
        and that commit must never happen before the copy is safely stored.
        With ``wait=False`` the caller waits instead (``future.get(timeout)``)
        before its commit: the consume loop sends a batch's dead letters
        together and waits once, a round trip per batch instead of per record.
        """
        body = dead_letter_record(message, error, stage=stage, attempts=attempts)
        future = self.producer.send(
            self.topic, body, key=message.raw_key.decode("utf-8", "replace") if message.raw_key else None,
            headers=[("dlq.error", str(error)[:500]), ("dlq.source.topic", message.topic)],
        )
        if wait:
            future.get(timeout=timeout)
        self.sent += 1
        log.warning("dead-lettered %s[%d]@%d to %s: %s", message.topic, message.partition,
                    message.offset, self.topic, error)
        return future
