#!/usr/bin/env bash
# Half solution of vlan-routing on r1, for the scenario's test: the router's VLANs right (its
# 802.1Q sub-interfaces and addresses, as in solution/r1.sh) but no routing (forwarding left
# off) and no filtering. With solution/ on sw1 and the PCs, each PC reaches its gateway and
# nothing beyond: every routing criterion must score 0. Idempotent: safe to run twice.
set -euo pipefail

declare -A VLAN=([admin]="{{ vlan_admin }}" [staff]="{{ vlan_staff }}" [guest]="{{ vlan_guest }}")
declare -A GATEWAY=(
    [admin]="{{ lan_admin.1 }}/{{ lan_admin.prefix }}"
    [staff]="{{ lan_staff.1 }}/{{ lan_staff.prefix }}"
    [guest]="{{ lan_guest.1 }}/{{ lan_guest.prefix }}"
)
for name in admin staff guest; do
    [[ ${VLAN[$name]} =~ ^[0-9]+$ && ${GATEWAY[$name]} =~ ^[0-9.]+/[0-9]+$ ]] ||
        { echo "parameters not filled in for $name" >&2; exit 1; }
done
cd /etc/systemd/network

{
    printf '[Match]\nName=eth1\n\n[Network]\nLinkLocalAddressing=no\nIPv6AcceptRA=no\n'
    printf 'ConfigureWithoutCarrier=yes\n'
    for name in admin staff guest; do printf 'VLAN=eth1.%s\n' "${VLAN[$name]}"; done
} > eth1.network
for name in admin staff guest; do
    id=${VLAN[$name]}
    printf '[NetDev]\nName=eth1.%s\nKind=vlan\n\n[VLAN]\nId=%s\n' "$id" "$id" > "eth1.$id.netdev"
    printf '[Match]\nName=eth1.%s\n\n[Network]\nAddress=%s\nLinkLocalAddressing=no\nIPv6AcceptRA=no\nConfigureWithoutCarrier=yes\n' \
        "$id" "${GATEWAY[$name]}" > "eth1.$id.network"
done
systemctl enable systemd-networkd.service
systemctl restart systemd-networkd.service
ready() { [[ $(ip -br addr show "eth1.${VLAN[guest]}" 2>/dev/null) == *" ${GATEWAY[guest]}"* ]]; }
for _ in $(seq 30); do ready && break; sleep 1; done
ip -br addr
sysctl net.ipv4.ip_forward
ready || { echo "eth1.${VLAN[guest]} has no address ${GATEWAY[guest]}" >&2; exit 1; }
