"""The domain a VM node becomes: checked against libvirt's own schema (libvirt's in-process
test driver, no daemon) and for what the platform relies on."""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from pathlib import Path

import libvirt
import pytest

from labs.driver import Access, LabNetwork
from labs.libvirt_driver import NS, LibvirtDriver
from labs.scenario import Node
from labs.vm_images import VMImage

NETWORK = LabNetwork("px-abc", ipaddress.IPv4Network("10.213.4.0/24"), "10.213.4.1")
ACCESS = Access("ssh-ed25519 AAAAC3Nza praxis-grader", "candidat", "s3cret pass")


def _xml(tmp_path: Path, boot: str, **node: object) -> ET.Element:
    driver = LibvirtDriver("test:///default", tmp_path, "inst-1")
    driver._accel = "qemu"  # TCG, as here; the probe is tested live
    image = VMImage("img", "linux", boot, 2 << 30, "h", tmp_path)  # type: ignore[arg-type]
    spec = Node(kind="vm", image="img", **node)  # type: ignore[arg-type]
    text = driver.domain_xml(
        "s1", "srv", spec, image, tmp_path / "srv.qcow2", "10.213.4.129", ACCESS, NETWORK
    )
    conn = libvirt.open("test:///default")
    try:  # libvirt's schema (RNG) accepts it
        conn.defineXMLFlags(text, libvirt.VIR_DOMAIN_DEFINE_VALIDATE).undefine()
    finally:
        conn.close()
    return ET.fromstring(text)


def test_a_built_image_boots_its_kernel_with_the_session_s_facts(tmp_path: Path) -> None:
    domain = _xml(tmp_path, "kernel", cpus=2, memory="768M")
    cmdline = domain.findtext("os/cmdline") or ""
    assert "praxis.net=10.213.4.129/24,10.213.4.1" in cmdline
    assert "systemd.hostname=srv" in cmdline and "s3cret" not in cmdline  # base64, no spaces
    assert domain.find("sysinfo") is None
    assert domain.findtext("vcpu") == "2" and domain.findtext("memory") == str(768 << 20)
    assert domain.find("features/tcg/tb-cache") is not None  # 64 MiB, not QEMU's 800
    owner = domain.find(f"metadata/{{{NS}}}lab")
    assert owner is not None and owner.attrib == {
        "session": "s1", "node": "srv", "instance": "inst-1", "address": "10.213.4.129"
    }  # fmt: skip
    assert domain.find("devices/graphics") is None  # no screen unless asked
    assert domain.find("devices/interface/source").attrib["bridge"] == "px-abc"  # type: ignore[union-attr]


def test_an_imported_image_gets_its_facts_from_smbios_and_a_loopback_screen(
    tmp_path: Path,
) -> None:
    domain = _xml(tmp_path, "firmware", display=True, disks=["20G"])
    assert domain.find("os/kernel") is None and domain.find("os/boot") is not None
    strings = [e.text or "" for e in domain.iterfind("sysinfo/oemStrings/entry")]
    assert any(s.startswith("praxis.key=") for s in strings)
    graphics = domain.find("devices/graphics")
    assert graphics is not None and graphics.attrib["listen"] == "127.0.0.1"
    targets = [t.attrib["dev"] for t in domain.iterfind("devices/disk/target")]
    assert targets == ["vda", "vdb"]


@pytest.mark.parametrize("field", [{"capabilities": ["NET_ADMIN"]}, {"pids": 100}])
def test_container_only_fields_are_refused_on_a_vm(field: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="container nodes"):
        Node(kind="vm", image="x", **field)  # type: ignore[arg-type]


def test_vm_only_fields_are_refused_on_a_container() -> None:
    with pytest.raises(ValueError, match="VM nodes"):
        Node(image="x", display=True)
