"""The lab backends, built from settings in one place (the service, the CLI and the instructor's
scenario test all take their driver and image stores from here)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as Late
from typing import TypeVar

import docker
from sqlalchemy import Engine

from app.catalog import Catalog
from app.config import Settings
from app.fleet import Fleet, local_memory
from app.models import LabHost
from labs.composite import CompositeDriver
from labs.docker_driver import DockerDriver
from labs.driver import LabDriver
from labs.images import Stores
from labs.libvirt_driver import LibvirtDriver


def docker_client(settings: Settings) -> docker.DockerClient:
    url = settings.docker_url
    return docker.DockerClient(base_url=url) if url else docker.from_env()


def lab_driver(settings: Settings, instance: str) -> LabDriver:
    """The driver for this host's labs, labelling what it makes with `instance`: the owning
    platform's id (app.db.instance_id), so that reaping never touches another platform's.
    Containers go to the Docker engine, VMs to libvirt, on the session's one network."""
    containers = DockerDriver(
        settings.docker_url,
        settings.lab_pool,
        settings.cache_port,
        instance,
        settings.node_capabilities,
    )
    vms = LibvirtDriver(settings.libvirt_url, settings.vm_dir, instance, settings.cache_port)
    return CompositeDriver(containers, vms)


def platform_driver(
    settings: Settings, engine: Engine, catalog: Catalog, instance: str, local: LabDriver
) -> Fleet:
    """The service's driver: this machine's engines (`local`) and the enrolled lab hosts'."""

    def host_driver(host: LabHost) -> LabDriver:
        return DockerDriver(
            host.docker_url,
            host.lab_pool,
            settings.cache_port,
            instance,
            settings.node_capabilities,
        )

    return Fleet(engine, catalog, local, local_memory(), host_driver)


def image_stores(settings: Settings) -> Stores:
    return Stores(docker_client(settings), settings.vm_dir / "images")


T = TypeVar("T")
STATE_WAIT = 3.0  # seconds a page waits for the engines' word on its nodes
_state_calls = ThreadPoolExecutor(max_workers=4, thread_name_prefix="node-states")
log = logging.getLogger("praxis.labs")


def states_within(call: Callable[[], T], default: T) -> T:
    """The engines' answer for a page, or `default` past STATE_WAIT seconds: a slow engine
    must not hold a candidate's page, its clock or the dashboard (the call ends in the
    background, and is said in the log)."""
    future = _state_calls.submit(call)
    try:
        return future.result(timeout=STATE_WAIT)
    except Late:
        log.warning("the lab engines took more than %gs to give the nodes' states", STATE_WAIT)
        return default


def trials_of(instance: str) -> str:
    """The instance id of this platform's scenario trials (`praxis scenario test`)."""
    return f"{instance}-trial"
