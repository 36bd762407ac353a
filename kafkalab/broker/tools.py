"""Kafka's own command-line tools, run through the same Java and jars as the broker.

``kafka-topics.sh`` and friends are thin shell scripts around Java classes of
``kafka-tools``; kafkalab runs those classes directly, so a learner without the
release tarball still gets the tools every Kafka tutorial uses:

>>> sorted(TOOLS)[:3]
['kafka-acls', 'kafka-configs', 'kafka-console-consumer']
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence

from kafkalab.broker import jars
from kafkalab.broker.java import find_java
from kafkalab.broker.state import BrokerError, state_dir

__all__ = ["TOOLS", "tool", "tool_command"]

#: The script name every Kafka tutorial uses -> the class it runs (from Kafka's bin/ scripts).
TOOLS = {
    "kafka-topics": "org.apache.kafka.tools.TopicCommand",
    "kafka-consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "kafka-console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "kafka-console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "kafka-configs": "kafka.admin.ConfigCommand",
    "kafka-get-offsets": "org.apache.kafka.tools.GetOffsetShell",
    "kafka-metadata-quorum": "org.apache.kafka.tools.MetadataQuorumCommand",
    "kafka-transactions": "org.apache.kafka.tools.TransactionsCommand",
    "kafka-producer-perf-test": "org.apache.kafka.tools.ProducerPerformance",
    "kafka-consumer-perf-test": "org.apache.kafka.tools.ConsumerPerformance",
    "kafka-log-dirs": "org.apache.kafka.tools.LogDirsCommand",
    "kafka-dump-log": "org.apache.kafka.tools.DumpLogSegments",
    "kafka-acls": "org.apache.kafka.tools.AclCommand",  # the security lesson
}


def tool_command(name: str, args: Sequence[str]) -> list[str]:
    """The ``java ...`` command line that runs Kafka tool ``name`` with ``args``."""
    if name not in TOOLS:
        raise BrokerError(f"unknown Kafka tool {name!r}; known: {', '.join(sorted(TOOLS))}")
    folder = jars.ensure_jars()
    log_config = state_dir() / "tools-log4j2.xml"
    if not log_config.exists():
        # Tools print their answers on stdout; their log lines (warnings) go to stderr.
        log_config.write_text(
            '<Configuration status="warn"><Appenders><Console name="e" target="SYSTEM_ERR">'
            '<PatternLayout pattern="%p %m%n"/></Console></Appenders><Loggers>'
            '<Root level="warn"><AppenderRef ref="e"/></Root></Loggers></Configuration>\n')
    return [find_java().path, "-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
            f"-Dlog4j2.configurationFile={log_config}", "-cp", str(folder / "*"),
            TOOLS[name], *args]


def tool(name: str, *args: str, input: str | None = None,
         timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """Run a Kafka tool and return its finished process (``stdout``, ``stderr``,
    ``returncode``); the caller decides what a non-zero exit means.

    ``tool("kafka-topics", "--bootstrap-server", b, "--list")`` is
    ``bin/kafka-topics.sh --bootstrap-server b --list`` of the release.
    """
    return subprocess.run(tool_command(name, args), input=input, capture_output=True,
                          text=True, timeout=timeout)
