"""The web process: FastAPI serving HTML pages, its static files, health, readiness and metrics.

Nothing here holds domain data: every page's records come from the services over HTTP, asked as
the signed-in user (services/web/client.py). The process keeps only web sessions, in Redis.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request, Response, status
from fastapi.responses import JSONResponse, PlainTextResponse, RedirectResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from redis.asyncio import Redis
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.gzip import GZipMiddleware
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.web import csrf, session
from services.web.areas import LIFESPANS, ROUTERS
from services.web.client import NotAllowed, NotFound, ServiceClient, SignInRequired, Unavailable
from services.web.config import WebConfig
from services.web.templating import page
from shared.admission import ForwardedFor, trusted_networks
from shared.metrics import HttpMetrics
from shared.settings import Settings, get_settings
from shared.web import RequestMetrics, _bearer_matches

log = logging.getLogger("shian.web")
STATIC = Path(__file__).parent / "static"
SERVICE = "web"

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(self), geolocation=(self), microphone=()",
}
RETRY_SECONDS = 5


class WebState:
    """The process's shared parts, reached by views as `request.app.state.web`."""

    def __init__(self, settings: Settings, config: WebConfig) -> None:
        self.settings = settings
        self.config = config
        self.secure = config.secure(settings)
        self.key = settings.signing_key()
        self.redis = Redis.from_url(settings.redis_url, socket_timeout=5, socket_connect_timeout=3)
        self.store = session.SessionStore(self.redis, settings.stream_prefix, config.idle_minutes * 60)
        self.signin_limiter = session.SignInLimiter(
            self.redis, settings.stream_prefix, config.signin_per_address_per_minute
        )
        self.client = ServiceClient(
            config.service_urls(settings),
            self.store,
            timeout=config.call_timeout_seconds,
            margin=config.refresh_margin_seconds,
        )

    def cookie_id(self, request: Request) -> str | None:
        return getattr(request.state, "new_cookie_id", None) or session.cookie_id(request, self.secure)

    def ensure_cookie_id(self, request: Request) -> str:
        """The browser's id; a new one (set on the answer) for a browser that has none."""
        found = self.cookie_id(request)
        if found:
            return found
        request.state.new_cookie_id = session.new_id()
        return str(request.state.new_cookie_id)

    def set_pending_cookie(self, request: Request, response: Response) -> None:
        new = getattr(request.state, "new_cookie_id", None)
        if new:
            session.set_cookie(response, new, secure=self.secure)

    def csrf_token(self, cookie_id: str) -> str:
        return csrf.token_for(self.key, cookie_id)

    async def close(self) -> None:
        await self.client.close()
        await self.redis.aclose()


class SecurityHeaders:
    """The same strict headers on every answer: pages, static files, errors (pure ASGI)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = scope.get("path", "").startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in SECURITY_HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                if static:  # versioned URLs: a phone on a weak network fetches them once
                    headers = [(n, v) for n, v in headers if n != b"cache-control"]
                    headers.append((b"cache-control", b"public, max-age=604800, immutable"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _wants_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def create(settings: Settings | None = None, config: WebConfig | None = None) -> FastAPI:
    settings = settings or get_settings()
    config = config or WebConfig()
    registry = CollectorRegistry()
    http_metrics = HttpMetrics(registry)
    hidden = settings.env == "production" and not settings.public_docs
    state: dict[str, WebState] = {}

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:  # each area's background work
            for hook in LIFESPANS:
                await stack.enter_async_context(hook(app))
            yield
        await app.state.web.close()

    app = FastAPI(
        title="Shian web",
        description="The people's pages, in Chinese, for every role.",
        version="0.1.0",
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        openapi_url=None if hidden else "/openapi.json",
        dependencies=[Depends(csrf.check)],
        max_body_size=settings.max_body_bytes,
    )
    app.state.settings = settings
    app.state.metrics_registry = registry
    app.state.web = state.setdefault("web", WebState(settings, config))

    @app.exception_handler(SignInRequired)
    async def _sign_in(request: Request, _error: SignInRequired) -> Response:
        target = "/signin"
        if _wants_htmx(request):  # htmx follows HX-Redirect with a full page load
            return Response(status_code=204, headers={"HX-Redirect": target})
        response = RedirectResponse(target, status_code=status.HTTP_303_SEE_OTHER)
        return response

    @app.exception_handler(NotFound)
    async def _not_found(request: Request, _error: NotFound) -> Response:
        return page(request, "errors/not_found.html", status.HTTP_404_NOT_FOUND)

    @app.exception_handler(NotAllowed)
    async def _not_allowed(request: Request, _error: NotAllowed) -> Response:
        return page(request, "errors/forbidden.html", status.HTTP_403_FORBIDDEN)

    @app.exception_handler(csrf.CsrfRefused)
    async def _csrf(request: Request, _error: csrf.CsrfRefused) -> Response:
        return page(request, "errors/csrf.html", status.HTTP_403_FORBIDDEN)

    @app.exception_handler(Unavailable)
    async def _unavailable(request: Request, error: Unavailable) -> Response:
        http_metrics.shed.labels(SERVICE, f"unavailable_{error.service}").inc()
        response = page(request, "errors/unavailable.html", status.HTTP_503_SERVICE_UNAVAILABLE)
        response.headers["Retry-After"] = str(RETRY_SECONDS)
        return response

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, error: StarletteHTTPException) -> Response:
        if error.status_code == 404:
            return page(request, "errors/not_found.html", 404)
        if error.status_code == 405:
            return page(request, "errors/not_found.html", 405)
        return page(request, "errors/unavailable.html", error.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, error: Exception) -> Response:
        """The Redis that holds the sessions away, or a bug: a Chinese page, logged, never a
        traceback in the browser."""
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        http_metrics.shed.labels(SERVICE, "error").inc()
        response = page(request, "errors/unavailable.html", status.HTTP_503_SERVICE_UNAVAILABLE)
        response.headers["Retry-After"] = str(RETRY_SECONDS)
        return response

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": SERVICE}

    @app.get("/readyz", include_in_schema=False)
    async def readyz() -> JSONResponse:
        """Ready when the Redis that keeps the sessions answers (the services each have theirs)."""
        checks: dict[str, Any] = {}
        try:
            await app.state.web.redis.ping()
            checks["redis"] = "ok"
        except Exception as error:
            checks["redis"] = f"error: {error}"
        ok = all(value == "ok" for value in checks.values())
        return JSONResponse(
            status_code=200 if ok else 503,
            content={"status": "ok" if ok else "unavailable", "checks": checks},
        )

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        if settings.env == "production" and not _bearer_matches(request, settings.metrics_token):
            return JSONResponse(
                status_code=401,
                content={"detail": "metrics need the metrics token"},
                headers={"WWW-Authenticate": "Bearer"},
            )
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    for router in ROUTERS:
        app.include_router(router)
    # static files compressed (htmx: 51 KB, 16 KB gzipped); pages are not, as a page that holds
    # a CSRF token and reflects what was typed must not be compressed (BREACH)
    app.mount("/static", GZipMiddleware(StaticFiles(directory=STATIC), minimum_size=512), name="static")
    app.add_middleware(SecurityHeaders)
    app.add_middleware(RequestMetrics, metrics=http_metrics, service=SERVICE, access_log=settings.access_log)
    # outermost: behind a trusted reverse proxy the browser's address is the one forwarded, for
    # the sign-in limit here and the address identity counts and records
    app.add_middleware(ForwardedFor, trusted=trusted_networks(settings.trusted_proxies))
    return app
