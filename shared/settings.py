"""One settings class for every service, read from SHIAN_* environment variables.

Validated at start: in production, a missing, placeholder or guessable secret key (or metrics
token) stops the service instead of silently signing tokens that anyone could forge.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
from collections import Counter
from functools import lru_cache
from itertools import pairwise
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DATA_SERVICES = ("registry", "inspection", "alerts", "reporting", "identity")
"""The processes with a database of their own (migrated at start) and a stream they publish on."""
WEB = "web"
SERVICE_NAMES = (*DATA_SERVICES, WEB)
"""Every process `shian up` starts; `web` (the people's pages) holds no data and calls the others."""
DEFAULT_PORTS = {
    "registry": 8001,
    "inspection": 8002,
    "alerts": 8003,
    "reporting": 8004,
    "identity": 8005,
    "web": 8000,
}
# The services that hold the county's food-safety records and take the shared guard's tokens;
# identity (accounts and sessions) is the one that issues them.
DOMAIN_SERVICES = ("registry", "inspection", "alerts", "reporting")

# --- what a production secret must be ---------------------------------------------------------

GENERATE_KEY_COMMAND = "python -c 'import secrets; print(secrets.token_urlsafe(48))'"
MIN_SECRET_LENGTH = 32
MIN_SECRET_BITS = 128  # estimated; a token_urlsafe(48) key estimates about 320
# Values that shipped in deploy/ as placeholders: refused whatever the rules below say.
KNOWN_PLACEHOLDERS = frozenset({"REPLACE-with-48-random-characters-shared-by-all-four-services"})
# Words that mark a value someone meant to replace. Six letters or more are refused anywhere in the
# value. Shorter ones only as a whole word in one case ("xxx", "TODO"), since as substrings they
# would be common by chance ("xxx" would refuse one random key in 500). Even so a key from
# GENERATE_KEY_COMMAND is refused by chance a few times in a million (run it again).
PLACEHOLDER_WORDS = (
    "change", "placeholder", "example", "secret", "replace", "password", "passwd", "default",
    "sample", "insert", "generate",
)  # fmt: skip
PLACEHOLDER_SHORT_WORDS = frozenset({"xxx", "xxxx", "todo", "test", "your", "dummy", "fixme"})

# the signatures a province's provider may use (never HS256, whose "key" a verifier must share,
# nor `none`)
FEDERATION_ALGORITHMS = ("RS256", "ES256")
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def secure_url(url: str) -> bool:
    """https, or plain http to this machine only (a provider in a test or on the same host): keys
    fetched in the clear from elsewhere could be swapped on the way."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname:
        return True
    return parts.scheme == "http" and (parts.hostname or "") in LOOPBACK_HOSTS


def estimated_entropy_bits(value: str) -> float:
    """Shannon entropy of the value's characters times its length: an upper bound on what a
    guesser must try, low for words, repetitions and small alphabets."""
    if not value:
        return 0.0
    counts = Counter(value).values()
    per_character = -sum(n / len(value) * math.log2(n / len(value)) for n in counts)
    return per_character * len(value) + 0.0  # + 0.0: never -0.0


def _has_run(value: str, *, repeated: int = 6, consecutive: int = 6) -> bool:
    """One character `repeated` times in a row ("zzzzzz"), or `consecutive` code points in order
    ("abcdef", "654321")."""
    same = ascending = descending = 1
    for previous, current in pairwise(value):
        step = ord(current) - ord(previous)
        same = same + 1 if step == 0 else 1
        ascending = ascending + 1 if step == 1 else 1
        descending = descending + 1 if step == -1 else 1
        if same >= repeated or max(ascending, descending) >= consecutive:
            return True
    return False


def weak_secret_reason(value: str) -> str | None:
    """Why `value` is not fit to be a production secret, or None if it is."""
    lowered = value.lower()
    if value in KNOWN_PLACEHOLDERS:
        return "is the placeholder shipped in deploy/"
    found = next((word for word in PLACEHOLDER_WORDS if word in lowered), None)
    found = found or next(
        (
            word.lower()
            for word in re.split(r"[^A-Za-z0-9]+", value)
            if (word.islower() or word.isupper()) and word.lower() in PLACEHOLDER_SHORT_WORDS
        ),
        None,
    )
    if found:
        return f"looks like a placeholder (it contains {found!r})"
    if len(value) < MIN_SECRET_LENGTH:
        return f"must be at least {MIN_SECRET_LENGTH} characters (it has {len(value)})"
    if value in (value + value)[1:-1]:
        return "is a short piece repeated"
    if _has_run(value):
        return "contains a run of repeated or consecutive characters"
    bits = estimated_entropy_bits(value)
    if bits < MIN_SECRET_BITS:
        return f"has too little entropy (about {bits:.0f} bits estimated, {MIN_SECRET_BITS} needed)"
    return None


class Settings(BaseSettings):
    """Process-wide settings; per-service values are looked up by service name."""

    # hide_input_in_errors: a refused key must not be printed back in the error that refuses it
    model_config = SettingsConfigDict(env_prefix="SHIAN_", extra="ignore", hide_input_in_errors=True)

    # where and how the process runs
    env: Literal["development", "production", "test"] = "development"
    var_dir: Path = Path("var")
    host: str = "127.0.0.1"
    log_level: str = "INFO"
    log_json: bool = False
    # the county this deployment serves: the only county whose definition a county token may load
    # before the registry knows any place (else the id in SHIAN_COUNTY_FILE, else the demo county)
    county_id: str | None = None
    county_file: Path | None = None  # the county's places (YAML); unset: the shipped demo county

    # secrets and what is public (checked by _production_secrets)
    secret_key: str | None = None  # signs the development bearer tokens of `shian token` (HS256)
    token_ttl_hours: int = 24 * 30
    metrics_token: str | None = None  # production: /metrics wants `Authorization: Bearer <it>`
    public_docs: bool = False  # production: /docs and /openapi.json served only if true

    # HTTP: admission, bodies, idempotency, logs
    http_concurrency: int = Field(default=16, ge=1, le=256)  # requests served at once per process
    http_queue: int = Field(default=1000, ge=0)  # requests waiting for a slot before 503
    http_queue_seconds: float = Field(default=10.0, gt=0)  # longest wait for a slot before 503
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)  # uploads declare their own limit
    idempotency_hours: int = Field(default=24, ge=1)  # how long an Idempotency-Key is remembered
    access_log: bool = True
    rate_limit_per_minute: int = Field(default=1200, ge=0)  # per caller and service; 0: no limit
    # reverse proxies (comma-separated addresses or CIDRs) whose X-Forwarded-For names the client;
    # empty: the peer is the client, whatever the header says (shared.admission.ForwardedFor)
    trusted_proxies: str = ""
    # test aid: the process kills itself right after committing a command sent with this
    # Idempotency-Key, before answering it (the crash a retry must survive); refused in production
    crash_after_commit_key: str | None = None

    # identity's access tokens (ES256/EdDSA): where its public keys are and what the tokens must
    # say; a token from `shian token` (HS256) is taken in development and tests only
    jwks_url: str = "http://127.0.0.1:8005/.well-known/jwks.json"
    token_issuer: str = "shian-identity"
    token_audience: str = "shian"
    # an unknown kid fetches identity's JWKS again at most this often (a flood of made-up kids
    # must not become a flood of fetches)
    jwks_refetch_seconds: float = Field(default=10.0, gt=0, le=3600)

    # federation: a province's own OpenID Connect provider whose ID and access tokens every domain
    # service takes beside identity's (shared/federation.py); off while oidc_issuer is unset
    oidc_issuer: str | None = None  # the provider's `iss`, exactly as its tokens carry it
    oidc_discovery_url: str | None = None  # else <issuer>/.well-known/openid-configuration
    oidc_audience: str | None = None  # the `aud` the tokens must name (required with the issuer)
    oidc_algorithms: str = "RS256,ES256"  # comma-separated; only RS256 and ES256 are allowed
    oidc_role_claim: str = "shian_role"  # the claim (dotted for nested, e.g. realm_access.roles)
    oidc_role_map: dict[str, str] = Field(default_factory=dict)  # claim value -> Shian role
    oidc_place_claim: str = "shian_place"  # the claim that names the user's place
    oidc_place_map: dict[str, str] = Field(default_factory=dict)  # claim value -> place id
    oidc_leeway_seconds: float = Field(default=60.0, ge=0, le=300)  # clock skew for exp, nbf, iat
    oidc_refetch_seconds: float = Field(default=10.0, gt=0, le=3600)  # unknown kid: refetch at most

    # the bus
    redis_url: str = "redis://127.0.0.1:6379/0"

    # each service's own database and port (SHIAN_<SERVICE>_DATABASE_URL, SHIAN_<SERVICE>_PORT);
    # unset: a SQLite file under var_dir, and the service's default port
    registry_database_url: str | None = None
    inspection_database_url: str | None = None
    alerts_database_url: str | None = None
    reporting_database_url: str | None = None
    identity_database_url: str | None = None
    registry_port: int | None = Field(default=None, ge=1, le=65535)
    inspection_port: int | None = Field(default=None, ge=1, le=65535)
    alerts_port: int | None = Field(default=None, ge=1, le=65535)
    reporting_port: int | None = Field(default=None, ge=1, le=65535)
    identity_port: int | None = Field(default=None, ge=1, le=65535)
    web_port: int | None = Field(default=None, ge=1, le=65535)
    stream_prefix: str = "shian"
    batch_size: int = Field(default=256, ge=1, le=10_000)
    block_ms: int = Field(default=1000, ge=1, le=4000)  # redis-py's socket_timeout is 5 s
    claim_idle_ms: int = Field(default=30_000, ge=100)
    max_deliveries: int = Field(default=5, ge=1)
    relay_batch_size: int = Field(default=500, ge=1)
    relay_poll_seconds: float = Field(default=0.5, gt=0)
    # how long an event may wait for the record it needs (shared/parking.py) before it is reported
    parked_max_wait_seconds: float = Field(default=900.0, gt=0)

    @field_validator("oidc_role_map", "oidc_place_map", mode="before")
    @classmethod
    def _json_map(cls, value: object) -> object:
        """A map given as a string (the environment, as `shian up` passes it on) is JSON."""
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @model_validator(mode="after")
    def _federation(self) -> Settings:
        """A federation setting that cannot work stops the service at start, not at the first
        sign-in: a provider without an audience would take tokens minted for any of its clients."""
        if not self.oidc_issuer:
            return self
        if not self.oidc_audience:
            raise ValueError("SHIAN_OIDC_AUDIENCE must be set with SHIAN_OIDC_ISSUER")
        algorithms = self.federation_algorithms()
        refused = [name for name in algorithms if name not in FEDERATION_ALGORITHMS]
        if refused or not algorithms:
            raise ValueError(
                f"SHIAN_OIDC_ALGORITHMS may name only {', '.join(FEDERATION_ALGORITHMS)} "
                f"(refused: {', '.join(refused) or 'none given'})"
            )
        roles = {"county", "township", "inspector", "village", "ops"}
        wrong = sorted({value for value in self.oidc_role_map.values() if value not in roles})
        if wrong:
            raise ValueError(f"SHIAN_OIDC_ROLE_MAP maps to unknown roles: {', '.join(wrong)}")
        url = self.oidc_discovery_url or self.oidc_issuer
        if not secure_url(url):
            raise ValueError(
                "the OIDC discovery URL must be https (plain http only on 127.0.0.1 or localhost)"
            )
        return self

    def federation_algorithms(self) -> tuple[str, ...]:
        return tuple(name.strip() for name in self.oidc_algorithms.split(",") if name.strip())

    def discovery_url(self) -> str | None:
        """Where the province's provider describes itself (OpenID Connect Discovery 1.0 §4)."""
        if not self.oidc_issuer:
            return None
        return self.oidc_discovery_url or (self.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration")

    @model_validator(mode="after")
    def _production_secrets(self) -> Settings:
        """In production the signing key and the metrics token must be set and unguessable: the
        shipped placeholders were once accepted, and anyone who reads them can forge tokens."""
        if self.env != "production":
            return self
        if self.crash_after_commit_key:
            raise ValueError("SHIAN_CRASH_AFTER_COMMIT_KEY is a test aid and is refused in production")
        for variable, value in (
            ("SHIAN_SECRET_KEY", self.secret_key),
            ("SHIAN_METRICS_TOKEN", self.metrics_token),
        ):
            if not value:
                raise ValueError(
                    f"{variable} must be set when SHIAN_ENV=production; "
                    f"generate one with: {GENERATE_KEY_COMMAND}"
                )
            reason = weak_secret_reason(value)
            if reason:
                raise ValueError(
                    f"{variable} {reason}, so it is refused in production; "
                    f"generate one with: {GENERATE_KEY_COMMAND}"
                )
        if self.metrics_token == self.secret_key:
            raise ValueError(
                "SHIAN_METRICS_TOKEN must differ from SHIAN_SECRET_KEY (Prometheus holds the token, "
                f"and the key must stay with the services); generate one with: {GENERATE_KEY_COMMAND}"
            )
        return self

    def database_url(self, service: str) -> str:
        """SHIAN_<SERVICE>_DATABASE_URL, else a SQLite file under the var directory."""
        explicit = getattr(self, f"{service}_database_url", None)
        if explicit:
            return explicit
        return f"sqlite:///{(self.var_dir / f'{service}.db').resolve()}"

    def port(self, service: str) -> int:
        explicit = getattr(self, f"{service}_port", None)
        return explicit if explicit is not None else DEFAULT_PORTS[service]

    def signing_key(self) -> str:
        """The token signing key: configured, or in development one kept under var/ and shared
        by all four local services so a token from `shian token` works everywhere."""
        if self.secret_key:
            return self.secret_key
        if self.env == "production":  # unreachable after validation; kept as a guard
            raise RuntimeError("no secret key in production")
        path = self.var_dir / "dev-secret.key"
        if not path.exists():
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            candidate = secrets.token_urlsafe(48)
            try:  # created 0600 at once: never readable by others, not even for a moment
                descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                pass
            else:
                with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
                    handle.write(candidate)
        return path.read_text(encoding="utf-8").strip()

    def stream(self, service: str) -> str:
        return f"{self.stream_prefix}.{service}"

    @property
    def deadletter_stream(self) -> str:
        return f"{self.stream_prefix}.deadletter"


def url_host(host: str) -> str:
    """The host to put in a URL that reaches a server bound to `host` on this machine."""
    if host in ("0.0.0.0", ""):
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    return f"[{host}]" if ":" in host else host


@lru_cache
def get_settings() -> Settings:
    return Settings()
