"""Run a candidate's code where nothing of theirs but that code can weigh on the verdict.

Their node is theirs: as root they may have changed its Python, its pytest, its files. The
grader copies the few files it judges out of the frozen node (through the host's view) and
runs them in a fresh container of a clean image (images/python-sandbox), one per run: as
nobody, without network or capabilities, its memory, processes, disk, time and output capped.
What one run does cannot reach the next: each run's verdict is its own exit status.
"""

from __future__ import annotations

import contextlib
import io
import tarfile
import time
from collections.abc import Mapping
from typing import Any

import docker
import docker.errors
import requests.exceptions

from graders.contract import TIMED_OUT, CommandResult, GraderError
from labs.images import image_tag

IMAGE = "python-sandbox"
WORKDIR = "/work"
NOBODY = 65534
LABEL = "praxis.sandbox"
MAX_OUTPUT = 64 << 10
OUTPUT = f"{WORKDIR}/.output"
SWEEP_AFTER = 3600  # seconds
LIMITS: dict[str, Any] = {
    "user": f"{NOBODY}:{NOBODY}",
    "working_dir": WORKDIR,
    "network_mode": "none",
    "cap_drop": ["ALL"],
    "security_opt": ["no-new-privileges"],
    "mem_limit": "256m",
    "memswap_limit": "256m",
    "nano_cpus": 1_000_000_000,
    "pids_limit": 64,
    "storage_opt": {"size": "64M"},
    "tmpfs": {"/tmp": "size=16m,mode=1777"},
    "log_config": {"type": "json-file", "config": {"max-size": "1m", "max-file": "1"}},
}


def archive(files: Mapping[str, bytes]) -> bytes:
    """A tar of `files` (path relative to the work folder -> content), owned by nobody, with
    one date for all: a run cannot tell one variant's files from another's but by content."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        parts = (p.split("/") for p in files)
        folders = sorted({"/".join(p[:i]) for p in parts for i in range(1, len(p))})
        for path in [*folders, *sorted(files)]:
            info = tarfile.TarInfo(path)
            info.uid = info.gid = NOBODY
            info.mtime = 0
            if path in files:
                info.size, info.mode = len(files[path]), 0o644
                tar.addfile(info, io.BytesIO(files[path]))
            else:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
    return buffer.getvalue()


class DockerSandbox:
    def __init__(self, client: docker.DockerClient) -> None:
        self.client = client
        self.swept = False

    def run(self, files: Mapping[str, bytes], argv: list[str], timeout: float) -> CommandResult:
        """Run `argv` in a fresh sandbox holding `files` (see graders.contract.Sandbox)."""
        # The output goes to a file read back after the run: the engine's log of a container
        # that just ended may not hold all its output yet (a verdict must not depend on it).
        # Killed from inside too, should this grader die first: then `_sweep` removes it later.
        limit = ["timeout", "-s", "KILL", f"{timeout + 10:.0f}"]
        wrapped = [*limit, "sh", "-c", f'exec "$@" >{OUTPUT} 2>&1', "sandbox", *argv]
        self._sweep()
        try:
            container = self.client.containers.create(
                image_tag(IMAGE), wrapped, labels={LABEL: "1"}, **LIMITS
            )
        except docker.errors.ImageNotFound as exc:
            raise GraderError(f"no {IMAGE} image: run `praxis images build`") from exc
        except docker.errors.DockerException as exc:
            raise GraderError(f"sandbox: {exc}") from exc
        try:
            container.put_archive(WORKDIR, archive(files))
            container.start()
            try:
                status = int(container.wait(timeout=timeout)["StatusCode"])
            except (requests.exceptions.ConnectionError, requests.exceptions.ReadTimeout):
                status = TIMED_OUT
                container.kill()
                container.wait(timeout=30)
            output = _read_back(container)
        except docker.errors.DockerException as exc:
            raise GraderError(f"sandbox: {exc}") from exc
        finally:
            with contextlib.suppress(docker.errors.DockerException):  # `praxis reap` will
                container.remove(force=True)
        text = output[:MAX_OUTPUT].decode("utf-8", "replace")
        return CommandResult(status, text, truncated=len(output) > MAX_OUTPUT)

    def _sweep(self) -> None:
        """Remove the sandboxes a grader killed mid-run left behind (ended long since: no run
        lasts SWEEP_AFTER), once per grading."""
        if self.swept:
            return
        self.swept = True
        old = time.time() - SWEEP_AFTER
        with contextlib.suppress(docker.errors.DockerException):
            for c in self.client.api.containers(
                all=True, filters={"label": LABEL, "status": "exited"}
            ):
                if c.get("Created", old) < old:
                    with contextlib.suppress(docker.errors.DockerException):
                        self.client.api.remove_container(c["Id"], force=True)


def _read_back(container: Any) -> bytes:
    """The run's output file, its first MAX_OUTPUT + 1 bytes (more says it was cut)."""
    try:
        stream, _ = container.get_archive(OUTPUT)
    except docker.errors.NotFound:
        return b""
    head = b""
    for chunk in stream:  # a tar: one 512-byte header, then the file
        head += chunk
        if len(head) > 512 + MAX_OUTPUT:
            break
    size = tarfile.TarInfo.frombuf(head[:512], "utf-8", "surrogateescape").size
    return head[512 : 512 + min(size, MAX_OUTPUT + 1)]
