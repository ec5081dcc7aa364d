#!/bin/sh
# Runs inside the image's root (chroot). The code under test runs as nobody in /work.
set -eu
install -d -o 65534 -g 65534 /work
apt-get clean
rm -rf /var/lib/apt/lists/* /usr/share/doc /usr/share/man /usr/share/locale
