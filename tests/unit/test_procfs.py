"""graders.procfs and the host's view of a container: which sockets wait for peers on a port,
read from the kernel's tables (samples, then this test's own sockets in the real /proc)."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from graders import procfs
from graders.docker_node import DockerNode

# /proc/net tables in the kernel's format, written for these tests as a bind9 node's would read.
TABLES = Path(__file__).parent / "proc_net"


def table(name: str) -> list[str]:
    return (TABLES / name).read_text().splitlines()


def test_a_udp_server_is_a_bound_unconnected_socket_a_tcp_one_listens() -> None:
    # 41830 is bound to port 53 too, but connected to a peer: a client's socket, not a server's.
    assert procfs.port_inodes(table("udp"), 53, "udp") == {"41822", "41820"}
    assert procfs.port_inodes(table("udp6"), 53, "udp") == {"41824"}
    assert procfs.port_inodes(table("udp"), 5353, "udp") == {"41900"}
    assert procfs.port_inodes(table("udp"), 41394, "udp") == set()  # a peer's port: no
    assert procfs.port_inodes(table("tcp"), 53, "tcp") == {"41823"}  # not the connection
    assert procfs.port_inodes(table("udp"), 53, "tcp") == set()  # no UDP state is LISTEN
    assert procfs.port_inodes(table("udp")[:1], 53, "udp") == set()  # the header alone


@pytest.fixture
def sockets() -> Iterator[dict[str, socket.socket]]:
    """A UDP server's socket, a UDP client's connected to it, and a TCP listener."""
    server = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    server.bind(("127.0.0.1", 0))
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.connect(server.getsockname())
    listener = socket.create_server(("127.0.0.1", 0))
    yield {"server": server, "client": client, "listener": listener}
    for sock in (server, client, listener):
        sock.close()


def _inode(sock: socket.socket) -> str:
    return str(os.fstat(sock.fileno()).st_ino)


def _port(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


def test_the_real_proc_tables(sockets: dict[str, socket.socket]) -> None:
    server, client, listener = sockets["server"], sockets["client"], sockets["listener"]
    pid = os.getpid()
    assert _inode(server) in procfs.listening_inodes(pid, _port(server), "udp")
    assert _inode(client) not in procfs.listening_inodes(pid, _port(client), "udp")
    assert _inode(listener) in procfs.listening_inodes(pid, _port(listener))
    assert _inode(listener) not in procfs.listening_inodes(pid, _port(listener), "udp")


def test_a_container_view_asks_each_protocol_of_a_port_apart(
    sockets: dict[str, socket.socket],
) -> None:
    """This test's process plays the container: its /proc is the host's view of it."""
    node = DockerNode(None, "c0ffee")  # type: ignore[arg-type]  # the engine is not asked
    node._pid1, node._pids = os.getpid(), {1: os.getpid()}
    node.judge.set_result(None)  # no integrity scan: processes are found, not vouched for
    port = _port(sockets["server"])
    assert node.listeners(port, "tcp") == []  # asked first: kept apart from the UDP answer
    (held,) = node.listeners(port, "udp")
    assert held.pid == 1 and not held.genuine
    assert [p.pid for p in node.listeners(_port(sockets["listener"]))] == [1]
    assert node.listeners(_port(sockets["listener"]), "udp") == []
