"""Two lines to ship any Python program's logs to Kafka.

>>> from kafkalab import logs                       # doctest: +SKIP
>>> logs.install(service="orders")                  # doctest: +SKIP

:func:`install` attaches one :class:`~kafkalab.logs.handler.KafkaLogHandler`
to a logger (the root logger by default, so every library's lines are
shipped), makes sure it is attached only once however often it is called, and
closes it at exit so buffered lines are sent (for at most a few seconds).
"""

from __future__ import annotations

import atexit
import logging
from typing import Any

from kafkalab.logs.handler import KafkaLogHandler

__all__ = ["install", "uninstall"]


def install(service: str, *, level: int | str = logging.INFO, logger: str | logging.Logger | None = None,
            **options: Any) -> KafkaLogHandler:
    """Ship the records of ``logger`` (default: the root logger) to ``application-logs``.

    Parameters
    ----------
    service
        The service name on every record and the Kafka key.
    level
        The lowest level shipped. The logger's own level is lowered to it if
        needed, since a logger drops records below its level before any
        handler sees them. Other handlers on that logger then see those
        records too: give them a level of their own (``handler.setLevel``)
        if they should stay quieter.
    logger
        A logger or its name; ``None`` for the root logger.
    **options
        Passed to :class:`~kafkalab.logs.handler.KafkaLogHandler`
        (``topic=``, ``capacity=``, ``settings=``...).

    Returns
    -------
    KafkaLogHandler
        The handler, already attached; calling ``install`` again for the same
        logger and service returns the same one.

    Examples
    --------
    >>> h = install("doc-demo", logger="doc.install", flush_interval=60)
    >>> install("doc-demo", logger="doc.install") is h
    True
    >>> uninstall(h, timeout=0)
    """
    target = logger if isinstance(logger, logging.Logger) else logging.getLogger(logger)
    for existing in target.handlers:
        if isinstance(existing, KafkaLogHandler) and existing.service == service:
            return existing
    handler = KafkaLogHandler(service, level=level, **options)
    handler._installed_on = target
    target.addHandler(handler)
    number = logging.getLevelName(level) if isinstance(level, str) else level
    if target.level == logging.NOTSET or target.level > number:
        target.setLevel(number)
    atexit.register(handler.close)
    return handler


def uninstall(handler: KafkaLogHandler, timeout: float = 5.0) -> None:
    """Detach ``handler`` and close it, sending what it can within ``timeout`` seconds."""
    target = getattr(handler, "_installed_on", None)
    if target is not None:
        target.removeHandler(handler)
    atexit.unregister(handler.close)
    handler.close(timeout=timeout)
