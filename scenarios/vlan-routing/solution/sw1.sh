#!/usr/bin/env bash
# Reference solution of vlan-routing on the switch sw1, run as root. The platform fills in the
# {{ }} parameters before sending it. A VLAN-aware Linux bridge made by systemd-networkd, so
# that it comes back at every boot: eth1 the trunk (the three VLANs tagged), eth2/3/4 access
# ports (one VLAN each, untagged). eth0 (the platform's access) is ifupdown's, never matched.
# Idempotent: safe to run twice.
set -euo pipefail

ADMIN="{{ vlan_admin }}" STAFF="{{ vlan_staff }}" GUEST="{{ vlan_guest }}"
for id in "$ADMIN" "$STAFF" "$GUEST"; do
    [[ $id =~ ^[0-9]+$ ]] || { echo "VLAN id not filled in: $id" >&2; exit 1; }
done
cd /etc/systemd/network

# No default VLAN (1) anywhere: a port carries only the VLANs given below.
cat > br0.netdev <<'CONF'
[NetDev]
Name=br0
Kind=bridge

[Bridge]
VLANFiltering=yes
DefaultPVID=none
STP=no
CONF
# The bridge itself has no address: the switch is not on any of the VLANs.
cat > br0.network <<'CONF'
[Match]
Name=br0

[Network]
LinkLocalAddressing=no
IPv6AcceptRA=no
ConfigureWithoutCarrier=yes
CONF

port() {  # port NAME: the common part of a bridge port's file
    printf '[Match]\nName=%s\n\n[Network]\nBridge=br0\nLinkLocalAddressing=no\n' "$1"
}
{
    port eth1
    for id in "$ADMIN" "$STAFF" "$GUEST"; do printf '\n[BridgeVLAN]\nVLAN=%s\n' "$id"; done
} > eth1.network
access() {  # access NAME VLAN: untagged member of one VLAN, untagged frames in it
    { port "$1"; printf '\n[BridgeVLAN]\nVLAN=%s\nPVID=%s\nEgressUntagged=%s\n' "$2" "$2" "$2"; } \
        > "$1.network"
}
access eth2 "$ADMIN"
access eth3 "$STAFF"
access eth4 "$GUEST"

systemctl enable systemd-networkd.service
# A bridge made by an earlier run keeps its settings: start from scratch.
ip link del br0 2>/dev/null || true
systemctl restart systemd-networkd.service
ready() { [[ $(bridge vlan show dev eth4 2>/dev/null) == *" $GUEST PVID Egress Untagged"* ]]; }
for _ in $(seq 30); do ready && break; sleep 1; done
bridge vlan show
ready || { echo "eth4 is not an access port of VLAN $GUEST" >&2; exit 1; }
