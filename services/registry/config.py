"""Settings of the registry service only (SHIAN_REGISTRY_* variables).

The shared `Settings` hold what every service needs (its database URL and port included); these are
the registry's own knobs, validated when the app is created.
"""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class RegistryConfig(BaseSettings):
    """The registry's settings."""

    model_config = SettingsConfigDict(env_prefix="SHIAN_REGISTRY_", extra="ignore")

    expiry_check_seconds: float = Field(
        default=60.0,
        gt=0,
        le=3600,
        description="How often the expiry loop looks at the local date (it scans once a day)",
    )
