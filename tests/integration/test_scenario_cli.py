"""`praxis scenario test`: the instructor's check that a scenario grades what it should."""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import docker

from app.backends import trials_of
from app.db import instance_id, make_engine
from labs.docker_driver import DockerDriver
from labs.driver import INSTANCE_LABEL, SESSION_LABEL
from tests.integration.conftest import PRAXIS, TEST_SCENARIOS


def praxis(
    *args: str, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess[str]:
    """Run the CLI; past `timeout` seconds it is stopped as an operator would (SIGTERM), so a
    trial's lab is destroyed rather than left running beside the next tests."""
    command = [PRAXIS, *args]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=Path(PRAXIS).parents[2],
    ) as process:
        try:
            stdout, stderr = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.terminate()
            stdout, stderr = process.communicate(timeout=120)
            late = f"{command} still running after {timeout:g} s:\n{stdout}{stderr}"
            raise AssertionError(late) from None
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def test_invalid_scenario_is_refused_before_any_lab() -> None:
    done = praxis("scenario", "test", "tests/unit/scenario_cases/references")
    assert done.returncode == 1
    assert "scenario.yaml:9: unknown node 'db'" in done.stdout
    assert "Traceback" not in done.stdout + done.stderr


def test_new_skeleton_validates_and_tests_clean_as_created(tmp_path: Path) -> None:
    env = {**os.environ, "PRAXIS_SCENARIOS_DIR": str(tmp_path)}
    assert praxis("scenario", "new", "demo", env=env).returncode == 0
    assert praxis("scenario", "new", "demo", env=env).returncode == 1  # never overwrites
    assert praxis("scenario", "validate", "demo", env=env).returncode == 0
    solved = praxis("scenario", "test", "demo", env=env)
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert solved.stdout.strip().splitlines()[-1] == "score: 100.0%"
    blank = praxis("scenario", "test", "demo", "--blank", env=env)
    assert blank.returncode == 0 and blank.stdout.strip().endswith("score: 0.0%")


def test_all_tests_every_scenario_and_summarises(tmp_path: Path) -> None:
    env = {**os.environ, "PRAXIS_SCENARIOS_DIR": str(tmp_path)}
    assert praxis("scenario", "new", "demo", env=env).returncode == 0
    (tmp_path / "quick").symlink_to(TEST_SCENARIOS / "quick")  # its blank lab scores 50 %
    done = praxis("scenario", "test", "--all", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = {line.split("│")[1].strip(): line for line in done.stdout.splitlines() if "│" in line}
    assert "100.0%" in rows["demo"] and "0.0%" in rows["demo"] and "ok" in rows["demo"]
    assert "50.0%" in rows["quick"] and "FAILED" in rows["quick"]


def _platform(tmp_path: Path) -> tuple[dict[str, str], str, dict[str, str]]:
    """A platform of the test's own (its environment, its instance id) and the filter that
    finds its trials' containers."""
    env = {**os.environ, "PRAXIS_DATA_DIR": str(tmp_path / "data")}
    assert praxis("reap", env=env).returncode == 0  # the platform's database, its instance id
    instance = instance_id(make_engine(f"sqlite:///{tmp_path}/data/praxis.db"))
    trial = {"label": f"{INSTANCE_LABEL}={trials_of(instance)}"}
    return env, instance, trial


def test_a_trial_stopped_by_sigterm_destroys_its_lab(tmp_path: Path) -> None:
    env, _, trial = _platform(tmp_path)
    engine = docker.from_env()
    command = [PRAXIS, "scenario", "test", str(TEST_SCENARIOS / "quick")]
    with subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True) as process:
        assert process.stdout is not None
        for line in process.stdout:  # its lab is made
            if "ready in" in line:
                break
        assert engine.containers.list(all=True, filters=trial) != []
        process.terminate()
        process.wait(60)
    assert engine.containers.list(all=True, filters=trial) == []


def _kept(env: dict[str, str]) -> str:
    """Keep a trial's lab; its session id, as the trial prints it."""
    kept = praxis("scenario", "test", str(TEST_SCENARIOS / "quick"), "--keep", env=env)
    assert "score:" in kept.stdout, kept.stdout + kept.stderr
    match = re.search(r"lab (t[0-9a-f]+) kept: `praxis reap (t[0-9a-f]+)`", kept.stdout)
    assert match and match[1] == match[2], kept.stdout
    return match[1]


def test_a_kept_trial_is_not_the_service_s_to_reap_but_praxis_reap_removes_it(
    tmp_path: Path,
) -> None:
    env, instance, trial = _platform(tmp_path)
    engine = docker.from_env()

    def kept() -> set[str]:
        found = engine.containers.list(all=True, filters=trial)
        return {c.labels[SESSION_LABEL] for c in found}

    try:
        first, second = _kept(env), _kept(env)
        assert kept() == {first, second}
        assert DockerDriver(instance=instance).sessions() == set()  # what the service reaps
        unknown = praxis("reap", "t0000000000", env=env)
        assert unknown.returncode == 1 and "no lab of session t0000000000" in unknown.stderr
        assert kept() == {first, second}
        assert praxis("reap", first, env=env).returncode == 0
        assert kept() == {second}  # a colleague's kept lab stays
        assert praxis("reap", env=env).returncode == 0
        assert kept() == set()
    finally:
        for container in engine.containers.list(all=True, filters=trial):
            container.remove(force=True)


def test_a_dns_server_is_judged_from_the_network() -> None:
    """A real BIND, solved then blank: the grader's own queries see authority, the MX, the
    reverse zone and recursion refused; UDP port 53 is held by named."""
    solved = praxis("scenario", "test", str(TEST_SCENARIOS / "dns"))
    assert solved.returncode == 0, solved.stdout + solved.stderr
    assert solved.stdout.strip().splitlines()[-1] == "score: 100.0%"
    blank = praxis("scenario", "test", str(TEST_SCENARIOS / "dns"), "--blank")
    assert blank.returncode == 0, blank.stdout + blank.stderr
    assert blank.stdout.strip().endswith("score: 0.0%")
