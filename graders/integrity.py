"""Did the candidate change the node's own tools? Judged from the host, against Debian.

A root candidate can replace `systemctl`, `dpkg-query`, `php` or libc to fake a check that
runs inside the node. Before grading, every executable and shared library that changed
against the platform's image (graders.layers, read from the host) must be, byte
for byte, what a verified Debian package ships at that path (graders.debs: packages that came
through the platform's cache with Debian's signature chain). Links must lead to such files or
to the image's own. `/etc/ld.so.preload` and libraries dropped in the loader's path
(`/usr/local/lib`) count as tampering too. What is found is reported per node, and commands
inside a tampered node are not believed (CheckContext.untrusted).
"""

from __future__ import annotations

import hashlib
import os
import stat
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from graders import rootfs
from graders.debs import PackageIndex
from graders.layers import Changes
from graders.report import Finding

SYSTEM_DIRS = ("usr/bin", "usr/sbin", "usr/lib", "usr/lib64", "usr/libexec", "usr/lib32")
MERGED = ("bin", "sbin", "lib", "lib64", "lib32")  # links to usr/* on Debian 12, dirs if forged
LOADER_DIRS = ("usr/local/lib",)
PRELOAD = "/etc/ld.so.preload"
MAX_HASHED = 512 << 20
MAX_WALKED = 5000  # files below a linked directory: a package's data, not a tree to hide in


@dataclass
class Integrity:
    """Executables and libraries of one node as judged; `genuine` serves the process checks."""

    index: PackageIndex
    changes: Changes | None = None  # what differs from the image
    changed: set[str] = field(default_factory=set)  # system files that differ from the image
    digests: dict[str, str] = field(default_factory=dict)  # md5 of each changed program
    findings: list[Finding] = field(default_factory=list)
    checked: int = 0

    def genuine(self, path: str, md5: str) -> tuple[bool, str]:
        """Is a file at `path` with this md5 the image's or a verified package's?"""
        shipped = self.index.shipped(path) | self.index.shipped(alias(path))
        if md5 in shipped:
            return True, "as a verified Debian package ships it"
        if not self._changed(path):
            return True, "as in the platform's image"
        if shipped:
            return False, "changed: not as any verified Debian package ships it"
        return False, "no verified Debian package ships this file"

    def _changed(self, path: str) -> bool:
        if in_system(path):
            return path in self.changed or alias(path) in self.changed
        return self.changes is None or self.changes.changed(path)

    @property
    def summary(self) -> str:
        paths = ", ".join(f.path for f in self.findings[:5])
        more = f" and {len(self.findings) - 5} more" if len(self.findings) > 5 else ""
        return f"system files changed outside Debian's packages: {paths}{more}"


def alias(path: str) -> str:
    """/bin/x <-> /usr/bin/x: packages still name the merged directories by their old names."""
    for old in MERGED:
        if path.startswith(f"/{old}/"):
            return "/usr" + path
        if path.startswith(f"/usr/{old}/"):
            return path[4:]
    return path


def in_system(path: str) -> bool:
    return any(path.startswith(f"/{d}/") for d in (*SYSTEM_DIRS, *MERGED))


def md5_of(handle: BinaryIO) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for block in iter(lambda: handle.read(1 << 20), b""):
        digest.update(block)
    return digest.hexdigest()


def _md5(path: Path) -> str:
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        return md5_of(handle)


def scan(changes: Changes, root: str, index: PackageIndex) -> Integrity:
    """Judge every executable, library and link that changed under the system directories.

    `changes`: what differs from the image, on the host; `root`: the node's root (for links).
    """
    result = Integrity(index, changes)
    entries = [e for top in (*SYSTEM_DIRS, *MERGED) for e in changes.walk(top)]
    result.changed = {path for path, _ in entries}
    programs = [
        path
        for path, st in entries
        if stat.S_ISREG(st.st_mode)
        and (st.st_mode & 0o111 or ".so" in path.rsplit("/", 1)[-1])
        and st.st_size <= MAX_HASHED
    ]
    with ThreadPoolExecutor(max_workers=4) as pool:  # md5 lets go of the GIL: both cores hash
        digests = dict(
            zip(programs, pool.map(lambda p: _md5(changes.host(p)), programs), strict=True)
        )
    for path, st in entries:
        if path in digests:
            ok, why = result.genuine(path, digests[path])
            if not ok:
                result.findings.append(Finding(path=path, problem=why))
        elif stat.S_ISREG(st.st_mode) and st.st_size > MAX_HASHED:
            result.findings.append(Finding(path=path, problem="too large to verify"))
        elif stat.S_ISLNK(st.st_mode):
            problem = _link_problem(result, root, path)
            if problem:
                result.findings.append(Finding(path=path, problem=problem))
    result.checked = len(result.digests) + sum(stat.S_ISLNK(st.st_mode) for _, st in entries)
    for path, _ in (e for top in LOADER_DIRS for e in changes.walk(top)):
        if ".so" in path.rsplit("/", 1)[-1] and path.count("/") == 4:
            result.findings.append(
                Finding(path=path, problem="a library in the loader's path, from no package")
            )
    preload = rootfs.read(root, PRELOAD, 4096)
    if preload is not None and preload.content and preload.content.strip():
        result.findings.append(
            Finding(path=PRELOAD, problem="preloads a library into every program")
        )
    return result


def _link_problem(result: Integrity, root: str, path: str) -> str | None:
    """A link in a system directory must end at an image file or a verified package file (a
    package's configuration file included), or at a directory whose programs are all such."""
    try:
        real = "/" + "/".join(rootfs.resolve(root, path))
    except OSError:
        return "a link loop"
    if in_system(real) or in_system(real + "/"):
        return None  # judged as a file of its own, if it changed
    info = rootfs.read(root, real, MAX_HASHED)
    if info is not None and info.kind == "dir":  # /bin -> a folder of the candidate's tools?
        foreign = _foreign_programs(result, root, real)
        if not foreign:
            return None
        return f"links to {real}, whose programs no verified package ships: {foreign[0]}"
    if info is None or info.kind != "file" or info.content is None:
        return None  # a dangling link breaks a tool, it fakes nothing
    if result.index.conffile(real):  # Debian's own links into /etc (python3's sitecustomize)
        return None
    md5 = hashlib.md5(info.content, usedforsecurity=False).hexdigest()
    ok, _ = result.genuine(real, md5)
    return None if ok else f"links to {real}, which no verified Debian package ships"


def _foreign_programs(result: Integrity, root: str, top: str) -> list[str]:
    """Programs and libraries below `top`, added since the image, that no verified package
    ships (a package's data directory, linked from its Python module, holds none)."""
    if result.changes is None:
        return [top]
    entries = result.changes.walk(top.lstrip("/"))
    if len(entries) > MAX_WALKED:
        return [f"{top} (more than {MAX_WALKED} files)"]
    foreign = []
    for path, _ in entries:
        try:
            real = "/" + "/".join(rootfs.resolve(root, path))
        except OSError:
            continue  # a loop runs nothing
        head = rootfs.read(root, real, 0)
        if head is None or head.kind != "file":
            continue
        if not (head.mode & 0o111 or ".so" in real.rsplit("/", 1)[-1]):
            continue  # data: it runs nothing
        info = rootfs.read(root, real, MAX_HASHED)
        md5 = hashlib.md5(info.content or b"", usedforsecurity=False).hexdigest() if info else ""
        if not result.genuine(real, md5)[0]:
            foreign.append(path)
    return foreign
