#!/bin/sh
# Runs inside the image's root (chroot) after rootfs/ is copied over it.
set -eu
rm -f /etc/ssh/ssh_host_*  # made per machine at first boot (praxis-firstboot)
systemctl enable praxis-firstboot.service
systemctl mask apt-daily.timer apt-daily-upgrade.timer e2scrub_reap.service
passwd -l root
locale-gen
for f in /etc/pam.d/sudo /etc/pam.d/sudo-i; do
    echo "session    required   pam_env.so readenv=1 envfile=/etc/default/locale" >> "$f"
done
chmod 440 /etc/sudoers.d/praxis-locale
sed -i '/pam_motd\.so/s/^/#/' /etc/pam.d/sshd /etc/pam.d/login
: > /etc/motd
echo praxis-vm > /etc/hostname
apt-get clean
rm -rf /var/lib/apt/lists/*
