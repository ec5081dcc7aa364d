#!/usr/bin/env bash
# Reference solution of vlan-routing on the router r1, run as root. The platform fills in the
# {{ }} parameters before sending it. Router-on-a-stick: one 802.1Q sub-interface of eth1 per
# VLAN (systemd-networkd), IPv4 forwarding (sysctl.d), and nftables refusing connections opened
# from the guest VLAN to the admin VLAN; all of it comes back at every boot. eth0 (the
# platform's access) is ifupdown's, never matched. Idempotent: safe to run twice.
set -euo pipefail

declare -A VLAN=([admin]="{{ vlan_admin }}" [staff]="{{ vlan_staff }}" [guest]="{{ vlan_guest }}")
declare -A GATEWAY=(
    [admin]="{{ lan_admin.1 }}/{{ lan_admin.prefix }}"
    [staff]="{{ lan_staff.1 }}/{{ lan_staff.prefix }}"
    [guest]="{{ lan_guest.1 }}/{{ lan_guest.prefix }}"
)
LAN_ADMIN="{{ lan_admin }}" LAN_GUEST="{{ lan_guest }}"
for name in admin staff guest; do
    [[ ${VLAN[$name]} =~ ^[0-9]+$ && ${GATEWAY[$name]} =~ ^[0-9.]+/[0-9]+$ ]] ||
        { echo "parameters not filled in for $name" >&2; exit 1; }
done
cd /etc/systemd/network

# The trunk: no address of its own, it only carries the tagged sub-interfaces.
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

echo "net.ipv4.ip_forward = 1" > /etc/sysctl.d/90-routage.conf
sysctl -q -p /etc/sysctl.d/90-routage.conf

# Stateful: replies to what the admin VLAN opened still pass.
cat > /etc/nftables.conf <<CONF
#!/usr/sbin/nft -f
flush ruleset

table inet filtrage {
    chain forward {
        type filter hook forward priority filter; policy accept;
        ct state established,related accept
        ip saddr $LAN_GUEST ip daddr $LAN_ADMIN drop
    }
}
CONF
nft -c -f /etc/nftables.conf
systemctl enable nftables.service systemd-networkd.service
systemctl restart nftables.service systemd-networkd.service
ready() { [[ $(ip -br addr show "eth1.${VLAN[guest]}" 2>/dev/null) == *" ${GATEWAY[guest]}"* ]]; }
for _ in $(seq 30); do ready && break; sleep 1; done
ip -br addr
nft list ruleset
ready || { echo "eth1.${VLAN[guest]} has no address ${GATEWAY[guest]}" >&2; exit 1; }
