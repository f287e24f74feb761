"""Settings of the identity service only (SHIAN_IDENTITY_* variables).

The shared `Settings` hold what every service needs (Redis, the var directory, admission). These are
identity's own: who it says it is in its tokens, how long they live, how sign-in is limited and
locked, the password rules and the Argon2id cost. Its database URL and port are in the shared
settings, as every service's are (`SHIAN_IDENTITY_DATABASE_URL`, `SHIAN_IDENTITY_PORT`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AliasChoices, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SERVICE = "identity"


class IdentityConfig(BaseSettings):
    """The identity service's own knobs, validated at start."""

    model_config = SettingsConfigDict(env_prefix="SHIAN_IDENTITY_", extra="ignore", hide_input_in_errors=True)

    env: str = Field(default="development", validation_alias=AliasChoices("SHIAN_ENV", "env"))

    # what the tokens say
    issuer: str = Field(default="shian-identity", description="The `iss` of every token identity signs")
    audience: str = Field(default="shian", description="The `aud`: every Shian service accepts it")
    access_ttl_seconds: int = Field(default=15 * 60, ge=60, le=3600)
    refresh_ttl_seconds: int = Field(
        default=12 * 3600, ge=300, description="A refresh token unused this long expires (sliding)"
    )
    session_max_seconds: int = Field(
        default=7 * 24 * 3600, ge=3600, description="No session outlives this, however often refreshed"
    )
    setup_code_ttl_seconds: int = Field(
        default=72 * 3600, ge=300, description="How long a one-time code for the first password holds"
    )
    clock_skew_seconds: int = Field(default=30, ge=0, le=300)

    # sign-in: limits and lockout
    max_failures: int = Field(default=5, ge=1, le=100, description="Failed sign-ins in a row before a lock")
    lock_seconds: int = Field(default=15 * 60, ge=1)
    attempts_per_account_per_minute: int = Field(default=10, ge=1)
    attempts_per_address_per_minute: int = Field(default=60, ge=1)

    # password rules (GB/T 22239-2019 level 3 practice: length, character classes, history)
    password_min_length: int = Field(default=8, ge=8, le=64)
    password_max_length: int = Field(default=128, ge=16, le=1024)
    password_min_classes: int = Field(default=3, ge=1, le=4)
    password_history: int = Field(default=5, ge=0, le=24)

    # Argon2id: OWASP's recommended minimum (19 MiB, two passes, one lane). A sign-in holds its
    # memory while it hashes: at 16 requests in service, 64 MiB each (RFC 9106's second option)
    # would be 1 GiB on a county's small server, and at 0.7 s each on two shared cores.
    argon2_time_cost: int = Field(default=2, ge=1)
    argon2_memory_kib: int = Field(default=19 * 1024, ge=8)
    argon2_parallelism: int = Field(default=1, ge=1)

    # the signing keys: ES256 verifies faster here than EdDSA (bench/identity.py)
    signing_algorithm: Literal["ES256", "EdDSA"] = "ES256"
    # the signing keys at rest: their PEMs are encrypted with this passphrase when set
    key_encryption_key: SecretStr | None = None

    @model_validator(mode="after")
    def _production(self) -> IdentityConfig:
        if self.env != "production":
            return self
        if self.key_encryption_key is None or len(self.key_encryption_key.get_secret_value()) < 32:
            raise ValueError(
                "SHIAN_IDENTITY_KEY_ENCRYPTION_KEY (32 characters or more) must be set in production: "
                "it encrypts the signing keys in identity's database"
            )
        if self.argon2_memory_kib < 19 * 1024:
            raise ValueError("Argon2id below 19 MiB (OWASP's floor) is refused in production")
        return self
