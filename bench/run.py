"""Praxis benchmarks, as ratios against the raw engine measured in the same run.

    make bench            # or: .venv/bin/python bench/run.py [--rounds N]

1. Lab ready: `POST /api/sessions` -> the grader's key login works, against a raw `docker run`
   of the same image with the node's limits -> the same key login (and -> sshd's banner,
   shown too). Target ratio <= 1.2.
Grading and memory: bench/grading.py.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.backends import lab_driver  # noqa: E402
from app.config import Settings  # noqa: E402
from app.db import instance_id, make_engine  # noqa: E402
from graders.transport import load_key, wait_ready  # noqa: E402
from labs.cgroups import WAIT, give_systemd_its_tree  # noqa: E402
from labs.docker_driver import WAIT_BEFORE_INIT  # noqa: E402
from labs.images import image_tag  # noqa: E402
from labs.keys import new_keypair  # noqa: E402

PRAXIS = str(ROOT / ".venv" / "bin" / "praxis")
DOCKER = "/usr/bin/docker"
ADDRESS_AND_PID = "{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}} {{.State.Pid}}"


def banner(host: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            with socket.create_connection((host, 22), timeout=0.5) as s:
                s.settimeout(2)
                if s.recv(4).startswith(b"SSH"):
                    return
        except OSError:
            pass
        time.sleep(0.02)
    raise TimeoutError(host)


# systemd in a user namespace on cgroup v1 needs one thing the engine cannot give: its cgroup,
# writable and its own (labs.cgroups). PID 1 waits for it; the rest is the engine's.
RUN_FLAGS = [
    "--cgroupns",
    "private",
    "--entrypoint",
    "/bin/sh",
    "--tmpfs",
    "/run",
    "--tmpfs",
    "/run/lock",
    "--cpus",
    "1",
    "--memory",
    "1g",
    "--memory-swap",
    "1g",
    "--pids-limit",
    "512",
]


def raw_ready(
    login: bool, docker: tuple[str, ...] = (DOCKER,), flags: tuple[str, ...] = ()
) -> float:
    """The engine alone: `docker run` of the node image with the node's limits, then either
    sshd's banner or a key login with the same client Praxis uses (the image installs a key
    given in PRAXIS_AUTHORIZED_KEY). `docker`: the client's command (another engine)."""
    keys = new_keypair()
    start = time.monotonic()
    cid = subprocess.run(
        [
            *docker,
            "run",
            "-d",
            *RUN_FLAGS,
            *flags,
            "-e",
            f"PRAXIS_AUTHORIZED_KEY={keys.public}",
            image_tag("debian-bookworm"),
            "-c",
            WAIT_BEFORE_INIT.format(cgroup=WAIT),
            "praxis-wait",
            "/sbin/init",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    address, pid = subprocess.run(
        [*docker, "inspect", "-f", ADDRESS_AND_PID, cid],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    give_systemd_its_tree(int(pid))
    if login:
        wait_ready(address, load_key(keys.private), 60)
    else:
        banner(address)
    elapsed = time.monotonic() - start
    subprocess.run([*docker, "rm", "-f", cid], capture_output=True, check=True)
    return elapsed


class Service:
    def __init__(
        self,
        tmp: Path,
        port: int = 18765,
        access: str = "24000-24099",
        user: str = "bench",
        **settings: str,
    ) -> None:
        self.env = {
            **os.environ,
            "PRAXIS_DATA_DIR": str(tmp),
            "PRAXIS_PORT": str(port),
            "PRAXIS_ACCESS_PORTS": access,
            "PRAXIS_RETENTION_SECONDS": "0",
            **{f"PRAXIS_{name.upper()}": value for name, value in settings.items()},
        }
        token = subprocess.run(
            [PRAXIS, "user", "create", user, "--role", "admin"],
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        self.log = tmp / "service.log"  # read it when a bench fails
        self.process = subprocess.Popen(
            [PRAXIS, "serve"], env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        self.api = httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            timeout=30,
            headers={"Authorization": f"Bearer {token}"},
        )
        for _ in range(300):
            try:
                self.api.get("/api/health")
                return
            except httpx.HTTPError:
                time.sleep(0.05)

    def ready(self) -> float:
        """From the API call to the moment the controller's key login succeeded (`ready_at`,
        same host clock), so that polling does not weigh on what is measured."""
        start = time.time()
        session_id = self.api.post(
            "/api/sessions", json={"scenario": "amp-stack", "candidate": "bench"}
        ).json()["id"]
        while (session := self.api.get(f"/api/sessions/{session_id}").json())["state"] != "ready":
            assert session["state"] in ("requested", "provisioning"), session["state"]
            time.sleep(0.1)
        elapsed = datetime.fromisoformat(session["ready_at"]).timestamp() - start
        self.api.post(f"/api/sessions/{session_id}/end")
        while self.api.get(f"/api/sessions/{session_id}").json()["state"] != "torn_down":
            time.sleep(0.1)  # the next round starts on a quiet host, as the raw rounds do
        return elapsed

    def close(self) -> None:
        """Stop the service and remove every lab it made, live or pooled: its database goes
        with the temporary folder, and nothing could reap them after."""
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(30)
        database = f"sqlite:///{self.env['PRAXIS_DATA_DIR']}/praxis.db"
        engine = make_engine(self.env.get("PRAXIS_DATABASE_URL", database))
        driver = lab_driver(Settings(), instance_id(engine))
        for session_id in driver.sessions():
            driver.destroy(session_id)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    rounds = parser.parse_args().rounds
    raw_ready(login=True)  # warm the page cache for both sides alike
    raw_banner = [raw_ready(login=False) for _ in range(rounds)]
    raw = [raw_ready(login=True) for _ in range(rounds)]
    with tempfile.TemporaryDirectory() as tmp:
        service = Service(Path(tmp))
        try:
            service.ready()
            ours = [service.ready() for _ in range(rounds)]
        finally:
            service.close()
    median = statistics.median

    def line(label: str, values: list[float]) -> None:
        spread = f"(min {min(values):.3f}, max {max(values):.3f})"
        print(f"{label:44} median {median(values):.3f}s  {spread}")

    line("lab ready, raw `docker run` -> sshd banner", raw_banner)
    line("lab ready, raw `docker run` -> key login", raw)
    line("lab ready, Praxis API call -> key login", ours)
    ratio = median(ours) / median(raw)
    print(f"{'ratio Praxis / raw, to the key login':44} {ratio:.2f}  (target <= 1.2)")
    print(f"{'ratio Praxis / raw banner':44} {median(ours) / median(raw_banner):.2f}")


if __name__ == "__main__":
    main()
