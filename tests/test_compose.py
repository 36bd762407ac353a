"""Static checks of compose/docker-compose.yml (no Docker engine needed).

They parse the Compose file and the Kafka settings inside it (listener lists,
the quorum voters, port mappings) the way Kafka and Compose would, so a typo in
a port, a host name or a node id fails here rather than in a student's terminal.
"""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

COMPOSE_DIR = Path(__file__).resolve().parent.parent / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
HOST_PORTS = {9092, 9093, 9094}


# --------------------------------------------------------------------------
# Helpers: read the Compose file and parse the values Kafka and Compose parse.
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    with COMPOSE_FILE.open(encoding="utf-8") as f:
        return yaml.safe_load(f)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return compose["services"]


@pytest.fixture(scope="module")
def brokers(services: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The Kafka services, by service name."""
    return {name: svc for name, svc in services.items() if is_kafka(svc)}


def is_kafka(service: dict[str, Any]) -> bool:
    return str(service.get("image", "")).startswith("apache/kafka:")


def env(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as strings (Compose allows a mapping or a list of K=V)."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {key: "" if value is None else str(value) for key, value in raw.items()}


def host_and_port(address: str) -> tuple[str, int]:
    """'kafka-1:19092' -> ('kafka-1', 19092)."""
    host, sep, port = address.rpartition(":")
    assert sep and port.isdigit(), f"not host:port: {address!r}"
    return host, int(port)


def parse_listeners(value: str) -> dict[str, tuple[str, int]]:
    """'A://h:1,B://:2' -> {'A': ('h', 1), 'B': ('', 2)}, as Kafka reads listeners."""
    listeners: dict[str, tuple[str, int]] = {}
    for item in value.split(","):
        name, sep, address = item.strip().partition("://")
        assert sep and name, f"listener without NAME://: {item!r}"
        assert name not in listeners, f"listener {name} given twice in {value!r}"
        listeners[name] = host_and_port(address)
    return listeners


def parse_voters(value: str) -> dict[int, tuple[str, int]]:
    """'1@kafka-1:19093,...' -> {1: ('kafka-1', 19093), ...}."""
    voters: dict[int, tuple[str, int]] = {}
    for item in value.split(","):
        node_id, sep, address = item.strip().partition("@")
        assert sep and node_id.isdigit(), f"voter is not id@host:port: {item!r}"
        voters[int(node_id)] = host_and_port(address)
    return voters


def published_ports(service: dict[str, Any]) -> list[tuple[int, int]]:
    """(host port, container port) pairs, from short ("[ip:]host:container[/proto]")
    or long ({published, target}) Compose syntax. Unpublished ports are skipped."""
    pairs = []
    for entry in service.get("ports") or []:
        if isinstance(entry, dict):
            if entry.get("published") is not None:
                pairs.append((int(entry["published"]), int(entry["target"])))
            continue
        parts = str(entry).split("/")[0].split(":")
        if len(parts) >= 2:
            assert parts[-2].isdigit() and parts[-1].isdigit(), f"port range or typo: {entry!r}"
            pairs.append((int(parts[-2]), int(parts[-1])))
    return pairs


def hostnames(name: str, service: dict[str, Any]) -> set[str]:
    """Names other containers can reach this service by."""
    return {name, service.get("hostname", name)}


def node_id(broker: dict[str, Any]) -> int:
    return int(env(broker)["KAFKA_NODE_ID"])


def host_listener(broker: dict[str, Any]) -> tuple[str, int]:
    """(listener name, host port) of the one listener published to the host."""
    ports = published_ports(broker)
    assert len(ports) == 1, f"expected one published port, got {ports}"
    published, target = ports[0]
    names = [n for n, (_, port) in parse_listeners(env(broker)["KAFKA_LISTENERS"]).items()
             if port == target]
    assert len(names) == 1, f"published container port {target} is not exactly one listener"
    return names[0], published


def controller_port(broker: dict[str, Any]) -> int:
    e = env(broker)
    return parse_listeners(e["KAFKA_LISTENERS"])[e["KAFKA_CONTROLLER_LISTENER_NAMES"]][1]


def internal_address(name: str, broker: dict[str, Any]) -> tuple[str, int]:
    """The address this broker advertises on its inter-broker listener."""
    e = env(broker)
    host, port = parse_listeners(e["KAFKA_ADVERTISED_LISTENERS"])[e["KAFKA_INTER_BROKER_LISTENER_NAME"]]
    assert host in hostnames(name, broker), f"{name} advertises {host}, not its own name"
    return host, port


def postgres_settings(service: dict[str, Any]) -> dict[str, str]:
    """The '-c key=value' server settings on a postgres command line."""
    command = service.get("command") or []
    args = command.split() if isinstance(command, str) else [str(a) for a in command]
    settings = {}
    for flag, value in zip(args, args[1:], strict=False):
        if flag == "-c":
            key, _, val = value.partition("=")
            settings[key] = val
    return settings


# --------------------------------------------------------------------------
# The helpers themselves, on known input (so the checks below mean something).
# --------------------------------------------------------------------------


def test_helpers_parse_kafka_and_compose_syntax() -> None:
    assert parse_listeners("A://h:1, B://:2") == {"A": ("h", 1), "B": ("", 2)}
    assert parse_voters("1@a:9,2@b:8") == {1: ("a", 9), 2: ("b", 8)}
    svc = {"ports": ["1:2", "127.0.0.1:3:4/tcp", "5", {"published": 6, "target": 7}]}
    assert published_ports(svc) == [(1, 2), (3, 4), (6, 7)]
    assert env({"environment": ["A=1", "B=x=y"]}) == {"A": "1", "B": "x=y"}
    assert postgres_settings({"command": "postgres -c a=1 -c b=2"}) == {"a": "1", "b": "2"}
    with pytest.raises(AssertionError):
        parse_listeners("INTERNAL:kafka-1:19092")


# --------------------------------------------------------------------------
# The Kafka cluster.
# --------------------------------------------------------------------------


def test_compose_file_is_a_mapping_of_services(compose: dict[str, Any]) -> None:
    assert isinstance(compose, dict)
    assert isinstance(compose.get("services"), dict) and compose["services"]


def test_three_kafka_nodes_with_distinct_ids(brokers: dict[str, dict[str, Any]]) -> None:
    assert len(brokers) == 3, sorted(brokers)
    assert sorted(node_id(b) for b in brokers.values()) == [1, 2, 3]


def test_kafka_image_is_the_version_kafkalab_runs_locally(
    brokers: dict[str, dict[str, Any]],
) -> None:
    """The cluster in compose/ runs the same Kafka as ``kafkalab broker up`` (its jars)."""
    from kafkalab.broker import KAFKA_VERSION

    for name, broker in brokers.items():
        assert broker["image"] == f"apache/kafka:{KAFKA_VERSION}", f"{name}: {broker['image']}"


def test_every_node_is_broker_and_controller(brokers: dict[str, dict[str, Any]]) -> None:
    for name, broker in brokers.items():
        roles = {r.strip() for r in env(broker)["KAFKA_PROCESS_ROLES"].split(",")}
        assert roles == {"broker", "controller"}, name


def test_host_ports_are_9092_to_9094(brokers: dict[str, dict[str, Any]]) -> None:
    assert {host_listener(b)[1] for b in brokers.values()} == HOST_PORTS


def test_host_listener_advertises_localhost_and_its_host_port(
    brokers: dict[str, dict[str, Any]],
) -> None:
    for name, broker in brokers.items():
        listener, port = host_listener(broker)
        advertised = parse_listeners(env(broker)["KAFKA_ADVERTISED_LISTENERS"])
        assert advertised.get(listener) == ("localhost", port), f"{name}: {advertised}"


def test_listeners_are_consistent(brokers: dict[str, dict[str, Any]]) -> None:
    for name, broker in brokers.items():
        e = env(broker)
        listeners = parse_listeners(e["KAFKA_LISTENERS"])
        advertised = parse_listeners(e["KAFKA_ADVERTISED_LISTENERS"])
        protocols = dict(item.split(":") for item in e["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(","))
        controller = e["KAFKA_CONTROLLER_LISTENER_NAMES"]
        inter_broker = e["KAFKA_INTER_BROKER_LISTENER_NAME"]

        assert set(listeners) <= set(protocols), f"{name}: listener without a protocol"
        assert {controller, inter_broker} <= set(listeners), name
        assert inter_broker != host_listener(broker)[0], f"{name}: replication over the host listener"
        assert controller not in advertised, f"{name}: controller listener is advertised"
        assert set(advertised) == set(listeners) - {controller}, name
        for listener, (_, port) in advertised.items():
            assert listeners[listener][1] == port, f"{name}: {listener} advertises another port"
        assert len({port for _, port in listeners.values()}) == len(listeners), f"{name}: port reused"


def test_quorum_voters_name_every_controller(brokers: dict[str, dict[str, Any]]) -> None:
    voter_lists = {env(b)["KAFKA_CONTROLLER_QUORUM_VOTERS"] for b in brokers.values()}
    assert len(voter_lists) == 1, f"nodes disagree on the quorum: {voter_lists}"
    voters = parse_voters(voter_lists.pop())
    assert sorted(voters) == sorted(node_id(b) for b in brokers.values())
    for name, broker in brokers.items():
        host, port = voters[node_id(broker)]
        assert host in hostnames(name, broker), f"voter {node_id(broker)} is {host}, not {name}"
        assert port == controller_port(broker), f"{name}: voter port {port} is not its controller port"


@pytest.mark.parametrize(
    ("variable", "expected"),
    [
        ("KAFKA_DEFAULT_REPLICATION_FACTOR", "3"),
        ("KAFKA_MIN_INSYNC_REPLICAS", "2"),
        ("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR", "3"),
        ("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR", "3"),
        ("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR", "2"),
        ("KAFKA_NUM_PARTITIONS", "3"),
        ("KAFKA_AUTO_CREATE_TOPICS_ENABLE", "true"),
        ("KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS", "0"),
    ],
)
def test_cluster_default_on_every_broker(
    brokers: dict[str, dict[str, Any]], variable: str, expected: str
) -> None:
    for name, broker in brokers.items():
        assert env(broker).get(variable, "").lower() == expected, f"{name}: {variable}"


def test_kafkalab_session_timeout_is_allowed(brokers: dict[str, dict[str, Any]]) -> None:
    """kafkalab's consumers ask for 6000 ms; Kafka's default minimum is 6000 ms."""
    for name, broker in brokers.items():
        minimum = int(env(broker).get("KAFKA_GROUP_MIN_SESSION_TIMEOUT_MS", "6000"))
        assert minimum <= 6000, name


def test_every_broker_has_the_same_valid_cluster_id(brokers: dict[str, dict[str, Any]]) -> None:
    ids = {env(b).get("CLUSTER_ID") for b in brokers.values()}
    assert len(ids) == 1 and None not in ids, ids
    cluster_id = ids.pop()
    # Kafka's Uuid: 16 bytes, URL-safe base64 without padding (22 characters).
    assert len(cluster_id) == 22
    assert len(base64.urlsafe_b64decode(cluster_id + "==")) == 16


def test_broker_data_is_on_its_own_named_volume(
    compose: dict[str, Any], brokers: dict[str, dict[str, Any]]
) -> None:
    declared = set(compose.get("volumes") or {})
    used = []
    for name, broker in brokers.items():
        log_dir = env(broker)["KAFKA_LOG_DIRS"]
        sources = [v.split(":")[0] for v in broker.get("volumes", [])
                   if v.split(":")[1] == log_dir]
        assert len(sources) == 1 and sources[0] in declared, f"{name}: {log_dir} not on a named volume"
        used.append(sources[0])
    assert len(set(used)) == len(used), f"brokers share a volume: {used}"


def test_every_service_has_a_healthcheck(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert service.get("healthcheck", {}).get("test"), name


# --------------------------------------------------------------------------
# The UI and PostgreSQL.
# --------------------------------------------------------------------------


def ui_service(services: dict[str, dict[str, Any]]) -> dict[str, Any]:
    uis = [s for s in services.values() if "kafka-ui" in str(s.get("image", ""))]
    assert len(uis) == 1, "expected one kafka-ui service"
    return uis[0]


def test_ui_bootstraps_from_all_internal_listeners(
    services: dict[str, dict[str, Any]], brokers: dict[str, dict[str, Any]]
) -> None:
    ui = ui_service(services)
    bootstrap = {host_and_port(a.strip()) for a in env(ui)["KAFKA_CLUSTERS_0_BOOTSTRAPSERVERS"].split(",")}
    assert bootstrap == {internal_address(name, b) for name, b in brokers.items()}
    assert (8080, 8080) in published_ports(ui)


def test_postgres_is_ready_for_cdc(services: dict[str, dict[str, Any]]) -> None:
    pg = services["postgres"]
    # built from postgres:16 with the wal2json plugin that kafkalab.cdc reads changes through
    dockerfile = (COMPOSE_DIR / pg["build"] / "Dockerfile").read_text()
    assert re.search(r"^FROM postgres:16\b", dockerfile, re.MULTILINE)
    assert "postgresql-16-wal2json" in dockerfile
    assert (5432, 5432) in published_ports(pg)
    settings = postgres_settings(pg)
    assert settings.get("wal_level") == "logical"
    assert int(settings["max_replication_slots"]) > 0
    assert int(settings["max_wal_senders"]) > 0
    e = env(pg)
    assert (e["POSTGRES_USER"], e["POSTGRES_PASSWORD"], e["POSTGRES_DB"]) == ("kafkalab", "kafkalab", "shop")
    assert any(str(v).startswith("postgres-data:") for v in pg.get("volumes", []))


def test_no_host_port_is_published_twice(services: dict[str, dict[str, Any]]) -> None:
    ports = [host for svc in services.values() for host, _ in published_ports(svc)]
    assert len(ports) == len(set(ports)), sorted(ports)
