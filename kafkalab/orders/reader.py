"""Read whole topics, from the first offset to the end as it is now.

"Read until nothing arrives for a second" is a guess that fails on a slow or
busy machine. This reads up to the high watermark measured at the start
(:meth:`kafkalab.clients.Admin.end_offsets`) and stops
when the consumer's position has reached it on every partition, so it returns
exactly what the topic held when the call began, however long the fetches take
(bounded by ``timeout``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from kafkalab.clients import Admin, Consumer, Message

__all__ = ["read_topic"]

log = logging.getLogger(__name__)


def read_topic(topics: str | Iterable[str], *, settings: Any = None, timeout: float = 30.0,
               **consumer_config: Any) -> list[Message]:
    """Every record of ``topics`` up to their current end, partition by partition in order.

    ``consumer_config`` goes to :class:`~kafkalab.clients.Consumer` (e.g.
    ``value_format="str"``, ``isolation_level="read_committed"``). Raises
    ``TimeoutError`` if the end is not reached within ``timeout`` seconds.
    """
    names = [topics] if isinstance(topics, str) else list(topics)
    with Admin(settings) as admin:
        tps = [tp for name in names for tp in admin.partitions(name)]
        ends = admin.end_offsets(tps)
    consumer = Consumer(names, group_id=False, settings=settings, **consumer_config)
    try:
        out, done = consumer.read_to_end(ends, timeout=timeout)
        if not done:
            raise TimeoutError(f"{names}: end not reached within {timeout} s "
                               f"({len(out)} records read)")
        return out
    finally:
        consumer.close()
