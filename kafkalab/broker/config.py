"""The settings each local Kafka node runs with, and why each differs from Kafka's default.

Every node is a combined broker and KRaft controller on loopback. A cluster of
N nodes uses a *static* controller quorum (``controller.quorum.voters`` lists
every node; a majority must be up to elect a controller), the same cluster id
on every node, and replication settings that suit its size: RF 1 on one node,
RF 3 with ``min.insync.replicas=2`` on three, internal topics likewise.

>>> props = node_properties(node_id=2, ports=[(9101, 9201), (9102, 9202), (9103, 9203)],
...                         data_dir="/tmp/n2")
>>> props["controller.quorum.voters"]
'1@127.0.0.1:9201,2@127.0.0.1:9202,3@127.0.0.1:9203'
>>> props["listeners"], props["default.replication.factor"], props["min.insync.replicas"]
('PLAINTEXT://127.0.0.1:9102,CONTROLLER://127.0.0.1:9202', '3', '2')
>>> node_properties(node_id=1, ports=[(9092, 9093)], data_dir="/d")["min.insync.replicas"]
'1'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

__all__ = ["ADMIN_MECHANISM", "ADMIN_USER", "HEAP_MB", "SCRAM_MECHANISMS", "jvm_options", "log4j2_xml",
           "node_properties", "render", "scram_format_args", "secure_properties"]

#: The super user of a secured cluster (``up(secure=True)``): the broker itself, and the
#: notebook's administrator who creates users and ACLs.
ADMIN_USER = "admin"
#: The SASL mechanisms a secured cluster's clients may use.
SCRAM_MECHANISMS = ("SCRAM-SHA-256", "SCRAM-SHA-512")
#: The one the super user (and the node itself) logs in with. Not SHA-256: once, after a
#: restart, a cluster whose metadata log held many SHA-256 users made and removed had lost the
#: super user's SHA-256 credential (SHA-512 still worked); see docs/local-broker.md.
ADMIN_MECHANISM = "SCRAM-SHA-512"

#: Heap per node. Kafka's scripts default to 1 GB; a course broker with a few
#: hundred small topics runs in far less (measured: see docs/local-broker.md).
HEAP_MB = {1: 512, 2: 384, 3: 320}


def node_properties(node_id: int, ports: Sequence[tuple[int, int]], data_dir: str,
                    overrides: Mapping[str, str] | None = None) -> dict[str, str]:
    """``server.properties`` of node ``node_id`` (1-based) of a cluster whose nodes
    listen on ``ports`` = ``[(broker_port, controller_port), ...]``."""
    n = len(ports)
    port, controller = ports[node_id - 1]
    rf = str(min(3, n))
    min_isr = "2" if n >= 3 else "1"
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node_id),
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        "controller.quorum.voters": ",".join(
            f"{i}@127.0.0.1:{c}" for i, (_, c) in enumerate(ports, 1)),
        "log.dirs": data_dir,
        # Replication that fits the cluster: on three nodes acks=all survives
        # one node down and refuses writes (NotEnoughReplicas) with two down.
        "default.replication.factor": rf,
        "min.insync.replicas": min_isr,
        "offsets.topic.replication.factor": rf,
        "transaction.state.log.replication.factor": rf,
        "transaction.state.log.min.isr": min_isr,
        "share.coordinator.state.topic.replication.factor": rf,
        "share.coordinator.state.topic.min.isr": min_isr,
        # Kafka waits 3 s after the first member joins a new group, for others
        # to join too; a course (and its tests) forms hundreds of groups: 0.
        "group.initial.rebalance.delay.ms": "0",
        # Fewer partitions for the internal topics (50 by default): each costs
        # files, memory and start time, and a laptop needs few coordinators.
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.num.partitions": "10",
        "share.coordinator.state.topic.num.partitions": "10",
        # The cleaner's dedupe map is 128 MB by default, a quarter of our heap.
        "log.cleaner.dedupe.buffer.size": "8388608",
        # Retention is enforced every 5 minutes by default; the retention lesson
        # wants to see old segments go within seconds.
        "log.retention.check.interval.ms": "5000",
        # ...and the first of those checks waits 30 s after start by default: a test
        # run's fresh broker would not enforce retention during the lesson at all.
        "log.initial.task.delay.ms": "1000",
        # A cleaner thread with nothing to compact sleeps 15 s by default before it
        # looks again; week 7's compaction lesson (04) wants to see a rolled segment
        # compacted within seconds. Looking once a second costs a scan of the dirty
        # ratios of the (few hundred) logs: nothing measurable on a laptop.
        "log.cleaner.backoff.ms": "1000",
        # No time retention by default. Retention by time goes by the records'
        # own timestamps, and the course's data sets are seeded with fixed
        # times (2023-2026): with Kafka's 7 days, a topic of sample orders was
        # emptied within one check of being written (a week 1 notebook's reads
        # came back empty). Topics that teach retention set retention.ms.
        "log.retention.ms": "-1",
    }
    props.update(overrides or {})
    return props


def _jaas_quote(password: str) -> str:
    # It goes into a JAAS line and a kafka-storage argument: letters and digits only.
    if not (password.isascii() and password.isalnum()):
        raise ValueError("the admin password must be letters and digits only")
    return password


def secure_properties(port: int, controller: int, password: str) -> dict[str, str]:
    """What a one-node cluster needs on top of :func:`node_properties` to require SASL/SCRAM
    logins and ACLs (``up(secure=True)``).

    Clients log in with SCRAM on the one broker listener (``SASL_PLAINTEXT``: passwords are
    never sent, but the traffic is not encrypted; TLS is the next step, see
    docs/local-broker.md). The controller listener uses PLAIN: in KRaft the SCRAM credentials
    live in the metadata log that the controller serves, so the controller cannot check them
    itself. ``StandardAuthorizer`` is KRaft's ACL authorizer; with no ACL on a resource only
    ``super.users`` may use it.

    >>> props = secure_properties(9400, 9401, "s3cret")
    >>> props["listeners"], props["authorizer.class.name"].rsplit(".", 1)[1]
    ('SASL_PLAINTEXT://127.0.0.1:9400,CONTROLLER://127.0.0.1:9401', 'StandardAuthorizer')
    >>> props["super.users"], props["sasl.enabled.mechanisms"]
    ('User:admin', 'SCRAM-SHA-256,SCRAM-SHA-512')
    """
    pw = _jaas_quote(password)
    scram = "org.apache.kafka.common.security.scram.ScramLoginModule"
    plain = "org.apache.kafka.common.security.plain.PlainLoginModule"
    return {
        "listeners": f"SASL_PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller}",
        "advertised.listeners": f"SASL_PLAINTEXT://127.0.0.1:{port}",
        "listener.security.protocol.map": "CONTROLLER:SASL_PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT",
        "inter.broker.listener.name": "SASL_PLAINTEXT",
        "sasl.enabled.mechanisms": ",".join(SCRAM_MECHANISMS),
        # The broker talks to itself as the super user. Each enabled mechanism needs a
        # login module on the listener (its credentials serve the broker as a client).
        "sasl.mechanism.inter.broker.protocol": ADMIN_MECHANISM,
        **{f"listener.name.sasl_plaintext.{mech.lower()}.sasl.jaas.config":
           f'{scram} required username="{ADMIN_USER}" password="{pw}";' for mech in SCRAM_MECHANISMS},
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config":
            f'{plain} required username="{ADMIN_USER}" password="{pw}" user_{ADMIN_USER}="{pw}";',
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "super.users": f"User:{ADMIN_USER}",
        # Kafka's default, stated: no ACL on a resource means nobody but super users.
        "allow.everyone.if.no.acl.found": "false",
    }


def scram_format_args(password: str) -> list[str]:
    """``kafka-storage format`` arguments that create the admin's SCRAM credentials in the
    new metadata log (KRaft has no ZooKeeper to add them to before the broker starts)."""
    pw = _jaas_quote(password)
    return [arg for mech in SCRAM_MECHANISMS
            for arg in ("--add-scram", f"{mech}=[name={ADMIN_USER},password={pw}]")]


def render(props: Mapping[str, str]) -> str:
    """A ``.properties`` file body."""
    return "".join(f"{k}={v}\n" for k, v in props.items())


def log4j2_xml(log_file: str) -> str:
    """Quiet logging to one rolling file: warnings, plus the lines that say the
    node started or stopped (the readiness error quotes this file's tail)."""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="warn">
  <Appenders>
    <RollingFile name="file" fileName="{log_file}" filePattern="{log_file}.%i">
      <PatternLayout pattern="[%d] %p %m (%c)%n"/>
      <SizeBasedTriggeringPolicy size="10 MB"/>
      <DefaultRolloverStrategy max="2"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Logger name="kafka.server.KafkaRaftServer" level="info"/>
    <Logger name="kafka.server.BrokerServer" level="info"/>
    <Logger name="kafka.server.ControllerServer" level="info"/>
    <Root level="warn"><AppenderRef ref="file"/></Root>
  </Loggers>
</Configuration>
"""


def jvm_options(nodes: int, tmp_dir: str, log4j_file: str) -> list[str]:
    """Options for ``java``: a small heap, one GC thread, files where we want them."""
    heap = HEAP_MB.get(nodes, 320)
    return [
        f"-Xms{min(heap, 256)}m", f"-Xmx{heap}m",
        # Serial GC: on a 2-core laptop G1's concurrent threads compete with
        # the notebook; a small heap collects in milliseconds either way.
        "-XX:+UseSerialGC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        f"-Dlog4j2.configurationFile={log4j_file}",
        # zstd-jni and snappy unpack native libraries here: a noexec /tmp breaks them.
        f"-Djava.io.tmpdir={tmp_dir}",
    ]
