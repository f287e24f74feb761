"""The HTTP shell every service shares: lifespan, health, readiness, metrics, error answers."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from shared.clock import SYSTEM_CLOCK, Clock
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
    return app
