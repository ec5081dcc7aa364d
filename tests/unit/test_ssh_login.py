"""What root's SSH login may run, judged from a node's host view (a fake one here)."""

from __future__ import annotations

import socket
from dataclasses import dataclass, field

import pytest

from graders.contract import FileInfo, NodeUnreachable, Process
from graders.ssh_login import LOGIN_DIRS, LOGIN_FILES, login_findings, summary

ROOT = b"root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
KEY = "AAAAC3NzaC1lZDI1NTE5AAAAIGraderKeyForTests"


@dataclass
class View:
    """A node's files as the host sees them, and which differ from the image."""

    files: dict[str, bytes] = field(default_factory=lambda: {"/etc/passwd": ROOT})
    touched: set[str] = field(default_factory=set)
    asked: list[str] = field(default_factory=list)
    down: bool = False

    def read(self, path: str, limit: int) -> FileInfo | None:
        if self.down:
            raise NodeUnreachable("node is exited")
        data = self.files.get(path)
        if data is None:
            return None
        return FileInfo(path, "file", 0o644, 0, 0, data[:limit], len(data) > limit)

    def changed(self, path: str) -> bool:
        self.asked.append(path)
        return path in self.touched

    def listeners(self, port: int | str, protocol: str = "tcp") -> list[Process]:
        return []

    def process(self, pid: int) -> Process | None:
        return None

    def digest(self, path: str) -> str | None:
        return None

    def connect(self, path: str, timeout: float) -> socket.socket:
        raise FileNotFoundError(path)


def problems(view: View, **kw: object) -> list[tuple[str, str]]:
    return [(f.path, f.problem) for f in login_findings(view, **kw)]  # type: ignore[arg-type]


def test_the_images_login_is_believed() -> None:
    view = View(
        files={
            "/etc/passwd": ROOT,
            "/root/.ssh/authorized_keys": f"ssh-ed25519 {KEY} praxis-grader\n".encode(),
        }
    )
    assert problems(view, grader_key=KEY) == []
    assert set(LOGIN_FILES) | set(LOGIN_DIRS) <= set(view.asked)


@pytest.mark.parametrize(
    "path",
    [
        "/root/.bashrc",
        "/etc/profile.d",
        "/etc/ssh/sshd_config.d",
        "/root/.inputrc",
        "/etc/ssh/sshd_config",
        "/root/.ssh/rc",
        "/etc/environment",
        "/root/.pam_environment",
    ],
)
def test_a_changed_login_file_is_a_finding(path: str) -> None:
    found = problems(View(touched={path}))
    assert found == [
        (
            path,
            "read at root's SSH login, which runs the grader's commands: changed since the image",
        )
    ]


def test_files_in_login_folders_are_asked_one_by_one_where_the_view_needs_it() -> None:
    """A VM's disk says a folder changed only when names came or went: each file is asked."""
    view = View(touched={"/etc/profile.d/bash_completion.sh"})
    names = {"/etc/profile.d": ["bash_completion.sh"], "/etc/ssh/sshd_config.d": ["praxis.conf"]}
    found = problems(view, entries=lambda folder: names.get(folder, []))
    assert [p for p, _ in found] == ["/etc/profile.d/bash_completion.sh"]
    assert "/etc/ssh/sshd_config.d/praxis.conf" in view.asked
    assert problems(View(touched={"/etc/profile.d/bash_completion.sh"})) == []  # not asked


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        (b"root:x:0:0:root:/root:/usr/bin/sh", None),
        (b"root:x:0:0:root:/root/:/bin/bash", None),
        (
            b"root:x:0:0:root:/root:/usr/local/bin/fakesh",
            "root's login shell is /usr/local/bin/fakesh, not a plain shell",
        ),
        (
            b"root:x:0:0:root:/root:/usr/sbin/nologin",
            "root's login shell is /usr/sbin/nologin, not a plain shell",
        ),
        (b"root:x:0:0:root:/tmp/home:/bin/bash", "root's home is /tmp/home, not /root"),
        (b"root:x:1000:0:root:/root:/bin/bash", "root has uid 1000"),
        (b"root:x:0:0", "root's entry is malformed"),
        (b"daemon:x:1:1::/:/bin/sh", "no entry for root"),
    ],
)
def test_roots_account(entry: bytes, problem: str | None) -> None:
    found = problems(View(files={"/etc/passwd": entry + b"\n"}))
    assert found == ([("/etc/passwd", problem)] if problem else [])


def test_the_first_root_entry_is_the_one_sshd_uses() -> None:
    passwd = ROOT + b"root:x:0:0:root:/root:/usr/local/bin/evil\n"
    assert problems(View(files={"/etc/passwd": passwd})) == []
    passwd = b"root:x:0:0:root:/root:/usr/local/bin/evil\n" + ROOT
    assert len(problems(View(files={"/etc/passwd": passwd}))) == 1


def test_options_on_the_graders_key_are_a_finding() -> None:
    forced = f'command="/root/fake" ssh-ed25519 {KEY} x\nssh-ed25519 {KEY} praxis-grader\n'
    view = View(files={"/etc/passwd": ROOT, "/root/.ssh/authorized_keys": forced.encode()})
    assert problems(view, grader_key=KEY) == [
        ("/root/.ssh/authorized_keys", "the grader's key carries options")
    ]
    theirs = 'from="10.0.0.1" ssh-ed25519 AAAAother candidate\n'
    view.files["/root/.ssh/authorized_keys"] = theirs.encode()
    assert problems(view, grader_key=KEY) == []  # the candidate's own keys are theirs
    view.files["/root/.ssh/authorized_keys2"] = b"x" * (300 << 10)
    assert problems(view, grader_key=KEY) == [
        ("/root/.ssh/authorized_keys2", "too large to verify")
    ]


def test_a_node_that_is_down_raises_as_its_view_does() -> None:
    with pytest.raises(NodeUnreachable):
        login_findings(View(down=True))


def test_summary_names_the_files() -> None:
    view = View(
        touched={
            "/root/.bashrc",
            "/etc/profile",
            "/etc/inputrc",
            "/root/.profile",
            "/etc/environment",
            "/etc/ssh/sshrc",
        }
    )
    text = summary(login_findings(view))
    assert text.startswith("root's SSH login could run the candidate's code: /root/.bashrc, ")
    assert text.endswith(" and 1 more")


def test_a_command_run_by_sshd_reads_no_profile_an_interactive_login_does() -> None:
    """A VM's grader runs commands (`exec`): bash reads ~/.bashrc there, not the profiles, so
    a package's /etc/profile.d/gawk.sh does not withhold its verdicts; netmiko's login does."""
    view = View(touched={"/etc/profile.d", "/root/.profile"})
    assert problems(view, interactive=False) == []
    assert [p for p, _ in problems(view, interactive=True)] == ["/root/.profile", "/etc/profile.d"]
    assert [p for p, _ in problems(View(touched={"/root/.bashrc"}), interactive=False)] == [
        "/root/.bashrc"
    ]


# common-session as pam-auth-update writes it once libpam-systemd is installed.
COMMON_SESSION = b"""# here are the per-package modules (the "Primary" block)
session [default=1]                     pam_permit.so
session requisite                       pam_deny.so
session required                        pam_permit.so
session optional                        pam_umask.so
session required        pam_unix.so
session optional        pam_systemd.so
"""


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        (b"", None),
        (b"@include common-password\n", None),
        (b"session optional pam_exec.so /root/at-login.sh\n", "loads pam_exec.so"),
        (b"session optional /root/pam_evil.so\n", "loads /root/pam_evil.so"),
        (
            b"session required pam_env.so user_readenv=1\n",
            "pam_env reads variables from another file",
        ),
        (b"@include /root/extra\n", "includes /root/extra"),
    ],
)
def test_a_changed_pam_file_is_judged_by_its_lines(line: bytes, problem: str | None) -> None:
    path = "/etc/pam.d/common-session"
    view = View(files={"/etc/passwd": ROOT, path: COMMON_SESSION + line}, touched={path})
    assert problems(view, interactive=False) == ([(path, problem)] if problem else [])
