# Sourced by setup.sh before dockerd starts. The labs' pool: a btrfs file system with quotas
# that holds Docker's data root (so `--storage-opt size=` caps each node's disk) and the
# package cache (capped by a qgroup). Overlay on ext4 has no quotas; an operator whose Docker
# data root already has them (btrfs, zfs, xfs with pquota) keeps it: their own
# /etc/docker/daemon.json is never touched, and `praxis doctor` says whether caps work.
POOL=${PRAXIS_POOL:-/var/lib/praxis/pool}
POOL_IMAGE=${PRAXIS_POOL_IMAGE:-/var/lib/praxis/pool.img}
CACHE_CAP=${PRAXIS_PACKAGE_CACHE_CAP:-8G}
DAEMON_JSON=/etc/docker/daemon.json

pool_size() {  # 60 % of the free space where the image goes, 20-200 GiB (a sparse file)
    local free_gib
    free_gib=$(df --output=avail -B1G "$(dirname "$POOL_IMAGE")" | tail -1 | tr -d ' ')
    local size=$((free_gib * 6 / 10))
    ((size < 20)) && size=20
    ((size > 200)) && size=200
    echo "${size}G"
}

mount_pool() {
    mkdir -p "$(dirname "$POOL_IMAGE")" "$POOL"
    mountpoint -q "$POOL" && return
    if [ ! -f "$POOL_IMAGE" ]; then
        say "making the labs' pool: $POOL_IMAGE ($(pool_size), btrfs, grows as used)"
        truncate -s "$(pool_size)" "$POOL_IMAGE"
        mkfs.btrfs -q "$POOL_IMAGE" >/dev/null
    fi
    mount -o loop "$POOL_IMAGE" "$POOL"
}

at_boot() {  # systemd mounts the pool and makes the quotas right before dockerd starts
    have_systemd || return 0
    grep -qs " $POOL " /etc/fstab || echo "$POOL_IMAGE $POOL btrfs loop,nofail 0 0" >> /etc/fstab
    local dropin=/etc/systemd/system/docker.service.d/praxis-pool.conf
    local unit="[Unit]\nRequiresMountsFor=$POOL\n[Service]\nExecStartPre=$QUOTAS\n"
    if [ "$(printf "$unit")" != "$(cat "$dropin" 2>/dev/null)" ]; then
        mkdir -p "$(dirname "$dropin")" && printf "$unit" > "$dropin"
        systemctl daemon-reload
    fi
}

# Docker's btrfs driver turns the file system's quotas off whenever dockerd stops (and turns
# full qgroups on again for the next capped node): this script, run before each start, brings
# back simple quotas where the kernel has them (cheap deletions), and the package cache's cap.
QUOTAS=/usr/local/libexec/praxis-pool-quotas
install_quotas() {
    mkdir -p "$(dirname "$QUOTAS")"
    install -m 644 scripts/btrfs_squota.py "$QUOTAS.py"
    cat > "$QUOTAS" <<EOF
#!/bin/bash
set -e
mode=/sys/fs/btrfs/\$(btrfs filesystem show "$POOL" | awk '/uuid/{print \$NF}')/qgroups/mode
if [ "\$(cat "\$mode" 2>/dev/null)" != squota ]; then
    python3 "$QUOTAS.py" "$POOL" 2>/dev/null || btrfs quota enable "$POOL"
fi
[ ! -d "$POOL/apt-cacher-ng" ] || btrfs qgroup limit "$CACHE_CAP" "$POOL/apt-cacher-ng"
EOF
    chmod 755 "$QUOTAS"
}

ours() { [ ! -f "$DAEMON_JSON" ] || grep -qs "\"$POOL/docker\"" "$DAEMON_JSON"; }

if ours; then
    install_quotas
    mount_pool
    at_boot
    mkdir -p /etc/docker
    # userns-remap: root in a node is an unprivileged user of the host (labs/userns.py).
    cat > "$DAEMON_JSON.new" <<EOF
{
  "data-root": "$POOL/docker",
  "storage-driver": "btrfs",
  "userns-remap": "default"
}
EOF
    if ! cmp -s "$DAEMON_JSON.new" "$DAEMON_JSON"; then mv "$DAEMON_JSON.new" "$DAEMON_JSON"
    else rm "$DAEMON_JSON.new"; fi
    running=$($DOCKER info --format '{{.DockerRootDir}} {{.SecurityOptions}}' 2>/dev/null || true)
    if [ -n "$running" ] && [[ "$running" != "$POOL/docker/"*"name=userns"* ]]; then
        if [ -n "$($DOCKER ps -q --filter label=praxis.session)" ]; then
            echo "dockerd runs without disk caps or user namespaces, and labs are running:" \
                 "end them, then run make setup again (it restarts dockerd on $POOL)" >&2
            exit 1
        fi
        say "restarting dockerd on the labs' pool, in user namespaces (images are built again)"
        if have_systemd; then systemctl stop docker; else
            pkill -x dockerd || true
            for _ in $(seq 60); do pgrep -x dockerd >/dev/null || break; sleep 0.5; done
        fi
    fi
    # The package cache's own subvolume, capped; setup.sh restarts apt-cacher-ng when it moves.
    if [ ! -d "$POOL/apt-cacher-ng" ]; then
        btrfs -q subvolume create "$POOL/apt-cacher-ng"
        chown apt-cacher-ng:apt-cacher-ng "$POOL/apt-cacher-ng"
    fi
    "$QUOTAS"
    cache_conf="CacheDir: $POOL/apt-cacher-ng"
    if [ "$cache_conf" != "$(cat /etc/apt-cacher-ng/zz-praxis-pool.conf 2>/dev/null)" ]; then
        echo "$cache_conf" > /etc/apt-cacher-ng/zz-praxis-pool.conf
        ACNG_MOVED=1
    fi
fi
