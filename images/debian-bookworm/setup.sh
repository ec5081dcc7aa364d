#!/bin/sh
# Runs inside the image's root (chroot) after rootfs/ is copied over it.
set -eu
# Host keys must differ per container: praxis-firstboot makes them at boot.
rm -f /etc/ssh/ssh_host_*
systemctl enable praxis-firstboot.service praxis-account.service
# Units that have nothing to do in a container and only slow the boot.
systemctl mask getty@tty1.service console-getty.service systemd-udevd.service \
    systemd-udev-trigger.service systemd-modules-load.service sys-kernel-config.mount \
    systemd-resolved.service apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service
passwd -l root
apt-get clean
rm -rf /var/lib/apt/lists/*
