"""Checks and scoring against a scripted transport (the SSH boundary), and a real HTTP server."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from graders.contract import CommandResult, NodeUnreachable
from graders.runner import grade, render
from labs.scenario import Scenario


class Scripted:
    """Answers commands by the first regex that matches; records what it was asked."""

    def __init__(self, answers: dict[str, CommandResult]) -> None:
        self.answers, self.asked = answers, []  # type: ignore[var-annotated]

    def run(self, command: str, timeout: float) -> CommandResult:
        self.asked.append(command)
        for pattern, result in self.answers.items():
            if re.search(pattern, command):
                return result
        return CommandResult(127, "", "command not found")


class Down:
    def run(self, command: str, timeout: float) -> CommandResult:
        raise NodeUnreachable("ssh root@10.0.0.9:22: Connection refused")


def scenario(*criteria: dict[str, Any]) -> Scenario:
    return Scenario.model_validate(
        {
            "id": "t",
            "title": {"fr": "t"},
            "duration": "10m",
            "nodes": {"web": {"image": "debian-bookworm"}},
            "criteria": list(criteria),
        }
    )


def crit(cid: str, weight: float = 1, **kw: Any) -> dict[str, Any]:
    return {"id": cid, "title": {"fr": cid}, "weight": weight, **kw}


def run(sc: Scenario, transport: Any, params: dict[str, str] | None = None) -> Any:
    return grade(sc, {"web": transport}, {"web": "127.0.0.1"}, params or {})


OK = CommandResult(0, "")


def test_weighted_total_partial_credit_and_evidence() -> None:
    sc = scenario(
        crit(
            "svc",
            3,
            check={"type": "service_active", "node": "web", "service": "apache2", "enabled": True},
        ),
        crit(
            "pkgs",
            1,
            checks=[
                {"type": "package_installed", "node": "web", "package": p}
                for p in ("apache2", "php")
            ],
        ),
    )
    transport = Scripted(
        {
            r"is-active 'apache2'|is-active apache2": CommandResult(0, "active\n"),
            r"is-enabled apache2": CommandResult(0, "enabled\n"),
            r"dpkg-query .* apache2": CommandResult(0, "install ok installed 2.4.62"),
            r"dpkg-query .* php": CommandResult(1, "", "no packages found matching php"),
        }
    )
    report = run(sc, transport)
    svc, pkgs = report.criteria
    assert (svc.score, svc.status) == (1.0, "passed")
    assert (pkgs.score, pkgs.status) == (0.5, "partial")
    assert report.points == 3.5 and report.max_points == 4 and report.percent == 87.5
    assert [e["command"] for e in svc.evidence] == [
        "systemctl is-active apache2",
        "systemctl is-enabled apache2",
    ]
    assert svc.evidence[0]["status"] == 0 and "active" in svc.evidence[0]["output"]


def test_service_active_but_not_enabled_fails_with_reason() -> None:
    sc = scenario(
        crit(
            "svc",
            check={"type": "service_active", "node": "web", "service": "mariadb", "enabled": True},
        )
    )
    transport = Scripted(
        {r"is-active": CommandResult(0, "active\n"), r"is-enabled": CommandResult(1, "disabled\n")}
    )
    result = run(sc, transport).criteria[0]
    assert result.score == 0 and "disabled at boot" in result.message


def test_dependency_not_met_blocks_instead_of_failing() -> None:
    sc = scenario(
        crit("base", check={"type": "command", "node": "web", "run": "false"}),
        crit("after", depends_on=["base"], check={"type": "command", "node": "web", "run": "true"}),
    )
    transport = Scripted({r"^true$": OK, r"^false$": CommandResult(1, "")})
    base, after = run(sc, transport).criteria
    assert base.status == "failed"
    assert after.status == "blocked" and after.score == 0 and "base" in after.message
    assert transport.asked == ["false"]  # the blocked criterion ran nothing


def test_unreachable_node_scores_zero_with_the_reason_as_evidence() -> None:
    sc = scenario(
        crit("a", check={"type": "command", "node": "web", "run": "true"}),
        crit("b", check={"type": "file", "node": "web", "path": "/etc/passwd"}),
    )
    report = run(sc, Down())
    assert report.percent == 0
    for c in report.criteria:
        assert c.status == "failed" and "unreachable" in c.message
        assert "Connection refused" in c.evidence[0]["output"] and c.evidence[0]["status"] is None


def test_a_crashing_grader_function_costs_the_criterion_not_the_grade() -> None:
    sc = scenario(
        crit(
            "py",
            check={"type": "python", "function": "graders.runner:render", "args": {"nothing": 1}},
        ),
        crit("ok", check={"type": "command", "node": "web", "run": "true"}),
    )
    py, ok = run(sc, Scripted({r"true": OK})).criteria
    assert py.score == 0 and "check error" in py.message
    assert ok.score == 1


def test_file_check_mode_owner_and_content() -> None:
    check = {
        "type": "file",
        "node": "web",
        "path": "/etc/x.conf",
        "mode": "0640",
        "owner": "root",
        "regex": r"^ServerTokens Prod",
        "not_regex": "Indexes",
    }
    transport = Scripted(
        {
            r"^stat": CommandResult(0, "640 root root\n"),
            r"^head": CommandResult(0, "ServerTokens Prod\nOptions -FollowSymLinks\n"),
        }
    )
    assert run(scenario(crit("f", check=check)), transport).criteria[0].score == 1
    transport.answers[r"^head"] = CommandResult(0, "ServerTokens Prod\nOptions Indexes\n")
    assert "must not" in run(scenario(crit("f", check=check)), transport).criteria[0].message
    transport.answers[r"^stat"] = CommandResult(0, "644 root root\n")
    assert "mode 644" in run(scenario(crit("f", check=check)), transport).criteria[0].message


def test_sql_check_builds_a_safe_command_and_counts_rows() -> None:
    check = {
        "type": "sql",
        "node": "web",
        "query": "SELECT titre FROM livres",
        "database": "{{ db }}",
        "expect_rows": 3,
    }
    transport = Scripted({r"^mysql": CommandResult(0, "a\nb\nc\n")})
    result = run(scenario(crit("q", check=check)), transport, {"db": "colibri; rm -rf /"}).criteria[
        0
    ]
    assert result.score == 1
    assert transport.asked == [
        "mysql --batch --skip-column-names --connect-timeout=5 "
        "--default-character-set=utf8mb4 "
        "'--database=colibri; rm -rf /' -e 'SELECT titre FROM livres'"
    ]


def test_render_fills_known_placeholders_only() -> None:
    assert render({"a": ["{{ x }}", "{{y}}"], "b": 3}, {"x": "1"}) == {"a": ["1", "{{y}}"], "b": 3}


@pytest.fixture
def web() -> Iterator[int]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = f"<h1>{self.headers['Host']}</h1><td>Germinal</td>".encode()
            self.send_response(200 if self.path == "/" else 404)
            self.send_header("X-Powered-By", "PHP/8.2")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()


def test_http_check_from_the_grader_with_host_header(web: int) -> None:
    base = {"type": "http", "node": "web", "port": web, "host": "{{ site }}"}
    sc = scenario(
        crit("page", check={**base, "body_contains": ["intranet.lan", "Germinal"]}),
        crit("missing", check={**base, "path": "/nope"}),
        crit("header", check={**base, "header_absent": "X-Powered-By"}),
        crit("port", check={"type": "port_listening", "node": "web", "port": web}),
        crit(
            "closed", check={"type": "port_listening", "node": "web", "port": 1, "expect": "closed"}
        ),
    )
    page, missing, header, port, closed = run(sc, Scripted({}), {"site": "intranet.lan"}).criteria
    assert page.score == 1 and page.evidence[0]["command"].startswith("GET http://intranet.lan:")
    assert missing.score == 0 and "404" in missing.message
    assert header.score == 0 and "X-Powered-By" in header.message
    assert port.score == 1 and closed.score == 1
