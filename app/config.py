"""All settings, from `PRAXIS_*` environment variables, with defaults that run a fresh checkout."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from app.disk import package_cache_dir
from labs.rights import KNOWN, SAFE, capability

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
    sitting_lead_minutes: int = 15  # a sitting's labs are made this long before its start
    # Standing pools: scenario id -> labs kept ready for walk-in sessions (container labs only),
    # e.g. PRAXIS_POOLS='{"amp-stack": 2}'. A sitting's pool is sized by its candidates.
    pools: dict[str, int] = Field(default_factory=dict)
    # Grading: packages the labs install come through this cache, the trust root for their files
    # (by default where apt-cacher-ng's configuration puts it: make setup moves it to the pool).
    package_cache_dir: Path = Field(
        default_factory=lambda: package_cache_dir() or Path("/var/cache/apt-cacher-ng")
    )
    grading_attempts: int = 3  # an incomplete grade (a criterion in `error`) is graded again
    grading_retry_seconds: float = 10.0
    timezone: str = "Europe/Paris"  # the exam centre's: dates and times shown in pages
    # Cookies are `Secure` on HTTPS requests; set this behind a TLS-terminating proxy that
    # does not send `X-Forwarded-Proto` (uvicorn trusts that header from 127.0.0.1 only).
    secure_cookies: bool = False
    # Sign-in throttling, attempts per window (in bursts as large): per client address, and
    # per staff name or exam code. An exam room behind one NAT address needs a larger first.
    signin_per_address: int = Field(default=30, ge=1)
    signin_per_name: int = Field(default=10, ge=1)
    signin_window: float = Field(default=60.0, gt=0)  # seconds
    # Password hashes (argon2, 64 MiB and ~0.2 s of the cores each) running at once; a sign-in
    # that finds none free within `signin_hash_wait` seconds is answered 429.
    signin_hashes: int = Field(default=2, ge=1)
    signin_hash_wait: float = Field(default=5.0, gt=0)
    # Browser terminals and consoles: what one session may cost the service.
    terminal_backlog_kib: int = Field(default=1024, ge=64)  # a browser further behind is dropped
    recording_cap_mib: int = Field(default=50, ge=1)  # a session's recordings, all nodes
    terminals_per_node: int = Field(default=4, ge=1)  # the candidate's sockets on one console
    watchers_per_node: int = Field(default=8, ge=1)  # the examiners', counted apart
    # Origins besides the service's own host a browser's WebSocket may come from: the public
    # address when a proxy rewrites Host, comma-separated ("https://exam.example.org").
    public_origins: str = ""
    # Capabilities scenarios may give container nodes beyond the safe ones (Docker's defaults
    # and NET_ADMIN), comma-separated: each reaches past the node (SYS_ADMIN, SYS_TIME...).
    allowed_capabilities: str = ""

    @field_validator("allowed_capabilities")
    @classmethod
    def _known_capabilities(cls, value: str) -> str:
        unknown = sorted(set(_names(value)) - KNOWN)
        if unknown:
            raise ValueError(f"unknown capabilities: {', '.join(unknown)} (see capabilities(7))")
        return value

    @property
    def node_capabilities(self) -> frozenset[str]:
        """What a scenario's node may ask: the safe set and the operator's additions."""
        return SAFE | set(_names(self.allowed_capabilities))

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


def _names(value: str) -> list[str]:
    return [capability(name) for name in value.split(",") if name.strip()]


@lru_cache
def get_settings() -> Settings:
    return Settings()
