"""The HTTP shell every service shares: lifespan, health, readiness, metrics, error answers,
admission and body limits (shared.admission), the access log."""

from __future__ import annotations

import hmac
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio.to_thread
from fastapi import FastAPI, Request, Response, status
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.admission import (
    AdmissionControl,
    CallerFirst,
    ForwardedFor,
    RateCounter,
    RateLimit,
    trusted_networks,
)
from shared.clock import SYSTEM_CLOCK, Clock
from shared.db import UNAVAILABLE_ERRORS
from shared.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, TooLarge
from shared.federation import OidcVerifier
from shared.metrics import HttpMetrics
from shared.service import ServiceRuntime, ServiceSpec
from shared.settings import Settings, get_settings
from shared.tokens import JwksVerifier

log = logging.getLogger("shian.web")
access_log = logging.getLogger("shian.access")


STATUS_OF_ERROR: dict[type[DomainError], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Forbidden: status.HTTP_403_FORBIDDEN,
    Conflict: status.HTTP_409_CONFLICT,
    TooLarge: status.HTTP_413_CONTENT_TOO_LARGE,
    Invalid: status.HTTP_422_UNPROCESSABLE_CONTENT,
}


def domain_error_answer(error: DomainError) -> JSONResponse:
    """The one place a service's errors become HTTP answers. 404 and 403 answer in words only (a
    404 never says which record, or whether it exists); 409 and 422 name the field and the reason
    in FastAPI's validation shape."""
    code = next(
        (code for kind, code in STATUS_OF_ERROR.items() if isinstance(error, kind)),
        status.HTTP_422_UNPROCESSABLE_CONTENT,
    )
    if isinstance(error, NotFound | Forbidden):
        return JSONResponse(status_code=code, content={"detail": error.reason})
    return JSONResponse(
        status_code=code,
        content={"detail": [{"loc": [error.location, error.field], "msg": error.reason, "type": "domain"}]},
    )


def create_app(spec: ServiceSpec, settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = ServiceRuntime(spec, settings, clock or SYSTEM_CLOCK)
    hidden = settings.env == "production" and not settings.public_docs

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # every request in service may need one worker thread: never fewer threads than slots
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, settings.http_concurrency + 8)
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()
            await rate_counter.close()

    app = FastAPI(
        title=f"Shian {spec.title}",
        description=spec.description,
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None if hidden else "/docs",
        redoc_url=None if hidden else "/redoc",
        openapi_url=None if hidden else "/openapi.json",
        max_body_size=settings.max_body_bytes,  # upload routes declare their own
    )
    app.state.settings = settings
    app.state.runtime = runtime
    # identity's tokens, checked against its published keys and the sessions it revoked
    app.state.token_verifier = JwksVerifier(
        settings.jwks_url,
        settings.token_issuer,
        settings.token_audience,
        clock=runtime.clock,
        revoked=runtime.revoked,
        refetch_seconds=settings.jwks_refetch_seconds,
    )
    # a province's own OpenID Connect provider, when SHIAN_OIDC_ISSUER names one
    app.state.federation = OidcVerifier.from_settings(settings, runtime.clock)
    http_metrics = HttpMetrics(runtime.registry)
    # the one per-minute counter of the app: the rate limit's, and a service's own limits (identity's
    # sign-in attempts) through its blocking face
    app.state.rate_counter = rate_counter = RateCounter(settings.redis_url)
    unavailable = _OutageLog(spec.name)

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, error: DomainError) -> JSONResponse:
        return domain_error_answer(error)

    async def _database_unavailable(_request: Request, error: Exception) -> JSONResponse:
        """The database is away, locked too long or out of connections: 503, not a traceback."""
        http_metrics.shed.labels(spec.name, "database").inc()
        unavailable.note(error)
        return JSONResponse(
            status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
            content={"detail": "the database is unavailable; retry later"},
            headers={"Retry-After": str(DATABASE_RETRY_SECONDS)},
        )

    for error_type in UNAVAILABLE_ERRORS:
        app.add_exception_handler(error_type, _database_unavailable)

    @app.get("/healthz", tags=["operations"], summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": spec.name}

    @app.get("/readyz", tags=["operations"], summary="Readiness: database and Redis reachable")
    async def readyz() -> JSONResponse:
        checks = await runtime.ready()
        ok = all(value == "ok" for value in checks.values())
        code = status.HTTP_200_OK if ok else status.HTTP_503_SERVICE_UNAVAILABLE
        body: dict[str, Any] = {"status": "ok" if ok else "unavailable", "checks": checks}
        return JSONResponse(status_code=code, content=body)

    @app.get("/metrics", tags=["operations"], summary="Prometheus metrics")
    async def metrics(request: Request) -> Response:
        """Open in development; in production only with `Authorization: Bearer $SHIAN_METRICS_TOKEN`
        (the figures name townships and their open incidents)."""
        if settings.env == "production" and not _bearer_matches(request, settings.metrics_token):
            return JSONResponse(
                status_code=status.HTTP_401_UNAUTHORIZED,
                content={"detail": "metrics need the metrics token"},
                headers={"WWW-Authenticate": "Bearer"},
            )
        return PlainTextResponse(generate_latest(runtime.registry), media_type=CONTENT_TYPE_LATEST)

    for router in spec.routers:
        app.include_router(router)
    app.add_middleware(
        AdmissionControl,
        concurrency=settings.http_concurrency,
        queue=settings.http_queue,
        queue_seconds=settings.http_queue_seconds,
        on_shed=lambda reason: http_metrics.shed.labels(spec.name, reason).inc(),
    )
    app.add_middleware(
        RateLimit,
        settings=settings,
        service=spec.name,
        counter=rate_counter,
        on_limited=lambda: http_metrics.shed.labels(spec.name, "rate_limited").inc(),
    )
    app.add_middleware(
        CallerFirst,
        settings=settings,
        public_prefixes=spec.public_paths,
        public_commands=spec.public_commands,
        identity_tokens_only=spec.identity_tokens_only,
    )
    app.add_middleware(
        RequestMetrics, metrics=http_metrics, service=spec.name, access_log=settings.access_log
    )
    app.add_middleware(ForwardedFor, trusted=trusted_networks(settings.trusted_proxies))
    return app


DATABASE_RETRY_SECONDS = 5


class _OutageLog:
    """One warning per interval for a database outage, not a traceback per request."""

    def __init__(self, service: str, interval: float = 10.0) -> None:
        self.service = service
        self.interval = interval
        self.count = 0
        self.next_at = 0.0

    def note(self, error: Exception) -> None:
        self.count += 1
        now = time.monotonic()
        if now >= self.next_at:
            first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
            log.warning(
                "%s: database unavailable, %d request(s) answered 503 (%s)",
                self.service,
                self.count,
                first_line[:300],
            )
            self.count = 0
            self.next_at = now + self.interval


def _bearer_matches(request: Request, expected: str | None) -> bool:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return (
        bool(expected) and scheme.lower() == "bearer" and hmac.compare_digest(token.strip(), expected or "")
    )


class RequestMetrics:
    """Counts, times and logs every HTTP request (pure ASGI: no buffering of bodies, no extra task).

    The access log is one line per request: method, route template, status, milliseconds and the
    client's address (never the query string or a body: they may carry names and phone numbers)."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics, service: str, access_log: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.service = service
        self.access_log = access_log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status_code = 500  # an exception before the response started is answered 500

        async def send_and_note(message: Message) -> None:
            nonlocal status_code
            if message["type"] == "http.response.start":
                status_code = message["status"]
            await send(message)

        in_flight = self.metrics.in_flight.labels(self.service)
        in_flight.inc()
        try:
            await self.app(scope, receive, send_and_note)
        finally:
            in_flight.dec()
            elapsed = time.perf_counter() - started
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "GET")
            self.metrics.requests.labels(self.service, method, route, str(status_code)).inc()
            self.metrics.duration.labels(self.service, method, route).observe(elapsed)
            if self.access_log:
                client = scope.get("client") or ("-", 0)
                access_log.info("%s %s %s %.1fms %s", method, route, status_code, elapsed * 1000, client[0])
