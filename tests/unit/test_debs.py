"""The trusted package index: only debs Debian's signature chain vouches for are believed.

A tiny archive is built in tmp_path the way apt-cacher-ng stores one (debrep/dists, debrep/pool):
real debs from dpkg-deb, a Packages.xz listing them, a Release signed as InRelease with a
throwaway key that stands in for Debian's archive keyring.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import graders.debs as debs
from graders.debs import DebError, PackageIndex, parse_deb

pytestmark = pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("gpg", "gpgv", "dpkg-deb")),
    reason="needs gpg, gpgv and dpkg-deb (scripts/setup.sh installs them)",
)

HELLO = b"#!/bin/sh\necho hello\n"
CONF = b"greeting = hello\n"


@dataclass(frozen=True)
class Keys:
    home: Path
    trusted: str  # fingerprint of the key standing in for Debian's
    other: str
    keyring: Path  # the trusted key only, as gpgv reads it


def _gpg(home: Path, *args: str) -> str:
    env = {**os.environ, "GNUPGHOME": str(home)}
    done = subprocess.run(["gpg", "--batch", *args], env=env, capture_output=True, check=True)
    return done.stdout.decode()


def _new_key(home: Path, uid: str) -> str:
    _gpg(home, "--passphrase", "", "--quick-gen-key", uid, "ed25519", "sign", "never")
    listing = _gpg(home, "--with-colons", "--list-secret-keys", uid)
    return next(line.split(":")[9] for line in listing.splitlines() if line.startswith("fpr:"))


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Keys]:
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    trusted = _new_key(home, "Test Archive <archive@example.org>")
    other = _new_key(home, "Someone Else <else@example.org>")
    keyring = home / "archive.gpg"
    subprocess.run(
        ["gpg", "--batch", "--homedir", str(home), "--export", "--output", str(keyring), trusted],
        check=True,
        capture_output=True,
    )
    yield Keys(home, trusted, other, keyring)
    subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False)


def build_deb(
    out: Path,
    package: str = "hello",
    version: str = "1.0",
    arch: str = "amd64",
    *,
    compression: str = "xz",
    body: bytes = HELLO,
) -> Path:
    """A real deb: /usr/bin/<package> and the conffile /etc/<package>.conf."""
    root = out.parent / f"{out.name}.root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / "usr/bin").mkdir(parents=True)
    (root / "etc").mkdir()
    (root / "usr/bin" / package).write_bytes(body)
    (root / "etc" / f"{package}.conf").write_bytes(CONF)
    (root / "DEBIAN/control").write_text(
        f"Package: {package}\nVersion: {version}\nArchitecture: {arch}\n"
        "Maintainer: Test <test@example.org>\nDescription: test package\n"
    )
    (root / "DEBIAN/conffiles").write_text(f"/etc/{package}.conf\n")
    md5 = hashlib.md5(body).hexdigest()
    (root / "DEBIAN/md5sums").write_text(f"{md5}  usr/bin/{package}\n")
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["dpkg-deb", f"-Z{compression}", "--root-owner-group", "--build", str(root), str(out)],
        check=True,
        capture_output=True,
    )
    shutil.rmtree(root)
    return out


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def packages_xz(debs_: list[Path]) -> bytes:
    stanzas = [
        f"Package: {deb.name.split('_')[0]}\nFilename: pool/main/{deb.name}\n"
        f"Size: {deb.stat().st_size}\nSHA256: {sha256(deb)}\n"
        for deb in debs_
    ]
    return lzma.compress("\n".join(stanzas).encode())


def publish(
    cache: Path,
    keys: Keys,
    listed: list[Path],
    *,
    tree: str = "debrep",
    signer: str = "",
    index: str = "main/binary-amd64/Packages.xz",
) -> Path:
    """Write dists/bookworm: a Packages.xz listing `listed`, and an InRelease vouching for it."""
    suite = cache / tree / "dists/bookworm"
    data = packages_xz(listed)
    (suite / index).parent.mkdir(parents=True, exist_ok=True)
    (suite / index).write_bytes(data)
    digest = hashlib.sha256(data).hexdigest()
    release = suite / "Release"
    release.write_text(
        "Origin: Test\nSuite: bookworm\nMD5Sum:\n"
        f" {hashlib.md5(data).hexdigest()} {len(data)} main/binary-amd64/Packages.xz\n"
        f"SHA256:\n {digest} {len(data)} main/binary-amd64/Packages.xz\n"
    )
    _gpg(
        keys.home,
        "--yes",
        "--local-user",
        signer or keys.trusted,
        "--clearsign",
        "--output",
        str(suite / "InRelease"),
        str(release),
    )
    release.unlink()
    return suite / index


def pool(cache: Path, tree: str = "debrep") -> Path:
    return cache / tree / "pool/main"


def load(tmp_path: Path, keys: Keys) -> PackageIndex:
    return PackageIndex.load(tmp_path / "cache", tmp_path / "state", keyring=keys.keyring)


def test_a_verified_deb_is_indexed_with_its_md5sums_and_conffiles(
    tmp_path: Path, keys: Keys
) -> None:
    deb = build_deb(pool(tmp_path / "cache") / "hello_1.0_amd64.deb")
    publish(tmp_path / "cache", keys, [deb])
    index = load(tmp_path, keys)
    assert index.debs == 1
    assert index.shipped("/usr/bin/hello") == {hashlib.md5(HELLO).hexdigest()}
    assert index.shipped("/etc/hello.conf") == frozenset()  # a conffile is the admin's
    assert index.shipped("/usr/bin/other") == frozenset()
    found = index.deb("hello", "1.0", "amd64")
    assert found is not None
    assert found.conffiles == ("/etc/hello.conf",)
    assert found.md5sums == {"/usr/bin/hello": hashlib.md5(HELLO).hexdigest()}
    assert index.deb("hello", "1.0", "i386") is None


def test_architecture_all_and_every_version_count(tmp_path: Path, keys: Keys) -> None:
    old = build_deb(pool(tmp_path / "cache") / "hello_1.0_all.deb", arch="all")
    new = build_deb(
        pool(tmp_path / "cache") / "hello_2.0_all.deb", "hello", "2.0", "all", body=HELLO + b"# 2\n"
    )
    publish(tmp_path / "cache", keys, [old, new])
    index = load(tmp_path, keys)
    assert index.debs == 2 and index.deb("hello", "2.0", "all") is not None
    assert index.shipped("/usr/bin/hello") == {
        hashlib.md5(HELLO).hexdigest(),
        hashlib.md5(HELLO + b"# 2\n").hexdigest(),
    }


def test_a_deb_the_packages_index_does_not_list_is_ignored(tmp_path: Path, keys: Keys) -> None:
    listed = build_deb(pool(tmp_path / "cache") / "hello_1.0_amd64.deb")
    build_deb(pool(tmp_path / "cache") / "evil_1.0_amd64.deb", "evil", body=b"evil\n")
    publish(tmp_path / "cache", keys, [listed])
    index = load(tmp_path, keys)
    assert index.debs == 1
    assert index.deb("evil", "1.0", "amd64") is None
    assert index.shipped("/usr/bin/evil") == frozenset()


def test_an_inrelease_signed_by_another_key_is_ignored(tmp_path: Path, keys: Keys) -> None:
    deb = build_deb(pool(tmp_path / "cache") / "hello_1.0_amd64.deb")
    publish(tmp_path / "cache", keys, [deb], signer=keys.other)
    assert load(tmp_path, keys).debs == 0


def test_text_outside_the_signed_message_is_refused(tmp_path: Path, keys: Keys) -> None:
    deb = build_deb(pool(tmp_path / "cache") / "hello_1.0_amd64.deb")
    publish(tmp_path / "cache", keys, [deb])
    inrelease = tmp_path / "cache/debrep/dists/bookworm/InRelease"
    inrelease.write_bytes(inrelease.read_bytes() + b"SHA256:\n " + b"0" * 64 + b" 1 x\n")
    assert load(tmp_path, keys).debs == 0


def test_files_outside_debrep_are_ignored(tmp_path: Path, keys: Keys) -> None:
    cache = tmp_path / "cache"
    deb = build_deb(pool(cache, "uburep") / "hello_1.0_amd64.deb")
    publish(cache, keys, [deb])  # debrep vouches for it, but the deb lies in another tree
    assert load(tmp_path, keys).debs == 0
    pool(cache).mkdir(parents=True)
    shutil.copy(deb, pool(cache))
    shutil.rmtree(cache / "debrep/dists")
    publish(cache, keys, [deb], tree="uburep")  # the deb lies in debrep, its index elsewhere
    assert load(tmp_path, keys).debs == 0


def test_symlinks_are_not_followed(tmp_path: Path, keys: Keys) -> None:
    outside = build_deb(tmp_path / "outside/hello_1.0_amd64.deb")
    publish(tmp_path / "cache", keys, [outside])
    pool(tmp_path / "cache").mkdir(parents=True)
    (pool(tmp_path / "cache") / "hello_1.0_amd64.deb").symlink_to(outside)
    (pool(tmp_path / "cache") / "linked").symlink_to(outside.parent)
    assert load(tmp_path, keys).debs == 0


def test_a_tampered_packages_index_is_ignored(tmp_path: Path, keys: Keys) -> None:
    deb = build_deb(pool(tmp_path / "cache") / "hello_1.0_amd64.deb")
    evil = build_deb(pool(tmp_path / "cache") / "evil_1.0_amd64.deb", "evil", body=b"evil\n")
    index_file = publish(tmp_path / "cache", keys, [deb])
    index_file.write_bytes(packages_xz([deb, evil]))
    assert load(tmp_path, keys).debs == 0


def test_a_by_hash_index_is_used(tmp_path: Path, keys: Keys) -> None:
    deb = build_deb(pool(tmp_path / "cache") / "hello_1.0_amd64.deb")
    data = packages_xz([deb])
    by_hash = f"main/binary-amd64/by-hash/SHA256/{hashlib.sha256(data).hexdigest()}"
    publish(tmp_path / "cache", keys, [deb], index=by_hash)
    assert load(tmp_path, keys).debs == 1


def test_a_corrupt_deb_is_skipped(tmp_path: Path, keys: Keys) -> None:
    deb = build_deb(pool(tmp_path / "cache") / "hello_1.0_amd64.deb")
    corrupt = pool(tmp_path / "cache") / "broken_1.0_amd64.deb"
    corrupt.write_bytes(b"!<arch>\n" + b"garbage" * 20)
    publish(tmp_path / "cache", keys, [deb, corrupt])
    index = load(tmp_path, keys)
    assert index.debs == 1 and index.deb("hello", "1.0", "amd64") is not None


def test_a_missing_cache_gives_an_empty_index(tmp_path: Path, keys: Keys) -> None:
    index = load(tmp_path, keys)
    assert index.debs == 0 and index.shipped("/usr/bin/hello") == frozenset()
    assert PackageIndex().debs == 0


def test_a_reload_parses_and_verifies_nothing_again(
    tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    deb = build_deb(pool(tmp_path / "cache") / "hello_1.0_amd64.deb")
    build_deb(pool(tmp_path / "cache") / "evil_1.0_amd64.deb", "evil", body=b"evil\n")
    publish(tmp_path / "cache", keys, [deb])
    assert load(tmp_path, keys).debs == 1

    def forbidden(*args: object) -> None:
        raise AssertionError("the persisted state should have answered")

    monkeypatch.setattr(debs, "parse_deb", forbidden)
    monkeypatch.setattr(debs, "_sha256", forbidden)
    monkeypatch.setattr(debs, "_trusted_debs", forbidden)
    index = load(tmp_path, keys)
    assert index.debs == 1
    assert index.shipped("/usr/bin/hello") == {hashlib.md5(HELLO).hexdigest()}


def test_a_new_deb_and_index_are_picked_up_on_reload(tmp_path: Path, keys: Keys) -> None:
    first = build_deb(pool(tmp_path / "cache") / "hello_1.0_amd64.deb")
    second = build_deb(pool(tmp_path / "cache") / "other_1.0_amd64.deb", "other")
    publish(tmp_path / "cache", keys, [first])
    assert load(tmp_path, keys).debs == 1  # `other` is rejected for now
    publish(tmp_path / "cache", keys, [first, second])
    assert load(tmp_path, keys).debs == 2
    second.unlink()
    assert load(tmp_path, keys).debs == 1


def test_a_corrupt_state_file_is_rebuilt(tmp_path: Path, keys: Keys) -> None:
    deb = build_deb(pool(tmp_path / "cache") / "hello_1.0_amd64.deb")
    publish(tmp_path / "cache", keys, [deb])
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / debs.STATE_FILE).write_text('{"format": 1, "stamp"')
    assert load(tmp_path, keys).debs == 1
    assert load(tmp_path, keys).debs == 1  # and it was saved whole
    assert [p.name for p in (tmp_path / "state").iterdir()] == [debs.STATE_FILE]


def test_another_keyring_drops_the_persisted_verdicts(tmp_path: Path, keys: Keys) -> None:
    deb = build_deb(pool(tmp_path / "cache") / "hello_1.0_amd64.deb")
    publish(tmp_path / "cache", keys, [deb])
    assert load(tmp_path, keys).debs == 1
    empty = tmp_path / "empty.gpg"
    empty.write_bytes(b"")
    assert PackageIndex.load(tmp_path / "cache", tmp_path / "state", keyring=empty).debs == 0


@pytest.mark.parametrize("compression", ["xz", "gzip", "none"])
def test_parse_deb_reads_the_control_member(tmp_path: Path, compression: str) -> None:
    deb = parse_deb(build_deb(tmp_path / "hello.deb", compression=compression))
    assert (deb.package, deb.version, deb.architecture) == ("hello", "1.0", "amd64")
    assert deb.md5sums == {"/usr/bin/hello": hashlib.md5(HELLO).hexdigest()}


def ar(*members: tuple[str, bytes]) -> bytes:
    out = b"!<arch>\n"
    for name, data in members:
        out += f"{name:<16}{0:<12}{0:<6}{0:<6}{100644:<8}{len(data):<10}`\n".encode() + data
        out += b"\n" * (len(data) % 2)
    return out


def test_parse_deb_refuses_what_is_not_a_deb(tmp_path: Path) -> None:
    path = tmp_path / "x.deb"
    for content, error in [
        (b"", "not an ar archive"),
        (b"not an ar archive", "not an ar archive"),
        (b"!<arch>\n", "no control member"),
        (b"!<arch>\n" + b"x" * 60, "malformed ar header"),
        (ar(("debian-binary", b"2.0\n"), ("control.tar.zst", b"(zstd)")), "unsupported"),
        (ar(("debian-binary", b"2.0\n"), ("control.tar.xz", b"not xz")), "control.tar.xz"),
        (ar(("debian-binary", b"2.0\n"), ("control.tar", b"not a tarball")), "control tarball"),
        (ar(("debian-binary", b"2.0\n"))[:-3], "no control member"),
    ]:
        path.write_bytes(content)
        with pytest.raises(DebError, match=error):
            parse_deb(path)


def test_parse_deb_caps_the_control_member(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(debs, "MAX_MEMBER", 100)
    path = tmp_path / "big.deb"
    path.write_bytes(ar(("debian-binary", b"2.0\n"), ("control.tar.xz", b"x" * 101)))
    with pytest.raises(DebError, match="101 bytes"):
        parse_deb(path)
    monkeypatch.setattr(debs, "MAX_MEMBER", 16 << 20)
    monkeypatch.setattr(debs, "MAX_CONTROL", 100)
    with pytest.raises(DebError, match="expands beyond"):
        parse_deb(build_deb(tmp_path / "hello.deb"))
