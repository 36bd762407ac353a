"""The embedded broker's life cycle: each test uses a private state directory,
so the suite's shared broker is never touched."""

import json
import os
import socket
import subprocess
import sys
import textwrap

import pytest

from kafkalab import broker


@pytest.fixture
def private(tmp_path, monkeypatch):
    monkeypatch.setenv("KAFKALAB_STATE_DIR", str(tmp_path))
    monkeypatch.delenv("KAFKALAB_BROKER_PORT", raising=False)
    yield tmp_path
    broker.down()


def test_up_is_shared_and_down_stops_it(private):
    info, started = broker.up()
    assert started
    again, started_again = broker.up()
    assert again == info and not started_again
    assert broker.status() == info
    assert json.loads((private / "broker.json").read_text())["port"] == info.port
    assert broker.down()
    assert broker.status() is None
    assert not broker.down()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", info.port)) != 0


def test_another_process_finds_the_running_broker(private):
    info, _ = broker.up()
    code = "from kafkalab import broker; i, s = broker.up(); print(i.port, s)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={**os.environ, "KAFKALAB_STATE_DIR": str(private)}, check=True)
    assert out.stdout.split() == [str(info.port), "False"]


def test_stale_state_file_is_replaced(private):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (private / "broker.json").write_text(json.dumps(
        {"pid": dead.pid, "port": 1, "started_at": 0.0, "binary": "x", "log": "x"}))
    assert broker.status() is None
    assert not (private / "broker.json").exists()
    info, started = broker.up()
    assert started and info.pid != dead.pid


def test_taken_port_gives_a_clear_error(private):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with pytest.raises(broker.BrokerError, match=f"port {port} is taken"):
            broker.up(port=port)


def test_missing_binary_gives_a_clear_error(private, monkeypatch):
    monkeypatch.setenv("KAFKALAB_TANSU_BIN", str(private / "no-such-tansu"))
    with pytest.raises((broker.BrokerError, OSError)) as err:
        broker.up()
    assert "no-such-tansu" in str(err.value)


def test_broker_that_dies_while_starting_is_reported_with_its_log(private, monkeypatch):
    fake = private / "fake-tansu"
    fake.write_text("#!/bin/sh\necho 'bind failed: simulated' >&2\nexit 3\n")
    fake.chmod(0o755)
    monkeypatch.setenv("KAFKALAB_TANSU_BIN", str(fake))
    with pytest.raises(broker.BrokerError, match=r"exited with code 3(.|\n)*simulated"):
        broker.up()


def test_live_process_not_answering_is_an_error(private):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        (private / "broker.json").write_text(json.dumps(
            {"pid": sleeper.pid, "port": 1, "started_at": 0.0, "binary": "x", "log": "l"}))
        with pytest.raises(broker.BrokerError, match="does not answer on port 1"):
            broker.status()
    finally:
        sleeper.kill()
        sleeper.wait()
        (private / "broker.json").unlink()


def test_restart_keeps_the_port_and_loses_the_data(private):
    info, _ = broker.up()
    new = broker.restart()
    assert new.port == info.port and new.instance != info.instance


def test_bad_port_variable_names_it(private, monkeypatch):
    monkeypatch.setenv("KAFKALAB_BROKER_PORT", "ninety")
    with pytest.raises(broker.BrokerError, match="^KAFKALAB_BROKER_PORT: expected"):
        broker.up()
