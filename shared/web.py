"""The HTTP shell every service shares: lifespan, health, readiness, metrics, error answers."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.clock import SYSTEM_CLOCK, Clock
from shared.metrics import HttpMetrics
from shared.service import ServiceRuntime, ServiceSpec
from shared.settings import Settings, get_settings

log = logging.getLogger("shian.web")


class DomainError(Exception):
    """A request that is well-formed but breaks a rule: answered 422 with the field and reason."""

    def __init__(self, field: str, reason: str, *, status_code: int = 422) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status_code = status_code


def create_app(spec: ServiceSpec, settings: Settings | None = None, clock: Clock | None = None) -> FastAPI:
    settings = settings or get_settings()
    runtime = ServiceRuntime(spec, settings, clock or SYSTEM_CLOCK)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    app = FastAPI(
        title=f"Shian {spec.title}",
        description=spec.description,
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.runtime = runtime

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, error: DomainError) -> JSONResponse:
        return JSONResponse(
            status_code=error.status_code,
            content={"detail": [{"loc": ["body", error.field], "msg": error.reason, "type": "domain"}]},
        )

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
    async def metrics() -> PlainTextResponse:
        return PlainTextResponse(generate_latest(runtime.registry), media_type=CONTENT_TYPE_LATEST)

    for router in spec.routers:
        app.include_router(router)
    app.add_middleware(RequestMetrics, metrics=HttpMetrics(runtime.registry), service=spec.name)
    return app


class RequestMetrics:
    """Counts and times every HTTP request (pure ASGI: no buffering of bodies, no extra task)."""

    def __init__(self, app: ASGIApp, *, metrics: HttpMetrics, service: str) -> None:
        self.app = app
        self.metrics = metrics
        self.service = service

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

        try:
            await self.app(scope, receive, send_and_note)
        finally:
            route = getattr(scope.get("route"), "path", None) or "unmatched"
            method = scope.get("method", "GET")
            self.metrics.requests.labels(self.service, method, route, str(status_code)).inc()
            self.metrics.duration.labels(self.service, method, route).observe(time.perf_counter() - started)
