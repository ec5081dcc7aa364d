"""The lab backends, built from settings in one place (the service, the CLI and the instructor's
scenario test all take their driver from here)."""

from __future__ import annotations

from app.config import Settings
from labs.docker_driver import DockerDriver
from labs.driver import LabDriver


def lab_driver(settings: Settings, instance: str) -> LabDriver:
    """The driver for this host's labs, labelling what it makes with `instance`: the owning
    platform's id (app.db.instance_id), so that reaping never touches another platform's."""
    return DockerDriver(settings.docker_url, settings.lab_pool, settings.cache_port, instance)


def trials_of(instance: str) -> str:
    """The instance id of this platform's scenario trials (`praxis scenario test`)."""
    return f"{instance}-trial"
