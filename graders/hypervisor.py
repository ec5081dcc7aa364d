"""Checks of the hypervisor scenario: libvirt's objects as libvirt itself keeps them.

Definitions come from graders.libvirt_objects (libvirt's own files, read from the host,
cross-checked with libvirtd). Live state (running, active, autostart) can only come from
libvirtd: `virsh` read-only, believed only when the integrity scan found the node's programs
as Debian ships them (ctx.run raises Untrusted otherwise, which withholds the verdict). Every
check gives partial credit: the share of the specification's items met.
"""

from __future__ import annotations

import posixpath
import shlex
import xml.etree.ElementTree as ET

from graders.contract import CheckContext, CheckResult
from graders.libvirt_objects import (
    DOMAIN,
    NETWORK,
    POOL,
    VIRSH,
    Definition,
    definition,
    parse_xml,
    read_file,
    safe_name,
    to_bytes,
)

OSINFO = "{http://libosinfo.org/xmlns/libvirt/domain/1.0}"
QCOW2_MAGIC = b"QFI\xfb"
START_WAIT = 40  # seconds for libvirtd to autostart a domain after the node's boot


def _score(what: str, items: list[tuple[bool, str]], source: str) -> CheckResult:
    """Share of the items met; the message lists the ones that are not."""
    missed = [why for ok, why in items if not ok]
    if not missed:
        return CheckResult(1.0, f"{what}: as specified (from {source})")
    met = len(items) - len(missed)
    return CheckResult(met / len(items), f"{what}: " + "; ".join(missed))


# -- the hypervisor -------------------------------------------------------------------------
BOOT_LINKS = [
    f"/etc/systemd/system/{target}.wants/{unit}"
    for daemon in ("libvirtd", "virtqemud")
    for target, unit in (("multi-user.target", f"{daemon}.service"),
                         ("sockets.target", f"{daemon}.socket"))
]  # fmt: skip


def libvirt_ready(ctx: CheckContext, node: str = "hyperviseur") -> CheckResult:
    """Half for libvirt's daemon enabled at boot (systemd's links, read from the host), half
    for it answering with a QEMU guest type for x86_64 machines."""
    enabled = _enabled_at_boot(ctx, node)
    caps = ctx.run(node, f"{VIRSH} capabilities", timeout=30)
    try:
        guests = parse_xml(caps.stdout).findall("guest") if caps.ok else []
    except ValueError:
        guests = []
    emulates = any(
        g.findtext("os_type") == "hvm"
        and g.find("arch[@name='x86_64']/domain[@type='qemu']") is not None
        for g in guests
    )
    return _score(
        "libvirt",
        [
            (enabled, "libvirt's daemon is not enabled at boot"),
            (emulates, "libvirtd does not answer with a QEMU x86_64 machine type"),
        ],
        "systemd's links and virsh capabilities",
    )


def _enabled_at_boot(ctx: CheckContext, node: str) -> bool:
    """systemd's links, from the host; `systemctl is-enabled` where the host has no view."""
    for path in BOOT_LINKS:
        looked, unit = read_file(ctx, node, path, 0)
        if not looked:
            units = " ".join(posixpath.basename(p) for p in BOOT_LINKS)
            return "enabled" in ctx.run(node, f"systemctl is-enabled {units}").stdout.split()
        if unit is not None:
            return True
    return False


def _about(d: Definition) -> str:
    return f"{d.kind.what} {d.name}"


# -- storage --------------------------------------------------------------------------------
def storage_pool(
    ctx: CheckContext, node: str = "hyperviseur", name: str = "", path: str = ""
) -> CheckResult:
    """A directory pool `name` on `path`, active (libvirt found its directory) and started at
    boot."""
    pool = definition(ctx, node, POOL, name)
    if pool.root is None:
        return CheckResult(0.0, pool.problem)
    target = posixpath.normpath(pool.root.findtext("target/path") or "/")
    return _score(
        _about(pool),
        [
            (pool.root.get("type") == "dir", f"type {pool.root.get('type')}, not dir"),
            (target == posixpath.normpath(path), f"its directory is {target}, not {path}"),
            (pool.info.get("State") == "running", f"not active ({pool.info.get('State')})"),
            (pool.autostart, "not started at boot (autostart)"),
        ],
        pool.source,
    )


def qcow2_size(header: bytes) -> int | None:
    """The virtual size in a qcow2 header (None if `header` is not one): big-endian u64 at 24."""
    if len(header) < 32 or header[:4] != QCOW2_MAGIC:
        return None
    if int.from_bytes(header[4:8], "big") not in (2, 3):
        return None
    return int.from_bytes(header[24:32], "big")


def volume(
    ctx: CheckContext,
    node: str = "hyperviseur",
    pool: str = "",
    name: str = "",
    capacity_gib: int | str = 4,
) -> CheckResult:
    """The volume `name` of `pool`, in qcow2 format, of `capacity_gib` GiB. Format and size come
    from the file's own qcow2 header, read from the host; libvirt must list the volume too."""
    where = definition(ctx, node, POOL, pool)
    if where.root is None:
        return CheckResult(0.0, f"no volume without its pool: {where.problem}")
    folder = posixpath.normpath(where.root.findtext("target/path") or "/")
    path = posixpath.join(folder, safe_name(name))
    looked, file = read_file(ctx, node, path, 64)
    listed = ctx.run(node, f"{VIRSH} vol-dumpxml --pool {shlex.quote(pool)} {shlex.quote(name)}")
    try:
        seen = parse_xml(listed.stdout) if listed.ok else None
    except ValueError:
        seen = None
    capacity = seen.find("capacity") if seen is not None else None
    listed_size = None if capacity is None else to_bytes(capacity.text, capacity.get("unit"), "b")
    if file is not None:  # the host's word on the format; a raw file's size is libvirt's
        header = qcow2_size(file.content or b"")
        is_qcow2, source = header is not None, "its qcow2 header, read from the host"
        size = header if header is not None else listed_size
    elif not looked and seen is not None:  # the host could not look: libvirt's word
        is_qcow2 = seen.find("target/format[@type='qcow2']") is not None
        size, source = listed_size, "virsh vol-dumpxml"
    else:
        return CheckResult(0.0, f"no volume {name} in pool {pool} ({path})")
    want = int(capacity_gib) << 30
    return _score(
        f"volume {name}",
        [
            (seen is not None, f"libvirt does not list it in pool {pool}"),
            (is_qcow2, "not in qcow2 format"),
            (size == want, f"{_gib(size)}, not {capacity_gib} GiB"),
        ],
        source,
    )


def _gib(size: int | None) -> str:
    return "size unknown" if size is None else f"{size} bytes ({size / (1 << 30):.2f} GiB)"


# -- network --------------------------------------------------------------------------------
def nat_network(
    ctx: CheckContext,
    node: str = "hyperviseur",
    name: str = "",
    address: str = "",
    prefix: int | str = 24,
    dhcp_start: str = "",
    dhcp_end: str = "",
) -> CheckResult:
    """A NAT network `name`, gateway `address`/`prefix`, one DHCP range, active, at boot."""
    net = definition(ctx, node, NETWORK, name)
    if net.root is None:
        return CheckResult(0.0, net.problem)
    mode = net.root.find("forward")
    ips = [ip for ip in net.root.findall("ip") if ip.get("family", "ipv4") == "ipv4"]
    ip = next((i for i in ips if i.get("address") == address), None)
    ranges = [] if ip is None else ip.findall("dhcp/range")
    return _score(
        _about(net),
        [
            (mode is not None and mode.get("mode", "nat") == "nat", "its forward mode is not nat"),
            (ip is not None and _prefix(ip) == int(prefix), f"no address {address}/{prefix}"),
            (
                [(r.get("start"), r.get("end")) for r in ranges] == [(dhcp_start, dhcp_end)],
                f"its DHCP range is not {dhcp_start}-{dhcp_end}",
            ),
            (net.info.get("Active") == "yes", "not active"),
            (net.autostart, "not started at boot (autostart)"),
        ],
        net.source,
    )


def _prefix(ip: ET.Element) -> int | None:
    if ip.get("prefix", "").isdigit():
        return int(ip.get("prefix", ""))
    parts = (ip.get("netmask") or "").split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) < 256 for p in parts):
        return None
    bits = "".join(f"{int(p):08b}" for p in parts)
    return bits.count("1") if "01" not in bits else None


# -- the virtual machine --------------------------------------------------------------------
def vm_defined(ctx: CheckContext, node: str = "hyperviseur", name: str = "") -> CheckResult:
    """The domain `name` is defined persistently, and libvirtd runs that very definition."""
    dom = definition(ctx, node, DOMAIN, name)
    if dom.root is None:
        return CheckResult(0.0, dom.problem)
    return CheckResult(1.0, f"{_about(dom)} is defined (from {dom.source})")


def vm_resources(
    ctx: CheckContext,
    node: str = "hyperviseur",
    name: str = "",
    vcpus: int | str = 1,
    memory_mib: int | str = 512,
) -> CheckResult:
    """`vcpus` virtual processors and `memory_mib` MiB of memory (maximum and at start)."""
    dom = definition(ctx, node, DOMAIN, name)
    if dom.root is None:
        return CheckResult(0.0, dom.problem)
    vcpu = dom.root.find("vcpu")
    count = (vcpu.text or "").strip() if vcpu is not None else ""
    current = vcpu.get("current", count) if vcpu is not None else ""
    sizes = [_size(dom.root.find(tag)) for tag in ("memory", "currentMemory")]
    if sizes[1] is None:  # libvirt writes both; a bare <memory> means the same at start
        sizes[1] = sizes[0]
    want = int(memory_mib) << 20
    return _score(
        _about(dom),
        [
            (count == current == str(vcpus), f"{current or '?'} vCPU(s), not {vcpus}"),
            (sizes == [want, want], f"memory {_mib(sizes)}, not {memory_mib} MiB"),
        ],
        dom.source,
    )


def _size(element: ET.Element | None) -> int | None:
    return None if element is None else to_bytes(element.text, element.get("unit"))


def _mib(sizes: list[int | None]) -> str:
    return " / ".join("?" if s is None else f"{s / (1 << 20):g} MiB" for s in sizes)


def vm_disk(
    ctx: CheckContext,
    node: str = "hyperviseur",
    name: str = "",
    pool: str = "",
    volume: str = "",
    pool_path: str = "",
    fmt: str = "qcow2",
    bus: str = "virtio",
) -> CheckResult:
    """A disk that is the volume `volume` of `pool` (by pool and name, or by its path in
    `pool_path`), read as `fmt`, on the `bus` bus."""
    dom = definition(ctx, node, DOMAIN, name)
    if dom.root is None:
        return CheckResult(0.0, dom.problem)
    disks = [d for d in dom.root.findall("devices/disk") if d.get("device", "disk") == "disk"]
    if not disks:
        return CheckResult(0.0, f"{_about(dom)} has no disk")
    path = posixpath.join(posixpath.normpath(pool_path or "/"), volume)
    chosen = next((d for d in disks if _is_volume(d, pool, volume, path)), disks[0])
    driver, target = chosen.find("driver"), chosen.find("target")
    return _score(
        f"{_about(dom)}, disk {target.get('dev') if target is not None else '?'}",
        [
            (_is_volume(chosen, pool, volume, path), f"not the volume {volume} of pool {pool}"),
            (driver is not None and driver.get("type") == fmt, f"not read as {fmt}"),
            (target is not None and target.get("bus") == bus, f"not on the {bus} bus"),
        ],
        f"{dom.source}; disk type {chosen.get('type')}",
    )


def _is_volume(disk: ET.Element, pool: str, volume: str, path: str) -> bool:
    source = disk.find("source")
    if source is None:
        return False
    if disk.get("type") == "volume":
        return source.get("pool") == pool and source.get("volume") == volume
    return disk.get("type") == "file" and posixpath.normpath(source.get("file") or "") == path


def vm_nic(
    ctx: CheckContext,
    node: str = "hyperviseur",
    name: str = "",
    network: str = "",
    model: str = "virtio",
) -> CheckResult:
    """A network interface on libvirt's network `network`, of model `model`."""
    dom = definition(ctx, node, DOMAIN, name)
    if dom.root is None:
        return CheckResult(0.0, dom.problem)
    nics = dom.root.findall("devices/interface")
    if not nics:
        return CheckResult(0.0, f"{_about(dom)} has no network interface")
    on = next((n for n in nics if _network_of(n) == network), nics[0])
    kind = on.find("model")
    return _score(
        f"{_about(dom)}, interface",
        [
            (_network_of(on) == network, f"not on network {network}"),
            (kind is not None and kind.get("type") == model, f"model is not {model}"),
        ],
        dom.source,
    )


def _network_of(nic: ET.Element) -> str | None:
    source = nic.find("source")
    return source.get("network") if nic.get("type") == "network" and source is not None else None


def vm_display(
    ctx: CheckContext, node: str = "hyperviseur", name: str = "", listen: str = "127.0.0.1"
) -> CheckResult:
    """A VNC display, its port chosen by libvirt, listening on `listen` only. Without an
    address of its own, QEMU's default applies (qemu.conf `vnc_listen`, 127.0.0.1)."""
    dom = definition(ctx, node, DOMAIN, name)
    if dom.root is None:
        return CheckResult(0.0, dom.problem)
    vnc = dom.root.find("devices/graphics[@type='vnc']")
    if vnc is None:
        kinds = [g.get("type") for g in dom.root.findall("devices/graphics")]
        return CheckResult(0.0, f"{_about(dom)} has no VNC display ({kinds or 'no display'})")
    address = _listen(vnc) or _default_listen(ctx, node)
    return _score(
        f"{_about(dom)}, VNC display",
        [
            (vnc.get("autoport") == "yes" or vnc.get("port") == "-1", "its port is fixed"),
            (address == listen, f"it listens on {address or 'an unknown address'}"),
        ],
        dom.source,
    )


def _listen(vnc: ET.Element) -> str | None:
    """Where the display's own definition makes it listen (None: QEMU's default applies)."""
    listens = vnc.findall("listen")
    other = [e.get("type") for e in listens if e.get("type") in ("network", "socket", "none")]
    addresses = [vnc.get("listen"), *(e.get("address") for e in listens)]
    return other[0] if other else next((a for a in addresses if a), None)


def _default_listen(ctx: CheckContext, node: str) -> str | None:
    """QEMU's default VNC address: `vnc_listen` in /etc/libvirt/qemu.conf, 127.0.0.1 unset."""
    _, conf = read_file(ctx, node, "/etc/libvirt/qemu.conf", 1 << 20)
    value = "127.0.0.1"
    for line in (conf.content or b"").decode("utf-8", "replace").splitlines() if conf else []:
        key, sep, rest = line.partition("=")
        if sep and key.strip() == "vnc_listen":
            value = rest.strip().strip('"')
    return value


def vm_os(
    ctx: CheckContext, node: str = "hyperviseur", name: str = "", os_id: str = ""
) -> CheckResult:
    """The guest system is declared as `os_id` (libosinfo, as virt-install --osinfo writes)."""
    dom = definition(ctx, node, DOMAIN, name)
    if dom.root is None:
        return CheckResult(0.0, dom.problem)
    declared = [e.get("id") for e in dom.root.iterfind(f"metadata/{OSINFO}libosinfo/{OSINFO}os")]
    return _score(
        _about(dom),
        [(os_id in declared, f"its system is declared as {declared or 'nothing'}, not {os_id}")],
        dom.source,
    )


def vm_started(ctx: CheckContext, node: str = "hyperviseur", name: str = "") -> CheckResult:
    """Half for autostart (libvirt's link, read from the host, and libvirtd's word), half for
    the domain running after the node's restart (started by libvirt at boot)."""
    dom = definition(ctx, node, DOMAIN, name)
    if dom.root is None:
        return CheckResult(0.0, dom.problem)
    state = _state(ctx, node, name, wait=dom.autostart)
    return _score(
        _about(dom),
        [
            (dom.autostart, "not started at boot (autostart)"),
            (state.startswith("running"), f"{state or 'no state'} after the restart"),
        ],
        f"{dom.source}; virsh domstate",
    )


def _state(ctx: CheckContext, node: str, name: str, wait: bool) -> str:
    """`virsh domstate --reason`; waits while libvirtd may still be starting it at boot."""
    command = ask = f"{VIRSH} domstate --reason {shlex.quote(name)}"
    if wait:
        command = (
            f"for i in $(seq {START_WAIT // 2}); do s=$({ask} 2>&1); "
            f'case "$s" in running*) break;; esac; sleep 2; done; echo "$s"'
        )
    result = ctx.run(node, command, timeout=START_WAIT + 15)
    return result.stdout.strip().splitlines()[-1][:200] if result.stdout.strip() else ""
