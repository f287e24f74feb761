"""What an HTTP request must pass before a service works on it: a caller, a rate, a slot.

* **Admission** (a bulkhead): at most `SHIAN_HTTP_CONCURRENCY` requests are served at once; the
  rest wait in line, in order of arrival, for at most `SHIAN_HTTP_QUEUE_SECONDS`, and at most
  `SHIAN_HTTP_QUEUE` of them. Past either bound the answer is 503 with `Retry-After`: a burst is
  shed, not piled onto the database, and the worker threads, the connection pool and SQLite's write
  lock are never all taken at once, so the consumers and schedulers keep their share.
* **Rate**: each caller (the token's subject, else the client's address) may send
  `SHIAN_RATE_LIMIT_PER_MINUTE` requests a minute to a service, counted in Redis so that every
  replica shares the count; past it the answer is 429 with `Retry-After`. If Redis is away the
  request goes through: the limit protects the service, it must not take it down.
* **Caller before body**: a request that carries a body must carry a valid bearer token, checked
  before a byte of the body is read (no token, no parsing of 50 MB of JSON).

Body sizes are bounded by FastAPI's own limit (`max_body_size`): `SHIAN_MAX_BODY_BYTES` for the app,
larger on the upload routes that declare it; a body past it is answered 413 as soon as it shows.

Health, readiness and metrics skip the line: probes must answer while the service is saturated.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Callable

import jwt
from redis.asyncio import Redis
from starlette.types import ASGIApp, Receive, Scope, Send

from shared.auth import Principal, federation_verifier, identity_key_id, token_verifier, verify_bearer
from shared.settings import Settings

log = logging.getLogger("shian.admission")

OPERATIONS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


async def answer(send: Send, status: int, detail: str, headers: dict[str, str] | None = None) -> None:
    """A small JSON answer sent straight from the middleware."""
    body = json.dumps({"detail": detail}, ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(name.encode(), value.encode()) for name, value in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class AdmissionControl:
    """The bulkhead: a fixed number of requests in service, a bounded line, 503 beyond it."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        concurrency: int,
        queue: int,
        queue_seconds: float,
        on_shed: Callable[[str], None] | None = None,
    ) -> None:
        self.app = app
        self.slots = asyncio.Semaphore(concurrency)
        self.queue = queue
        self.queue_seconds = queue_seconds
        self.waiting = 0
        self.on_shed = on_shed or (lambda _reason: None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPERATIONS_PATHS:
            await self.app(scope, receive, send)
            return
        if self.slots.locked() and self.waiting >= self.queue:
            self.on_shed("queue_full")
            await self._busy(send)
            return
        self.waiting += 1
        try:
            await asyncio.wait_for(self.slots.acquire(), timeout=self.queue_seconds)
        except TimeoutError:
            self.on_shed("queue_timeout")
            await self._busy(send)
            return
        finally:
            self.waiting -= 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.slots.release()

    async def _busy(self, send: Send) -> None:
        retry = max(1, round(self.queue_seconds / 2))
        await answer(send, 503, "the service is busy; retry later", {"Retry-After": str(retry)})


class CallerFirst:
    """Authenticate a request that carries a body before a byte of it is read."""

    def __init__(self, app: ASGIApp, *, settings: Settings, public_prefixes: tuple[str, ...] = ()) -> None:
        self.app = app
        self.settings = settings
        self.public_prefixes = public_prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        has_body = b"chunked" in headers.get(b"transfer-encoding", b"") or declared not in (None, b"0")
        if has_body and not scope["path"].startswith(self.public_prefixes):
            await fetch_missing_key(scope)
        if (
            has_body
            and not scope["path"].startswith(self.public_prefixes)
            and verified_caller(scope, self.settings) is None
        ):
            await answer(send, 401, "missing or invalid bearer token", {"WWW-Authenticate": "Bearer"})
            return
        await self.app(scope, receive, send)


class RateCounter:
    """Requests per caller and minute, counted in Redis on a connection of its own (never the bus's:
    a request must not wait behind a batch). While Redis does not answer, nothing is counted for a
    few seconds rather than making every request wait for a connection timeout."""

    PAUSE_SECONDS = 5.0

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self._redis: Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._paused_until = 0.0

    async def count(self, key: str) -> int:
        """The count after this request, or 0 when it could not be counted."""
        now = time.monotonic()
        if now < self._paused_until:
            return 0
        try:
            pipe = self._client().pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await asyncio.wait_for(pipe.execute(), timeout=1.0)
            return int(count)
        except Exception as error:  # Redis away: the limit protects the service, it must not stop it
            log.warning("rate limit not counted for %.0fs: %s", self.PAUSE_SECONDS, error)
            self._paused_until = now + self.PAUSE_SECONDS
            return 0

    def _client(self) -> Redis:
        loop = asyncio.get_running_loop()
        if self._redis is None or self._loop is not loop:  # one client per event loop
            self._redis = Redis.from_url(self.redis_url, socket_timeout=1.0, socket_connect_timeout=0.5)
            self._loop = loop
        return self._redis

    async def close(self) -> None:
        if self._redis is not None and self._loop is asyncio.get_running_loop():
            await self._redis.aclose()
        self._redis = None


class RateLimit:
    """A fixed one-minute window per caller and service."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        service: str,
        counter: RateCounter,
        on_limited: Callable[[], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.app = app
        self.settings = settings
        self.service = service
        self.counter = counter
        self.on_limited = on_limited or (lambda: None)
        self.clock = clock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        limit = self.settings.rate_limit_per_minute
        if scope["type"] != "http" or not limit or scope["path"] in OPERATIONS_PATHS:
            await self.app(scope, receive, send)
            return
        now = self.clock()
        window = int(now // 60)
        caller = caller_of(scope, self.settings)
        key = f"{self.settings.stream_prefix}:ratelimit:{self.service}:{caller}:{window}"
        if await self.counter.count(key) > limit:
            self.on_limited()
            retry = max(1, int((window + 1) * 60 - now))
            await answer(send, 429, "too many requests; slow down", {"Retry-After": str(retry)})
            return
        await self.app(scope, receive, send)


CALLER_KEY = "shian.caller"


def _bearer_token(scope: Scope) -> str | None:
    scheme, _, token = dict(scope["headers"]).get(b"authorization", b"").decode("latin-1").partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def fetch_missing_key(scope: Scope) -> None:
    """If the request carries identity's token signed with a key the app's verifier has not cached
    (a key rotated in, or the first token since start), fetch the JWKS in a worker thread: the
    checks on the event loop then find the key in the cache, and the loop never waits on a fetch.
    A province provider's token that the caches cannot verify (its key or its place not in
    memory yet) is verified in a worker thread, which may fetch the keys and read the places."""
    token = _bearer_token(scope)
    if not token:
        return
    app = scope.get("app")
    federation = federation_verifier(app)
    if federation is not None and federation.claims_issuer(token):
        if scope.get(CALLER_KEY) is None:
            scope.pop(CALLER_KEY, None)
            if _verified_from_cache(app, token) is None:
                scope[CALLER_KEY] = await asyncio.to_thread(_verified_fully, app, token)
        return
    kid = identity_key_id(token)
    verifier = token_verifier(app)
    if kid is None or verifier is None or verifier.key(kid, fetch=False) is not None:
        return
    await asyncio.to_thread(verifier.key, kid)
    scope.pop(CALLER_KEY, None)  # a verdict reached without the key is not kept


def _verified_from_cache(app: object, token: str, settings: Settings | None = None) -> Principal | None:
    try:
        return verify_bearer(app, token, fetch=False, settings=settings)
    except jwt.InvalidTokenError:
        return None


def _verified_fully(app: object, token: str) -> Principal | None:
    try:
        return verify_bearer(app, token)
    except jwt.InvalidTokenError:
        return None


def verified_caller(scope: Scope, settings: Settings) -> Principal | None:
    """The principal of the request's bearer token if it verifies, else None; decoded once per
    request and kept in the scope, since the guards in front of the app each ask. On the event
    loop: keys and places are taken from the caches only (see fetch_missing_key)."""
    if CALLER_KEY not in scope:
        token = _bearer_token(scope)
        app = scope.get("app")
        principal = _verified_from_cache(app, token, settings) if token else None
        scope[CALLER_KEY] = principal
    return scope[CALLER_KEY]


def caller_of(scope: Scope, settings: Settings) -> str:
    """Who sends the request: the verified token's role and subject, else the client's address."""
    principal = verified_caller(scope, settings)
    if principal is not None:
        return principal.actor
    client = scope.get("client") or ("unknown", 0)
    return f"address:{client[0]}"
