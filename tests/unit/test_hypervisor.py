"""The hypervisor scenario's checks against libvirt's own files and answers, as data: the XML is
what libvirt 9.0 (Debian 12) wrote for the reference solution, then varied off-spec and hostile."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from graders import hypervisor as hv
from graders import libvirt_objects as lo
from graders.contract import (
    CheckContext,
    CheckResult,
    CommandResult,
    FileInfo,
    NodeView,
    Untrusted,
)
from graders.debs import Deb, PackageIndex
from graders.runner import grade
from labs.loader import load_scenario
from tests.unit.test_grading import Scripted, View, status

NODE = "hyperviseur"
SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "hypervisor"
DOMAIN = """<!--
WARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE
OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:
  virsh edit srv-intranet
or other application using the libvirt API.
-->

<domain type='qemu'>
  <name>srv-intranet</name>
  <uuid>96f16a54-8d88-406d-b271-69ca6b399d2c</uuid>
  <metadata>
    <libosinfo:libosinfo xmlns:libosinfo="http://libosinfo.org/xmlns/libvirt/domain/1.0">
      <libosinfo:os id="http://debian.org/debian/12"/>
    </libosinfo:libosinfo>
  </metadata>
  <memory unit='KiB'>524288</memory>
  <currentMemory unit='KiB'>524288</currentMemory>
  <vcpu placement='static'>2</vcpu>
  <os>
    <type arch='x86_64' machine='pc-i440fx-7.2'>hvm</type>
    <boot dev='hd'/>
  </os>
  <features>
    <acpi/>
    <apic/>
  </features>
  <cpu mode='custom' match='exact' check='none'>
    <model fallback='forbid'>qemu64</model>
  </cpu>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff>
  <on_reboot>restart</on_reboot>
  <on_crash>destroy</on_crash>
  <devices>
    <emulator>/usr/bin/qemu-system-x86_64</emulator>
    <disk type='volume' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source pool='pool-vms' volume='srv-intranet.qcow2'/>
      <target dev='vda' bus='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x04' function='0x0'/>
    </disk>
    <controller type='usb' index='0' model='piix3-uhci'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x01' function='0x2'/>
    </controller>
    <controller type='pci' index='0' model='pci-root'/>
    <interface type='network'>
      <mac address='52:54:00:70:ec:1f'/>
      <source network='net-vms'/>
      <model type='virtio'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x03' function='0x0'/>
    </interface>
    <serial type='pty'>
      <target type='isa-serial' port='0'>
        <model name='isa-serial'/>
      </target>
    </serial>
    <console type='pty'>
      <target type='serial' port='0'/>
    </console>
    <input type='tablet' bus='usb'>
      <address type='usb' bus='0' port='1'/>
    </input>
    <input type='mouse' bus='ps2'/>
    <input type='keyboard' bus='ps2'/>
    <graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>
      <listen type='address' address='127.0.0.1'/>
    </graphics>
    <audio id='1' type='none'/>
    <video>
      <model type='virtio' heads='1' primary='yes'/>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x02' function='0x0'/>
    </video>
    <memballoon model='virtio'>
      <address type='pci' domain='0x0000' bus='0x00' slot='0x05' function='0x0'/>
    </memballoon>
  </devices>
</domain>
"""
POOL = """<!--
WARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE
OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:
  virsh pool-edit pool-vms
or other application using the libvirt API.
-->

<pool type='dir'>
  <name>pool-vms</name>
  <uuid>667b4d49-7ecd-4e89-8d95-fcb0720cff0b</uuid>
  <capacity unit='bytes'>0</capacity>
  <allocation unit='bytes'>0</allocation>
  <available unit='bytes'>0</available>
  <source>
  </source>
  <target>
    <path>/srv/vms</path>
  </target>
</pool>
"""
NETWORK = """<!--
WARNING: THIS IS AN AUTO-GENERATED FILE. CHANGES TO IT ARE LIKELY TO BE
OVERWRITTEN AND LOST. Changes to this xml configuration should be made using:
  virsh net-edit net-vms
or other application using the libvirt API.
-->

<network>
  <name>net-vms</name>
  <uuid>88618b59-149b-4676-8b64-bd0b98413ef0</uuid>
  <forward mode='nat'/>
  <bridge name='virbr1' stp='on' delay='0'/>
  <mac address='52:54:00:8e:28:82'/>
  <ip address='192.168.50.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.50.100' end='192.168.50.199'/>
    </dhcp>
  </ip>
</network>
"""
VOLUME = """<volume type='file'>
  <name>srv-intranet.qcow2</name>
  <key>/srv/vms/srv-intranet.qcow2</key>
  <capacity unit='bytes'>4294967296</capacity>
  <allocation unit='bytes'>204800</allocation>
  <physical unit='bytes'>196672</physical>
  <target>
    <path>/srv/vms/srv-intranet.qcow2</path>
    <format type='qcow2'/>
  </target>
</volume>
"""
CAPABILITIES = """<capabilities>
  <host><cpu><arch>x86_64</arch><model>qemu64</model></cpu></host>
  <guest>
    <os_type>hvm</os_type>
    <arch name='i686'><wordsize>32</wordsize><domain type='qemu'/></arch>
  </guest>
  <guest>
    <os_type>hvm</os_type>
    <arch name='x86_64'>
      <wordsize>64</wordsize>
      <emulator>/usr/bin/qemu-system-x86_64</emulator>
      <machine maxCpus='255'>pc-i440fx-7.2</machine>
      <domain type='qemu'/>
      <domain type='kvm'/>
    </arch>
  </guest>
</capabilities>
"""
DOMINFO = """Id:             1
Name:           srv-intranet
UUID:           96f16a54-8d88-406d-b271-69ca6b399d2c
OS Type:        hvm
State:          running
CPU(s):         2
Max memory:     524288 KiB
Used memory:    524288 KiB
Persistent:     yes
Autostart:      enable
Managed save:   no
"""
POOL_INFO = """Name:           pool-vms
UUID:           667b4d49-7ecd-4e89-8d95-fcb0720cff0b
State:          running
Persistent:     yes
Autostart:      yes
Capacity:       7.80 GiB
"""
NET_INFO = """Name:           net-vms
UUID:           88618b59-149b-4676-8b64-bd0b98413ef0
Active:         yes
Persistent:     yes
Autostart:      yes
Bridge:         virbr1
"""
QEMU = "/etc/libvirt/qemu"
UNITS = "/usr/lib/systemd/system"


def qcow2(size: int, version: int = 3) -> bytes:
    return b"QFI\xfb" + version.to_bytes(4, "big") + bytes(16) + size.to_bytes(8, "big") + bytes(32)


def link(target: str) -> FileInfo:
    """What the host's view gives for a symlink: the file it leads to."""
    return FileInfo(target, "file", 0o600, 0, 0, b"", True)


def files(**changes: Any) -> dict[str, bytes | FileInfo]:
    """libvirt's persistent state after the reference solution (a key set to None: absent)."""
    found: dict[str, Any] = {
        f"{QEMU}/srv-intranet.xml": DOMAIN.encode(),
        f"{QEMU}/autostart/srv-intranet.xml": link(f"{QEMU}/srv-intranet.xml"),
        "/etc/libvirt/storage/pool-vms.xml": POOL.encode(),
        "/etc/libvirt/storage/autostart/pool-vms.xml": link("/etc/libvirt/storage/pool-vms.xml"),
        f"{QEMU}/networks/net-vms.xml": NETWORK.encode(),
        f"{QEMU}/networks/autostart/net-vms.xml": link(f"{QEMU}/networks/net-vms.xml"),
        "/srv/vms": FileInfo("/srv/vms", "dir", 0o711, 0, 0),
        "/srv/vms/srv-intranet.qcow2": qcow2(4 << 30),
        "/etc/systemd/system/multi-user.target.wants/libvirtd.service": link(
            f"{UNITS}/libvirtd.service"
        ),
        "/etc/libvirt/qemu.conf": b'#vnc_listen = "0.0.0.0"\n',
    }
    found.update({hv_path(k): v for k, v in changes.items()})
    return {k: v for k, v in found.items() if v is not None}


def hv_path(key: str) -> str:
    """Short keyword names for the files tests change."""
    return {
        "domain": f"{QEMU}/srv-intranet.xml",
        "domain_link": f"{QEMU}/autostart/srv-intranet.xml",
        "pool": "/etc/libvirt/storage/pool-vms.xml",
        "pool_link": "/etc/libvirt/storage/autostart/pool-vms.xml",
        "net": f"{QEMU}/networks/net-vms.xml",
        "net_link": f"{QEMU}/networks/autostart/net-vms.xml",
        "disk": "/srv/vms/srv-intranet.qcow2",
        "qemu_conf": "/etc/libvirt/qemu.conf",
        "boot_link": "/etc/systemd/system/multi-user.target.wants/libvirtd.service",
    }.get(key, key)


def answers(**changes: CommandResult | Exception) -> dict[str, Any]:
    """What a genuine libvirtd answers after the reference solution and the restart."""
    found: dict[str, Any] = {
        r" dominfo srv-intranet$": CommandResult(0, DOMINFO),
        r" dumpxml --inactive srv-intranet$": CommandResult(0, DOMAIN),
        r" pool-info pool-vms$": CommandResult(0, POOL_INFO),
        r" net-info net-vms$": CommandResult(0, NET_INFO),
        r" vol-dumpxml --pool pool-vms srv-intranet\.qcow2$": CommandResult(0, VOLUME),
        r" capabilities$": CommandResult(0, CAPABILITIES),
        r" domstate --reason srv-intranet": CommandResult(0, "running (booted)\n"),
        r" pool-dumpxml --inactive pool-vms$": CommandResult(0, POOL),
        r" net-dumpxml --inactive net-vms$": CommandResult(0, NETWORK),
        r"^systemctl is-enabled libvirtd.service": CommandResult(
            1, "enabled\nenabled\nnot-found\nnot-found\n"
        ),
    }
    keys = {"dominfo": 0, "dumpxml": 1, "pool": 2, "net": 3, "vol": 4, "caps": 5, "state": 6}
    patterns = list(found)
    for name, result in changes.items():
        found[patterns[keys[name]]] = result
    return found


def context(
    view: dict[str, bytes | FileInfo] | None = None,
    virsh: dict[str, Any] | None = None,
    host: bool = True,
    **options: Any,
) -> CheckContext:
    """A node after the reference solution, with the given files and answers instead; without
    `host`, the grader has no view of its disk."""
    views: dict[str, NodeView] = {}
    if host:
        views[NODE] = View(files=files() if view is None else view)
    transport = Scripted(answers() if virsh is None else virsh)
    return CheckContext({NODE: transport}, {NODE: "10.213.7.129"}, {}, views, **options)


NOT_FOUND = CommandResult(1, "", "error: failed to get domain 'srv-intranet'\n")
CHECKS: dict[str, Callable[[CheckContext], CheckResult]] = {
    "pool": lambda ctx: hv.storage_pool(ctx, NODE, "pool-vms", "/srv/vms"),
    "volume": lambda ctx: hv.volume(ctx, NODE, "pool-vms", "srv-intranet.qcow2", "4"),
    "network": lambda ctx: hv.nat_network(
        ctx, NODE, "net-vms", "192.168.50.1", 24, "192.168.50.100", "192.168.50.199"
    ),
    "defined": lambda ctx: hv.vm_defined(ctx, NODE, "srv-intranet"),
    "resources": lambda ctx: hv.vm_resources(ctx, NODE, "srv-intranet", "2", "512"),
    "disk": lambda ctx: hv.vm_disk(
        ctx, NODE, "srv-intranet", "pool-vms", "srv-intranet.qcow2", "/srv/vms"
    ),
    "nic": lambda ctx: hv.vm_nic(ctx, NODE, "srv-intranet", "net-vms"),
    "display": lambda ctx: hv.vm_display(ctx, NODE, "srv-intranet"),
    "os": lambda ctx: hv.vm_os(ctx, NODE, "srv-intranet", "http://debian.org/debian/12"),
    "started": lambda ctx: hv.vm_started(ctx, NODE, "srv-intranet"),
    "libvirt": lambda ctx: hv.libvirt_ready(ctx, NODE),
}


def score(check: str, ctx: CheckContext | None = None) -> float:
    return CHECKS[check](ctx or context()).score


def test_the_reference_solution_meets_every_item_from_libvirts_own_files() -> None:
    for name, check in CHECKS.items():
        ctx = context()
        result = check(ctx)
        assert result.score == 1, (name, result.message)
        assert "host" in {e.via for e in ctx.evidence}, name


def domain(old: str, new: str) -> CheckContext:
    assert old in DOMAIN
    changed = DOMAIN.replace(old, new)
    return context(files(domain=changed.encode()), answers(dumpxml=CommandResult(0, changed)))


@pytest.mark.parametrize(
    ("check", "old", "new", "expected"),
    [
        ("resources", "<vcpu placement='static'>2", "<vcpu placement='static'>1", 0.5),
        ("resources", "'static'>2</vcpu>", "'static' current='1'>2</vcpu>", 0.5),
        ("resources", "<memory unit='KiB'>524288", "<memory unit='KiB'>1048576", 0.5),
        ("resources", "<currentMemory unit='KiB'>524288", "<currentMemory unit='MiB'>256", 0.5),
        ("resources", "<memory unit='KiB'>524288", "<memory unit='GiB'>0.5", 0.5),
        ("disk", "bus='virtio'", "bus='sata'", 2 / 3),
        ("disk", "type='qcow2'", "type='raw'", 2 / 3),
        (
            "disk",
            "<disk type='volume' device='disk'>",
            "<disk type='file' device='disk'>",
            2 / 3,  # a file disk without a file: not the volume
        ),
        ("nic", "<source network='net-vms'/>", "<source network='default'/>", 0.5),
        (
            "nic",
            "<model type='virtio'/>\n      <address type='pci' domain='0x0000' bus='0x00' "
            "slot='0x03'",
            "<model type='e1000'/>\n      <address type='pci' domain='0x0000' bus="
            "'0x00' slot='0x03'",
            0.5,
        ),
        ("display", "<graphics type='vnc'", "<graphics type='spice'", 0),
        ("display", "port='-1' autoport='yes'", "port='5901' autoport='no'", 0.5),
        (
            "display",
            "listen='127.0.0.1'>\n      <listen type='address' address='127.0.0.1'/>",
            "listen='0.0.0.0'>\n      <listen type='address' address='0.0.0.0'/>",
            0.5,
        ),
        ("os", "http://debian.org/debian/12", "http://debian.org/debian/11", 0),
        ("os", '<libosinfo:os id="http://debian.org/debian/12"/>', "", 0),
    ],
)
def test_each_item_off_the_specification_costs_its_share(
    check: str, old: str, new: str, expected: float
) -> None:
    result = CHECKS[check](domain(old, new))
    assert result.score == pytest.approx(expected), result.message


def test_a_disk_given_by_its_path_in_the_pool_is_the_volume() -> None:
    ctx = domain(
        "<disk type='volume' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n"
        "      <source pool='pool-vms' volume='srv-intranet.qcow2'/>",
        "<disk type='file' device='disk'>\n      <driver name='qemu' type='qcow2'/>\n"
        "      <source file='/srv/vms//srv-intranet.qcow2'/>",
    )
    assert score("disk", ctx) == 1


def test_vnc_without_an_address_listens_where_qemu_conf_says() -> None:
    old = (
        "<graphics type='vnc' port='-1' autoport='yes' listen='127.0.0.1'>\n      "
        "<listen type='address' address='127.0.0.1'/>"
    )
    new = "<graphics type='vnc' port='-1' autoport='yes'>\n      <listen type='address'/>"
    plain = DOMAIN.replace(old, new).encode()
    assert score("display", context(files(domain=plain))) == 1
    exposed = files(domain=plain, qemu_conf=b'vnc_listen = "0.0.0.0"\n')
    assert score("display", context(exposed)) == 0.5


def test_storage_pool_network_and_volume_items_score_apart() -> None:
    wrong_path = files(pool=POOL.replace("/srv/vms", "/var/lib/libvirt/images").encode())
    assert score("pool", context(wrong_path)) == pytest.approx(3 / 4)
    stopped = answers(pool=CommandResult(0, POOL_INFO.replace("running", "inactive")))
    assert score("pool", context(files(pool_link=None), stopped)) == pytest.approx(2 / 4)
    routed = NETWORK.replace("mode='nat'", "mode='route'").replace(".199'", ".250'")
    assert score("network", context(files(net=routed.encode()))) == pytest.approx(3 / 5)
    wide = NETWORK.replace("255.255.255.0", "255.255.0.0").encode()
    assert score("network", context(files(net=wide))) == pytest.approx(4 / 5)
    assert score("volume", context(files(disk=qcow2(4 * 10**9)))) == pytest.approx(2 / 3)
    raw = files(disk=bytes(64))  # a raw image of the right size, named .qcow2
    listed = answers(vol=CommandResult(0, VOLUME.replace("'qcow2'", "'raw'")))
    assert score("volume", context(raw, listed)) == pytest.approx(2 / 3)
    assert score("volume", context(files(disk=None))) == 0


def test_autostart_is_libvirts_link_read_from_the_host() -> None:
    # libvirtd's flag lags while it starts after the reboot: the link on the disk decides.
    lagging = answers(dominfo=CommandResult(0, DOMINFO.replace("enable", "disable")))
    assert score("started", context(virsh=lagging)) == 1
    no_link = context(files(domain_link=None))
    result = hv.vm_started(no_link, NODE, "srv-intranet")
    assert result.score == 0.5 and "autostart" in result.message
    wrong_target = files(domain_link=link(f"{QEMU}/other.xml"))
    assert score("started", context(wrong_target)) == 0.5
    off = answers(state=CommandResult(0, "shut off (failed)\n"))
    result = hv.vm_started(context(virsh=off), NODE, "srv-intranet")
    assert result.score == 0.5 and "shut off (failed) after the restart" in result.message


def test_only_an_autostarted_domain_is_waited_for() -> None:
    waited = context()
    hv.vm_started(waited, NODE, "srv-intranet")
    assert "for i in" in waited.evidence[-1].command
    not_waited = context(files(domain_link=None))  # libvirt's autostart link is not there
    hv.vm_started(not_waited, NODE, "srv-intranet")
    assert not_waited.evidence[-1].command.endswith("domstate --reason srv-intranet")


def test_a_file_libvirtd_does_not_run_is_no_definition() -> None:
    unknown = hv.vm_defined(context(virsh=answers(dominfo=NOT_FOUND)), NODE, "srv-intranet")
    assert unknown.score == 0 and "libvirt does not know it" in unknown.message
    other = DOMINFO.replace("96f16a54", "00000000")
    ctx = context(virsh=answers(dominfo=CommandResult(0, other)))
    swapped = hv.vm_defined(ctx, NODE, "srv-intranet")
    assert swapped.score == 0 and "not the one libvirt runs" in swapped.message
    renamed = files(domain=DOMAIN.replace("<name>srv-intranet", "<name>srv-web").encode())
    assert score("defined", context(renamed)) == 0


def test_a_transient_or_absent_domain_is_not_defined() -> None:
    lost = DOMINFO.replace("Persistent:     yes", "Persistent:     no")
    transient = answers(dominfo=CommandResult(0, lost))
    result = hv.vm_defined(context(files(domain=None), transient), NODE, "srv-intranet")
    assert result.score == 0 and "transient" in result.message
    blank = context({}, {})  # nothing installed: no file, no virsh
    for name in CHECKS:
        assert CHECKS[name](blank).score == 0, name


def test_a_faked_virsh_scores_nothing_on_its_own() -> None:
    # Perfect answers from a virsh the integrity scan caught: every verdict is withheld.
    caught = context(untrusted={NODE: "system files changed outside Debian's packages: virsh"})
    for name, check in CHECKS.items():
        with pytest.raises(Untrusted):
            check(caught)
        assert name
    # The same answers with nothing in libvirt's files: the files decide, not virsh.
    empty = context({"/srv/vms": FileInfo("/srv/vms", "dir", 0o711, 0, 0)})
    for name in ("pool", "volume", "network", "defined", "resources", "disk", "started"):
        assert score(name, empty) == 0, name


def test_without_a_host_view_virsh_stands_in_for_the_files() -> None:
    for name in CHECKS:
        ctx = context(host=False)
        result = CHECKS[name](ctx)
        assert result.score == 1, (name, result.message)
    ctx = context(host=False)
    result = hv.vm_nic(ctx, NODE, "srv-intranet", "net-vms")
    assert "from virsh dumpxml --inactive" in result.message
    assert ctx.evidence[-1].command.endswith("dumpxml --inactive srv-intranet")


@pytest.mark.parametrize(
    ("content", "why"),
    [
        (b"<domain>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</domain>", "more than"),
        (DOMAIN.encode()[:-20], "not well-formed"),
        (
            b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">'
            + b"".join(f'<!ENTITY a{i} "{"&a;" * 10}">'.encode() for i in range(1))
            + b"]><domain><name>&a0;</name></domain>",
            "document type",
        ),
        (b"\xff\xfe\x00<\x00d", "not well-formed"),
    ],
)
def test_hostile_definitions_are_refused_quickly(content: bytes, why: str) -> None:
    start = time.monotonic()
    result = hv.vm_defined(context(files(domain=content)), NODE, "srv-intranet")
    assert result.score == 0 and why in result.message
    assert time.monotonic() - start < 1


def test_a_huge_virsh_answer_is_refused() -> None:
    huge = CommandResult(0, "<domain>" + " " * (lo.MAX_XML + 1) + "</domain>")
    ctx = context(host=False, virsh=answers(dumpxml=huge))
    result = hv.vm_defined(ctx, NODE, "srv-intranet")
    assert result.score == 0 and "more than libvirt ever writes" in result.message


def test_unusable_names_never_reach_a_path_or_a_command() -> None:
    for name in ("", "../../etc/shadow", "x; reboot", "a" * 65, ".hidden"):
        with pytest.raises(ValueError):
            hv.vm_defined(context(), NODE, name)


def test_sizes_headers_and_masks() -> None:
    assert lo.to_bytes("524288", None) == 512 << 20
    assert lo.to_bytes("4", "G") == lo.to_bytes("4", "GiB") == 4 << 30
    assert lo.to_bytes("4", "GB") == 4 * 10**9
    assert lo.to_bytes("-1", "KiB") is None and lo.to_bytes("1", "parsecs") is None
    assert lo.to_bytes("9" * 30, "b") is None
    assert hv.qcow2_size(qcow2(4 << 30, 2)) == 4 << 30
    assert hv.qcow2_size(qcow2(4 << 30, 9)) is None and hv.qcow2_size(b"QFI") is None
    parsed = lo.parse_info("State:  running\nbogus\nName: a:b\n")
    assert parsed == {"State": "running", "Name": "a:b"}


def test_the_scenario_grades_the_reference_lab_at_full_marks_and_a_blank_one_at_zero() -> None:
    scenario, _, problems = load_scenario(SCENARIO)
    assert not problems
    packages = ("qemu-system-x86", "qemu-utils", "libvirt-daemon-system", "libvirt-clients")
    programs = {f"/usr/bin/{p}": f"\x7fELF {p}".encode() for p in packages}
    md5 = {path: hashlib.md5(content).hexdigest() for path, content in programs.items()}
    index = PackageIndex(
        Deb(p, "1", "amd64", {f"/usr/bin/{p}": md5[f"/usr/bin/{p}"]}, ()) for p in packages
    )
    lab: dict[str, Any] = {
        **files(),
        **programs,
        "/var/lib/dpkg/status": status(*((p, "1") for p in packages)),
    }
    solved = grade(
        scenario,
        {NODE: Scripted(answers())},
        {NODE: "10.213.7.129"},
        scenario.parameters,
        {NODE: View(files=lab)},
        packages=index,
    )
    assert solved.percent == 100, [(c.id, c.message) for c in solved.criteria if c.score < 1]
    blank = grade(
        scenario,
        {NODE: Scripted({})},
        {NODE: "10.213.7.129"},
        scenario.parameters,
        {NODE: View()},
        packages=index,
    )
    assert blank.percent == 0
    faked = grade(
        scenario,
        {NODE: Scripted(answers())},
        {NODE: "10.213.7.129"},
        scenario.parameters,
        {NODE: View(files=lab)},
        packages=index,
        untrusted={NODE: "/usr/bin/virsh"},
    )
    # Only the packages, verified from the host, still count: 4 of the first criterion's 5.
    assert all("withheld" in c.message for c in faked.criteria[1:])
    assert faked.points == pytest.approx(3 * 4 / 5)
