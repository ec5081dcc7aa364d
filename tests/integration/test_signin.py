"""Sign-in on a network, against the real service: floods answered 429 while others still get
in, exam codes that die with their session, a logout the server remembers, CSRF tokens on
what a browser posts, API docs for staff only, `Secure` cookies over HTTPS."""

from __future__ import annotations

import re
import signal
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser

from tests.integration.conftest import Service, form_token
from tests.integration.ui import examiner_password, page, sign_in

HTML = {"Accept": "text/html"}
PER_ADDRESS, PER_NAME, HASHES = 4, 6, 2
MIB = 1024 * 1024


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """One service for the module (each test signs in from addresses of its own: the buckets
    are the service's)."""
    limits = {
        "signin_per_address": str(PER_ADDRESS),
        "signin_per_name": str(PER_NAME),
        "signin_window": "3600",  # no attempt comes back during a test, however slow the host
        "signin_hashes": str(HASHES),
        "signin_hash_wait": "120",  # under test, a sign-in waits for its hash: none is refused
    }
    svc = Service(tmp_path_factory.mktemp("signin"), **limits).start()
    yield svc
    svc.kill(signal.SIGTERM)
    svc.destroy_all()


@pytest.fixture(scope="module")
def staff(service: Service) -> tuple[str, str]:
    return examiner_password(service)


def client_from(service: Service, address: str = "127.0.0.1") -> httpx.Client:
    """A browser-like client (cookies kept, no Bearer token) from a loopback `address`."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=service.url, transport=transport, timeout=60, headers=HTML)


def post_sign_in(client: httpx.Client, name: str, password: str) -> httpx.Response:
    form = {"name": name, "password": password, "csrf": form_token(client, "/login")}
    return client.post("/login", data=form)


def test_a_flood_is_answered_429_while_others_still_sign_in(
    service: Service, staff: tuple[str, str]
) -> None:
    name, password = staff
    with client_from(service, "127.0.0.10") as flood:
        answers = [post_sign_in(flood, "ghost", f"guess-{n}") for n in range(PER_ADDRESS + 2)]
    codes = [a.status_code for a in answers]
    assert codes == [401] * PER_ADDRESS + [429, 429], codes
    refused = answers[-1]
    assert 1 <= int(refused.headers["Retry-After"]) <= 3600
    assert "text/html" in refused.headers["content-type"]
    assert re.search(r"Trop de tentatives\. Réessayez dans \d+ s\.", refused.text)
    # Another address gets in at once, with the right password, during the flood.
    with client_from(service, "127.0.0.2") as colleague:
        assert post_sign_in(colleague, name, password).status_code == 303
        assert colleague.get("/staff").status_code == 200
    # The flooded name is throttled from any address: its attempts are spent.
    with client_from(service, "127.0.0.3") as elsewhere:
        elsewhere.get("/login")
        assert post_sign_in(elsewhere, "ghost", "again").status_code == 401  # its last ones
        assert post_sign_in(elsewhere, "ghost", "again").status_code == 401
        assert post_sign_in(elsewhere, "ghost", "again").status_code == 429
    # Exam codes are throttled the same way.
    with client_from(service, "127.0.0.4") as guesser:
        for n in range(PER_ADDRESS):
            code = {"code": f"AAAA-AAA{n}", "csrf": form_token(guesser, "/exam")}
            assert guesser.post("/exam", data=code).status_code == 401
        code = {"code": "AAAA-AAAA", "csrf": form_token(guesser, "/exam")}
        assert guesser.post("/exam", data=code).status_code == 429


def peak_memory(service: Service) -> int:
    """The service's highest resident memory so far (bytes)."""
    assert service.process is not None
    status = Path(f"/proc/{service.process.pid}/status").read_text()
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.M)
    assert found, status
    return int(found.group(1)) * 1024


def test_hashes_at_once_are_bounded_in_a_flood_from_many_addresses(service: Service) -> None:
    """16 sign-ins at once, each from its own address: argon2 takes 64 MiB per hash, so
    without the bound the service's memory would grow by ~1 GiB; with it, by HASHES x 64."""
    before = peak_memory(service)

    def attempt(n: int) -> int:
        with client_from(service, f"127.0.1.{n + 1}") as client:
            return post_sign_in(client, f"name-{n}", "guess").status_code

    with ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(attempt, range(16)))
    assert codes == [401] * 16, codes
    grown = peak_memory(service) - before
    assert grown < (HASHES + 2) * 64 * MIB, f"peak memory grew by {grown / MIB:.0f} MiB"


def test_an_exam_code_and_candidate_token_stop_at_the_end(service: Service) -> None:
    with service.client() as api:
        created = api.post("/api/sessions", json={"scenario": "quick", "candidate": "Zoé"})
        assert created.status_code == 202, created.text
        lab = created.json()
        with client_from(service, "127.0.0.7") as candidate:
            form = {"code": lab["access"]["exam_code"], "csrf": form_token(candidate, "/exam")}
            entered = candidate.post("/exam", data=form)
            assert entered.status_code == 303
            assert entered.headers["location"] == f"/exam/{lab['id']}"
        with service.client(lab["access"]["token"]) as token:
            assert token.get(f"/api/sessions/{lab['id']}").status_code == 200
            assert api.post(f"/api/sessions/{lab['id']}/end").status_code == 200
            assert token.get(f"/api/sessions/{lab['id']}").status_code == 401
    with client_from(service, "127.0.0.8") as candidate:
        form = {"code": lab["access"]["exam_code"], "csrf": form_token(candidate, "/exam")}
        refused = candidate.post("/exam", data=form)
        assert refused.status_code == 403
        assert "Cet examen est terminé : son code ne l&#39;ouvre plus." in refused.text


def test_logout_is_a_post_and_ends_the_login(service: Service, staff: tuple[str, str]) -> None:
    with client_from(service, "127.0.0.5") as examiner:
        assert post_sign_in(examiner, *staff).status_code == 303
        cookie = examiner.cookies["praxis"]
        token = form_token(examiner, "/logout")  # a page with a form: GET signs no one out
        assert examiner.get("/staff").status_code == 200
        assert examiner.post("/logout", data={}).status_code == 403  # no CSRF token
        assert examiner.get("/staff").status_code == 200
        out = examiner.post("/logout", data={"csrf": token})
        assert out.status_code == 303
    with client_from(service) as replay:  # the old cookie, copied: it opens nothing any more
        replay.cookies.set("praxis", cookie)
        assert replay.get("/staff").headers.get("location") == "/login"
        assert replay.get("/api/sessions", headers={"Accept": "*/*"}).status_code == 401


def test_signing_out_from_the_page(
    browser: Browser, service: Service, staff: tuple[str, str]
) -> None:
    """The nav's sign-out button posts its form (with the token): the login is over."""
    p = page(browser)
    sign_in(p, service, *staff)
    p.click("#sign-out")
    p.wait_for_url("**/exam")
    p.goto(f"{service.url}/staff")
    p.wait_for_url("**/login")


def test_browser_posts_need_the_csrf_token(service: Service, staff: tuple[str, str]) -> None:
    name, password = staff
    with client_from(service, "127.0.0.6") as examiner:
        no_token = {"name": name, "password": password}
        assert examiner.post("/login", data=no_token).status_code == 403
        assert post_sign_in(examiner, name, password).status_code == 303
        token = form_token(examiner, "/staff")
        api = {"Accept": "application/json"}
        forged = examiner.post("/api/sessions/none/end", headers=api)
        assert forged.status_code == 403 and "CSRF" in forged.json()["detail"]
        wrong = {**api, "X-CSRF-Token": "0" * 64}
        assert examiner.post("/api/sessions/none/end", headers=wrong).status_code == 403
        sent = examiner.post("/api/sessions/none/end", headers={**api, "X-CSRF-Token": token})
        assert sent.status_code == 404  # past the CSRF check: there is no such session
    with service.client() as bearer:  # API calls with a token: no cookie, no CSRF risk
        assert bearer.post("/api/sessions/none/end").status_code == 404


def test_api_docs_are_for_staff_and_cookies_secure_over_https(
    service: Service, staff: tuple[str, str]
) -> None:
    with httpx.Client(base_url=service.url, timeout=60) as anonymous:
        assert anonymous.get("/openapi.json").status_code == 401
        assert anonymous.get("/redoc").status_code == 401
        assert anonymous.get("/docs", headers=HTML).headers["location"] == "/login"
    with service.client() as api:
        schema = api.get("/openapi.json")
        assert schema.status_code == 200 and "/api/sessions" in schema.json()["paths"]
        assert api.get("/docs").status_code == 200
        lab = api.post("/api/sessions", json={"scenario": "quick", "candidate": "Zoé"}).json()
        with service.client(lab["access"]["token"]) as candidate:
            assert candidate.get("/openapi.json").status_code == 403
        assert api.post(f"/api/sessions/{lab['id']}/end").status_code == 200  # no lab needed
    name, password = staff
    with client_from(service) as proxied:  # uvicorn trusts X-Forwarded-* from 127.0.0.1
        proxied.headers.update({"X-Forwarded-Proto": "https", "X-Forwarded-For": "192.0.2.7"})
        page = proxied.get("/login")
        assert "secure" in page.headers["set-cookie"].lower()
        token = re.search(r'name="csrf" value="([0-9a-f]{64})"', page.text)
        assert token
        form = {"name": name, "password": password, "csrf": token.group(1)}
        # A Secure cookie goes back over HTTPS only: the proxy's side of it is plain HTTP.
        pre = {"Cookie": f"praxis_pre={page.cookies['praxis_pre']}"}
        signed_in = proxied.post("/login", data=form, headers=pre)
        assert signed_in.status_code == 303
        assert "secure" in signed_in.headers["set-cookie"].lower()
    with client_from(service, "127.0.0.9") as plain:
        assert "secure" not in post_sign_in(plain, name, password).headers["set-cookie"].lower()
