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

__all__ = ["TOOLS", "consumer_groups_describe", "parse_table", "tool", "tool_command"]

#: The script name every Kafka tutorial uses -> the class it runs (from Kafka's bin/ scripts).
TOOLS = {
    "kafka-topics": "org.apache.kafka.tools.TopicCommand",
    "kafka-consumer-groups": "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
    "kafka-console-consumer": "org.apache.kafka.tools.consumer.ConsoleConsumer",
    "kafka-console-producer": "org.apache.kafka.tools.ConsoleProducer",
    "kafka-configs": "org.apache.kafka.tools.ConfigCommand",  # in kafka.admin (core) before 4.x
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


def parse_table(text: str, first_column: str = "GROUP") -> list[dict[str, str | int | None]]:
    """The rows of a column table a Kafka tool prints (``kafka-consumer-groups --describe``).

    The header is the line whose first word is ``first_column``; each later
    line with as many words is a row. Whole numbers become ints and ``-`` (the
    tools' "none") becomes ``None``.

    >>> rows = parse_table('''
    ... GROUP   TOPIC   PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  CONSUMER-ID
    ... billing orders  0          7               9               2    -
    ... ''')
    >>> rows[0]["LAG"], rows[0]["CONSUMER-ID"]
    (2, None)
    >>> parse_table("Consumer group 'x' does not exist.")
    Traceback (most recent call last):
    ...
    ValueError: no table with a GROUP column in the tool's output: Consumer group 'x' does not exist.
    """
    lines = [line.split() for line in text.splitlines() if line.strip()]
    starts = [i for i, words in enumerate(lines) if words[0] == first_column]
    if not starts:
        raise ValueError(f"no table with a {first_column} column in the tool's output: {text.strip()[:120]}")
    header = lines[starts[0]]
    rows: list[dict[str, str | int | None]] = []
    for words in lines[starts[0] + 1:]:
        if len(words) != len(header):
            continue  # a note the tool prints under its table
        rows.append({h: None if w == "-" else int(w) if w.isdigit() else w
                     for h, w in zip(header, words, strict=True)})
    return rows


def consumer_groups_describe(group: str, bootstrap: str | None = None) -> list[dict[str, str | int | None]]:
    """``kafka-consumer-groups --describe --group GROUP``, one dict per row
    (``TOPIC``, ``PARTITION``, ``CURRENT-OFFSET``, ``LOG-END-OFFSET``, ``LAG``, ...).

    A group with no committed offsets prints no table: the list is empty.
    """
    if bootstrap is None:
        from kafkalab.clients.connection import bootstrap_servers  # the clients import the broker, not back

        bootstrap = ",".join(bootstrap_servers())
    out = tool("kafka-consumer-groups", "--bootstrap-server", bootstrap, "--describe", "--group", group)
    if out.returncode != 0:
        raise BrokerError(f"kafka-consumer-groups --describe --group {group} failed: "
                          f"{(out.stderr or out.stdout).strip()[:300]}")
    try:
        return parse_table(out.stdout)
    except ValueError:
        return []
