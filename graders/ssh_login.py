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

from collections.abc import Callable, Iterable

from graders.contract import NodeView
from graders.report import Finding

SHELLS = ("/bin/bash", "/usr/bin/bash", "/bin/sh", "/usr/bin/sh")
# Read by bash or sh at root's login, by sshd, or by PAM for sshd's session (pam_env sets
# variables such as BASH_ENV or LD_PRELOAD for the shell), as Debian 12 sets them up.
LOGIN_FILES = (
    "/root/.bashrc",
    "/root/.profile",
    "/root/.bash_profile",
    "/root/.bash_login",
    "/root/.bash_aliases",
    "/root/.inputrc",  # readline macros rewrite the line the grader types
    "/root/.bash_completion",  # bash-completion, loaded by interactive shells
    "/root/.config/bash_completion",
    "/root/.pam_environment",  # pam_env with user_readenv=1 (/etc/pam.d/sshd)
    "/etc/bash.bashrc",
    "/etc/profile",
    "/etc/inputrc",
    "/etc/bash_completion",
    "/usr/share/bash-completion/bash_completion",
    "/etc/environment",
    "/etc/default/locale",
    "/etc/security/pam_env.conf",
    "/etc/pam.d/sshd",
    "/etc/pam.d/common-auth",
    "/etc/pam.d/common-account",
    "/etc/pam.d/common-session",
    "/etc/nsswitch.conf",  # where `root` is looked up
    "/root/.ssh/rc",
    "/etc/ssh/sshrc",
    "/etc/ssh/sshd_config",
    "/etc/default/ssh",  # SSHD_OPTS: sshd's own options
    "/etc/systemd/system/ssh.service",
)
LOGIN_DIRS = (
    "/etc/profile.d",
    "/etc/bash_completion.d",
    "/etc/ssh/sshd_config.d",
    "/etc/systemd/system/ssh.service.d",
)
AUTHORIZED = ("/root/.ssh/authorized_keys", "/root/.ssh/authorized_keys2")
MAX_READ = 256 << 10
WHY = "read at root's SSH login, which runs the grader's commands: changed since the image"


def login_findings(
    view: NodeView,
    entries: Callable[[str], Iterable[str]] | None = None,
    grader_key: str | None = None,
) -> list[Finding]:
    """What would let root's SSH login fake the node's answers ([] if nothing).

    `entries(folder)` lists a folder's names, for views whose `changed(folder)` says only
    whether names were added or removed (a VM's disk), not whether a file in it changed (a
    container's upper layer says both). `grader_key`: the grader's public key (base64): the
    lines holding it in root's authorized_keys must carry no option (`command=`).
    Raises what the view raises (NodeUnreachable)."""
    findings = _account(view)
    paths = list(LOGIN_FILES)
    for folder in LOGIN_DIRS:
        paths.append(folder)
        if entries is not None:
            paths += [f"{folder}/{name}" for name in sorted(entries(folder))]
    findings += [Finding(path=path, problem=WHY) for path in paths if view.changed(path)]
    if grader_key:
        findings += _forced_keys(view, grader_key)
    return findings


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
