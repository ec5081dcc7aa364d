"""Every refusal an API client gets has the documented shape `{"error", "detail"}`, the
framework's own (a body that is not JSON, an unknown address) included; found by the fuzzer."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.unit.test_api_roles import client, tokens

__all__ = ["client"]  # the fixture: the real app, a real database, no labs


def test_a_body_that_is_not_json_is_a_400_in_the_one_shape(client: TestClient) -> None:
    examiner = {"Authorization": f"Bearer {tokens(client)['examiner']}"}
    reply = client.post(
        "/api/sessions",
        content=b"\xff\x00{",
        headers={**examiner, "Content-Type": "application/json"},
    )
    assert reply.status_code == 400
    assert reply.json() == {"error": "bad_request", "detail": "There was an error parsing the body"}
    unknown = client.get("/api/nowhere")
    assert unknown.json() == {"error": "not_found", "detail": "Not Found"}


def test_every_route_documents_the_error_shape_as_json(client: TestClient) -> None:
    staff = {"Authorization": f"Bearer {tokens(client)['examiner']}"}
    schema = client.get("/openapi.json", headers=staff).json()
    for path, methods in schema["paths"].items():
        for method, operation in methods.items():
            documented = operation["responses"]
            for status in ("401", "403", "404", "409"):
                found = documented[status]["content"]["application/json"]["schema"]
                assert found["title"] == "ErrorPublic", f"{method} {path}: {status}"
            invalid = documented["422"]["content"]["application/json"]["schema"]["anyOf"]
            assert "ErrorPublic" in [s["title"] for s in invalid], f"{method} {path}"
