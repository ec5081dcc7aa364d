"""VM nodes on libvirt: a copy-on-write overlay over a base image, on the session's network.

Each VM joins the Linux bridge of the session's network (made by the container backend), so
containers and VMs of one lab share one L2 segment and the same host firewall. Its address
comes from the upper half of the session's subnet (the engine allocates from the lower
half); address, grader key, candidate account and package proxy reach it on the kernel
command line (built images boot their kernel directly: ~20 s to SSH under TCG, measured in
HOST-NOTES), read at boot by the image's praxis-firstboot.

Every domain carries the session, node and owning platform instance in its metadata; every
file sits in disks/<instance>/<session>/. Destroy and the reaper find both again after a crash
between any two steps. KVM is used when it really works here (probed once by booting the
image's kernel under it), QEMU's TCG otherwise.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import logging
import shutil
import socket
import subprocess
import threading
import time
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import libvirt

from labs import firewall, vm_dhcp
from labs.driver import Access, LabError, LabNetwork, NodeInfo
from labs.links import Port
from labs.scenario import Node, parse_memory
from labs.vm_images import VMImage, load, missing_reason

log = logging.getLogger("praxis.labs")
# libvirt prints every error to stderr by default, "not found" lookups included: they are
# answered here (LabError or None), not printed.
libvirt.registerErrorHandler(lambda _ctx, _err: None, None)
NS = "https://praxis.exam/lab/1"  # the metadata element's namespace
BOOT_TIMEOUT = 240  # TCG boots in ~20 s alone, ~50 s four at a time on two cores
SHUTDOWN_TIMEOUT = 30  # a clean power-off, then the plug is pulled
TB_CACHE_MIB = 64  # TCG's code cache: 800 MiB per VM by default, boot no slower at 64
FIRST_VM_HOST = 129  # VMs take the upper half of the session's /24


@dataclass(frozen=True)
class Owner:
    """What a domain's metadata says: whose it is, and its fixed address on the lab network."""

    session: str
    node: str
    instance: str
    address: str


@dataclass(frozen=True)
class Domain:
    owner: Owner
    dom: libvirt.virDomain

    @property
    def session(self) -> str:
        return self.owner.session

    @property
    def node(self) -> str:
        return self.owner.node


class LibvirtDriver:
    """The VM half of a lab (see labs.composite for the whole)."""

    def __init__(self, url: str, vm_dir: Path, instance: str, cache_port: int = 3142) -> None:
        self.url, self.instance, self.cache_port = url, instance, cache_port
        self.images = vm_dir / "images"
        self.disks = vm_dir / "disks" / (instance or "default")
        self._conn: libvirt.virConnect | None = None
        self._lock = threading.Lock()
        self._accel: str | None = None
        self._owners: dict[str, Owner | None] = {}  # domain uuid -> its metadata (cached)

    # -- the connection ---------------------------------------------------------------------
    def conn(self) -> libvirt.virConnect:
        """libvirtd, connected on first use: hosts without it still run container labs."""
        with self._lock:
            if self._conn is None or not self._conn.isAlive():
                try:
                    self._conn = libvirt.open(self.url)
                except libvirt.libvirtError as exc:
                    raise LabError(
                        f"libvirt ({self.url}) is not reachable: {exc}; VM nodes need "
                        "libvirtd (`make setup` starts it, `praxis doctor` checks)"
                    ) from exc
            return self._conn

    def available(self) -> bool:
        try:
            self.conn()
            return True
        except LabError:
            return False

    # -- create -----------------------------------------------------------------------------
    def create(
        self,
        session_id: str,
        nodes: dict[str, Node],
        access: Access,
        network: LabNetwork,
        node_ports: dict[str, list[Port]],
    ) -> dict[str, NodeInfo]:
        """Define and start every VM (reusing those already defined), without waiting for
        their boot (the caller waits for SSH, as for containers). `node_ports`: each VM's
        lab links, whose bridges exist (labs.links)."""
        images = {}
        for name, node in nodes.items():
            image = load(self.images, node.image)
            if image is None:
                raise LabError(f"node {name}: {missing_reason(node.image)}")
            images[name] = image
        conn = self.conn()
        folder = self.disks / session_id
        folder.mkdir(parents=True, exist_ok=True)
        folder.chmod(0o755)
        found = {}
        addresses = {
            name: str(network.subnet.network_address + FIRST_VM_HOST + index)
            for index, name in enumerate(sorted(nodes))
        }
        # Imported systems cannot read the kernel command line: they ask DHCP for theirs.
        leases = {_mac(session_id, n): addresses[n] for n in nodes if images[n].boot == "firmware"}
        if leases:
            firewall.allow_dhcp(session_id, self.instance, network.bridge)
            vm_dhcp.start(folder, network.bridge, network.gateway, leases)
        for name, node in sorted(nodes.items()):
            address = addresses[name]
            if node.internet == "packages":
                firewall.allow_cache(
                    session_id, self.instance, network.bridge, address, self.cache_port
                )
            dom = self._domain(session_id, name)
            if dom is None:
                overlay = self._overlay(folder, name, images[name], node)
                xml = self.domain_xml(
                    session_id,
                    name,
                    node,
                    images[name],
                    overlay,
                    address,
                    access,
                    network,
                    node_ports.get(name, []),
                )
                try:
                    dom = conn.defineXML(xml)
                except libvirt.libvirtError as exc:
                    raise LabError(f"node {name}: libvirt refused the machine: {exc}") from exc
            try:
                if not dom.isActive():
                    dom.create()
            except libvirt.libvirtError as exc:
                raise LabError(f"node {name}: the machine did not start: {exc}") from exc
            found[name] = NodeInfo(name, address, dom.UUIDString())
        return found

    def _overlay(self, folder: Path, name: str, image: VMImage, node: Node) -> Path:
        overlay = folder / f"{name}.qcow2"
        size = max(parse_memory(node.disk), image.virtual_size)
        for extra, path in [(None, overlay), *self._extra_disks(folder, name, node)]:
            if path.exists():
                continue
            argv = ["qemu-img", "create", "-q", "-f", "qcow2"]
            if extra is None:  # copy-on-write over the shared, read-only base
                argv += ["-b", str(image.disk), "-F", "qcow2", str(path), str(size)]
            else:
                argv += [str(path), str(extra)]
            done = subprocess.run(argv, capture_output=True, text=True, check=False)
            if done.returncode != 0:
                raise LabError(f"node {name}: could not make its disk: {done.stderr.strip()}")
        return overlay

    def _extra_disks(self, folder: Path, name: str, node: Node) -> list[tuple[int, Path]]:
        return [
            (parse_memory(size), folder / f"{name}-disk{i + 2}.qcow2")
            for i, size in enumerate(node.disks)
        ]

    def domain_xml(
        self,
        session_id: str,
        name: str,
        node: Node,
        image: VMImage,
        overlay: Path,
        address: str,
        access: Access,
        network: LabNetwork,
        node_ports: Sequence[Port] = (),
    ) -> str:
        accel = self.accel(image)
        nics = [(port, _mac(session_id, f"{name}:{port.interface}")) for port in node_ports]
        # What the machine must know of its session: on the kernel command line for images
        # whose kernel QEMU boots (read by praxis-firstboot), else in SMBIOS OEM strings
        # (type 11; Windows reads them as Win32_ComputerSystem.OEMStringArray).
        facts = [
            f"praxis.net={address}/{network.subnet.prefixlen},{network.gateway}",
            f"praxis.key={_b64(access.grader_public_key)}",
            f"praxis.candidate={_b64(f'{access.candidate_user}:{access.candidate_password}')}",
        ]
        if node.internet == "packages":
            facts.append(f"praxis.proxy=http://{network.gateway}:{self.cache_port}")
        if nics:  # the image names each lab interface as the scenario does, by its MAC
            facts.append("praxis.links=" + ",".join(f"{p.interface}={mac}" for p, mac in nics))
        boot, sysinfo = (
            "<boot dev='hd'/><smbios mode='sysinfo'/>",
            (
                "<sysinfo type='smbios'><oemStrings>"
                + "".join(f"<entry>{escape(fact)}</entry>" for fact in facts)
                + "</oemStrings></sysinfo>"
            ),
        )
        if image.boot == "kernel":
            args = [
                "root=/dev/vda rw console=tty0 console=ttyS0 net.ifnames=0 quiet",
                f"systemd.hostname={name}",
                *facts,
            ]
            boot, sysinfo = (
                (
                    f"<kernel>{escape(str(image.kernel))}</kernel>"
                    f"<initrd>{escape(str(image.initrd))}</initrd>"
                    f"<cmdline>{escape(' '.join(args))}</cmdline>"
                ),
                "",
            )
        disks = [
            _disk(overlay, "vda"),
            *(
                _disk(path, f"vd{chr(ord('b') + i)}")
                for i, (_, path) in enumerate(self._extra_disks(overlay.parent, name, node))
            ),
        ]
        tcg = (
            f"<tcg><tb-cache unit='MiB'>{TB_CACHE_MIB}</tb-cache></tcg>" if accel == "qemu" else ""
        )
        cpu = "<cpu mode='host-passthrough'/>" if accel == "kvm" else ""
        display = (
            "<graphics type='vnc' autoport='yes' listen='127.0.0.1'/>"
            "<video><model type='virtio'/></video><input type='tablet' bus='usb'/>"
            if node.display
            else ""
        )
        clock = "localtime" if image.os == "windows" else "utc"
        links = "".join(
            f"\n    <interface type='bridge'><source bridge={quoteattr(port.bridge)}/>"
            f"<mac address='{mac}'/><model type='virtio'/></interface>"
            for port, mac in nics
        )
        return f"""<domain type='{accel}'>
  <name>{_domain_name(session_id, name)}</name>
  <metadata><praxis:lab xmlns:praxis='{NS}' session={quoteattr(session_id)}
    node={quoteattr(name)} instance={quoteattr(self.instance)} address='{address}'/></metadata>
  <memory unit='b'>{node.memory_bytes}</memory>
  <vcpu>{max(1, round(node.cpus))}</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>{boot}</os>{sysinfo}
  <features><acpi/><apic/>{tcg}</features>{cpu}
  <clock offset='{clock}'/>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    {"".join(disks)}
    <interface type='bridge'><source bridge={quoteattr(network.bridge)}/>
      <mac address='{_mac(session_id, name)}'/><model type='virtio'/></interface>{links}
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>{display}
  </devices>
</domain>"""

    def accel(self, image: VMImage) -> str:
        """'kvm' when a kernel really boots under it here, else 'qemu' (TCG). Some hosts have a
        /dev/kvm on which QEMU aborts or hangs ("failed to set MSR"): trying is the only test.
        The answer is kept until the host reboots (its boot id changes)."""
        if self._accel is None:
            boot_id = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
            cached = self.images.parent / "accel"
            with contextlib.suppress(OSError):
                seen, _, accel = cached.read_text().partition(" ")
                if seen == boot_id and accel in ("kvm", "qemu"):
                    self._accel = accel
            if self._accel is None:
                self._accel = "kvm" if _kvm_boots(image) else "qemu"
                with contextlib.suppress(OSError):
                    cached.write_text(f"{boot_id} {self._accel}")
            log.info("VMs run under %s", "KVM" if self._accel == "kvm" else "TCG (no usable KVM)")
        return self._accel

    # -- finding domains again --------------------------------------------------------------
    def _domain(self, session_id: str, node: str) -> libvirt.virDomain | None:
        try:
            dom = self.conn().lookupByName(_domain_name(session_id, node))
        except libvirt.libvirtError:
            return None
        owner = self._owner(dom)
        return dom if owner is not None and owner.instance == self.instance else None

    def _owner(self, dom: libvirt.virDomain) -> Owner | None:
        """The domain's metadata; None for domains that are not a platform's."""
        uuid = dom.UUIDString()
        if uuid not in self._owners:
            try:
                element = ET.fromstring(dom.metadata(libvirt.VIR_DOMAIN_METADATA_ELEMENT, NS))
                self._owners[uuid] = Owner(
                    *(element.get(key, "") for key in ("session", "node", "instance", "address"))
                )
            except (libvirt.libvirtError, ET.ParseError):
                self._owners[uuid] = None
        return self._owners[uuid]

    def domains(self, session_id: str | None = None) -> list[Domain]:
        """This instance's domains (of one session), running or not."""
        try:
            every = self.conn().listAllDomains()
        except (LabError, libvirt.libvirtError):
            return []
        found = []
        for dom in every:
            owner = self._owner(dom)
            if owner is None or owner.instance != self.instance:
                continue
            if session_id is None or owner.session == session_id:
                found.append(Domain(owner, dom))
        return found

    # -- during and after the exam ----------------------------------------------------------
    def freeze(self, session_id: str, user: str) -> dict[str, NodeInfo]:
        """Power every running VM off (cleanly, then by force), keep its disk as it is then
        for the grader, and boot it again with the candidate's account locked from the kernel
        command line: nothing they started survives, what is graded live is what survives a
        reboot. Waits until each one's SSH answers. A VM that is down is left down, to be
        graded as such (no frozen disk: its criteria say the node is down)."""
        domains = self.domains(session_id)
        running = {d.node for d in domains if _active(d.dom)}
        threads = [
            threading.Thread(target=self._cycle, args=(d, user))
            for d in domains
            if d.node in running
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        # The host reads the frozen disk of the Linux images it built (ext4, kernel booted
        # directly); an imported system's disk is kept frozen too, but graded over SSH only.
        readable = {d.node for d in domains if d.node in running and _boots_kernel(d.dom)}
        return {
            d.node: NodeInfo(
                d.node,
                d.owner.address,
                d.dom.UUIDString(),
                str(self._frozen(d.session, d.node)) if d.node in readable else "",
            )
            for d in domains
        }

    def _frozen(self, session_id: str, node: str) -> Path:
        return self.disks / session_id / f"{node}.frozen.qcow2"

    def _freeze_disk(self, session_id: str, node: str) -> None:
        """The powered-off VM's disk becomes a read-only layer, the grader's (graders.vm_disk),
        under a fresh one the VM boots on, at the same path (its definition does not change).
        Once per session; each step can be done again after a crash between two."""
        overlay, frozen = self.disks / session_id / f"{node}.qcow2", self._frozen(session_id, node)
        if not frozen.exists():
            overlay.rename(frozen)
        if not overlay.exists():
            argv = ["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(frozen), "-F", "qcow2"]
            done = subprocess.run([*argv, str(overlay)], capture_output=True, text=True)
            if done.returncode != 0:
                raise LabError(f"node {node}: could not freeze its disk: {done.stderr.strip()}")

    def _cycle(self, domain: Domain, lock_user: str) -> None:
        dom, address = domain.dom, domain.owner.address
        try:
            self._power_off(dom)
            self._freeze_disk(domain.session, domain.node)
            xml = dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
            if "praxis.lock=" not in xml:  # where the image reads its session's facts
                lock = f"praxis.lock={lock_user}"
                if "</cmdline>" in xml:
                    xml = xml.replace("</cmdline>", f" {lock}</cmdline>")
                else:
                    xml = xml.replace(
                        "</oemStrings>", f"<entry>{escape(lock)}</entry></oemStrings>"
                    )
                dom = self.conn().defineXML(xml)
            dom.create()
            _wait_port(address, 22, BOOT_TIMEOUT)
        except (libvirt.libvirtError, LabError, OSError) as exc:  # graded as it is
            log.warning("freezing %s/%s: %s", domain.session, domain.node, exc)

    def _power_off(self, dom: libvirt.virDomain) -> None:
        if not dom.isActive():
            return
        with contextlib.suppress(libvirt.libvirtError):
            dom.shutdown()
        deadline = time.monotonic() + SHUTDOWN_TIMEOUT
        while time.monotonic() < deadline:
            if not dom.isActive():
                return
            time.sleep(0.5)
        with contextlib.suppress(libvirt.libvirtError):
            dom.destroy()

    def states(self, session_id: str | None = None) -> dict[str, dict[str, str]]:
        """Session -> node -> 'running' or why not, in the container engine's words."""
        found: dict[str, dict[str, str]] = {}
        for d in self.domains(session_id):
            try:
                state = d.dom.state()[0]
            except libvirt.libvirtError:
                continue
            found.setdefault(d.owner.session, {})[d.owner.node] = _STATES.get(state, "unknown")
        return found

    def node_cause(self, session_id: str, node: str) -> str:
        dom = self._domain(session_id, node)
        if dom is None:
            return "removed"
        try:
            state, reason = dom.state()
        except libvirt.libvirtError:
            return "unknown"
        if state == libvirt.VIR_DOMAIN_SHUTOFF:
            return f"vm:{_SHUTOFF.get(reason, 'off')}"
        if state == libvirt.VIR_DOMAIN_CRASHED:
            return "vm:crashed"
        return f"state:{_STATES.get(state, 'unknown')}"

    def start_node(self, session_id: str, node: str, restart: bool) -> NodeInfo:
        dom = self._domain(session_id, node)
        owner = self._owner(dom) if dom is not None else None
        if dom is None or owner is None:
            raise LabError(f"node {node}: the machine was removed")
        address = owner.address
        try:
            if dom.isActive() and restart:
                dom.destroy()
            if not dom.isActive():
                dom.create()  # the same overlay: the disk is kept
        except libvirt.libvirtError as exc:
            raise LabError(f"node {node}: the machine did not start: {exc}") from exc
        _wait_port(address, 22, BOOT_TIMEOUT)
        return NodeInfo(node, address, dom.UUIDString())

    def destroy(self, session_id: str) -> None:
        for d in self.domains(session_id):
            with contextlib.suppress(libvirt.libvirtError):
                if d.dom.isActive():
                    d.dom.destroy()
            with contextlib.suppress(libvirt.libvirtError):
                d.dom.undefineFlags(libvirt.VIR_DOMAIN_UNDEFINE_NVRAM)
            self._owners.pop(d.dom.UUIDString(), None)
        vm_dhcp.stop(self.disks / session_id)
        shutil.rmtree(self.disks / session_id, ignore_errors=True)

    def sessions_on_disk(self) -> set[str]:
        """Sessions with a disk folder: every VM has one from before it is defined (a cheap
        look that spares libvirt the container-only labs' questions)."""
        return {p.name for p in self.disks.iterdir()} if self.disks.is_dir() else set()

    def sessions(self) -> set[str]:
        return {d.session for d in self.domains()} | self.sessions_on_disk()

    def console(self, session_id: str, node: str) -> tuple[libvirt.virConnect, libvirt.virDomain]:
        """The connection and domain of a node, for its serial console. Raises LabError."""
        dom = self._domain(session_id, node)
        if dom is None:
            raise LabError(f"node {node}: no such machine")
        return self.conn(), dom


_STATES = {
    libvirt.VIR_DOMAIN_RUNNING: "running",
    libvirt.VIR_DOMAIN_BLOCKED: "running",  # idle, waiting on I/O
    libvirt.VIR_DOMAIN_PAUSED: "paused",
    libvirt.VIR_DOMAIN_SHUTDOWN: "running",  # shutting down
    libvirt.VIR_DOMAIN_SHUTOFF: "exited",
    libvirt.VIR_DOMAIN_CRASHED: "dead",
    libvirt.VIR_DOMAIN_PMSUSPENDED: "paused",
}
_SHUTOFF = {
    libvirt.VIR_DOMAIN_SHUTOFF_SHUTDOWN: "poweroff",  # the guest powered itself off
    libvirt.VIR_DOMAIN_SHUTOFF_DESTROYED: "destroyed",  # killed from the host
    libvirt.VIR_DOMAIN_SHUTOFF_CRASHED: "crashed",
    libvirt.VIR_DOMAIN_SHUTOFF_FAILED: "failed",
}


def _boots_kernel(dom: libvirt.virDomain) -> bool:
    try:
        return "<kernel>" in dom.XMLDesc(libvirt.VIR_DOMAIN_XML_INACTIVE)
    except libvirt.libvirtError:
        return False


def _active(dom: libvirt.virDomain) -> bool:
    try:
        return bool(dom.isActive())
    except libvirt.libvirtError:
        return False


def _domain_name(session_id: str, node: str) -> str:
    return f"praxis-{session_id}-{node}"


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def _mac(session_id: str, node: str) -> str:
    digest = hashlib.sha256(f"{session_id}/{node}".encode()).digest()
    return "52:54:00:" + ":".join(f"{b:02x}" for b in digest[:3])


def _disk(path: Path, target: str) -> str:
    return (
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2' discard='unmap'/>"
        f"<source file={quoteattr(str(path))}/><target dev='{target}' bus='virtio'/></disk>"
    )


def _wait_port(address: str, port: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((address, port), timeout=2):
            return
        time.sleep(0.5)
    raise LabError(f"{address}:{port} did not answer within {timeout:g}s")


def _kvm_boots(image: VMImage) -> bool:
    """Boot the image's kernel under KVM for a few seconds: True if it got to its first
    console lines (a QEMU that aborts, or a kernel that never prints, means no)."""
    qemu = shutil.which("qemu-system-x86_64")
    if image.boot != "kernel" or not Path("/dev/kvm").exists() or qemu is None:
        return False
    argv = [
        qemu, "-accel", "kvm", "-cpu", "host", "-m", "256", "-nodefaults",
        "-display", "none", "-serial", "stdio", "-no-reboot", "-kernel", str(image.kernel),
        "-append", "console=ttyS0 panic=-1 root=/dev/nonexistent",
    ]  # fmt: skip
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=15, check=False)
        out = done.stdout
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
    return "Linux version" in out and ("Kernel panic" in out or "VFS:" in out)
