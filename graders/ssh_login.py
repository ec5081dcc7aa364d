"""Can commands that go through root's SSH login be believed? Judged from the host.

A command typed into an SSH session (netmiko) or run by sshd (a VM's `exec`) passes through
root's login shell, and that shell reads files the candidate, as root, controls: a function
named `env` in /root/.bashrc, a readline macro, a `ForceCommand` in sshd's configuration or
`command=` on the grader's key would fake every answer while Debian's programs stay intact
(the integrity scan would see nothing). So, read through the node's host view: root's login
shell must be a plain shell, its home /root, and every file that decides what runs at an SSH
login as in the platform's image. Otherwise the node's answers are not believed.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from graders.contract import NodeView
from graders.report import Finding

SHELLS = ("/bin/bash", "/usr/bin/bash", "/bin/sh", "/usr/bin/sh")
# Read at every SSH login, a command's (`exec`, a VM's grader) as an interactive one's: by sshd,
# by PAM for sshd's session (pam_env sets variables such as BASH_ENV or LD_PRELOAD for the
# shell), and by Debian's bash when sshd runs it (~/.bashrc, even for `bash -c`).
LOGIN_FILES = (
    "/root/.bashrc",
    "/root/.bash_aliases",
    "/root/.pam_environment",  # pam_env with user_readenv=1 (/etc/pam.d/sshd)
    "/etc/environment",
    "/etc/default/locale",
    "/etc/security/pam_env.conf",
    "/etc/nsswitch.conf",  # where `root` (and its shell) is looked up
    "/root/.ssh/rc",
    "/etc/ssh/sshrc",
    "/etc/ssh/sshd_config",
    "/etc/default/ssh",  # SSHD_OPTS: sshd's own options
    "/etc/systemd/system/ssh.service",
)
LOGIN_DIRS = ("/etc/ssh/sshd_config.d", "/etc/systemd/system/ssh.service.d")
# Read only by an interactive login shell (netmiko's): profiles, readline, completion.
INTERACTIVE_FILES = (
    "/root/.profile",
    "/root/.bash_profile",
    "/root/.bash_login",
    "/root/.inputrc",  # readline macros rewrite the line the grader types
    "/root/.bash_completion",
    "/root/.config/bash_completion",
    "/etc/bash.bashrc",
    "/etc/profile",
    "/etc/inputrc",
    "/etc/bash_completion",
    "/usr/share/bash-completion/bash_completion",
)
INTERACTIVE_DIRS = ("/etc/profile.d", "/etc/bash_completion.d")
# PAM for sshd's login: packages edit these (pam-auth-update), so their lines are judged, not
# their change: modules by their bare name load from the system directories the integrity
# scan checks; pam_exec runs a program, pam_env with a user's or another file sets variables.
PAM_FILES = (
    "/etc/pam.d/sshd",
    "/etc/pam.d/common-auth",
    "/etc/pam.d/common-account",
    "/etc/pam.d/common-session",
    "/etc/pam.d/common-session-noninteractive",
    "/etc/pam.d/common-password",
)
PAM_MODULE = re.compile(r"pam_[a-z0-9_]+\.so")
PAM_RISKY = ("pam_exec.so", "pam_python.so", "pam_script.so")
AUTHORIZED = ("/root/.ssh/authorized_keys", "/root/.ssh/authorized_keys2")
MAX_READ = 256 << 10
WHY = "read at root's SSH login, which runs the grader's commands: changed since the image"


def login_findings(
    view: NodeView,
    entries: Callable[[str], Iterable[str]] | None = None,
    grader_key: str | None = None,
    interactive: bool = True,
) -> list[Finding]:
    """What would let root's SSH login fake the node's answers ([] if nothing).

    `entries(folder)` lists a folder's names, for views whose `changed(folder)` says only
    whether names were added or removed (a VM's disk), not whether a file in it changed (a
    container's upper layer says both). `grader_key`: the grader's public key (base64): the
    lines holding it in root's authorized_keys must carry no option (`command=`).
    `interactive`: the login runs an interactive shell (netmiko), not a command (`exec`).
    Raises what the view raises (NodeUnreachable)."""
    findings = _account(view)
    paths = [*LOGIN_FILES, *(INTERACTIVE_FILES if interactive else ())]
    for folder in [*LOGIN_DIRS, *(INTERACTIVE_DIRS if interactive else ())]:
        paths.append(folder)
        if entries is not None:
            paths += [f"{folder}/{name}" for name in sorted(entries(folder))]
    findings += [Finding(path=path, problem=WHY) for path in paths if view.changed(path)]
    findings += [f for path in PAM_FILES if view.changed(path) for f in _pam(view, path)]
    if grader_key:
        findings += _forced_keys(view, grader_key)
    return findings


def _pam(view: NodeView, path: str) -> list[Finding]:
    """A changed PAM file's lines: only modules by their bare name, none that runs a program
    or reads variables from a file the candidate chose, includes of PAM's own files."""
    info = view.read(path, MAX_READ)
    if info is None or info.content is None:
        return []
    if info.truncated:
        return [Finding(path=path, problem="too large to verify")]
    for line in info.content.decode("utf-8", "replace").splitlines():
        words = line.split("#", 1)[0].split()
        if not words:
            continue
        if words[0].startswith("@include"):
            if len(words) != 2 or not re.fullmatch(r"common-[a-z-]+", words[1]):
                return [Finding(path=path, problem=f"includes {' '.join(words[1:])}")]
            continue
        module = next((w for w in words[1:] if ".so" in w or w.startswith("/")), "")
        if not PAM_MODULE.fullmatch(module) or module in PAM_RISKY:
            return [Finding(path=path, problem=f"loads {module or 'an unknown module'}")]
        if module == "pam_env.so" and any(
            w.startswith(("user_readenv=1", "envfile=", "conffile=", "user_envfile="))
            for w in words
        ):
            return [Finding(path=path, problem="pam_env reads variables from another file")]
    return []


def summary(findings: list[Finding]) -> str:
    paths = ", ".join(f.path for f in findings[:5])
    more = f" and {len(findings) - 5} more" if len(findings) > 5 else ""
    return f"root's SSH login could run the candidate's code: {paths}{more}"


def _account(view: NodeView) -> list[Finding]:
    """Root's entry in /etc/passwd: uid 0, home /root, a plain shell (sshd runs it)."""
    info = view.read("/etc/passwd", MAX_READ)
    if info is None or info.content is None:
        return [Finding(path="/etc/passwd", problem="missing: root's login shell is unknown")]
    for line in info.content.decode("utf-8", "replace").splitlines():
        fields = line.split(":")
        if fields[0] != "root":
            continue
        if len(fields) != 7:
            return [Finding(path="/etc/passwd", problem="root's entry is malformed")]
        uid, home, shell = fields[2], fields[5].rstrip("/"), fields[6]
        problems = []
        if uid != "0":
            problems.append(f"root has uid {uid}")
        if home != "/root":
            problems.append(f"root's home is {home}, not /root")
        if shell not in SHELLS:
            problems.append(f"root's login shell is {shell}, not a plain shell")
        return [Finding(path="/etc/passwd", problem=p) for p in problems]
    return [Finding(path="/etc/passwd", problem="no entry for root")]


def _forced_keys(view: NodeView, key: str) -> list[Finding]:
    """A line holding the grader's key behind options (`command="..."` replaces the
    grader's command; sshd uses the first line that matches the key)."""
    found = []
    for path in AUTHORIZED:
        info = view.read(path, MAX_READ)
        if info is None or info.content is None:
            continue
        if info.truncated:  # sshd reads it whole: a line past what was read would count
            found.append(Finding(path=path, problem="too large to verify"))
            continue
        for line in info.content.decode("utf-8", "replace").splitlines():
            words = line.split()
            if key in words and not words[0].startswith(("ssh-", "ecdsa-", "sk-")):
                found.append(Finding(path=path, problem="the grader's key carries options"))
                break
    return found
