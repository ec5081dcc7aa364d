"""libvirt's objects (domains, storage pools, networks) as libvirt itself keeps them, read
from a node for the grader.

A definition is read first from libvirt's own persistent XML under /etc/libvirt, through the
host's view of the node's disk (nothing inside the node can fake that read), then
cross-checked with what the running libvirtd says through `virsh` (a file libvirtd refused is
not a definition). Only where the host has no view of the node does `virsh ... dumpxml
--inactive` stand in: a file absent from the disk is no definition, whatever `virsh` prints.
XML is parsed, never grepped, with its size bounded and no document type (no entities).
"""

from __future__ import annotations

import shlex
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from graders.contract import CheckContext, FileInfo, NodeUnreachable, excerpt

VIRSH = "virsh --readonly --connect qemu:///system"
SETTLE_WAIT = 30  # seconds
# libvirtd starts at the first question after the node's boot (socket activation) and then
# starts what is marked autostart: wait until its lists stop changing (2 s apart), so that a
# grading does not depend on when it asked.
_LISTS = f"{{ {VIRSH} list --all; {VIRSH} pool-list --all; {VIRSH} net-list --all; }} 2>&1"
SETTLED = (
    f'p=""; for i in $(seq {SETTLE_WAIT // 2}); do c=$({_LISTS}); '
    '[ "$c" = "$p" ] && break; p=$c; sleep 2; done'
)
MAX_XML = 256 << 10  # libvirt's own files are a few KiB
_UNITS = {
    "b": 1, "bytes": 1, "kb": 10**3, "k": 1 << 10, "kib": 1 << 10, "mb": 10**6, "m": 1 << 20,
    "mib": 1 << 20, "gb": 10**9, "g": 1 << 30, "gib": 1 << 30, "tb": 10**12, "t": 1 << 40,
    "tib": 1 << 40,
}  # fmt: skip
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")


@dataclass(frozen=True)
class Kind:
    """Where libvirt keeps one kind of object, and how virsh names its commands."""

    what: str
    tag: str  # the document's root element
    folder: str
    info: str  # virsh's command for the live summary
    dump: str  # and for the definition


DOMAIN = Kind("domain", "domain", "/etc/libvirt/qemu", "dominfo", "dumpxml")
POOL = Kind("storage pool", "pool", "/etc/libvirt/storage", "pool-info", "pool-dumpxml")
NETWORK = Kind("network", "network", "/etc/libvirt/qemu/networks", "net-info", "net-dumpxml")


@dataclass
class Definition:
    """One libvirt object: its persistent XML (None if libvirt has none), where it came from,
    and libvirtd's live summary (`virsh *info`, empty when libvirtd does not know it)."""

    name: str
    kind: Kind
    root: ET.Element | None = None
    source: str = ""
    info: dict[str, str] = field(default_factory=dict)
    autostart_link: bool | None = None  # None: the host could not look
    problem: str = ""

    @property
    def autostart(self) -> bool:
        """libvirt keeps autostart as a link beside the definition: read from the host, it is
        the answer (libvirtd's own flag can lag while it starts after the node's boot); only
        without a host view does libvirtd's word stand in."""
        if self.autostart_link is not None:
            return self.autostart_link
        return self.info.get("Autostart", "") in ("enable", "yes")


def parse_xml(data: bytes | str) -> ET.Element:
    """A libvirt document. Raises ValueError: too large, a document type, or not XML."""
    raw = data.encode("utf-8", "replace") if isinstance(data, str) else data
    if len(raw) > MAX_XML:
        raise ValueError(f"{len(raw)} bytes, more than libvirt ever writes ({MAX_XML})")
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw:
        raise ValueError("a document type declaration, which libvirt never writes")
    try:
        return ET.fromstring(raw)
    except ET.ParseError as exc:
        raise ValueError(f"not well-formed XML: {exc}") from None


def parse_info(text: str) -> dict[str, str]:
    """`virsh dominfo`-style 'Key:   value' lines."""
    found: dict[str, str] = {}
    for line in text.splitlines()[:200]:
        key, sep, value = line.partition(":")
        if sep and key.strip():
            found.setdefault(key.strip(), value.strip())
    return found


def to_bytes(value: str | None, unit: str | None, default_unit: str = "KiB") -> int | None:
    """A libvirt size (`<memory unit='KiB'>524288</memory>`) in bytes; None if unreadable."""
    factor = _UNITS.get((unit or default_unit).strip().lower())
    text = (value or "").strip()
    if factor is None or not text.isdigit() or len(text) > 24:
        return None
    return int(text) * factor


def safe_name(name: str) -> str:
    if not name or len(name) > 64 or not set(name) <= _NAME_CHARS or name.startswith("."):
        raise ValueError(f"unusable libvirt name {name!r}")
    return name


def read_file(ctx: CheckContext, node: str, path: str, limit: int) -> tuple[bool, FileInfo | None]:
    """(the host could look, the file as it saw it: None if absent or not a regular file)."""
    start = time.monotonic()
    try:
        info = ctx.view(node).read(path, limit)
    except NodeUnreachable as exc:
        ctx.record(node, f"read {path} (from the host)", None, str(exc), start, "host")
        return False, None
    if info is None or info.kind != "file":
        shown = "absent" if info is None else f"a {info.kind}, not a file"
        ctx.record(node, f"read {path} (from the host)", 1, shown, start, "host")
        return True, None
    text = (info.content or b"").decode("utf-8", "replace")
    shown = f"{info.path}{' (cut)' if limit and info.truncated else ''}\n{excerpt(text)}"
    ctx.record(node, f"read {path} (from the host)", 0, shown.rstrip(), start, "host")
    return True, info


def definition(ctx: CheckContext, node: str, kind: Kind, name: str) -> Definition:
    """`name` as libvirt defines it: its persistent XML, checked against libvirtd."""
    found = Definition(safe_name(name), kind)
    config = f"{kind.folder}/{name}.xml"
    looked, file = read_file(ctx, node, config, MAX_XML + 1)
    ctx.run(node, SETTLED, timeout=SETTLE_WAIT + 15)
    info = ctx.run(node, f"{VIRSH} {kind.info} {shlex.quote(name)}")
    found.info = parse_info(info.stdout) if info.ok else {}
    try:
        if file is not None:
            found.source = f"{config}, read from the host"
            if file.truncated:
                raise ValueError(f"more than {MAX_XML} bytes, more than libvirt ever writes")
            found.root = parse_xml(file.content or b"")
        elif not looked and found.info.get("Persistent") == "yes":
            found.source = "virsh dumpxml --inactive"
            dumped = ctx.run(node, f"{VIRSH} {kind.dump} --inactive {shlex.quote(name)}")
            found.root = parse_xml(dumped.stdout)
    except ValueError as exc:
        found.problem = f"{kind.what} {name}: {found.source}: {exc}"
        return found
    if looked:
        _, link = read_file(ctx, node, f"{kind.folder}/autostart/{name}.xml", 0)
        found.autostart_link = link is not None and link.path == config
    return _cross_check(found)


def _cross_check(found: Definition) -> Definition:
    what = f"{found.kind.what} {found.name}"
    if found.root is None:
        transient = found.info and found.info.get("Persistent") != "yes"
        found.problem = f"{what} is {'transient (lost at reboot)' if transient else 'not defined'}"
    elif found.root.tag != found.kind.tag:
        found.root, found.problem = None, f"{what}: {found.source} is not a {found.kind.tag}"
    elif not found.info:
        found.root = None
        found.problem = f"{what}: {found.source} exists but libvirt does not know it"
    elif (found.root.findtext("uuid") or "").strip() != found.info.get("UUID"):
        found.root, found.problem = None, f"{what}: {found.source} is not the one libvirt runs"
    elif found.root.findtext("name") != found.name:
        found.root, found.problem = None, f"{what}: {found.source} names another object"
    return found
