"""The cost of the disk cap on a lab's start: the same node started by the platform's engine
(Docker's data root on the labs' pool, btrfs, `--storage-opt size=4G`) and by an engine without
caps (overlay2 on the host's ext4: a second dockerd this script starts and stops), rounds
alternated so that both see the same host.

    .venv/bin/python bench/disk.py [--rounds N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.run import DOCKER, raw_ready  # noqa: E402
from labs.images import image_tag  # noqa: E402

BRIDGE, GATEWAY = "pxbench0", "10.214.255.1/24"  # outside the labs' pool (10.213.0.0/16)


class PlainEngine:
    """A second dockerd on overlay2 over the host's file system: no quotas, no caps."""

    def __init__(self, folder: Path) -> None:
        self.sock = f"unix://{folder}/docker.sock"
        self.client = (DOCKER, "-H", self.sock)
        subprocess.run(["ip", "link", "add", BRIDGE, "type", "bridge"], check=True)
        subprocess.run(["ip", "addr", "add", GATEWAY, "dev", BRIDGE], check=True)
        subprocess.run(["ip", "link", "set", BRIDGE, "up"], check=True)
        (folder / "daemon.json").write_text("{}")  # not the platform's (its data root)
        self.daemon = subprocess.Popen(
            ["dockerd", "--config-file", f"{folder}/daemon.json", "-H", self.sock,
             "--data-root", f"{folder}/root", "--exec-root", f"{folder}/exec",
             "--pidfile", f"{folder}/pid", "--storage-driver", "overlay2", "-b", BRIDGE,
             "--iptables=false", "--ip-masq=false"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        try:
            for _ in range(120):
                if subprocess.run([*self.client, "info"], capture_output=True).returncode == 0:
                    break
                time.sleep(0.5)
            save = [DOCKER, "save", image_tag("debian-bookworm")]
            with subprocess.Popen(save, stdout=subprocess.PIPE) as image:
                subprocess.run([*self.client, "load", "-q"], stdin=image.stdout, check=True)
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        self.daemon.terminate()
        self.daemon.wait(60)
        subprocess.run(["ip", "link", "del", BRIDGE], check=False)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    rounds = parser.parse_args().rounds
    capped = (DOCKER,), ("--storage-opt", "size=4G")
    with tempfile.TemporaryDirectory(dir="/var/tmp") as tmp:
        plain = PlainEngine(Path(tmp))
        try:
            raw_ready(True, *capped)
            raw_ready(True, plain.client)  # warm both sides' page cache
            with_cap, without = [], []
            for _ in range(rounds):
                with_cap.append(raw_ready(True, *capped))
                without.append(raw_ready(True, plain.client))
        finally:
            plain.close()
    median = statistics.median
    print(f"{'node ready (key login), overlay2 on ext4, no cap':52} median {median(without):.3f}s")
    print(f"{'node ready (key login), btrfs pool, 4G disk cap':52} median {median(with_cap):.3f}s")
    print(f"{'ratio with / without the disk cap':52} {median(with_cap) / median(without):.2f}")


if __name__ == "__main__":
    main()
