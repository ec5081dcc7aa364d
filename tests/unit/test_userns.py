"""A remapped node's ids, as the host sees them and as the node knows them."""

from __future__ import annotations

import os
import socket
import struct
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from graders import rootfs
from labs import docker_driver, userns

REMAPPED = userns.parse("         0     100000      65536\n")


def test_a_remapped_nodes_ids_are_translated_both_ways() -> None:
    assert not REMAPPED.identity
    assert REMAPPED.inside(100000) == 0 and REMAPPED.inside(101000) == 1000
    assert REMAPPED.host(0) == 100000 and REMAPPED.host(1000) == 101000
    assert REMAPPED.inside(0) == userns.OVERFLOW_ID  # the host's root is nobody in the node
    assert REMAPPED.inside(165536) == userns.OVERFLOW_ID
    with pytest.raises(LookupError):
        REMAPPED.host(65536)


def test_without_remapping_ids_are_the_hosts() -> None:
    plain = userns.parse("         0          0 4294967295\n")
    assert plain.identity and plain.inside(1000) == 1000 and plain.host(0) == 0
    assert userns.parse("") == userns.IDENTITY


def test_a_process_map_is_read_from_proc() -> None:
    assert userns.of_process(1).identity  # this test runs as the host's root: no remapping


@pytest.mark.parametrize("remapped", [False, True])
def test_the_candidates_processes_are_found_by_their_ids_in_the_node(
    monkeypatch: pytest.MonkeyPatch, remapped: bool
) -> None:
    base = 100000 if remapped else 0
    processes = [
        ["11", "?", str(base)],  # systemd, sshd: root's, no terminal
        ["12", "pts/0", str(base)],  # a root shell the candidate opened with sudo
        ["13", "?", str(base + 1000)],  # the candidate's `nohup` job
        ["14", "?", str(base + 33)],  # www-data's Apache worker
    ]
    container: Any = SimpleNamespace(
        top=lambda ps_args: {"Processes": processes}, attrs={"State": {"Pid": 4242}}
    )
    mapped = REMAPPED if remapped else userns.IDENTITY
    monkeypatch.setattr(userns, "of_process", lambda pid, kind="uid": mapped)
    assert docker_driver._candidate_processes(container) == [12, 13]


def test_a_socket_connected_as_the_nodes_root_shows_that_peer_and_only_that_thread_changes(
    tmp_path: Path,
) -> None:
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(tmp_path / "mysqld.sock"))
    os.chmod(tmp_path / "mysqld.sock", 0o777)
    server.listen(1)
    seen_elsewhere: list[int] = []
    with ThreadPoolExecutor(1) as other:
        other.submit(os.getpid).result()  # started before: a thread takes its maker's ids
        with userns.acting_as(100000, 100042):
            assert (os.geteuid(), os.getegid()) == (100000, 100042)
            seen_elsewhere.append(other.submit(os.geteuid).result())
        client = rootfs.connect_unix(str(tmp_path), "/mysqld.sock", 5, (100000, 100042))
    accepted, _ = server.accept()
    creds = accepted.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize("3i"))
    assert struct.unpack("3i", creds)[1:] == (100000, 100042)
    assert seen_elsewhere == [0] and (os.geteuid(), os.getegid()) == (0, 0)
    for s in (accepted, client, server):
        s.close()
