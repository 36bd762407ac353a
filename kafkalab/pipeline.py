"""The Kafka half every week's topic-to-topic pipeline shares.

A pipeline such as :class:`~kafkalab.logs.LogAggregator` or
:class:`~kafkalab.iot.IoTPipeline` is its own per-record or per-batch work
plus the same wiring around it: create its topics up front, open one
producer (outputs, dead letters, alerts) and one group consumer, and run one
:class:`~kafkalab.clients.ConsumerLoop` with bounds. That wiring is written
here once; a pipeline sets the attributes below and builds its loop in
:meth:`TopicPipeline._make_loop`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kafkalab.alerts import TopicNotifier
from kafkalab.clients import Admin, Bounds, Consumer, ConsumerLoop, DeadLetterQueue, LoopStats, Producer
from kafkalab.settings import Settings

__all__ = ["TopicPipeline"]


class TopicPipeline:
    """Topics, one producer, one group consumer and one loop, opened on first use.

    Subclasses set ``settings``, ``topic``, ``group_id``, ``from_beginning``,
    ``alerts_topic`` (``None``: alerts stay in memory), ``dead_letter_topic``
    and ``stats`` in ``__init__``, list their other outputs in :meth:`_output_topics`, and
    return their :class:`ConsumerLoop` from :meth:`_make_loop`.
    """

    settings: Settings
    topic: str
    group_id: str
    from_beginning: bool
    alerts_topic: str | None
    dead_letter_topic: str
    #: Counted by the loop (a subclass passes it to its :class:`ConsumerLoop`), kept across reconnects.
    stats: LoopStats
    _producer: Producer | None = None
    _consumer: Consumer | None = None
    _loop: ConsumerLoop | None = None
    #: Alerts are published through this (returns the send's future), when ``alerts_topic`` is set.
    _alerts_out: TopicNotifier | None = None

    def _output_topics(self) -> tuple[str | None, ...]:
        return ()

    def _producer_options(self) -> dict[str, Any]:
        """Settings of the pipeline's one producer, over kafkalab's defaults (``linger_ms``, ...)."""
        return {}

    def _loop_options(self) -> dict[str, Any]:
        """What this pipeline's :class:`ConsumerLoop` does: its handler, hooks and batch size."""
        raise NotImplementedError

    def _connect(self) -> ConsumerLoop:
        if self._loop is None:
            # Outputs are created before the first record: the consumer refuses a
            # missing topic, and a real cluster may not auto-create outputs.
            with Admin(self.settings) as admin:
                admin.ensure_topics(self.topic, *self._output_topics(), self.alerts_topic,
                                    self.dead_letter_topic)
            self._producer = Producer(self.settings, **self._producer_options())
            if self.alerts_topic:
                self._alerts_out = TopicNotifier(self._producer, self.alerts_topic)
            self._consumer = Consumer(self.topic, group_id=self.group_id, settings=self.settings,
                                      from_beginning=self.from_beginning)
            self._loop = ConsumerLoop(self._consumer,
                                      dead_letter=DeadLetterQueue(self._producer, self.dead_letter_topic),
                                      stats=self.stats, name=self.group_id, **self._loop_options())
        return self._loop

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Join the group and get partitions (seconds: the group coordinator runs a rebalance).

        Call this before producing when the pipeline reads only new records.
        """
        self._connect().consumer.wait_for_assignment(timeout)

    def batches(self, bounds: Bounds | None = None, *, max_messages: int | None = None,
                timeout: float | None = None, idle_timeout: float | None = None) -> Iterator[Any]:
        """Run batch by batch until a bound is reached (for live charts)."""
        yield from self._connect().batches(bounds, max_messages=max_messages, timeout=timeout,
                                           idle_timeout=idle_timeout)

    def run(self, bounds: Bounds | None = None, *, max_messages: int | None = None,
            timeout: float | None = None, idle_timeout: float | None = None) -> LoopStats:
        """Run until a bound is reached; return the stats."""
        for _ in self.batches(bounds, max_messages=max_messages, timeout=timeout,
                              idle_timeout=idle_timeout):
            pass
        return self.stats

    def stop(self) -> None:
        """Ask a running loop (in another thread) to stop after its batch."""
        if self._loop is not None:
            self._loop.stop()

    def close(self) -> None:
        """Leave the group and disconnect."""
        if self._consumer is not None:
            self._consumer.close()
        if self._producer is not None:
            self._producer.close()
        self._consumer = self._producer = None
        self._alerts_out = None
        self._loop = None

    def __enter__(self) -> Any:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
