"""Schemathesis against the real service's `/openapi.json`, as each role (admin, examiner,
instructor, candidate): no answer is a server error (5xx), and every answer with a documented
status has its documented shape. Examples are bounded and derandomized: the same requests
every run, the whole test well under two minutes on a 2-core host."""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.integration.conftest import TEST_SCENARIOS, Service

EXAMPLES = 25  # per operation: ~30 operations, each case sent as 4 roles, twice

# Not `status_code_conformance`: routes document their success and FastAPI's 422 only; the
# 401/403/404/409 answers all come from the one error handler (`app/errors.py`) in its one
# shape, which `test_api_roles.py` checks route by route.
CHECKS = [not_a_server_error, response_schema_conformance]
Fuzzed = tuple[Service, dict[str, str], str]  # the service, a token per role, a session id


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzed]:
    """A service whose catalog holds only `quick` (one small container): a session the fuzzer
    starts by chance costs little. Tokens of every role; the candidate's opens one session."""
    tmp = tmp_path_factory.mktemp("fuzz")
    catalog = tmp / "catalog"
    catalog.mkdir()
    (catalog / "quick").symlink_to(TEST_SCENARIOS / "quick")
    service = Service(tmp, scenarios_dir=str(catalog)).start()
    tokens = {"examiner": service.token}
    for role in ("admin", "instructor"):
        tokens[role] = service.cli("user", "create", f"{role}-fuzz", "--role", role).strip()
    with service.client() as api:
        created = api.post("/api/sessions", json={"scenario": "quick", "candidate": "Fuzz"})
    assert created.status_code == 202, created.text
    tokens["candidate"] = created.json()["access"]["token"]
    service.wait(created.json()["id"], "graded")  # its 20 s pass: a result, a report, a lab
    yield service, tokens, created.json()["id"]
    service.kill(signal.SIGTERM)
    service.destroy_all()


def test_no_server_error_and_documented_answers(
    fuzzed: Fuzzed,
) -> None:
    """Every operation, valid and invalid input alike (a bad request must be a 4xx with a
    reason). Driven here rather than by schemathesis' pytest plugin, whose lazy-schema mode
    breaks on pytest 9.2 (it rewrites a node attribute pytest no longer has)."""
    service, tokens, session_id = fuzzed
    schema = schemathesis.openapi.from_url(  # the schema is for signed-in staff only
        f"{service.url}/openapi.json", headers={"Authorization": f"Bearer {tokens['admin']}"}
    )
    failures = []
    for result in schema.get_all_operations():
        operation = result.ok()
        cases = st.one_of(operation.as_strategy(mode) for mode in GenerationMode)

        @given(case=cases)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,  # a busy host answers slowly: not a failure
            derandomize=True,  # the same requests every run
            phases=[Phase.explicit, Phase.generate],  # the first failure, not shrunk
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def attack(case: schemathesis.Case) -> None:
            for _ in on_the_real_session(case, session_id):
                for token in tokens.values():
                    headers = {"Authorization": f"Bearer {token}"}
                    case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            attack()
        except (Failure, FailureGroup) as exc:  # with a curl command to replay each
            failures.append(f"{operation.label}: {exc}")
    assert not failures, "\n\n".join(failures)


def on_the_real_session(case: schemathesis.Case, session_id: str) -> Iterator[None]:
    """The case as drawn, then (for a route of one session) aimed at the real, graded session
    and its node: random ids alone would only ever reach the 404 of an unknown session."""
    yield
    parameters = case.path_parameters or {}
    if "session_id" in parameters:
        parameters["session_id"] = session_id
        if "node" in parameters:
            parameters["node"] = "web"
        yield


def test_the_catalog_is_only_quick(fuzzed: Fuzzed) -> None:
    """The bound on what the fuzzer may start: no other scenario exists for it."""
    service, _, _ = fuzzed
    with service.client() as api:
        assert [s["id"] for s in api.get("/api/scenarios").json()] == ["quick"]
    assert Path(service.env["PRAXIS_SCENARIOS_DIR"]).name == "catalog"
