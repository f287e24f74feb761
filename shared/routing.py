"""Routes whose request is one unit of work, run start to finish in one worker thread.

A synchronous FastAPI endpoint runs in a worker thread, and FastAPI renders its answer in another
thread hop afterwards. A request that still held its database connection then (on SQLite, the
write lock) waited for a free worker thread while every worker waited for that lock: about 80
concurrent commands deadlocked a service. `UnitOfWorkRoute` runs the endpoint, renders its answer,
remembers it for an `Idempotency-Key`, commits and closes the session, all in the endpoint's own
thread, and hands FastAPI a finished response: no request ever holds a connection while it waits
for a thread.

Every service's routers are `ServiceRouter`s (a test holds every route to it).
"""

from __future__ import annotations

import functools
import inspect
import os
import re
import signal
from collections.abc import Callable
from typing import Annotated, Any, Protocol, cast

from fastapi import APIRouter, Header, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, TypeAdapter
from sqlmodel import Session

from shared import idempotency
from shared.auth import Principal
from shared.db import commit_unit_of_work, utcnow
from shared.errors import Invalid

UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
KEY_PARAMETER = "shian_idempotency_key"
REQUEST_PARAMETER = "shian_request"
LONE_SURROGATE = re.compile("[\ud800-\udfff]")

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        min_length=1,
        max_length=255,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique string (a UUID) of up to 255 visible ASCII characters. A command "
        "sent again with the same key is answered with the first answer and changes nothing.",
    ),
]


class UnitOfWorkRoute(APIRoute):
    """An APIRoute whose synchronous endpoint is one transaction, committed with its answer."""

    methods: set[str]  # never None on an APIRoute (Starlette's Route allows it): GET by default

    def __init__(self, path: str, endpoint: Callable[..., Any], **kwargs: Any) -> None:
        if inspect.iscoroutinefunction(endpoint):
            super().__init__(path, endpoint, **kwargs)
            return
        methods = {method.upper() for method in kwargs.get("methods") or ("GET",)}
        self._unsafe = bool(methods & UNSAFE_METHODS)
        super().__init__(path, _in_one_thread(endpoint, self, with_key=self._unsafe), **kwargs)
        self._adapter: TypeAdapter[Any] | None = (
            TypeAdapter(self.response_model) if self.response_model is not None else None
        )

    def render(self, result: Any, sub_response: Response | None) -> Response:
        """The answer FastAPI would have rendered: the response model validated and dumped."""
        if isinstance(result, Response):
            return result
        status_code = self.status_code or 200
        if sub_response is not None and sub_response.status_code:
            status_code = sub_response.status_code
        if self._adapter is not None:
            value = result
            if isinstance(result, BaseModel) and not isinstance(result, self.response_model):
                value = result.model_dump(by_alias=True)
            body = self._adapter.dump_json(self._adapter.validate_python(value, from_attributes=True))
            response: Response = Response(body, status_code=status_code, media_type="application/json")
        else:
            response = JSONResponse(jsonable_encoder(result), status_code=status_code)
        if sub_response is not None:
            for name, value in sub_response.headers.items():
                if name.lower() not in ("content-length", "content-type"):
                    response.headers[name] = value
        return response


class _Signed(Protocol):
    """A callable whose signature `inspect` (and so FastAPI) reads from `__signature__`."""

    __signature__: inspect.Signature


def _in_one_thread(endpoint: Callable[..., Any], route: UnitOfWorkRoute, *, with_key: bool) -> Callable:
    """The endpoint wrapped so that its session is committed (or rolled back) and closed, and its
    answer rendered, before the worker thread returns."""

    @functools.wraps(endpoint)
    def run(*args: Any, **kwargs: Any) -> Response:
        key = kwargs.pop(KEY_PARAMETER, None) if with_key else None
        request: Request | None = kwargs.pop(REQUEST_PARAMETER, None) or _first(kwargs, Request)
        _refuse_lone_surrogates(kwargs)
        session = _first(kwargs, Session)
        try:
            principal = _first(kwargs, Principal)
            claimed = None
            if key is not None and session is not None and principal is not None:
                claimed = (principal.actor, key)
                stored = _claim(session, route, request, principal, key, kwargs)
                if stored is not None:
                    session.rollback()
                    return _replay(stored)
            result = endpoint(*args, **kwargs)
            response = route.render(result, _first(kwargs, Response))
            if session is not None:
                if claimed is not None and 200 <= response.status_code < 300:
                    idempotency.remember(
                        session, actor=claimed[0], key=claimed[1], answer=_answer_of(response)
                    )
                commit_unit_of_work(session)
                if key is not None and request is not None:
                    _crash_if_asked(request, key)
            return response
        except BaseException:
            if session is not None:
                session.rollback()
            raise
        finally:
            if session is not None:
                session.close()

    signature = inspect.signature(endpoint)
    # FastAPI passes the Request to one parameter only: the endpoint's own, if it has one
    takes_request = any(
        parameter.annotation in (Request, "Request") for parameter in signature.parameters.values()
    )
    extra = []
    if not takes_request:
        extra.append(inspect.Parameter(REQUEST_PARAMETER, inspect.Parameter.KEYWORD_ONLY, annotation=Request))
    if with_key:
        extra.append(
            inspect.Parameter(
                KEY_PARAMETER, inspect.Parameter.KEYWORD_ONLY, annotation=IdempotencyKeyHeader, default=None
            )
        )
    parameters = [
        p.replace(kind=inspect.Parameter.KEYWORD_ONLY)
        if p.kind is inspect.Parameter.POSITIONAL_OR_KEYWORD
        else p
        for p in signature.parameters.values()
    ]
    cast(_Signed, run).__signature__ = signature.replace(parameters=[*parameters, *extra])
    return run


def _claim(
    session: Session,
    route: UnitOfWorkRoute,
    request: Request | None,
    principal: Principal,
    key: str,
    kwargs: dict[str, Any],
) -> idempotency.StoredAnswer | None:
    method = request.method if request is not None else sorted(route.methods)[0]
    parts = {name: value for name, value in kwargs.items() if _is_argument(value)}
    if request is not None:
        parts["query"] = sorted(request.query_params.multi_items())
    try:
        return idempotency.claim(
            session,
            actor=principal.actor,
            key=key,
            method=method,
            path=route.path,
            fingerprint=idempotency.fingerprint(method, route.path, parts),
            now=request.app.state.runtime.clock.now() if request is not None else utcnow(),
        )
    except idempotency.KeyReused as error:
        raise Invalid(idempotency.HEADER, str(error), location="header") from None


def _is_argument(value: Any) -> bool:
    """Whether a keyword argument is part of what the caller asked (not a session, clock, ...)."""
    return isinstance(value, BaseModel | bytes | str | int | float | bool | list | dict) or value is None


def _answer_of(response: Response) -> idempotency.StoredAnswer:
    headers = {name: value for name, value in response.headers.items() if name in idempotency.KEPT_HEADERS}
    return idempotency.StoredAnswer(
        status_code=response.status_code, headers=headers, body=bytes(response.body)
    )


def _replay(stored: idempotency.StoredAnswer) -> Response:
    response = Response(stored.body, status_code=stored.status_code)
    for name, value in stored.headers.items():
        response.headers[name] = value
    response.headers[idempotency.REPLAYED_HEADER] = "true"
    return response


def _crash_if_asked(request: Request, key: str) -> None:
    """Test aid (refused in production): die between the commit and the answer."""
    if request.app.state.settings.crash_after_commit_key == key:
        os.kill(os.getpid(), signal.SIGKILL)


def _first(values: dict[str, Any], kind: type) -> Any:
    for value in values.values():
        if isinstance(value, kind):
            return value
    return None


def _refuse_lone_surrogates(kwargs: dict[str, Any]) -> None:
    """A JSON string may escape half of a surrogate pair ("\\ud800"): Python accepts it, and the
    database driver then fails to encode it. Refused here, naming the field, for every body."""
    for name, value in kwargs.items():
        if isinstance(value, BaseModel):
            found = _surrogate_in(value.model_dump(mode="python"), (name,))
            if found is not None:
                raise Invalid(".".join(found[1:]) or name, "contains an unpaired surrogate (not valid text)")


def _surrogate_in(value: Any, path: tuple[str, ...]) -> tuple[str, ...] | None:
    if isinstance(value, str):
        return path if LONE_SURROGATE.search(value) else None
    if isinstance(value, dict):
        for key, item in value.items():
            found = _surrogate_in(key, path) or _surrogate_in(item, (*path, str(key)))
            if found is not None:
                return found
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _surrogate_in(item, (*path, str(index)))
            if found is not None:
                return found
    return None


class ServiceRouter(APIRouter):
    """The APIRouter of every service: its routes are `UnitOfWorkRoute`s."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("route_class", UnitOfWorkRoute)
        super().__init__(**kwargs)
