"""The web process's own settings (SHIAN_WEB_*), on top of the shared `Settings`."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from shared.settings import DATA_SERVICES, Settings, url_host


class WebConfig(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SHIAN_WEB_", extra="ignore")

    # Secure cookies need https; on by default in production (set false only behind plain http
    # on a closed network), off in development where the pages are served over http://127.0.0.1.
    secure_cookies: bool | None = None
    # how long a signed-in browser stays signed in without a request (idle), in minutes
    idle_minutes: int = Field(default=12 * 60, ge=5, le=30 * 24 * 60)
    # refresh the access token when it has fewer seconds than this left
    refresh_margin_seconds: int = Field(default=60, ge=5, le=600)
    # sign-in attempts per browser address and minute (identity limits each account on its own)
    signin_per_address_per_minute: int = Field(default=30, ge=1)
    # the timeout of one call to a service, in seconds
    call_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    # where the services answer (SHIAN_WEB_<SERVICE>_URL); unset: the host and port of Settings
    registry_url: str | None = None
    inspection_url: str | None = None
    alerts_url: str | None = None
    reporting_url: str | None = None
    identity_url: str | None = None

    def secure(self, settings: Settings) -> bool:
        return self.secure_cookies if self.secure_cookies is not None else settings.env == "production"

    def service_urls(self, settings: Settings) -> dict[str, str]:
        """Each service's base URL: configured, else this machine's host and the service's port."""
        host = url_host(settings.host)
        return {
            name: (getattr(self, f"{name}_url", None) or f"http://{host}:{settings.port(name)}").rstrip("/")
            for name in DATA_SERVICES
        }
