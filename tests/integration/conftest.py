"""Integration fixtures: the real service as a process, real dockerd, real SSH."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import docker
import httpx
import paramiko
import pytest
from playwright.sync_api import Browser, sync_playwright
from prometheus_client.parser import text_string_to_metric_families
from sqlmodel import select

from app.backends import lab_driver, platform_driver, trials_of
from app.catalog import Catalog
from app.config import Settings
from app.db import instance_id, make_engine, unit_of_work
from app.models import LabSession
from app.scenario_test import test_scenario as trial
from graders.report import GradeReport
from labs.images import Stores, is_current, recipes
from labs.loader import load_scenario

ROOT = Path(__file__).resolve().parents[2]
PRAXIS = str(ROOT / ".venv" / "bin" / "praxis")
TEST_SCENARIOS = Path(__file__).parent / "scenarios"
ARTIFACTS = ROOT / "test-artifacts"  # screenshots of the browser tests
CHROMIUM = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# One block of access ports per service a test starts: room for every test, above the
# platform's default (22000-22999), below the kernel's ephemeral ports (32768+). A second
# suite on the same machine starts its blocks elsewhere (PRAXIS_TEST_PORTS_FROM=30000).
_port_block = iter(range(int(os.environ.get("PRAXIS_TEST_PORTS_FROM", "23000")), 32700, 50))


def solved_with(tmp_path: Path, exam: str, script: str, edit: Callable[[str], str]) -> GradeReport:
    """`exam`'s reference solution with `edit` made to its `solution/<script>`, graded on a
    lab of its own as `praxis scenario test` grades it."""
    folder = tmp_path / exam
    shutil.copytree(ROOT / "scenarios" / exam, folder)
    solution = folder / "solution" / script
    solution.write_text(edit(solution.read_text()))
    scenario, _, problems = load_scenario(folder)
    assert scenario is not None, problems
    settings = Settings(data_dir=tmp_path / "data")
    driver = lab_driver(settings, trials_of(f"{exam}-test"))
    return trial(driver, settings, scenario, blank=False, say=lambda _: None)


def verdicts(report: GradeReport) -> dict[str, tuple[float, str]]:
    """Criterion -> its score (4 decimals) and message: what a failed assertion shows."""
    return {c.id: (round(c.score, 4), c.message) for c in report.criteria}


@pytest.fixture(scope="session", autouse=True)
def engine_ready() -> None:
    """`make test` installs and starts dockerd and builds images; say so if it did not."""
    try:
        client = docker.from_env()
        client.ping()
    except docker.errors.DockerException as exc:
        pytest.fail(f"dockerd is not reachable ({exc}): run the tests with `make test`")
    stores = Stores(client, Path("/var/lib/praxis/images"))
    stale = [n for n, f in recipes(ROOT / "images").items() if not is_current(stores, f)]
    if stale:
        pytest.fail(f"images not built: {stale}: run the tests with `make test`")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Service:
    """`praxis serve` in a child process with its own data folder, port and scenarios."""

    def __init__(self, tmp: Path, **settings: str) -> None:
        scenarios = tmp / "scenarios"
        scenarios.mkdir(exist_ok=True)
        for folder in [ROOT / "scenarios" / "amp-stack", *TEST_SCENARIOS.iterdir()]:
            link = scenarios / folder.name
            if not link.exists():
                link.symlink_to(folder)
        low = next(_port_block)
        self.port = free_port()
        self.env = {
            **os.environ,
            "PRAXIS_DATA_DIR": str(tmp / "data"),
            "PRAXIS_PORT": str(self.port),
            "PRAXIS_SCENARIOS_DIR": str(scenarios),
            "PRAXIS_ACCESS_PORTS": f"{low}-{low + 49}",
            **{f"PRAXIS_{k.upper()}": v for k, v in settings.items()},
        }
        self.log = tmp / "service.log"
        self.process: subprocess.Popen[bytes] | None = None
        self.token = self.cli(
            "user", "create", f"examiner-{self.port}", "--role", "examiner"
        ).strip()

    def cli(self, *args: str) -> str:
        done = subprocess.run(
            [PRAXIS, *args], env=self.env, capture_output=True, text=True, check=False
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def start(self) -> Service:
        self.process = subprocess.Popen(
            [PRAXIS, "serve"], env=self.env, stdout=self.log.open("ab"), stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{self.url}/api/health", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        raise AssertionError(f"service did not start:\n{self.log.read_text()[-3000:]}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(sig)
            self.process.wait(15)

    def destroy_all(self) -> None:
        """Leave no lab behind, whatever state the test left its sessions in."""
        url = (
            self.env.get("PRAXIS_DATABASE_URL")
            or f"sqlite:///{self.env['PRAXIS_DATA_DIR']}/praxis.db"
        )
        engine = make_engine(url)
        with unit_of_work(engine) as db:
            ids = [lab.id for lab in db.exec(select(LabSession))]
        settings, instance = Settings(), instance_id(engine)
        catalog = Catalog(Path(self.env["PRAXIS_SCENARIOS_DIR"]), settings.node_capabilities)
        local = lab_driver(settings, instance)
        driver = platform_driver(settings, engine, catalog, instance, local)  # enrolled hosts too
        for session_id in ids:
            driver.destroy(session_id)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self, token: str | None = None) -> httpx.Client:
        return httpx.Client(
            base_url=self.url,
            timeout=30,
            headers={"Authorization": f"Bearer {token or self.token}"},
        )

    def metric(self, name: str, **labels: str) -> float:
        """One sample of the service's `/metrics` (0 if absent, as Prometheus would read it)."""
        with self.client() as api:
            scraped = api.get("/metrics")
        assert scraped.status_code == 200, scraped.text
        for family in text_string_to_metric_families(scraped.text):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return float(sample.value)
        return 0.0

    def wait(self, session_id: str, *states: str, timeout: float = 240) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        with self.client() as api:
            while time.monotonic() < deadline:
                body: dict[str, Any] = api.get(f"/api/sessions/{session_id}").json()
                if body["state"] in states:
                    return body
                if body["state"] == "failed" and "failed" not in states:
                    raise AssertionError(f"session failed: {body['reason']}")
                time.sleep(0.2)
        raise AssertionError(
            f"session {session_id} not in {states} after {timeout}s: {body['state']}"
        )


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    svc = Service(tmp_path).start()
    yield svc
    svc.kill(signal.SIGTERM)
    svc.destroy_all()


def candidate_ssh(session: dict[str, Any], node: str = "web") -> paramiko.SSHClient:
    """Log in as the candidate, the way they are told to (the access port, a password)."""
    port = int(next(n for n in session["nodes"] if n["name"] == node)["ssh"].split()[2])
    client = paramiko.SSHClient()
    client.set_missing_host_key_policy(paramiko.AutoAddPolicy())
    client.connect(
        "127.0.0.1",
        port,
        session["access"]["user"],
        session["access"]["password"],
        timeout=10,
        banner_timeout=10,
        allow_agent=False,
        look_for_keys=False,
    )
    return client


def sudo(
    client: paramiko.SSHClient,
    password: str,
    script: str,
    env: dict[str, str] | None = None,
    timeout: float = 600,
) -> tuple[int, str]:
    """Run a script as root through sudo, as a candidate would."""
    stdin, out, _ = client.exec_command("cat > /tmp/work.sh", timeout=30)
    stdin.write(script)
    stdin.channel.shutdown_write()
    assert out.channel.recv_exit_status() == 0
    exports = " ".join(f"{k.upper()}={shlex.quote(v)}" for k, v in (env or {}).items())
    command = f"echo {shlex.quote(password)} | sudo -S -p '' env {exports} bash /tmp/work.sh 2>&1"
    _, out, _ = client.exec_command(command, timeout=timeout)
    text = out.read().decode()
    return out.channel.recv_exit_status(), text


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM)
        yield chromium
        chromium.close()


def form_token(client: httpx.Client, path: str) -> str:
    """The CSRF token a page's form carries, as a browser gets it (with its cookie)."""
    page = client.get(path)
    assert page.status_code == 200, page.text
    found = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
    assert found, page.text
    return found.group(1)
