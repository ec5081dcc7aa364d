"""Checks and scoring against scripted nodes (the engine boundary), and a real HTTP server."""

from __future__ import annotations

import hashlib
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from pydantic import ValidationError

import graders.runner
from graders.checks import CHECKS
from graders.contract import (
    CommandResult,
    FileInfo,
    GraderError,
    NodeUnreachable,
    Process,
)
from graders.debs import Deb, PackageIndex
from graders.report import GradeReport
from graders.runner import grade, render
from labs.scenario import Scenario


class Scripted:
    """Answers commands by the first regex that matches; records what it was asked."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers, self.asked = answers, []  # type: ignore[var-annotated]

    def run(self, command: str, timeout: float) -> CommandResult:
        self.asked.append(command)
        for pattern, result in self.answers.items():
            if re.search(pattern, command):
                if isinstance(result, Exception):
                    raise result
                return result  # type: ignore[no-any-return]
        return CommandResult(127, "", "command not found")


@dataclass
class View:
    """The host's view of a node, as data."""

    files: dict[str, bytes | FileInfo] = field(default_factory=dict)
    sockets: dict[int | str, list[Process]] = field(default_factory=dict)  # TCP ports, unix paths
    udp: dict[int, list[Process]] = field(default_factory=dict)
    processes: dict[int, Process] = field(default_factory=dict)
    touched: set[str] = field(default_factory=set)

    def read(self, path: str, limit: int) -> FileInfo | None:
        item = self.files.get(path)
        if isinstance(item, bytes):
            return FileInfo(path, "file", 0o644, 0, 0, item[:limit], len(item) > limit)
        return item

    def listeners(self, port: int | str, protocol: str = "tcp") -> list[Process]:
        if protocol == "udp" and isinstance(port, int):
            return self.udp.get(port, [])
        return self.sockets.get(port, [])

    def process(self, pid: int) -> Process | None:
        return self.processes.get(pid)

    def changed(self, path: str) -> bool:
        return path in self.touched

    def digest(self, path: str) -> str | None:
        info = self.read(path, 1 << 30)
        return hashlib.md5(info.content).hexdigest() if info and info.content is not None else None

    def connect(self, path: str, timeout: float) -> socket.socket:
        raise FileNotFoundError(path)


class Down:
    def run(self, command: str, timeout: float) -> CommandResult:
        raise NodeUnreachable("node is not running: container exited")

    def read(self, path: str, limit: int) -> FileInfo | None:
        raise NodeUnreachable("node is not running: container exited")


def scenario(*criteria: dict[str, Any], criterion_budget: str = "60s") -> Scenario:
    return Scenario.model_validate(
        {
            "id": "t",
            "title": {"fr": "t"},
            "duration": "10m",
            "nodes": {"web": {"image": "debian-bookworm"}},
            "criteria": list(criteria),
            "grading": {"criterion_budget": criterion_budget},
        }
    )


def crit(cid: str, weight: float = 1, **kw: Any) -> dict[str, Any]:
    return {"id": cid, "title": {"fr": cid}, "weight": weight, **kw}


def run(
    sc: Scenario,
    transport: Any,
    params: dict[str, str] | None = None,
    view: Any = None,
    **options: Any,
) -> GradeReport:
    views = {"web": view} if view is not None else {}
    return grade(sc, {"web": transport}, {"web": "127.0.0.1"}, params or {}, views, **options)


OK = CommandResult(0, "")
APACHE = Process(812, "/usr/sbin/apache2", True, "as a verified Debian package ships it")


def unit(active: str = "active", enabled: str = "enabled", pid: int = 812) -> CommandResult:
    return CommandResult(0, f"MainPID={pid}\nActiveState={active}\nUnitFileState={enabled}\n")


def status(*packages: tuple[str, str]) -> bytes:
    stanzas = [
        f"Package: {name}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {version}\n"
        for name, version in packages
    ]
    return "\n".join(stanzas).encode()


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
    binary = b"\x7fELF apache2"
    index = PackageIndex(
        [
            Deb(
                "apache2",
                "2.4.62",
                "amd64",
                {"/usr/sbin/apache2": hashlib.md5(binary).hexdigest()},
                (),
            )
        ]
    )
    view = View(
        files={"/var/lib/dpkg/status": status(("apache2", "2.4.62")), "/usr/sbin/apache2": binary},
        processes={812: APACHE},
    )
    report = run(sc, Scripted({r"systemctl show": unit()}), view=view, packages=index)
    svc, pkgs = report.criteria
    assert (svc.score, svc.status) == (1.0, "passed")
    assert (pkgs.score, pkgs.status) == (0.5, "partial")
    assert "verified against Debian's package" in pkgs.message
    assert report.points == 3.5 and report.max_points == 4 and report.percent == 87.5
    assert [e.via for e in svc.evidence] == ["node", "host"]
    assert svc.evidence[1].output == f"{APACHE.exe}: {APACHE.why}"
    assert report.complete


def test_service_checks_the_unit_and_the_program_that_really_runs() -> None:
    check = {"type": "service_active", "node": "web", "service": "apache2", "enabled": True}
    sc = scenario(crit("svc", check={**check, "exe": "/sbin/apache2"}))
    disabled = run(sc, Scripted({r"systemctl": unit(enabled="disabled")}), view=View())
    assert "disabled at boot" in disabled.criteria[0].message
    python = Process(812, "/usr/bin/python3.11", True, "as a verified Debian package ships it")
    fake = run(sc, Scripted({r"systemctl": unit()}), view=View(processes={812: python}))
    assert fake.criteria[0].score == 0 and "runs /usr/bin/python3.11" in fake.criteria[0].message
    forged = Process(812, "/usr/sbin/apache2", False, "changed: not as any verified package")
    forged_run = run(sc, Scripted({r"systemctl": unit()}), view=View(processes={812: forged}))
    assert forged_run.criteria[0].score == 0 and "changed" in forged_run.criteria[0].message
    genuine = run(sc, Scripted({r"systemctl": unit()}), view=View(processes={812: APACHE}))
    assert genuine.criteria[0].score == 1  # /sbin and /usr/sbin are one directory


def test_a_silent_systemd_is_no_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(graders.runner, "RETRY_PAUSE", 0)
    check = {"type": "service_active", "node": "web", "service": "apache2"}
    busy = Scripted({r"systemctl": CommandResult(1, "", "Failed to connect to bus: timeout")})
    result = run(scenario(crit("svc", check=check)), busy, view=View()).criteria[0]
    assert result.status == "error" and "Failed to connect to bus" in result.message


def test_packages_are_believed_only_as_debian_ships_them() -> None:
    sc = scenario(crit("p", check={"type": "package_installed", "node": "web", "package": "x"}))
    deb = Deb("x", "1.0", "amd64", {"/usr/bin/x": hashlib.md5(b"real").hexdigest()}, ())
    files: dict[str, bytes | FileInfo] = {"/var/lib/dpkg/status": status(("x", "1.0"))}
    forged = run(sc, Scripted({}), view=View(files={**files, "/usr/bin/x": b"fake"}),
                 packages=PackageIndex([deb]))  # fmt: skip
    assert forged.criteria[0].score == 0 and "/usr/bin/x changed" in forged.criteria[0].message
    claimed = run(sc, Scripted({}), view=View(files=files, touched={"/var/lib/dpkg/info/x.list"}))
    assert claimed.criteria[0].score == 0 and "no verified" in claimed.criteria[0].message
    listed = {**files, "/var/lib/dpkg/info/x.list": b"/usr/bin/x\n"}
    assert run(sc, Scripted({}), view=View(files=files)).criteria[0].score == 0  # no file list
    from_image = run(sc, Scripted({}), view=View(files=listed))
    assert from_image.criteria[0].score == 1 and "image" in from_image.criteria[0].message


def test_a_look_alike_server_does_not_pass_for_apache(web: int) -> None:
    http = {"type": "http", "node": "web", "port": web, "served_by": "/usr/sbin/apache2"}
    sc = scenario(crit("page", check=http))
    python = Process(90, "/usr/bin/python3.11", True, "as a verified Debian package ships it")
    fake = run(sc, Scripted({}), view=View(sockets={web: [python]}))
    assert fake.criteria[0].score == 0 and "held by /usr/bin/python3.11" in fake.criteria[0].message
    assert fake.criteria[0].evidence[0].via == "outside"
    assert fake.criteria[0].evidence[1].via == "host"
    assert run(sc, Scripted({}), view=View(sockets={web: [APACHE]})).criteria[0].score == 1


NAMED = Process(53, "/usr/sbin/named", True, "as a verified Debian package ships it")


def test_a_udp_port_is_judged_on_the_node_by_its_bound_socket() -> None:
    udp = {"type": "port_listening", "node": "web", "port": 53, "protocol": "udp", "from": "node"}
    sc = scenario(crit("udp", check={**udp, "served_by": "/usr/sbin/named"}))
    bound = run(sc, Scripted({}), view=View(udp={53: [NAMED]})).criteria[0]
    assert (bound.score, bound.message) == (1, "udp port 53 is open on the node")
    assert bound.evidence[0].command == "listening on udp port 53 (host view)"
    assert bound.evidence[1].command == "who listens on udp port 53 (host view)"
    tcp_only = run(sc, Scripted({}), view=View(sockets={53: [NAMED]})).criteria[0]
    assert (tcp_only.score, tcp_only.message) == (0, "udp port 53 is closed on the node, not open")
    python = Process(90, "/usr/bin/python3.11", True, "as a verified Debian package ships it")
    fake = run(sc, Scripted({}), view=View(udp={53: [python]})).criteria[0]
    assert fake.score == 0
    assert fake.message == "udp port 53 is held by /usr/bin/python3.11, not /usr/sbin/named"
    tcp = run(scenario(crit("tcp", check={**udp, "protocol": "tcp"})), Scripted({}),
              view=View(sockets={53: [NAMED]})).criteria[0]  # fmt: skip
    assert (tcp.score, tcp.message) == (1, "tcp port 53 is open on the node")


@pytest.mark.parametrize("where", [{}, {"from": "grader"}])
def test_a_udp_port_is_not_judged_from_the_grader(where: dict[str, str]) -> None:
    check = {"type": "port_listening", "node": "web", "port": 53, "protocol": "udp", **where}
    with pytest.raises(ValidationError, match="from: node") as refused:
        graders.runner.parse_check(check, {})
    assert "`dns`" in str(refused.value)
    graders.runner.parse_check({**check, "from": "node"}, {})


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


def test_a_down_node_scores_zero_with_the_reason_as_evidence() -> None:
    sc = scenario(
        crit("a", check={"type": "command", "node": "web", "run": "true"}),
        crit("b", check={"type": "file", "node": "web", "path": "/etc/passwd"}),
    )
    report = run(sc, Down(), view=Down())
    assert report.percent == 0 and report.complete
    for c in report.criteria:
        assert c.status == "failed" and "unreachable" in c.message
    assert "container exited" in report.criteria[0].evidence[0].output


def test_a_grader_failure_is_retried_then_an_error_not_a_fail(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(graders.runner, "RETRY_PAUSE", 0)
    sc = scenario(crit("a", check={"type": "command", "node": "web", "run": "true"}))
    flaky = Scripted({r"true": GraderError("engine: connection reset")})
    report = run(sc, flaky)
    assert flaky.asked == ["true", "true"]
    assert report.criteria[0].status == "error" and "connection reset" in report.criteria[0].message
    assert not report.complete and report.as_dict()["complete"] is False

    answers = iter([GraderError("engine: busy"), OK])

    class Once:
        def run(self, command: str, timeout: float) -> CommandResult:
            outcome = next(answers)
            if isinstance(outcome, Exception):
                raise outcome
            return outcome

    assert run(sc, Once()).criteria[0].status == "passed"


def test_a_criterion_past_its_budget_is_an_error_and_grading_goes_on() -> None:
    class Slow:
        def run(self, command: str, timeout: float) -> CommandResult:
            time.sleep(3 if command == "slow" else 0)
            return OK

    sc = scenario(
        crit("slow", check={"type": "command", "node": "web", "run": "slow"}),
        crit("fast", check={"type": "command", "node": "web", "run": "fast"}),
        criterion_budget="1s",
    )
    start = time.monotonic()
    slow, fast = run(sc, Slow()).criteria
    assert time.monotonic() - start < 2.5
    assert slow.status == "error" and "budget" in slow.message and fast.status == "passed"


def test_criteria_do_not_spend_their_budget_waiting_for_a_thread() -> None:
    """A lab where every criterion takes most of its budget (a slow VM): twelve of them all
    pass; with eight threads, the last four would spend theirs in the queue."""

    class Slow:
        def run(self, command: str, timeout: float) -> CommandResult:
            time.sleep(1.2)
            return OK

    ids = [f"c{i}" for i in range(12)]
    checks = (crit(c, check={"type": "command", "node": "web", "run": c}) for c in ids)
    sc = scenario(*checks, criterion_budget="2s")
    assert [c.status for c in run(sc, Slow()).criteria] == ["passed"] * 12


def test_untrusted_node_tools_give_no_verdict_but_outside_views_still_count() -> None:
    sc = scenario(
        crit("cmd", check={"type": "command", "node": "web", "run": "true"}),
        crit("file", check={"type": "file", "node": "web", "path": "/etc/motd"}),
    )
    transport = Scripted({r"true": OK})
    cmd, motd = run(
        sc, transport, view=View(files={"/etc/motd": b"hi"}), untrusted={"web": "/usr/bin/sh"}
    ).criteria
    assert cmd.score == 0 and "withheld" in cmd.message
    assert motd.score == 1


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


def test_file_check_mode_owner_and_content_from_the_host() -> None:
    check = {
        "type": "file",
        "node": "web",
        "path": "/etc/x.conf",
        "mode": "0640",
        "owner": "www-data",
        "regex": r"^ServerTokens Prod",
        "not_regex": "Indexes",
    }
    passwd = b"root:x:0:0::/root:/bin/bash\nwww-data:x:33:33::/var/www:/usr/sbin/nologin\n"

    def view(mode: int, text: bytes) -> View:
        conf = FileInfo("/etc/x.conf", "file", mode, 33, 33, text)
        return View(files={"/etc/x.conf": conf, "/etc/passwd": passwd, "/etc/group": b""})

    sc = scenario(crit("f", check=check))
    good = run(sc, Scripted({}), view=view(0o640, b"ServerTokens Prod\nOptions -FollowSymLinks\n"))
    assert good.criteria[0].score == 1 and good.criteria[0].evidence[0].via == "host"
    indexes = run(sc, Scripted({}), view=view(0o640, b"ServerTokens Prod\nOptions Indexes\n"))
    assert "must not" in indexes.criteria[0].message
    assert "mode 644" in run(sc, Scripted({}), view=view(0o644, b"")).criteria[0].message


def test_patterns_run_in_linear_time_on_hostile_input() -> None:
    check = {"type": "file", "node": "web", "path": "/v", "regex": r"(?mi)^\s*ServerName\s+x\s*$"}
    start = time.monotonic()
    report = run(
        scenario(crit("f", check=check)), Scripted({}), view=View(files={"/v": b"\n" * 1_000_000})
    )
    assert report.criteria[0].score == 0 and time.monotonic() - start < 1
    with pytest.raises(ValueError, match="invalid regex"):
        graders.runner.parse_check({**check, "regex": r"(a)\1"}, {})


def test_sql_goes_to_the_node_socket_from_the_host_and_hides_the_password() -> None:
    check = {
        "type": "sql",
        "node": "web",
        "query": "SELECT titre FROM livres",
        "database": "{{ db }}",
        "user": "app",
        "password": "{{ secret }}",
        "expect_rows": 3,
    }
    params = {"db": "colibri", "secret": "s3cr3t-pw"}
    transport = Scripted({})
    result = run(scenario(crit("q", check=check)), transport, params, view=View()).criteria[0]
    assert result.score == 0 and "cannot connect to /run/mysqld/mysqld.sock" in result.message
    assert transport.asked == []  # no client of the node's was run
    evidence = result.evidence[0]
    assert evidence.via == "host" and "SQL as app via /run/mysqld/mysqld.sock" in evidence.command
    assert "s3cr3t-pw" not in result.model_dump_json()


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
    assert page.score == 1 and page.evidence[0].command.startswith("GET http://intranet.lan:")
    assert missing.score == 0 and "404" in missing.message
    assert header.score == 0 and "X-Powered-By" in header.message
    assert port.score == 1 and closed.score == 1
    assert port.message == f"tcp port {web} is open from the network"
    assert closed.message == "tcp port 1 is closed from the network"


def test_command_check_says_what_it_found_and_takes_several_patterns() -> None:
    config = "Listen 80\nServerName intranet.lan\n" + "x" * 200 + " ServerTokens Prod\n"
    check = {
        "type": "command",
        "node": "web",
        "run": "cat conf",
        "stdout_regex": ["^Listen 80$", "ServerTokens (Prod|ProductOnly)"],
        "stdout_contains": "ServerName",
        "stdout_not_regex": ["^Listen 8080", "ServerSignature On"],
    }
    passed = run(
        scenario(crit("conf", check=check)), Scripted({"cat conf": CommandResult(0, config)})
    ).criteria[0]
    assert passed.score == 1
    assert passed.message == (
        "exit status 0, output shows 'ServerName intranet.lan', 'Listen 80', "
        f"'{'x' * 77}...', output has no /^Listen 8080/, /ServerSignature On/"
    )
    for answer, finding in [
        ("Listen 80\nServerName a\n", "output does not match /ServerTokens (Prod|ProductOnly)/"),
        ("Listen 80\nServerTokens Prod\n", "output does not contain 'ServerName'"),
        (
            config + "  ServerSignature On \n",
            "output matches /ServerSignature On/, which it must not: 'ServerSignature On'",
        ),
    ]:
        failed = run(
            scenario(crit("conf", check=check)), Scripted({"cat conf": CommandResult(0, answer)})
        )
        assert (failed.criteria[0].score, failed.criteria[0].message) == (0, finding)


def test_command_check_patterns_are_checked_at_load_time() -> None:
    check = {"type": "command", "node": "web", "run": "true", "stdout_not_regex": ["ok", "(a"]}
    with pytest.raises(ValidationError, match=r"(?s)stdout_not_regex.*invalid regex '\(\?m\)\(a'"):
        CHECKS.validate_python(check)
