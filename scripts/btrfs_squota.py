"""Turn the labs' pool's quotas into btrfs simple quotas (Linux 6.7+): full qgroups make every
subvolume deletion (each container removed) cost btrfs-cleaner a core for minutes, which
stalled the platform on a busy host. Debian 12's btrfs-progs cannot ask for them (6.7+ can:
`btrfs quota enable --simple`), so this asks the kernel directly. Exit 1 if it cannot."""

import fcntl
import os
import struct
import sys

QUOTA_CTL = 0xC0109428  # BTRFS_IOC_QUOTA_CTL: _IOWR(0x94, 40, {u64 cmd; u64 status})
DISABLE, ENABLE_SIMPLE = 2, 4

fd = os.open(sys.argv[1], os.O_RDONLY)
try:
    fcntl.ioctl(fd, QUOTA_CTL, struct.pack("QQ", DISABLE, 0))
    fcntl.ioctl(fd, QUOTA_CTL, struct.pack("QQ", ENABLE_SIMPLE, 0))
except OSError as exc:
    sys.exit(f"simple quotas: {exc}")
