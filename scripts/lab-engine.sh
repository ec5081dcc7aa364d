#!/usr/bin/env bash
# A further Docker Engine on this machine, to enrol as a lab host (`praxis hosts add`): its own
# socket, data root (a loop-backed btrfs with quotas, for the nodes' disk caps), containerd and
# address pool. Uses: a second disk or pool of addresses for labs, and the tests' second host.
#
#   bash scripts/lab-engine.sh start NAME   # prints the engine's URL once it answers
#   bash scripts/lab-engine.sh stop NAME
#
# It leaves the host's firewall to the main engine and Praxis (--iptables=false): two engines
# rewriting Docker's chains would undo each other's rules. Praxis's own chains (labs.firewall)
# isolate every lab bridge, whichever engine made it. live-restore: its labs run on while the
# engine is down (crashed, upgraded) and are found again when it is back.
set -euo pipefail
action=${1:?start or stop}
name=${2:?an engine name}
[[ "$name" =~ ^[a-z][a-z0-9-]{0,20}$ ]] || { echo "engine name: a-z, 0-9, -" >&2; exit 1; }
root=/var/lib/praxis/engines/$name
run=/run/praxis-engines/$name
socket=$run/docker.sock
image=$root.img
bridge=pxd-${name:0:11}

case "$action" in
start)
    mkdir -p "$root" "$run"
    if ! mountpoint -q "$root"; then
        [ -f "$image" ] || { truncate -s 40G "$image"; mkfs.btrfs -q "$image" >/dev/null; }
        mount -o loop "$image" "$root"
    fi
    btrfs quota enable "$root"
    if ! DOCKER_HOST=unix://$socket docker version >/dev/null 2>&1; then
        # Its default network on a bridge of its own: with none (`"bridge": "none"`) dockerd
        # deletes docker0 at start, the main engine's. Praxis's labs use networks of their own.
        if ! ip link show "$bridge" >/dev/null 2>&1; then
            ip link add "$bridge" type bridge
            ip addr add "100.64.$(( $(cksum <<< "$name" | cut -d' ' -f1) % 250 )).1/24" dev "$bridge"
            ip link set "$bridge" up
        fi
        cat > "$run/daemon.json" <<EOF
{
  "hosts": ["unix://$socket"], "data-root": "$root/docker", "exec-root": "$run/exec",
  "pidfile": "$run/dockerd.pid", "storage-driver": "btrfs", "userns-remap": "default",
  "bridge": "$bridge", "iptables": false, "ip-masq": false, "live-restore": true
}
EOF
        setsid dockerd --config-file "$run/daemon.json" >> "$run/dockerd.log" 2>&1 < /dev/null &
        for _ in $(seq 120); do
            DOCKER_HOST=unix://$socket docker version >/dev/null 2>&1 && break
            sleep 0.5
        done
    fi
    DOCKER_HOST=unix://$socket docker version >/dev/null
    echo "unix://$socket"
    ;;
stop)
    if [ -f "$run/dockerd.pid" ]; then
        pid=$(cat "$run/dockerd.pid")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    ! mountpoint -q "$root" || umount -R "$root"  # with the engine's own mounts inside
    ! ip link show "$bridge" >/dev/null 2>&1 || ip link del "$bridge"
    ;;
*) echo "start or stop" >&2; exit 1 ;;
esac
