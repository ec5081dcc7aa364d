"""Trusted index of the files Debian ships, from the debs in the platform's apt-cacher-ng cache.

Nothing in a candidate's container can be trusted, so a grader asks this index whether a file is
what Debian ships. Only debs Debian's signature chain vouches for count: an InRelease verified by
gpgv lists the sha256 of Packages indexes, which list the sha256 of debs. What a load learns is
persisted: a later load hashes and parses only debs it has not seen.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import logging
import lzma
import os
import re
import shutil
import stat
import subprocess
import tarfile
import threading
import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

log = logging.getLogger("praxis.debs")

DEBIAN_KEYRING = Path("/usr/share/keyrings/debian-archive-keyring.gpg")
TREE = "debrep"  # apt-cacher-ng's remap of Debian mirrors; other trees may come from any host
STATE_FILE = "package-index.json"
STATE_FORMAT = 1
MAX_FILE = 512 << 20  # files above this are never hashed
MAX_MEMBER = 16 << 20  # compressed control member of a deb, or an InRelease
MAX_CONTROL = 64 << 20  # decompressed control tarball
GPGV_TIMEOUT = 30.0

_IN_RELEASE = re.compile(r"dists/[^/]+/InRelease")
_INDEX = re.compile(r"(?:.+/)?binary-[^/]+/Packages(?:\.xz|\.gz)?")
_RELEASE_LINE = re.compile(r" ([0-9a-f]{64}) +([0-9]+) (\S+)")
_DEB_SHA = re.compile(rb"^SHA256:[ \t]*([0-9a-f]{64})[ \t]*$", re.MULTILINE)
_STATUS = re.compile(rb"^\[GNUPG:\] ([A-Z_]+)", re.MULTILINE)
_CLEARSIGNED = re.compile(
    rb"-----BEGIN PGP SIGNED MESSAGE-----\n(?:(?!-----BEGIN PGP)[^\n]*\n)*"
    rb"-----BEGIN PGP SIGNATURE-----\n(?:(?!-----BEGIN PGP)[^\n]*\n)*-----END PGP SIGNATURE-----\s*"
)
_MD5_LINE = re.compile(r"([0-9a-fA-F]{32}) [ *]?(.+)")

Stat = tuple[int, int]  # size, mtime_ns


class DebError(ValueError):
    """A deb that cannot be read: not an ar archive, no control member, too big, zstd."""


@dataclass(frozen=True)
class Deb:
    package: str
    version: str
    architecture: str
    md5sums: dict[str, str]  # "/usr/sbin/apache2" -> md5 hex
    conffiles: tuple[str, ...]


def _open(path: Path) -> io.BufferedReader:
    """Open for reading without following a symlink swapped in after the scan. Raises OSError."""
    return os.fdopen(os.open(path, os.O_RDONLY | os.O_NOFOLLOW), "rb")


def _read(path: Path, limit: int) -> bytes | None:
    """The whole file, or None (logged) if unreadable or above `limit` bytes."""
    try:
        with _open(path) as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        log.warning("cannot read %s: %s", path, exc)
        return None
    return data if len(data) <= limit else None


def _sha256(path: Path, size: int) -> str | None:
    """Hex sha256 of a file, in chunks; None (logged) if unreadable or above MAX_FILE."""
    if size > MAX_FILE:
        log.info("not hashing %s: %d bytes", path, size)
        return None
    try:
        with _open(path) as stream:
            return hashlib.file_digest(stream, "sha256").hexdigest()
    except OSError as exc:
        log.warning("cannot hash %s: %s", path, exc)
        return None


def _scan(top: Path, root: Path) -> dict[str, Stat]:
    """Regular files under `top`, keyed by path relative to `root`; symlinks are not followed."""
    found: dict[str, Stat] = {}
    if os.path.islink(root) or os.path.islink(top):  # os.walk would follow `top`
        return found
    cut = len(str(root)) + 1
    for folder, _dirs, names in os.walk(top, followlinks=False):
        for name in names:
            full = os.path.join(folder, name)
            with contextlib.suppress(OSError):
                st = os.lstat(full)
                if stat.S_ISREG(st.st_mode) and not name.endswith(".head"):
                    found[full[cut:]] = (st.st_size, st.st_mtime_ns)
    return found


def _verified_text(path: Path, keyring: Path) -> str | None:
    """The signed text of an InRelease if a key of `keyring` signed it, else None (logged)."""
    raw = _read(path, MAX_MEMBER)
    if raw is None or not _CLEARSIGNED.fullmatch(raw):  # no text outside one signed message
        log.warning("%s: not a single clearsigned message", path)
        return None
    command = ["gpgv", "--status-fd", "2", "--keyring", str(keyring), "--output", "-", "-"]
    try:
        done = subprocess.run(command, input=raw, capture_output=True, timeout=GPGV_TIMEOUT)
    except (OSError, subprocess.TimeoutExpired) as exc:
        log.error("gpgv %s: %s", path, exc)
        return None
    status = _STATUS.findall(done.stderr)  # GOODSIG only from a valid key of `keyring`
    if b"GOODSIG" not in status or b"BADSIG" in status:
        log.warning("%s: no good signature from %s", path, keyring)
        return None
    return done.stdout.decode("utf-8", errors="replace")


def _release_indexes(text: str) -> dict[str, tuple[int, str]]:
    """Packages indexes listed in a Release's SHA256 section: sha256 -> (size, relative path)."""
    found: dict[str, tuple[int, str]] = {}
    in_sha256 = False
    for line in text.splitlines():
        if not line.startswith(" "):
            in_sha256 = line.strip().lower() == "sha256:"
        elif in_sha256 and (m := _RELEASE_LINE.fullmatch(line.rstrip())) and _INDEX.fullmatch(m[3]):
            found[m[1]] = (int(m[2]), m[3])
    return found


def _index_debs(data: bytes, name: str) -> set[str]:
    """sha256 of every deb a (verified) Packages index lists; `name` tells its compression."""
    try:
        if name.endswith(".xz"):
            data = lzma.decompress(data)
        elif name.endswith(".gz"):
            data = zlib.decompress(data, wbits=31)
    except (lzma.LZMAError, zlib.error) as exc:
        log.warning("cannot decompress %s: %s", name, exc)
        return set()
    return {sha.decode() for sha in _DEB_SHA.findall(data)}


def _trusted_debs(root: Path, dists: dict[str, Stat], keyring: Path) -> set[str]:
    """sha256 of every deb listed by a Packages index that a verified InRelease vouches for."""
    indexes: dict[str, tuple[int, str]] = {}
    for rel in sorted(dists):
        if _IN_RELEASE.fullmatch(rel) and (text := _verified_text(root / rel, keyring)):
            indexes.update(_release_indexes(text))
    sizes = {size for size, _name in indexes.values()}
    debs: set[str] = set()
    for rel, (size, _mtime) in sorted(dists.items()):
        if size in sizes and size <= MAX_FILE and (data := _read(root / rel, size)) is not None:
            sha = hashlib.sha256(data).hexdigest()  # of the very bytes parsed below
            if sha in indexes:
                debs |= _index_debs(data, indexes.pop(sha)[1])
    return debs


def _control_tarball(name: str, member: bytes) -> bytes:
    """Decompress a control member, at most MAX_CONTROL bytes. Raises DebError."""
    try:
        if name == "control.tar":
            data = member
        elif name == "control.tar.xz":
            data = lzma.LZMADecompressor().decompress(member, MAX_CONTROL + 1)
        elif name == "control.tar.gz":
            data = zlib.decompressobj(wbits=31).decompress(member, MAX_CONTROL + 1)
        else:  # control.tar.zst: no zstd in the standard library
            raise DebError(f"unsupported control member {name}")
    except (lzma.LZMAError, zlib.error) as exc:
        raise DebError(f"{name}: {exc}") from exc
    if len(data) > MAX_CONTROL:
        raise DebError(f"{name} expands beyond {MAX_CONTROL} bytes")
    return data


def _control_files(tarball: bytes) -> dict[str, bytes]:
    """control, md5sums and conffiles from a control tarball. Raises DebError."""
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:") as tar:
            for member in tar:
                name = member.name.removeprefix("./")
                if member.isreg() and name in ("control", "md5sums", "conffiles"):
                    stream = tar.extractfile(member)
                    files[name] = stream.read() if stream else b""
    except (tarfile.TarError, EOFError, OSError, ValueError) as exc:  # hostile headers
        raise DebError(f"control tarball: {exc}") from exc
    return files


def _absolute(path: str) -> str:
    return "/" + path.strip().removeprefix("./").lstrip("/")


def _deb(files: dict[str, bytes]) -> Deb:
    """A Deb from its control files. Raises DebError if control lacks a name or version."""
    fields: dict[str, str] = {}
    for line in files.get("control", b"").decode("utf-8", "replace").strip().splitlines():
        if not line.strip():
            break
        if line[:1] not in (" ", "\t") and ":" in line:
            key, _, value = line.partition(":")
            fields[key.strip().lower()] = value.strip()
    package, version, arch = (fields.get(key, "") for key in ("package", "version", "architecture"))
    if not (package and version and arch):
        raise DebError("control lacks Package, Version or Architecture")
    text = files.get("conffiles", b"").decode("utf-8", "surrogateescape")
    conffiles = tuple(
        _absolute(line.removeprefix("remove-on-upgrade "))
        for line in text.splitlines()
        if line.strip()
    )
    md5sums: dict[str, str] = {}
    for line in files.get("md5sums", b"").decode("utf-8", "surrogateescape").splitlines():
        if (m := _MD5_LINE.fullmatch(line)) and (path := _absolute(m[2])) not in conffiles:
            md5sums[path] = m[1].lower()
    return Deb(package, version, arch, md5sums, conffiles)


def parse_deb(path: Path) -> Deb:
    """What a deb declares: its control fields, md5sums and conffiles (data.tar is not read).

    Raises DebError for a malformed or unsupported (zstd) deb, OSError if it cannot be read.
    """
    with _open(path) as deb:
        if deb.read(8) != b"!<arch>\n":
            raise DebError("not an ar archive")
        while len(header := deb.read(60)) == 60:
            name = header[:16].decode("ascii", "replace").strip().removesuffix("/")
            if header[58:60] != b"`\n" or not header[48:58].strip().isdigit():
                raise DebError("malformed ar header")
            size = int(header[48:58])
            if name.startswith("control.tar"):
                if size > MAX_MEMBER:
                    raise DebError(f"{name} is {size} bytes")
                member = deb.read(size)
                if len(member) != size:
                    raise DebError(f"{name} is truncated")
                return _deb(_control_files(_control_tarball(name, member)))
            deb.seek(size + size % 2, os.SEEK_CUR)
    raise DebError("no control member")


def _parsed(path: Path) -> Deb | None:
    try:
        return parse_deb(path)
    except (ValueError, OSError) as exc:  # DebError included
        log.warning("skipping %s: %s", path, exc)
        return None


def _keyring_stamp(keyring: Path) -> str:
    """Changes when the keyring or gpgv does, so verdicts reached with other ones are dropped."""
    try:
        digest = hashlib.sha256(keyring.read_bytes()).hexdigest()
    except OSError:
        digest = "unreadable"
    return f"{digest} {shutil.which('gpgv')}"


@dataclass
class _State:
    """What earlier loads learned, persisted so a load hashes and parses only what is new."""

    stamp: str  # keyring and gpgv the verdicts were reached with
    dists: str = ""  # fingerprint of the dists tree the rejections were reached with
    files: dict[str, tuple[int, int, str]] = field(default_factory=dict)  # size, mtime, sha256
    rejected: set[str] = field(default_factory=set)  # deb sha256s no verified index lists
    debs: dict[str, Deb | None] = field(default_factory=dict)  # verified; None: unreadable

    @classmethod
    def read(cls, path: Path, stamp: str) -> _State:
        """The persisted state, or an empty one if absent, corrupt or reached otherwise."""
        try:
            raw: Any = json.loads(path.read_bytes())
            if raw["format"] == STATE_FORMAT and raw["stamp"] == stamp:
                files = {
                    str(rel): (int(s), int(m), str(h)) for rel, (s, m, h) in raw["files"].items()
                }
                debs = {
                    str(sha): d and Deb(**{**d, "conffiles": tuple(d["conffiles"])})
                    for sha, d in raw["debs"].items()
                }
                return cls(stamp, str(raw["dists"]), files, set(map(str, raw["rejected"])), debs)
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            log.warning("ignoring %s: %s", path, exc)
        return cls(stamp)

    def update(self, root: Path, keyring: Path) -> bool:
        """Learn the debs now in the cache tree `root`. Returns whether anything changed."""
        dists = _scan(root / "dists", root)
        pool = {rel: st for rel, st in _scan(root / "pool", root).items() if rel.endswith(".deb")}
        fingerprint = hashlib.sha256(repr(sorted(dists.items())).encode()).hexdigest()
        changed = fingerprint != self.dists
        if changed:  # a new index may list a deb rejected so far
            self.dists, self.rejected = fingerprint, set()
        trusted: set[str] | None = None  # computed only if a deb needs a verdict
        files: dict[str, tuple[int, int, str]] = {}
        for rel, (size, mtime) in sorted(pool.items()):
            known = self.files.get(rel)
            sha = known[2] if known and known[:2] == (size, mtime) else _sha256(root / rel, size)
            if sha is None:
                continue
            files[rel] = (size, mtime, sha)
            if sha in self.debs or sha in self.rejected:
                continue
            if trusted is None:
                trusted = _trusted_debs(root, dists, keyring)
            if sha in trusted:
                self.debs[sha] = _parsed(root / rel)
            else:
                self.rejected.add(sha)
        present = {sha for _size, _mtime, sha in files.values()}
        changed = changed or trusted is not None or files != self.files
        self.files, self.rejected = files, self.rejected & present
        self.debs = {sha: deb for sha, deb in self.debs.items() if sha in present}
        return changed

    def write(self, path: Path) -> None:
        """Replace the state file atomically: concurrent loads read an old or new one, whole."""
        debs = {sha: deb and vars(deb) for sha, deb in self.debs.items()}
        data = {
            **vars(self),
            "format": STATE_FORMAT,
            "rejected": sorted(self.rejected),
            "debs": debs,
        }
        temp = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temp.write_text(json.dumps(data, separators=(",", ":")))
            os.replace(temp, path)
        except OSError as exc:
            log.warning("cannot save %s: %s", path, exc)
            temp.unlink(missing_ok=True)


class PackageIndex:
    """Files that verified Debian debs ship (path -> md5 digests), and each deb's md5sums."""

    def __init__(self, debs: Iterable[Deb] = ()) -> None:
        self._debs = {(deb.package, deb.version, deb.architecture): deb for deb in debs}
        self._shipped: dict[str, set[str]] = {}
        self._conffiles: set[str] = set()
        for deb in self._debs.values():
            for path, md5 in deb.md5sums.items():
                self._shipped.setdefault(path, set()).add(md5)
            self._conffiles.update(deb.conffiles)

    @classmethod
    def load(
        cls, cache_dir: Path, state_dir: Path, *, keyring: Path = DEBIAN_KEYRING
    ) -> PackageIndex:
        """Build or refresh the index from `cache_dir`, persisted in `state_dir`.

        Only debs not seen before (keyed by relative path, size and mtime) are hashed, and only
        verified ones are parsed. Never raises for a missing or unreadable cache: it gives an
        empty index; a corrupt deb, index or state file is skipped (logged).
        """
        state_path = state_dir / STATE_FILE
        state = _State.read(state_path, _keyring_stamp(keyring))
        if state.update(cache_dir / TREE, keyring):
            state.write(state_path)
        index = cls(deb for deb in state.debs.values() if deb is not None)
        log.debug("%d verified debs in %s", index.debs, cache_dir / TREE)
        return index

    def shipped(self, path: str) -> frozenset[str]:
        """md5 digests of `path` as verified Debian packages ship it (empty if none)."""
        return frozenset(self._shipped.get(path, ()))

    def conffile(self, path: str) -> bool:
        """Is `path` a configuration file of a verified deb (no md5 in its md5sums: the
        administrator may edit it)?"""
        return path in self._conffiles

    def deb(self, package: str, version: str, architecture: str) -> Deb | None:
        """The verified deb with this name, version and architecture, if the cache holds it."""
        return self._debs.get((package, version, architecture))

    @property
    def debs(self) -> int:
        """How many verified debs are indexed."""
        return len(self._debs)
