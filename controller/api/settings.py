"""Settings of ``poreline serve`` (pydantic-settings: environment ``PORELINE_*`` or arguments)."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from controller.store import default_database_url


class Settings(BaseSettings):
    """Everything the API server needs; each field can be set as ``PORELINE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="PORELINE_", extra="ignore")

    database_url: str = Field(
        default_factory=default_database_url,
        description="SQLAlchemy URL (PORELINE_DATABASE_URL); default SQLite ./var/poreline.db",
    )
    host: str = Field("127.0.0.1", description="Address the server binds to")
    port: int = Field(8000, ge=0, le=65535, description="TCP port the server listens on")
    plant: Path | None = Field(
        None,
        description="Plant file (PORELINE_PLANT): drive the PLCs it names over Modbus/OPC UA instead of "
        "the built-in simulator; its 'line' gives the line kind (default line_kind)",
    )
    line_kind: str | None = Field(
        None, pattern=r"^[a-z_]+$",
        description="Line kind of the idle line when no plant file says it (default: the default kind, "
        "`poreline kinds`); on the built-in simulator each run uses its recipe's line kind",
    )
    line_runtime: list[str] = Field(
        default_factory=list, description="Attach to the line runtimes at these channel endpoints, each "
        "[LINE_ID=]ipc://PATH or [LINE_ID=]tcp://HOST:PORT, started elsewhere (systemd) instead of starting one "
        "(PORELINE_LINE_RUNTIME, a JSON list)")
    line_runtime_key: list[Path] = Field(
        default_factory=list, description="Key files of the attached runtimes, in their order (default: next to "
        "an ipc socket)")
    state_dir: Path = Field(Path("var/runtime"), description="Where a runtime this server starts keeps its spool, "
                            "socket and key (relative to the working directory)")
    token_ttl_s: float = Field(12 * 3600.0, gt=0, description="Lifetime of a bearer token, s")
    token_idle_s: float = Field(30 * 60.0, gt=0, description="A bearer token unused for this long stops working, s "
                                "(its last use is recorded at most once a minute)")
    token_recheck_s: float = Field(5.0, gt=0, le=3600, description="An open event stream re-checks its token this "
                                   "often and ends once it is revoked or expired or its user deactivated, s")
    login_max_failures: int = Field(5, ge=1, le=1000, description="Consecutive wrong passwords (logins and "
                                    "signatures) that lock a user")
    lockout_s: float = Field(15 * 60.0, gt=0, description="How long a user stays locked unless an admin unlocks, s")
    address_max_failures: int = Field(20, ge=1, le=100_000, description="Wrong or refused passwords one client "
                                      "address may send per address_window_s before it is answered 429")
    address_window_s: float = Field(5 * 60.0, gt=0, description="Sliding window of address_max_failures, s")
    password_hash_concurrency: int = Field(2, ge=1, le=64, description="Password hashes computed at once (each "
                                           "argon2 hash takes 64 MiB and tens of ms of CPU); more wait their turn")
    max_body_bytes: int = Field(1024 * 1024, ge=1024, description="Largest request body accepted, bytes "
                                "(PORELINE_MAX_BODY_BYTES); a larger one gets 413 before it is read")
    admin_created_approval_wait_days: float = Field(
        30.0, ge=0, le=3650,
        description="An account an admin created through the API may approve (release for production) only this "
        "many days after its creation (0: at once)")
    sim_speed: float = Field(
        1.0, gt=0,
        description="Simulated seconds per wall second of the controller's clock (and of the built-in "
        "simulator); 1 for a real plant, the served simulator's speed for one",
    )
    scan_period_s: float = Field(1.0, gt=0, description="Controller scan period (simulated s)")
    sample_period_s: float = Field(10.0, gt=0, description="Historian sample period (simulated s)")
    sim_seed: int = Field(0, description="Simulator noise seed")
