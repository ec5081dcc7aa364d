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
# UTF-8 for every login path: sshd and su read /etc/default/locale through pam_env; sudo's
# PAM files do not, so `sudo -i` would start root's shell without LANG (no accents).
locale-gen
for f in /etc/pam.d/sudo /etc/pam.d/sudo-i; do
    echo "session    required   pam_env.so readenv=1 envfile=/etc/default/locale" >> "$f"
done
chmod 440 /etc/sudoers.d/praxis-locale
# No banner before the prompt (kernel line, Debian's licence text) in every terminal and replay.
sed -i '/pam_motd\.so/s/^/#/' /etc/pam.d/sshd /etc/pam.d/login
: > /etc/motd
apt-get clean
rm -rf /var/lib/apt/lists/*
