"""Enrolling lab hosts (`praxis hosts`): further Docker Engines labs are placed on (app.fleet).

An enrolled engine must run on this machine (a `unix://` socket; `scripts/lab-engine.sh`
starts one): the grader reads a node's files and processes from this kernel's /proc, the
candidates' access and the grader reach its nodes' addresses, and the lab firewall is this
host's. A remote host needs a grading agent on it (docs/scale.md), not built yet.
"""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass

import docker
import docker.errors
from sqlalchemy import Engine
from sqlmodel import Session, col, func, select

from app.backends import docker_client
from app.config import Settings
from app.db import unit_of_work
from app.errors import Conflict, Invalid
from app.fleet import LOCAL, engine_answers, local_memory
from app.models import LIVE_STATES, LabHost, LabSession
from labs.images import HASH_LABEL

NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
IMAGES = "praxis/"  # the node images (and the grader's sandbox) every host needs


@dataclass(frozen=True)
class HostView:
    name: str
    docker_url: str
    up: bool
    memory_bytes: int
    labs: int  # live sessions placed there


def add(
    engine: Engine, settings: Settings, name: str, docker_url: str, pool: str, memory: int
) -> LabHost:
    """Enrol an engine, after checking it answers and its pool is its own; copies the node
    images it lacks from this machine's engine. `memory` 0: the engine's total memory.
    Raises Invalid or Conflict with the reason."""
    if not NAME.match(name) or name == LOCAL:
        raise Invalid(f"host name {name!r}: a-z, 0-9 and -, not {LOCAL!r}")
    if not docker_url.startswith("unix://"):
        raise Invalid(
            f"{docker_url}: an engine on this machine (unix://...) — a remote host needs the "
            "grading agent, not built yet (docs/scale.md)"
        )
    try:
        network = ipaddress.ip_network(pool)
    except ValueError as exc:
        raise Invalid(f"pool {pool}: {exc}") from None
    with unit_of_work(engine) as db:
        if db.get(LabHost, name) is not None:
            raise Conflict(f"host {name} is enrolled already")
        taken = {h.name: h.lab_pool for h in db.exec(select(LabHost))} | {LOCAL: settings.lab_pool}
    for other, their in taken.items():
        if network.overlaps(ipaddress.ip_network(their)):
            raise Invalid(f"pool {pool} overlaps {other}'s ({their}): each host needs its own")
    if not engine_answers(docker_url):
        raise Invalid(f"the engine at {docker_url} does not answer")
    client = docker.DockerClient(base_url=docker_url, timeout=600)
    try:
        memory = memory or int(client.info()["MemTotal"])
        copy_images(docker_client(settings), client)
    finally:
        client.close()
    host = LabHost(name=name, docker_url=docker_url, lab_pool=pool, memory_bytes=memory)
    with unit_of_work(engine) as db:
        db.add(host)
    return host


def sync(engine: Engine, settings: Settings) -> dict[str, list[str] | str]:
    """Host -> the images copied to it, or why it could not be reached."""
    with unit_of_work(engine) as db:
        enrolled = list(db.exec(select(LabHost).order_by(col(LabHost.name))))
    source = docker_client(settings)
    done: dict[str, list[str] | str] = {}
    for host in enrolled:
        if not engine_answers(host.docker_url):
            done[host.name] = "does not answer"
            continue
        target = docker.DockerClient(base_url=host.docker_url, timeout=600)
        try:
            done[host.name] = copy_images(source, target)
        finally:
            target.close()
    return done


def copy_images(source: docker.DockerClient, target: docker.DockerClient) -> list[str]:
    """Copy the node images the target lacks or holds older (by recipe hash); returns their
    tags. There is no registry: `docker save` here, `docker load` there."""
    copied = []
    for image in source.images.list():
        for tag in image.tags:
            if not tag.startswith(IMAGES):
                continue
            try:
                theirs = target.images.get(tag).labels.get(HASH_LABEL)
            except docker.errors.ImageNotFound:
                theirs = None
            if theirs is None or theirs != image.labels.get(HASH_LABEL):
                target.images.load(source.api.get_image(tag))  # streamed, not held whole
                copied.append(tag)
    return copied


def remove(engine: Engine, name: str) -> None:
    """Forget a host that holds no live lab. Raises Invalid (unknown) or Conflict."""
    with unit_of_work(engine) as db:
        host = db.get(LabHost, name)
        if host is None:
            raise Invalid(f"no lab host {name} (`praxis hosts` lists them)")
        if _labs(db).get(name):
            raise Conflict(f"host {name} holds live labs: end them first")
        db.delete(host)


def listing(engine: Engine, settings: Settings) -> list[HostView]:
    with unit_of_work(engine) as db:
        hosts = list(db.exec(select(LabHost).order_by(col(LabHost.name))))
        labs = _labs(db)
    local_url = settings.docker_url or "unix:///var/run/docker.sock"
    views = [
        HostView(
            LOCAL,
            local_url,
            engine_answers(local_url),
            local_memory(),
            labs.get(LOCAL, 0) + labs.get("", 0),
        )
    ]
    return views + [
        HostView(
            h.name, h.docker_url, engine_answers(h.docker_url), h.memory_bytes, labs.get(h.name, 0)
        )
        for h in hosts
    ]


def _labs(db: Session) -> dict[str, int]:
    rows = db.exec(
        select(LabSession.host, func.count())
        .where(col(LabSession.state).in_(LIVE_STATES))
        .group_by(col(LabSession.host))
    )
    return dict(rows.all())
