"""VM lab benchmarks, as ratios against libvirt alone measured in the same run.

    flock /tmp/praxis-it.lock .venv/bin/python bench/vm.py [--rounds N] [--idle S]

1. VM lab ready: the lab driver's `create` of a one-VM scenario (debian-vm, 512M, 1 vCPU) ->
   the grader's key login, against libvirt alone: `qemu-img create` of an overlay over the
   same base disk, `virsh define` of an equivalent domain (same kernel, initrd and command line
   with the key and address, same memory, TCG code cache and devices) on a bridge made here,
   `virsh start` -> the same key login with the same client. Rounds interleaved, the order
   swapped every round. Target ratio <= 1.2.
2. Memory of one idle VM lab: its QEMU process after boot + S seconds idle (RSS, and PSS), and
   how many 512 MiB VM labs fit in this host's memory.
3. libvirt save/restore of that booted VM, as a fast-start path: save, then restore -> key
   login.
Each VM boots in ~22 s under TCG: the default run takes about 5 minutes. Hold the lock: it
boots VMs.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import ipaddress
import os
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import libvirt

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from app.backends import lab_driver  # noqa: E402
from app.config import get_settings  # noqa: E402
from graders.transport import load_key, wait_ready  # noqa: E402
from labs.driver import Access, LabDriver  # noqa: E402
from labs.keys import KeyPair, new_keypair, new_password  # noqa: E402
from labs.libvirt_driver import TB_CACHE_MIB, LibvirtDriver  # noqa: E402
from labs.scenario import Scenario  # noqa: E402
from labs.vm_images import VMImage, load  # noqa: E402

INSTANCE = "bench-vm"
IMAGE = "debian-vm"
MEMORY_MIB = 512
DISK = "4G"  # the node's default system disk, on both sides
BOOT_TIMEOUT = 240
RAW_NET = ipaddress.ip_network("10.253.0.0/16")  # the raw side's bridges; not the lab pool
RESERVE = 0.10  # of MemTotal, kept for the host and the platform when counting labs
SCENARIO = Scenario.model_validate(
    {
        "id": "bench-vm",
        "title": {"fr": "Banc VM", "en": "VM bench"},
        "duration": "30m",
        "nodes": {"vm": {"kind": "vm", "image": IMAGE, "memory": f"{MEMORY_MIB}M", "disk": DISK}},
        "criteria": [],
    }
)


def run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {done.stderr.strip()}")
    return done.stdout


def new_access() -> tuple[KeyPair, Access]:
    keys = new_keypair()
    return keys, Access(keys.public, "candidat", new_password())


@dataclass
class Timing:
    started: float  # until the domain runs (create / virsh start returned)
    ready: float  # until the grader's key login works


# -- the platform ------------------------------------------------------------------------------
class PlatformLab:
    """One one-VM lab made by the platform's lab driver, as the controller makes it."""

    def __init__(self, driver: LabDriver) -> None:
        self.driver, self.id = driver, "bench" + secrets.token_hex(4)
        self.keys, self.access = new_access()
        self.address = ""
        self.ref = ""

    def boot(self) -> Timing:
        start = time.monotonic()
        node = self.driver.create(self.id, SCENARIO, self.access)["vm"]
        started = time.monotonic() - start
        self.address, self.ref = node.address, node.ref
        wait_ready(self.address, load_key(self.keys.private), BOOT_TIMEOUT)
        return Timing(started, time.monotonic() - start)

    def destroy(self) -> None:
        self.driver.destroy(self.id)


def platform_round(driver: LabDriver) -> Timing:
    lab = PlatformLab(driver)
    try:
        return lab.boot()
    finally:
        lab.destroy()


# -- libvirt alone -----------------------------------------------------------------------------
def free_subnet() -> ipaddress.IPv4Network:
    routes = run("ip", "-4", "route")
    for subnet in RAW_NET.subnets(new_prefix=24):
        if str(subnet) not in routes:
            assert isinstance(subnet, ipaddress.IPv4Network)
            return subnet
    raise RuntimeError(f"no free /24 left in {RAW_NET}")


def raw_xml(name: str, image: VMImage, accel: str, overlay: Path, bridge: str, cmdline: str) -> str:
    """What an operator would write by hand for the same machine: the platform's devices, its
    TCG code cache and memory, but no metadata and no fixed MAC."""
    tcg = f"<tcg><tb-cache unit='MiB'>{TB_CACHE_MIB}</tb-cache></tcg>" if accel == "qemu" else ""
    cpu = "<cpu mode='host-passthrough'/>" if accel == "kvm" else ""
    return f"""<domain type='{accel}'>
  <name>{name}</name>
  <memory unit='MiB'>{MEMORY_MIB}</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{escape(str(image.kernel))}</kernel><initrd>{escape(str(image.initrd))}</initrd>
    <cmdline>{escape(cmdline)}</cmdline></os>
  <features><acpi/><apic/>{tcg}</features>{cpu}
  <devices>
    <disk type='file' device='disk'><driver name='qemu' type='qcow2'/>
      <source file={quoteattr(str(overlay))}/><target dev='vda' bus='virtio'/></disk>
    <interface type='bridge'><source bridge='{bridge}'/><model type='virtio'/></interface>
    <serial type='pty'/><console type='pty'/>
    <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
    <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
    <memballoon model='none'/>
  </devices>
</domain>"""


def raw_round(image: VMImage, accel: str, index: int) -> Timing:
    """A fresh bridge (STP off, as Docker makes them), an overlay, `virsh define` and `virsh
    start`, then the grader's key login: the same key injection (praxis.key on the kernel
    command line, read by the image's firstboot) as the platform's."""
    keys, access = new_access()
    name = f"bench-vm-raw-{secrets.token_hex(3)}"
    bridge = f"pxbenchraw{index}"
    folder = Path(tempfile.mkdtemp(prefix="bench-vm-", dir="/var/tmp"))
    folder.chmod(0o755)
    overlay, xml_file = folder / "vm.qcow2", folder / "vm.xml"
    defined = False
    try:
        start = time.monotonic()
        subnet = free_subnet()
        gateway, address = subnet.network_address + 1, subnet.network_address + 129
        run("ip", "link", "add", "name", bridge, "type", "bridge", "stp_state", "0")
        run("ip", "address", "add", f"{gateway}/{subnet.prefixlen}", "dev", bridge)
        run("ip", "link", "set", bridge, "up")
        run("qemu-img", "create", "-q", "-f", "qcow2", "-b", str(image.disk), "-F", "qcow2",
            str(overlay), DISK)  # fmt: skip
        cmdline = " ".join(
            [
                "root=/dev/vda rw console=tty0 console=ttyS0 net.ifnames=0 quiet",
                "systemd.hostname=vm",
                f"praxis.net={address}/{subnet.prefixlen},{gateway}",
                f"praxis.key={b64(access.grader_public_key)}",
                f"praxis.candidate={b64(f'{access.candidate_user}:{access.candidate_password}')}",
            ]
        )
        xml_file.write_text(raw_xml(name, image, accel, overlay, bridge, cmdline))
        run("virsh", "-q", "-c", "qemu:///system", "define", str(xml_file))
        defined = True
        run("virsh", "-q", "-c", "qemu:///system", "start", name)
        started = time.monotonic() - start
        wait_ready(str(address), load_key(keys.private), BOOT_TIMEOUT)
        return Timing(started, time.monotonic() - start)
    finally:
        if defined:
            for verb in ("destroy", "undefine"):
                subprocess.run(["virsh", "-q", "-c", "qemu:///system", verb, name],
                               capture_output=True, check=False)  # fmt: skip
        subprocess.run(["ip", "link", "del", bridge], capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


# -- memory ------------------------------------------------------------------------------------
@dataclass
class Memory:
    rss: int  # bytes
    pss: int | None
    guest_resident: int | None  # the part of RSS that is guest RAM


def qemu_memory(pid: int) -> Memory:
    status = Path(f"/proc/{pid}/status").read_text()
    rss = kib_field(status, "VmRSS")
    pss = None
    with contextlib.suppress(OSError):
        pss = kib_field(Path(f"/proc/{pid}/smaps_rollup").read_text(), "Pss")
    return Memory(rss, pss, guest_ram_resident(pid))


def kib_field(text: str, key: str) -> int:
    for line in text.splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) * 1024
    raise ValueError(f"no {key} in the text")


def guest_ram_resident(pid: int) -> int | None:
    """The resident part of QEMU's mapping of the guest's RAM (the one anonymous mapping of the
    guest's memory size): what is left of RSS is QEMU's own (code cache, devices, libraries)."""
    size = rss = None
    for line in Path(f"/proc/{pid}/smaps").read_text().splitlines():
        fields = line.split()
        if fields[0] == "Size:":
            size = int(fields[1])
        elif fields[0] == "Rss:" and size == MEMORY_MIB * 1024:
            rss = int(fields[1]) * 1024
    return rss


def qemu_pid(conn: libvirt.virConnect, uuid: str) -> int:
    name = conn.lookupByUUIDString(uuid).name()
    return int(Path(f"/run/libvirt/qemu/{name}.pid").read_text().strip())


# -- save / restore ----------------------------------------------------------------------------
@dataclass
class Restore:
    save: float
    restore: float  # until libvirt's restore call returned
    ready: float  # restore call -> key login
    size: int


def save_restore(conn: libvirt.virConnect, lab: PlatformLab, folder: Path) -> Restore:
    dom = conn.lookupByUUIDString(lab.ref)
    path = folder / "vm.save"
    start = time.monotonic()
    dom.save(str(path))
    saved = time.monotonic() - start
    size = path.stat().st_size
    start = time.monotonic()
    conn.restore(str(path))
    restored = time.monotonic() - start
    wait_ready(lab.address, load_key(lab.keys.private), 60)
    ready = time.monotonic() - start
    path.unlink()
    return Restore(saved, restored, ready, size)


# -- report ------------------------------------------------------------------------------------
def line(label: str, values: list[float]) -> None:
    spread = f"(min {min(values):.2f}, max {max(values):.2f}, n={len(values)})"
    print(f"{label:56} median {statistics.median(values):6.2f}s  {spread}", flush=True)


def mib(value: int) -> str:
    return f"{value / 2**20:.0f} MiB"


def bridge_settings(bridge: str) -> str:
    folder = Path("/sys/class/net") / bridge / "bridge"
    try:
        stp = (folder / "stp_state").read_text().strip()
        delay = int((folder / "forward_delay").read_text()) / 100
    except OSError:
        return "?"
    return f"stp {'off' if stp == '0' else 'on'}, forward delay {delay:g}s"


def neighbours(conn: libvirt.virConnect) -> str:
    """What else runs here: other VMs and the load skew every figure on two cores."""
    others = [d.name() for d in conn.listAllDomains(libvirt.VIR_CONNECT_LIST_DOMAINS_ACTIVE)]
    load = Path("/proc/loadavg").read_text().split()[0]
    return f"other running VMs: {len(others)} {others}, load average {load}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--idle", type=float, default=30, help="seconds idle before memory")
    args = parser.parse_args()
    settings = get_settings()
    image = load(settings.vm_dir / "images", IMAGE)
    if image is None:
        sys.exit(f"no {IMAGE} image: run `.venv/bin/praxis images build {IMAGE}` first")
    accel = LibvirtDriver(settings.libvirt_url, settings.vm_dir, INSTANCE).accel(image)
    driver = lab_driver(settings, INSTANCE)
    conn = libvirt.open(settings.libvirt_url)
    print(f"VMs under {'KVM' if accel == 'kvm' else 'TCG'}; {neighbours(conn)}", flush=True)
    driver.sessions()  # connect to both engines before anything is timed
    raw_round(image, accel, 0)  # warm the page cache (base disk, kernel) for both sides alike

    raw: list[Timing] = []
    ours: list[Timing] = []
    sides: list[tuple[list[Timing], Callable[[], Timing]]] = [
        (raw, lambda: raw_round(image, accel, 1)),
        (ours, lambda: platform_round(driver)),
    ]
    for index in range(args.rounds):
        for results, side in sides if index % 2 == 0 else sides[::-1]:
            results.append(side())
        print(
            f"round {index + 1}: raw {raw[-1].ready:.1f}s, Praxis {ours[-1].ready:.1f}s", flush=True
        )

    lab = PlatformLab(driver)
    restores: list[Restore] = []
    folder = Path(tempfile.mkdtemp(prefix="bench-vm-save-", dir="/var/tmp"))
    try:
        lab.boot()
        bridge = f"px-{lab.id[:12]}"
        bridge_state = bridge_settings(bridge)
        time.sleep(args.idle)
        memory = qemu_memory(qemu_pid(conn, lab.ref))
        for _ in range(args.rounds):
            restores.append(save_restore(conn, lab, folder))
    finally:
        lab.destroy()
        shutil.rmtree(folder, ignore_errors=True)
        with contextlib.suppress(OSError):  # the driver leaves its instance's folder
            (settings.vm_dir / "disks" / INSTANCE).rmdir()
        print(f"at the end: {neighbours(conn)}", flush=True)
        conn.close()

    median = statistics.median
    line("VM lab ready, raw virsh start of an overlay -> key login", [t.ready for t in raw])
    line("VM lab ready, Praxis lab driver create -> key login", [t.ready for t in ours])
    line("  of which raw: until `virsh start` returned", [t.started for t in raw])
    line("  of which Praxis: until `create` returned", [t.started for t in ours])
    ratio = median(t.ready for t in ours) / median(t.ready for t in raw)
    print(f"{'ratio Praxis / raw, to the key login':56} {ratio:.2f}  (target <= 1.2)")

    used = memory.pss if memory.pss is not None else memory.rss
    print(
        f"{f'idle VM lab after boot + {args.idle:g}s, QEMU process':56} RSS {mib(memory.rss)}, "
        f"PSS {mib(memory.pss) if memory.pss is not None else 'n/a'}"
    )
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    room = total * (1 - RESERVE)
    print(
        f"{f'{MEMORY_MIB} MiB VM labs that fit in this host memory':56} {int(room // used)} at "
        f"{mib(used)} each ({total / 2**30:.1f} GiB, {RESERVE:.0%} kept for the host and platform)"
    )
    if memory.guest_resident is not None:
        worst = MEMORY_MIB * 2**20 + memory.rss - memory.guest_resident
        print(
            f"{'  if every guest filled its RAM':56} {int(room // worst)} at {mib(worst)} each "
            f"(guest RAM resident now {mib(memory.guest_resident)}, QEMU's own "
            f"{mib(memory.rss - memory.guest_resident)})"
        )

    line("save of the booted VM (`dom.save`)", [r.save for r in restores])
    line("restore (`conn.restore` returned)", [r.restore for r in restores])
    line("restore -> key login", [r.ready for r in restores])
    sizes = [r.size for r in restores]
    print(f"{'save file':56} {mib(int(median(sizes)))}; session bridge {bridge_state}")


if __name__ == "__main__":
    main()
