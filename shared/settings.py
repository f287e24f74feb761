"""One settings class for every service, read from SHIAN_* environment variables.

Validated at start: outside development, a missing secret key stops the service instead of
silently signing tokens with a guessable one.
"""

from __future__ import annotations

import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE_NAMES = ("registry", "inspection", "alerts", "reporting")
DEFAULT_PORTS = {"registry": 8001, "inspection": 8002, "alerts": 8003, "reporting": 8004}


class Settings(BaseSettings):
    """Process-wide settings; per-service values are looked up by service name."""

    model_config = SettingsConfigDict(env_prefix="SHIAN_", extra="ignore")

    env: Literal["development", "production", "test"] = "development"
    var_dir: Path = Path("var")
    redis_url: str = "redis://127.0.0.1:6379/0"
    stream_prefix: str = "shian"
    secret_key: str | None = None
    token_ttl_hours: int = 24 * 30
    host: str = "127.0.0.1"
    log_level: str = "INFO"
    log_json: bool = False
    # the county this deployment serves: the only county whose definition a county token may load
    # before the registry knows any place (else the id in SHIAN_COUNTY_FILE, else the demo county)
    county_id: str | None = None

    # bus tuning
    batch_size: int = Field(default=256, ge=1, le=10_000)
    block_ms: int = Field(default=1000, ge=1, le=4000)  # redis-py's socket_timeout is 5 s
    claim_idle_ms: int = Field(default=30_000, ge=100)
    max_deliveries: int = Field(default=5, ge=1)
    relay_batch_size: int = Field(default=500, ge=1)
    relay_poll_seconds: float = Field(default=0.5, gt=0)

    @model_validator(mode="after")
    def _production_needs_a_secret(self) -> Settings:
        if self.env == "production" and not self.secret_key:
            raise ValueError("SHIAN_SECRET_KEY must be set when SHIAN_ENV=production")
        if self.secret_key is not None and self.env == "production" and len(self.secret_key) < 32:
            raise ValueError("SHIAN_SECRET_KEY must be at least 32 characters in production")
        return self

    def database_url(self, service: str) -> str:
        """SHIAN_<SERVICE>_DATABASE_URL, else a SQLite file under the var directory."""
        explicit = os.environ.get(f"SHIAN_{service.upper()}_DATABASE_URL")
        if explicit:
            return explicit
        return f"sqlite:///{(self.var_dir / f'{service}.db').resolve()}"

    def port(self, service: str) -> int:
        explicit = os.environ.get(f"SHIAN_{service.upper()}_PORT")
        return int(explicit) if explicit else DEFAULT_PORTS[service]

    def signing_key(self) -> str:
        """The token signing key: configured, or in development one kept under var/ and shared
        by all four local services so a token from `shian token` works everywhere."""
        if self.secret_key:
            return self.secret_key
        if self.env == "production":  # unreachable after validation; kept as a guard
            raise RuntimeError("no secret key in production")
        path = self.var_dir / "dev-secret.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            candidate = secrets.token_urlsafe(48)
            try:
                with open(path, "x", encoding="utf-8") as handle:
                    handle.write(candidate)
                os.chmod(path, 0o600)
            except FileExistsError:
                pass
        return path.read_text(encoding="utf-8").strip()

    def stream(self, service: str) -> str:
        return f"{self.stream_prefix}.{service}"

    @property
    def deadletter_stream(self) -> str:
        return f"{self.stream_prefix}.deadletter"


@lru_cache
def get_settings() -> Settings:
    return Settings()
