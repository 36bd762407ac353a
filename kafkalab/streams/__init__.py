"""Stream processing over topics, in the spirit of the Kafka Streams DSL.

Build a pipeline with :class:`Stream` (``filter``, ``map``, ``group_by``,
``window``, ``aggregate``, ``to``), then run it with a :class:`Processor`: it
reads the topic in a consumer group (so processors split the partitions),
keeps one windowed aggregation per partition, and checkpoints each one,
together with the offset it covers, to a changelog topic so that a processor
killed mid-window resumes without losing or double counting anything.
"""

from kafkalab.streams.checkpoint import Changelog
from kafkalab.streams.processor import Processor, ProcessorStats
from kafkalab.streams.steps import EventTimeError, Step, apply_steps, event_time
from kafkalab.streams.stream import GroupedStream, LocalRun, Stream, WindowedStream, WindowedTable
from kafkalab.streams.task import Task

__all__ = [
    "Changelog",
    "EventTimeError",
    "GroupedStream",
    "LocalRun",
    "Processor",
    "ProcessorStats",
    "Step",
    "Stream",
    "Task",
    "WindowedStream",
    "WindowedTable",
    "apply_steps",
    "event_time",
]
