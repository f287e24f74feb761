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
import ipaddress
import json
import logging
import threading
import time
from collections.abc import Callable

import jwt
from redis import BlockingConnectionPool as BlockingPool
from redis import Redis as BlockingRedis
from redis.asyncio import BlockingConnectionPool as AsyncBlockingPool
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
    """Authenticate a request that carries a body before a byte of it is read.

    Public: paths under `public_prefixes`, and the exact paths in `public_commands` (how one gets
    a token, say). `identity_tokens_only` takes only identity's tokens, not `shian token`'s HS256."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: Settings,
        public_prefixes: tuple[str, ...] = (),
        public_commands: frozenset[str] = frozenset(),
        identity_tokens_only: bool = False,
    ) -> None:
        self.app = app
        self.settings = settings
        self.public_prefixes = public_prefixes
        self.public_commands = public_commands
        self.identity_tokens_only = identity_tokens_only

    def _public(self, path: str) -> bool:
        return path in self.public_commands or path.startswith(self.public_prefixes)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        has_body = b"chunked" in headers.get(b"transfer-encoding", b"") or declared not in (None, b"0")
        if has_body and not self._public(scope["path"]):
            await fetch_missing_key(scope)
            token = _bearer_token(scope)
            refused = verified_caller(scope, self.settings) is None or (
                self.identity_tokens_only and (token is None or identity_key_id(token) is None)
            )
            if refused:
                await answer(send, 401, "missing or invalid bearer token", {"WWW-Authenticate": "Bearer"})
                return
        await self.app(scope, receive, send)


class RateCounter:
    """Requests (or attempts) per key, counted in Redis on connections of its own (never the bus's:
    a request must not wait behind a batch). While Redis does not answer, nothing is counted for a
    few seconds rather than making every request wait for a connection timeout: the limit protects
    the service, it must not stop it.

    Two faces over one count: `count` for the middleware on the event loop, `count_blocking` for
    code in a worker thread (identity's sign-in runs in its route's thread with its unit of work,
    `shared.routing`, and must not hop back to the loop). Both share the key space and the pause."""

    PAUSE_SECONDS = 5.0
    CONNECTIONS = 32  # to Redis, per face; a count takes a fraction of a millisecond
    TTL_SECONDS = 120  # a key outlives its one-minute window, then Redis drops it

    def __init__(self, redis_url: str) -> None:
        self.redis_url = redis_url
        self._redis: Redis | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._blocking: BlockingRedis | None = None
        self._blocking_lock = threading.Lock()
        self._paused_until = 0.0

    async def count(self, key: str) -> int:
        """The count after this request, or 0 when it could not be counted."""
        now = time.monotonic()
        if now < self._paused_until:
            return 0
        try:
            pipe = self._client().pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, self.TTL_SECONDS)
            count, _ = await asyncio.wait_for(pipe.execute(), timeout=1.0)
            return int(count)
        except Exception as error:  # Redis away: the limit protects the service, it must not stop it
            self._pause(now, error)
            return 0

    def count_blocking(self, key: str) -> int:
        """`count` for a worker thread: the same key, the same count, the same pause."""
        now = time.monotonic()
        if now < self._paused_until:
            return 0
        try:
            pipe = self._blocking_client().pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, self.TTL_SECONDS)
            count, _ = pipe.execute()
            return int(count)
        except Exception as error:
            self._pause(now, error)
            return 0

    def _pause(self, now: float, error: Exception) -> None:
        log.warning("rate limit not counted for %.0fs: %s", self.PAUSE_SECONDS, error)
        self._paused_until = now + self.PAUSE_SECONDS

    def _client(self) -> Redis:
        loop = asyncio.get_running_loop()
        if self._redis is None or self._loop is not loop:  # one client per event loop
            # A burst waits its turn for one of a few connections: redis-py's default pool refuses
            # past 100 at once ("Too many connections"), which paused the count for everyone, so a
            # burst of a hundred requests switched the limits off.
            pool = AsyncBlockingPool.from_url(
                self.redis_url,
                max_connections=self.CONNECTIONS,
                timeout=1.0,
                socket_timeout=1.0,
                socket_connect_timeout=0.5,
            )
            self._redis = Redis.from_pool(pool)
            self._loop = loop
        return self._redis

    def _blocking_client(self) -> BlockingRedis:
        with self._blocking_lock:  # its connection pool is thread-safe; its creation is made so
            if self._blocking is None:
                self._blocking = BlockingRedis.from_pool(
                    BlockingPool.from_url(
                        self.redis_url,
                        max_connections=self.CONNECTIONS,
                        timeout=1.0,
                        socket_timeout=1.0,
                        socket_connect_timeout=0.5,
                    )
                )
            return self._blocking

    async def close(self) -> None:
        if self._redis is not None and self._loop is asyncio.get_running_loop():
            await self._redis.aclose()
        self._redis = None
        with self._blocking_lock:
            blocking, self._blocking = self._blocking, None
        if blocking is not None:
            blocking.close()


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

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def trusted_networks(value: str) -> tuple[Network, ...]:
    """`SHIAN_TRUSTED_PROXIES` as networks: comma-separated addresses or CIDRs. ValueError names
    an entry that is neither (a service refuses to start with it rather than trust nobody)."""
    networks = []
    for entry in (part.strip() for part in value.split(",")):
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(f"SHIAN_TRUSTED_PROXIES: {entry!r} is not an address or a CIDR") from None
    return tuple(networks)


def forwarded_client(peer: str, forwarded_for: list[str], trusted: tuple[Network, ...]) -> str:
    """The client's address. The peer, unless it is a trusted proxy: then X-Forwarded-For is read
    from the right (each proxy appends the address it heard from), skipping trusted proxies, and
    the first address that is not one is the client. What lies left of it was written by the
    client and is never believed. A malformed entry ends the walk at the last proxy trusted."""
    if not trusted or not _is_trusted(peer, trusted):
        return peer
    hops = [hop.strip() for value in forwarded_for for hop in value.split(",") if hop.strip()]
    client = peer
    for hop in reversed(hops):
        try:
            address = ipaddress.ip_address(hop)
        except ValueError:
            break
        client = str(address)
        if not any(address in network for network in trusted):
            break
    return client


def _is_trusted(address: str, trusted: tuple[Network, ...]) -> bool:
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in trusted)


class ForwardedFor:
    """The client address every later step sees (`scope["client"]`: the rate limits, identity's
    sign-in limits, the access log): the peer, or behind a trusted reverse proxy the address it
    forwarded (`forwarded_client`). Without trusted proxies the header is ignored, so a client
    cannot name itself another address to escape a per-address limit."""

    def __init__(self, app: ASGIApp, *, trusted: tuple[Network, ...]) -> None:
        self.app = app
        self.trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.trusted and scope.get("client"):
            peer, _port = scope["client"]
            values = [
                value.decode("latin-1") for name, value in scope["headers"] if name == b"x-forwarded-for"
            ]
            client = forwarded_client(peer, values, self.trusted) if values else peer
            if client != peer:
                scope["client"] = (client, 0)
        await self.app(scope, receive, send)


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
