"""Start, stop and find local Apache Kafka clusters.

A cluster lives in ``<state dir>/kafka-<N>node/``: ``cluster.json`` (cluster id,
ports, PIDs), and per node ``node-<i>/`` with ``server.properties``, ``log4j2.xml``,
``server.log`` and the data in ``data/``. The data is durable: ``down`` then
``up`` gives back every topic, record and committed offset; ``reset`` wipes it.

Processes are stopped by PID with SIGTERM (Kafka's shutdown hook closes the
logs cleanly) and a bounded wait, never by process name: Kafka's own
``kafka-server-stop.sh`` stops every broker on the machine, which must not
happen to a learner's other clusters.
"""

from __future__ import annotations

import base64
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from kafkalab.broker import config, jars
from kafkalab.broker.java import find_java
from kafkalab.broker.state import BrokerError, locked, pid_alive, process_command, state_dir
from kafkalab.net import free_port

__all__ = ["ClusterInfo", "NodeInfo", "down", "ensure", "reset", "restart", "running",
           "start_node", "status", "stop_node", "up"]

log = logging.getLogger(__name__)

MAX_NODES = 5
#: Seconds to wait for a cluster to answer (first start on a busy 2-core machine
#: measured at about 10 s; see docs/local-broker.md).
START_TIMEOUT = 120.0
STOP_TIMEOUT = 30.0
#: Without a controller quorum a node cannot shut down cleanly (see _stop_nodes).
NO_QUORUM_STOP_TIMEOUT = 5.0


@dataclass(frozen=True)
class NodeInfo:
    id: int
    port: int
    controller_port: int
    pid: int | None = None
    started_at: float | None = None

    @property
    def running(self) -> bool:
        return self.pid is not None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"


@dataclass(frozen=True)
class ClusterInfo:
    """What the state file says of one local cluster."""

    nodes: tuple[NodeInfo, ...]
    cluster_id: str
    folder: str
    java: str = ""
    version: str = jars.KAFKA_VERSION
    #: Set on a secured cluster (``up(secure=True)``): the password of its super user
    #: :data:`~kafkalab.broker.config.ADMIN_USER`, made at its first start.
    admin_password: str = ""

    @property
    def secure(self) -> bool:
        """Does this cluster require SASL/SCRAM logins and ACLs?"""
        return bool(self.admin_password)

    def client_config(self, username: str | None = None, password: str | None = None,
                      mechanism: str | None = None) -> dict[str, Any]:
        """kafka-python keyword arguments that reach this cluster: ``bootstrap_servers``, and on
        a secured cluster the SASL login: as the super user (with
        :data:`~kafkalab.broker.config.ADMIN_MECHANISM`) unless ``username`` is given, then with
        ``mechanism`` (SCRAM-SHA-256 by default).

        >>> info = ClusterInfo((NodeInfo(1, 9400, 9401, pid=1),), "c", "/f", admin_password="pw")
        >>> cfg = info.client_config("alice", "alice-pw")
        >>> cfg["security_protocol"], cfg["sasl_mechanism"], cfg["sasl_plain_username"]
        ('SASL_PLAINTEXT', 'SCRAM-SHA-256', 'alice')
        """
        kwargs: dict[str, Any] = {"bootstrap_servers": self.bootstrap}
        if self.secure:
            default = config.ADMIN_MECHANISM if username is None else "SCRAM-SHA-256"
            kwargs.update(security_protocol="SASL_PLAINTEXT", sasl_mechanism=mechanism or default,
                          sasl_plain_username=username or config.ADMIN_USER,
                          sasl_plain_password=self.admin_password if username is None
                          else password)
        return kwargs

    @property
    def bootstrap(self) -> str:
        """``host:port,...`` of the running nodes: ``bootstrap_servers`` or ``KAFKA_BROKERS``."""
        running = [n.address for n in self.nodes if n.running] or [n.address for n in self.nodes]
        return ",".join(running)

    @property
    def bootstrap_servers(self) -> list[str]:
        return self.bootstrap.split(",")

    def node(self, node_id: int) -> NodeInfo:
        for n in self.nodes:
            if n.id == node_id:
                return n
        raise BrokerError(f"node {node_id} does not exist: this cluster has nodes "
                          f"{', '.join(str(n.id) for n in self.nodes)}")

    def log(self, node_id: int = 1) -> Path:
        return Path(self.folder) / f"node-{node_id}" / "server.log"

    def data_dir(self, node_id: int = 1) -> Path:
        """The node's ``log.dirs``: one folder per partition (``<topic>-<partition>``)
        holding its segment files (week 7's retention lesson lists them)."""
        return Path(self.folder) / f"node-{node_id}" / "data"


# -- state file ------------------------------------------------------------------

def _check_nodes(nodes: int) -> int:
    if isinstance(nodes, bool) or not isinstance(nodes, int) or not 1 <= nodes <= MAX_NODES:
        raise BrokerError(f"nodes: expected a whole number from 1 to {MAX_NODES}; got {nodes!r}")
    return nodes


def _folder(nodes: int, secure: bool = False) -> Path:
    return state_dir() / f"kafka-{_check_nodes(nodes)}node{'-secure' if secure else ''}"


def _kinds(nodes: int | None, secure: bool = False) -> list[tuple[int, bool]]:
    """``(nodes, secure)`` of the clusters a call is about: every one when ``nodes`` is None."""
    if nodes is None:
        return [(n, False) for n in range(1, MAX_NODES + 1)] + [(1, True)]
    return [(_check_nodes(nodes), secure)]


def _state_file(folder: Path) -> Path:
    return folder / "cluster.json"


def _read(folder: Path) -> ClusterInfo | None:
    try:
        raw = json.loads(_state_file(folder).read_text())
        raw["nodes"] = tuple(NodeInfo(**n) for n in raw["nodes"])
        return ClusterInfo(**raw)
    except FileNotFoundError:
        return None
    except (ValueError, TypeError, KeyError):
        raise BrokerError(f"the state file {_state_file(folder)} is unreadable; "
                          "`kafkalab broker reset` starts afresh (its data is lost)") from None


def _write(info: ClusterInfo) -> None:
    target = _state_file(Path(info.folder))
    tmp = target.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(info), indent=1))
    tmp.replace(target)


def _ours(pid: int, folder: Path) -> bool:
    """Is ``pid`` a Kafka node of this cluster (and not a recycled PID)?"""
    return pid_alive(pid) and "kafka.Kafka" in (cmd := process_command(pid)) and str(folder) in cmd


def _refresh(info: ClusterInfo) -> ClusterInfo:
    """Forget the PIDs of nodes that died or were stopped by someone else."""
    folder = Path(info.folder)
    nodes = tuple(n if n.pid is None or _ours(n.pid, folder) else replace(n, pid=None,
                                                                        started_at=None)
                  for n in info.nodes)
    if nodes != info.nodes:
        for old, new in zip(info.nodes, nodes, strict=False):
            if old.pid is not None and new.pid is None:
                log.warning("Kafka node %d (pid %s) is no longer running; its log: %s",
                            old.id, old.pid, info.log(old.id))
        info = replace(info, nodes=nodes)
        _write(info)
    return info


def status(nodes: int = 1, secure: bool = False) -> ClusterInfo | None:
    """The local cluster of ``nodes`` nodes if any of its nodes runs, else ``None``."""
    folder = _folder(nodes, secure)
    info = _read(folder)
    if info is None:
        return None
    info = _refresh(info)
    return info if any(n.running for n in info.nodes) else None


def clusters() -> list[ClusterInfo]:
    """Every local cluster that has a state file, running or not."""
    found = []
    for n, secure in _kinds(None):
        info = _read(_folder(n, secure))
        if info is not None:
            found.append(_refresh(info))
    return found


# -- starting ------------------------------------------------------------------

def _port_open(port: int, timeout: float = 0.3) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        return s.connect_ex(("127.0.0.1", port)) == 0


def _port_from_env() -> int | None:
    raw = os.environ.get("KAFKALAB_BROKER_PORT", "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise BrokerError(f"KAFKALAB_BROKER_PORT: expected a port number 1-65535; got {raw!r}")
    return int(raw)


def _cluster_id() -> str:
    # Kafka's Uuid.toString: URL-safe base64 of 16 random bytes, never starting with '-'.
    while True:
        cid = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cid.startswith("-"):
            return cid


def _new_cluster(nodes: int, port: int | None, java: str, secure: bool = False) -> ClusterInfo:
    taken: set[int] = set()

    def pick() -> int:
        while (p := free_port()) in taken:
            pass
        taken.add(p)
        return p

    first = port if port is not None else None
    node_list = []
    for i in range(1, nodes + 1):
        p = first if (i == 1 and first is not None) else pick()
        taken.add(p)
        node_list.append(NodeInfo(id=i, port=p, controller_port=pick()))
    return ClusterInfo(nodes=tuple(node_list), cluster_id=_cluster_id(),
                       folder=str(_folder(nodes, secure)), java=java,
                       # kept in cluster.json, readable by this user only (like the data)
                       admin_password=secrets.token_hex(16) if secure else "")


def _node_dir(info: ClusterInfo, node_id: int) -> Path:
    return Path(info.folder) / f"node-{node_id}"


def _write_node_files(info: ClusterInfo, node: NodeInfo) -> Path:
    d = _node_dir(info, node.id)
    info.data_dir(node.id).mkdir(parents=True, exist_ok=True)
    (d / "tmp").mkdir(exist_ok=True)
    ports = [(n.port, n.controller_port) for n in info.nodes]
    props = config.node_properties(node.id, ports, str(info.data_dir(node.id)))
    if info.secure:
        props.update(config.secure_properties(node.port, node.controller_port, info.admin_password))
    (d / "server.properties").write_text(config.render(props))
    (d / "log4j2.xml").write_text(config.log4j2_xml(str(d / "server.log")))
    return d


def _java_command(info: ClusterInfo, node_dir: Path, main: str, *args: str) -> list[str]:
    return [info.java, *config.jvm_options(len(info.nodes), str(node_dir / "tmp"),
                                           str(node_dir / "log4j2.xml")),
            "-cp", jars.classpath(), main, *args]


def _format(info: ClusterInfo) -> None:
    """Format every node's storage that is not formatted yet, in parallel (one
    JVM each, about 2 s): same cluster id everywhere, static quorum."""
    procs = []
    for node in info.nodes:
        d = _node_dir(info, node.id)
        if (d / "data" / "meta.properties").exists():
            continue
        cmd = _java_command(info, d, "kafka.tools.StorageTool", "format", "-t", info.cluster_id,
                            "-c", str(d / "server.properties"))
        if info.secure:  # the super user's credentials go into the first metadata records
            cmd += config.scram_format_args(info.admin_password)
        procs.append((node, subprocess.Popen(cmd, stdout=subprocess.PIPE,
                                             stderr=subprocess.STDOUT, text=True)))
    for node, proc in procs:
        out, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise BrokerError(f"formatting the storage of node {node.id} failed "
                              f"(exit {proc.returncode}): {_last_lines(out)}")


def _last_lines(text: str, n: int = 8) -> str:
    lines = [ln for ln in text.splitlines() if ln.strip()]
    return "\n".join(lines[-n:]) or "(no output)"


def _tail(path: Path, n: int = 12) -> str:
    try:
        return _last_lines(path.read_text(errors="replace"), n)
    except OSError:
        return "(no log)"


def _spawn(info: ClusterInfo, node: NodeInfo) -> NodeInfo:
    for p in (node.port, node.controller_port):
        if _port_open(p):
            raise BrokerError(
                f"port {p} of Kafka node {node.id} is taken by another program; stop it, or "
                "`kafkalab broker reset` to start afresh on free ports (the data is lost)")
    d = _node_dir(info, node.id)
    cmd = _java_command(info, d, "kafka.Kafka", str(d / "server.properties"))
    with open(d / "stdout.log", "ab") as out:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT,
                                start_new_session=True)  # outlives the kernel that started it
    return replace(node, pid=proc.pid, started_at=time.time())


def _ready(info: ClusterInfo, timeout: float) -> None:
    """Wait until every running node is registered and unfenced, by asking the
    cluster (a Metadata request), not by watching a port."""
    from kafka import KafkaAdminClient
    from kafka.errors import KafkaError

    want = {n.id for n in info.nodes if n.running}
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while True:
        for n in info.nodes:
            if n.pid is not None and not pid_alive(n.pid):
                d = _node_dir(info, n.id)
                raise BrokerError(
                    f"Kafka node {n.id} exited while starting; last lines of {d / 'server.log'}:\n"
                    f"{_tail(d / 'server.log')}\n{_tail(d / 'stdout.log', 5)}")
        if all(_port_open(n.port) for n in info.nodes if n.running):
            admin = None
            try:
                admin = KafkaAdminClient(**{**info.client_config(),
                                            "bootstrap_servers": info.bootstrap_servers},
                                         request_timeout_ms=5000, bootstrap_timeout_ms=5000)
                brokers = admin.describe_cluster()["brokers"]
                alive = {b["broker_id"] for b in brokers if not b.get("is_fenced")}
                if want <= alive:
                    return
                last = f"brokers registered: {sorted(alive)}, waiting for {sorted(want)}"
            except (KafkaError, OSError, ValueError) as exc:
                last = f"{type(exc).__name__}: {exc}"
            finally:
                if admin is not None:
                    admin.close()
        if time.monotonic() > deadline:
            n = next(n for n in info.nodes if n.running)
            raise BrokerError(
                f"the Kafka cluster did not answer within {timeout:.0f} s ({last}); last lines "
                f"of {info.log(n.id)}:\n{_tail(info.log(n.id))}")
        time.sleep(0.25)


def up(nodes: int = 1, port: int | None = None,
       timeout: float = START_TIMEOUT, secure: bool = False) -> tuple[ClusterInfo, bool]:
    """Start the local cluster of ``nodes`` nodes unless it runs; return ``(info, started)``.

    ``started`` is True when this call started any node, so the caller knows
    whether it owns the cluster and should stop it (tests and ``make lab`` do).
    Nodes that were stopped (``stop_node``) are started again. The first call
    downloads the jars (once per machine) and formats the storage.

    ``secure=True`` is a separate one-node cluster (the security lesson) that requires
    SASL/SCRAM logins and ACLs; its super user and password are in ``info.client_config()``.
    """
    _check_nodes(nodes)
    if secure and nodes != 1:
        raise BrokerError(f"secure=True: the secured cluster has one node; got nodes={nodes}")
    if port is None and nodes == 1 and not secure:
        port = _port_from_env()
    folder = _folder(nodes, secure)
    with locked(folder):
        info = _read(folder)
        if info is not None:
            info = _refresh(info)
            if port is not None and info.nodes[0].port != port:
                raise BrokerError(
                    f"this {nodes}-node cluster was created on port {info.nodes[0].port}, not "
                    f"{port}; use that, or `kafkalab broker reset` first (its data is lost)")
            if all(n.running for n in info.nodes):
                return info, False
        java = find_java()
        jars.ensure_jars()
        if info is None:
            if port is not None and _port_open(port):
                raise BrokerError(f"port {port} is taken by another program; pick another "
                                  "(--port, KAFKALAB_BROKER_PORT) or leave it unset for a free one")
            info = _new_cluster(nodes, port, java.path, secure)
        info = replace(info, java=java.path)
        for node in info.nodes:
            _write_node_files(info, node)
        _write(info)
        _format(info)
        spawned: dict[int, NodeInfo] = {}
        try:
            for node in info.nodes:
                if not node.running:
                    spawned[node.id] = _spawn(info, node)
            info = replace(info, nodes=tuple(spawned.get(n.id, n) for n in info.nodes))
            _write(info)
            _ready(info, timeout)
        except BaseException:
            # Leave nothing half started: stop what this call spawned.
            info = replace(info, nodes=tuple(spawned.get(n.id, n) for n in info.nodes))
            _stop_nodes(info, list(spawned))
            raise
        log.warning("Apache Kafka %s is running: %d node(s) at %s (data in %s)",
                    info.version, len(info.nodes), info.bootstrap, info.folder)
        return info, True


def ensure() -> ClusterInfo:
    """The running one-node cluster, started if needed (and left running for every
    other kernel and process; stop it with ``kafkalab broker down``)."""
    return up()[0]


# -- stopping ------------------------------------------------------------------

def stop_timeout(info: ClusterInfo, timeout: float = STOP_TIMEOUT) -> float:
    """How long a node may take to stop: ``timeout``, or a few seconds when fewer
    than a majority of the nodes run (no controller quorum to shut down with).

    >>> up, down = NodeInfo(1, 1, 2, pid=10), NodeInfo(2, 3, 4)
    >>> stop_timeout(ClusterInfo((up, down, replace(down, id=3)), "c", "/f"))
    5.0
    >>> stop_timeout(ClusterInfo((up, replace(up, id=2), down), "c", "/f"))
    30.0
    """
    running = sum(n.running for n in info.nodes)
    if running < len(info.nodes) // 2 + 1:
        return min(timeout, NO_QUORUM_STOP_TIMEOUT)
    return timeout


def _stop_nodes(info: ClusterInfo, node_ids: list[int], timeout: float = STOP_TIMEOUT) -> ClusterInfo:
    """SIGTERM the given nodes, wait for them (SIGKILL after ``timeout``), record it."""
    folder = Path(info.folder)
    targets = [(n, n.pid) for n in info.nodes if n.id in node_ids and n.pid is not None]
    # A node shuts down cleanly by asking the controller quorum to move its
    # partitions away. With fewer than a majority of the nodes running there is
    # no quorum to ask, and it would wait for ever: give it a few seconds, then
    # kill it (its logs are recovered at the next start, as after a crash).
    timeout = stop_timeout(info, timeout)
    for _, pid in targets:
        if _ours(pid, folder):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    for n, pid in targets:
        while pid_alive(pid) and _ours(pid, folder):
            if time.monotonic() > deadline:
                log.warning("Kafka node %d (pid %s) did not stop within %.0f s; killing it "
                            "(with no controller quorum it cannot stop cleanly)"
                            if timeout == NO_QUORUM_STOP_TIMEOUT else
                            "Kafka node %d (pid %s) did not stop within %.0f s; killing it",
                            n.id, pid, timeout)
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                deadline = time.monotonic() + 5
            time.sleep(0.05)
    info = replace(info, nodes=tuple(replace(n, pid=None, started_at=None) if n.id in node_ids
                                     else n for n in info.nodes))
    _write(info)
    return info


def down(nodes: int | None = None, timeout: float = STOP_TIMEOUT, secure: bool = False) -> bool:
    """Stop the local cluster of ``nodes`` nodes (every local cluster, the secured one too,
    if ``None``); return False if nothing was running. The data stays."""
    stopped = False
    for n, sec in _kinds(nodes, secure):
        folder = _folder(n, sec)
        if not _state_file(folder).exists():
            continue
        with locked(folder):
            info = _read(folder)
            if info is None:
                continue
            info = _refresh(info)
            running = [x.id for x in info.nodes if x.running]
            if running:
                _stop_nodes(info, running, timeout)
                log.info("stopped the %d-node Kafka cluster", n)
                stopped = True
    return stopped


def restart(nodes: int = 1, timeout: float = START_TIMEOUT) -> ClusterInfo:
    """Stop and start the cluster on the same ports; its data is kept (durable)."""
    down(nodes)
    return up(nodes, timeout=timeout)[0]


def reset(nodes: int | None = None, secure: bool = False) -> list[str]:
    """Stop the cluster(s) and delete their data; return the folders removed."""
    down(nodes, secure=secure)
    removed = []
    for n, sec in _kinds(nodes, secure):
        folder = _folder(n, sec)
        if folder.exists():
            with locked(folder):
                for child in folder.iterdir():
                    if child.name != "broker.lock":
                        shutil.rmtree(child) if child.is_dir() else child.unlink()
            removed.append(str(folder))
    return removed


def _running_cluster(nodes: int) -> ClusterInfo:
    info = _read(_folder(nodes))
    if info is None:
        raise BrokerError(f"there is no {nodes}-node cluster yet: "
                          f"`kafkalab broker up --nodes {nodes}` first")
    return _refresh(info)


def stop_node(node_id: int, nodes: int = 3, timeout: float = STOP_TIMEOUT) -> ClusterInfo:
    """Stop one node of a running cluster (the failure labs): SIGTERM, like a
    planned shutdown; its partitions' leadership moves to the other replicas."""
    folder = _folder(nodes)
    with locked(folder):
        info = _running_cluster(nodes)
        node = info.node(node_id)
        if not node.running:
            raise BrokerError(f"node {node_id} of the {nodes}-node cluster is not running")
        return _stop_nodes(info, [node_id], timeout)


def start_node(node_id: int, nodes: int = 3, timeout: float = START_TIMEOUT) -> ClusterInfo:
    """Start one stopped node again; it catches up and rejoins the ISR."""
    folder = _folder(nodes)
    with locked(folder):
        info = _running_cluster(nodes)
        node = info.node(node_id)
        if node.running:
            return info
        java = find_java()
        info = replace(info, java=java.path)
        new = _spawn(info, node)
        info = replace(info, nodes=tuple(new if n.id == node_id else n for n in info.nodes))
        _write(info)
        try:
            _ready(info, timeout)
        except BaseException:
            _stop_nodes(info, [node_id])
            raise
        return info


@contextlib.contextmanager
def running(nodes: int = 1, port: int | None = None, secure: bool = False) -> Iterator[ClusterInfo]:
    """Run a local cluster for the duration of a ``with`` block; stop it at the
    end only if this block started it."""
    info, started = up(nodes, port, secure=secure)
    try:
        yield info
    finally:
        if started:
            down(nodes, secure=secure)
