"""All settings, from `PRAXIS_*` environment variables, with defaults that run a fresh checkout."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PRAXIS_")

    data_dir: Path = ROOT / "var"
    database_url: str = ""  # empty: SQLite in data_dir
    host: str = "127.0.0.1"  # never 0.0.0.0 by default: labs reach host services on all addresses
    port: int = 8000
    # The service's CPU priority (nice): it answers before gradings and the labs' own load
    # take the cores (a grading worker goes back to 0). Below 0 needs root.
    service_niceness: int = Field(default=-5, ge=-20, le=19)
    scenarios_dir: Path = ROOT / "scenarios"
    images_dir: Path = ROOT / "images"
    docker_url: str | None = None  # None: DOCKER_HOST or the local socket
    libvirt_url: str = "qemu:///system"
    # VM base images and session disks, outside the checkout: QEMU runs as its own user and
    # must reach them (images/ and disks/<instance>/<session>/ below it).
    vm_dir: Path = Path("/var/lib/praxis")
    lab_pool: str = "10.213.0.0/16"
    cache_port: int = 3142  # apt-cacher-ng on the host, for `internet: packages` nodes
    access_host: str = "127.0.0.1"  # where candidate SSH access ports listen
    access_ports: str = "22000-22999"
    candidate_user: str = "candidat"
    ready_timeout: float = 180.0
    retention_seconds: float = 600.0  # a graded lab is kept this long for examiners
    tick_seconds: float = 0.25
    # Grading: packages the labs install come through this cache, the trust root for their files.
    package_cache_dir: Path = Path("/var/cache/apt-cacher-ng")
    grading_attempts: int = 3  # an incomplete grade (a criterion in `error`) is graded again
    grading_retry_seconds: float = 10.0
    timezone: str = "Europe/Paris"  # the exam centre's: dates and times shown in pages
    secure_cookies: bool = False  # set when served over HTTPS
    # Browser terminals and consoles: what one session may cost the service.
    terminal_backlog_kib: int = Field(default=1024, ge=64)  # a browser further behind is dropped
    recording_cap_mib: int = Field(default=50, ge=1)  # a session's recordings, all nodes
    terminals_per_node: int = Field(default=4, ge=1)  # the candidate's sockets on one console
    watchers_per_node: int = Field(default=8, ge=1)  # the examiners', counted apart
    # Origins besides the service's own host a browser's WebSocket may come from: the public
    # address when a proxy rewrites Host, comma-separated ("https://exam.example.org").
    public_origins: str = ""

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'praxis.db'}"

    @property
    def public_origin_set(self) -> set[str]:
        return {o.strip().rstrip("/").lower() for o in self.public_origins.split(",") if o.strip()}

    @property
    def access_port_range(self) -> range:
        low, _, high = self.access_ports.partition("-")
        return range(int(low), int(high or low) + 1)


@lru_cache
def get_settings() -> Settings:
    return Settings()
