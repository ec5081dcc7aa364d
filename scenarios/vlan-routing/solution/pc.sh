#!/usr/bin/env bash
# Reference solution of vlan-routing on a workstation (pc1: admin, pc2: staff, pc3: guest),
# run as root. The platform fills in the {{ }} parameters before sending it. eth1 gets its
# address and the router as default gateway from systemd-networkd, so that they come back at
# every boot; eth0 (the platform's access, configured by Docker) is never matched.
# Idempotent: safe to run twice.
set -euo pipefail

case "$(hostname)" in
    pc1) ADDRESS="{{ lan_admin.10 }}/{{ lan_admin.prefix }}" GATEWAY="{{ lan_admin.1 }}" ;;
    pc2) ADDRESS="{{ lan_staff.10 }}/{{ lan_staff.prefix }}" GATEWAY="{{ lan_staff.1 }}" ;;
    pc3) ADDRESS="{{ lan_guest.10 }}/{{ lan_guest.prefix }}" GATEWAY="{{ lan_guest.1 }}" ;;
    *) echo "not a workstation of this exam: $(hostname)" >&2; exit 1 ;;
esac
[[ $ADDRESS =~ ^[0-9.]+/[0-9]+$ && $GATEWAY =~ ^[0-9.]+$ ]] ||
    { echo "parameters not filled in" >&2; exit 1; }
cat > /etc/systemd/network/eth1.network <<CONF
[Match]
Name=eth1

[Network]
Address=$ADDRESS
Gateway=$GATEWAY
LinkLocalAddressing=no
IPv6AcceptRA=no
CONF
systemctl enable systemd-networkd.service
systemctl restart systemd-networkd.service
for _ in $(seq 30); do
    [[ $(ip route show default dev eth1) == *"via $GATEWAY "* ]] && break
    sleep 1
done
ip -br addr show eth1
ip route
[[ $(ip route show default dev eth1) == *"via $GATEWAY "* ]] ||
    { echo "no default route via $GATEWAY on eth1" >&2; exit 1; }
