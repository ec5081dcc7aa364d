#!/usr/bin/env bash
# Install and start what Praxis needs on a bare Debian 12 host (root). Idempotent: a second
# run installs nothing, starts only what is not running and rebuilds no unchanged image.
# DB=postgres (make setup DB=postgres) also installs and starts PostgreSQL (scripts/postgres.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
DB=${DB:-sqlite}
case "$DB" in sqlite | postgres) ;; *) echo "DB=$DB: sqlite or postgres" >&2; exit 1 ;; esac

PACKAGES=(docker.io iptables debootstrap apt-cacher-ng openssh-client ca-certificates procps
          gpgv debian-archive-keyring  # the grader checks lab packages against Debian's signatures
          chromium gnupg  # the browser drives the web UI tests; gpg signs test archives
          fonts-dejavu-core  # the PDFs' fonts (app/reports/fonts.py), and the test browser's
          libvirt-daemon-system libvirt-daemon-driver-qemu qemu-system-x86 qemu-utils libvirt-clients
          dnsmasq-base libvirt-dev pkg-config e2fsprogs  # VM nodes (libvirt-python builds against libvirt-dev)
          isc-dhcp-client  # the DHCP client of the tests of imported VMs' addresses (dnsmasq per session)
          btrfs-progs)  # the labs' pool: per-node disk caps (see scripts/pool.sh)
say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

missing=()
for p in "${PACKAGES[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then missing+=("$p"); fi
done
if [ ${#missing[@]} -gt 0 ]; then
    say "installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

have_systemd() { [ -d /run/systemd/system ]; }

# Every node runs systemd, which holds ~7 inotify instances counted for root across all
# containers: Linux's default (128) makes the ~18th lab die at boot. Raise it, now and at boot.
mkdir -p /etc/sysctl.d
printf 'fs.inotify.max_user_instances = 8192\nfs.inotify.max_user_watches = 1048576\n' \
    > /etc/sysctl.d/60-praxis.conf
sysctl -q -p /etc/sysctl.d/60-praxis.conf

# Docker Engine: Debian's client talks API 1.41 with Debian's daemon.
DOCKER=/usr/bin/docker
# Disk caps need a data root with quotas: make one (a loop-backed btrfs) unless it has one.
source scripts/pool.sh
if ! $DOCKER info >/dev/null 2>&1; then
    say "starting dockerd"
    if have_systemd; then systemctl start docker; else
        mkdir -p /var/log && (setsid dockerd >/var/log/dockerd.log 2>&1 &)
    fi
    for _ in $(seq 60); do $DOCKER info >/dev/null 2>&1 && break; sleep 0.5; done
    $DOCKER info >/dev/null 2>&1 || { echo "dockerd did not start: see /var/log/dockerd.log" >&2; exit 1; }
fi

# libvirt for VM nodes. QEMU runs as libvirt-qemu: it must be able to open /dev/kvm to even
# try KVM (the driver probes whether KVM works and falls back to TCG when it does not).
[ -e /dev/kvm ] && chmod 666 /dev/kvm
if ! virsh -c qemu:///system version >/dev/null 2>&1; then
    say "starting libvirtd"
    if have_systemd; then systemctl start libvirtd; else
        pgrep -x virtlogd >/dev/null || virtlogd -d
        pgrep -x libvirtd >/dev/null || libvirtd -d
    fi
    for _ in $(seq 60); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.5; done
    virsh -c qemu:///system version >/dev/null 2>&1 || { echo "libvirtd did not start" >&2; exit 1; }
fi

# Package cache for `internet: packages` nodes: labs have no NAT, they reach this only.
grep -q deb.debian.org /etc/apt-cacher-ng/backends_debian 2>/dev/null \
    || echo "http://deb.debian.org/debian/" > /etc/apt-cacher-ng/backends_debian
ACNG_DROPIN=/etc/apt-cacher-ng/zzz-praxis.conf  # read last: *.conf in alphabetical order
acng_praxis_conf() {
    # "Debian's repositories only": no URL outside a declared repository (ForceManaged), no
    # HTTPS tunnel, no report/admin page (labs reach this port). Remap- lines only add, so the
    # other distributions the package declares (Ubuntu, Kali, Fedora...) are sent to a proxy
    # that refuses on this host: nothing leaves for them.
    echo "# Written by Praxis's scripts/setup.sh (rewritten at each run): Debian's repositories only."
    echo "ForceManaged: 1"
    echo "PassThroughPattern: ^\$"
    echo "ReportPage:"
    for conf in /etc/apt-cacher-ng/*.conf; do
        [ "$conf" = "$ACNG_DROPIN" ] || sed -n 's/^[[:space:]]*Remap-\([A-Za-z0-9_.-]*\)[[:space:]]*:.*/\1/p' "$conf"
    done | sort -u | { grep -vx -e debrep -e secdeb || true; } | sed 's|.*|Remap-&: ; ; proxy=http://127.0.0.1:9|'
}
acng_conf=$(acng_praxis_conf)
if [ "$acng_conf" != "$(cat "$ACNG_DROPIN" 2>/dev/null)" ] || [ -n "${ACNG_MOVED:-}" ]; then
    printf '%s\n' "$acng_conf" > "$ACNG_DROPIN"
    acng=$(cat /run/apt-cacher-ng/pid 2>/dev/null || true)  # ours, not any apt-cacher-ng
    if [ -n "$acng" ] && kill -0 "$acng" 2>/dev/null; then  # a restart of a second, on a change
        say "restarting apt-cacher-ng: its configuration changed"
        if have_systemd; then systemctl restart apt-cacher-ng; else
            kill "$acng" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$acng" 2>/dev/null || break; sleep 0.1; done
        fi
    fi
fi
if ! kill -0 "$(cat /run/apt-cacher-ng/pid 2>/dev/null)" 2>/dev/null; then
    say "starting apt-cacher-ng"
    if have_systemd; then systemctl start apt-cacher-ng; else
        install -d -o apt-cacher-ng -g apt-cacher-ng /run/apt-cacher-ng /var/cache/apt-cacher-ng /var/log/apt-cacher-ng
        su -s /bin/sh apt-cacher-ng -c "/usr/sbin/apt-cacher-ng -c /etc/apt-cacher-ng \
            pidfile=/run/apt-cacher-ng/pid SocketPath=/run/apt-cacher-ng/socket"
    fi
fi

# PostgreSQL only when asked (`make setup DB=postgres`); SQLite needs nothing.
if [ "$DB" = postgres ]; then bash scripts/postgres.sh; fi

# The project in its own virtualenv; reinstalled only when pyproject.toml changes.
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
    say "installing the project into .venv"
    [ -x .venv/bin/python ] || python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -e '.[dev]' 2>&1 | grep -v '^WARNING: Location' || true
    .venv/bin/python -c "import app, labs, graders, fastapi, docker, paramiko" \
        || { echo "the project did not install into .venv" >&2; exit 1; }
    rm -f .venv/.installed-* && touch "$stamp"
fi

# Node images: built locally (there is no registry), skipped when the recipe is unchanged.
.venv/bin/praxis images build
say "ready"
