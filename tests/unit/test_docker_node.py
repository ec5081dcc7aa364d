"""The engine's stream as the grader reads it: frames, caps and the output-loss guard; and a
container's removal when another caller began it."""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
import time
from threading import Lock
from types import SimpleNamespace
from typing import Any

import docker.errors
import pytest

from graders.contract import CommandResult
from graders.docker_node import StreamLost, _read_frames, _unframe
from labs.docker_driver import DockerDriver
from labs.driver import LabError

NONCE = "0123456789abcdef"


def test_a_framed_output_gives_the_commands_own_output_and_status() -> None:
    framed = CommandResult(-1, f"{NONCE}\nhello\nworld\n{NONCE} 3\n", "oops")
    assert _unframe(framed, NONCE) == CommandResult(3, "hello\nworld", "oops")
    assert _unframe(CommandResult(-1, f"{NONCE}\n\n{NONCE} 0\n"), NONCE).stdout == ""


@pytest.mark.parametrize(
    "stdout",
    ["", "hello\n", f"{NONCE}\nhello\n", f"hello\n{NONCE} 0\n", f"{NONCE}\nx\nfake 0\n"],
)
def test_an_output_missing_a_marker_is_lost_not_empty(stdout: str) -> None:
    with pytest.raises(StreamLost):
        _unframe(CommandResult(-1, stdout), NONCE)


def test_a_cut_output_keeps_the_engines_status() -> None:
    cut = _unframe(CommandResult(137, f"{NONCE}\nyyyy", truncated=True), NONCE)
    assert cut == CommandResult(137, "yyyy", truncated=True)


def frame(stream: int, data: bytes) -> bytes:
    return struct.pack(">BxxxL", stream, len(data)) + data


def test_frames_are_split_by_stream_capped_and_bounded_in_time() -> None:
    ours, engine = socket.socketpair()
    early = frame(1, b"first ")  # what the HTTP layer had already read
    engine.sendall(frame(2, b"warn") + frame(1, b"second"))
    engine.close()
    assert _read_frames(ours, early, deadline=time.monotonic() + 10) == (
        b"first second",
        b"warn",
        False,
        False,
    )

    ours, engine = socket.socketpair()
    threading.Thread(target=lambda: engine.sendall(frame(1, b"y" * (2 << 20)))).start()
    out, _, cut, late = _read_frames(ours, b"", deadline=time.monotonic() + 10)
    assert cut and len(out) == 1 << 20 and not late
    engine.close()

    ours, engine = socket.socketpair()
    out, _, cut, late = _read_frames(ours, b"", deadline=time.monotonic() + 0.2)
    assert late and not cut
    engine.close()


class _BeingRemoved:
    """A container whose removal another caller began (the engine answers 409 to ours)."""

    id, name = "c0ffee", "praxis-abc-web"

    def __init__(self, status: int = 409, said: str = "is already in progress") -> None:
        self.status, self.said = status, said

    def remove(self, force: bool, v: bool) -> None:
        response = SimpleNamespace(status_code=self.status, url="http://docker", reason="Conflict")
        raise docker.errors.APIError(
            "conflict", response=response, explanation=f"removal of container c0ffee {self.said}"
        )


def test_a_removal_begun_elsewhere_is_waited_for_not_failed() -> None:
    looks = iter([True, True, False])  # the engine still has it twice, then not

    def get(container_id: str) -> object:
        if next(looks):
            return object()
        raise docker.errors.NotFound("gone")

    driver = DockerDriver.__new__(DockerDriver)
    driver.client = SimpleNamespace(containers=SimpleNamespace(get=get))  # type: ignore[assignment]
    driver._remove(_BeingRemoved())  # type: ignore[arg-type]
    assert next(looks, "done") == "done"
    with pytest.raises(docker.errors.APIError):  # any other conflict is not ours to hide
        driver._remove(_BeingRemoved(said="is paused"))  # type: ignore[arg-type]


def test_a_subnet_another_platform_took_first_is_drawn_again_among_the_free_ones() -> None:
    taken = [ipaddress.ip_network(f"10.213.{i}.0/24") for i in range(254)]  # 2 left free
    listed = [SimpleNamespace(attrs={"IPAM": {"Config": [{"Subnet": str(n)}]}}) for n in taken]
    raced: list[str] = []

    def create(name: str, **options: Any) -> object:
        subnet = options["ipam"]["Config"][0]["Subnet"]
        if not raced:  # the other platform made a network on this very subnet meanwhile
            raced.append(subnet)
            listed.append(SimpleNamespace(attrs={"IPAM": {"Config": [{"Subnet": subnet}]}}))
            response = SimpleNamespace(status_code=403, url="http://docker", reason="Forbidden")
            raise docker.errors.APIError("x", response=response, explanation="Pool overlaps")
        return SimpleNamespace(name=name, subnet=subnet)

    driver = DockerDriver.__new__(DockerDriver)
    driver.pool, driver.instance, driver._net_lock = (
        ipaddress.ip_network("10.213.0.0/16"),
        "i",
        Lock(),
    )
    networks = SimpleNamespace(list=lambda names=None: [] if names else listed, create=create)
    driver.client = SimpleNamespace(networks=networks)  # type: ignore[assignment]
    made: Any = driver._network("abc")
    assert {made.subnet, *raced} == {"10.213.254.0/24", "10.213.255.0/24"}
    listed.append(SimpleNamespace(attrs={"IPAM": {"Config": [{"Subnet": made.subnet}]}}))
    with pytest.raises(LabError, match="no free /24 left"):
        driver._network("def")
