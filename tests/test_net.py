"""kafkalab.net.free_port: one place for "give me a port nothing listens on"."""

import socket

from kafkalab.net import free_port


def test_the_port_is_free_and_can_be_bound():
    port = free_port()
    assert 1024 <= port < 65536
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))  # would raise "address in use" if it were taken


def test_a_port_in_use_is_not_handed_out():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = s.getsockname()[1]
        assert all(free_port() != taken for _ in range(20))
