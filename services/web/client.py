"""The backend-for-frontend client: every call to a service goes out as the signed-in user.

One `httpx.AsyncClient` per process (connection reuse matters on a 2-core box). A call carries
the user's access token, refreshed first when it is about to end; what the service answers is
turned into what the page does:

* 401: the session is over (signed out elsewhere, revoked): `SignInRequired`, back to sign-in;
* 403, 404: `NotAllowed`, `NotFound`: a Chinese error page (404 for a record outside the user's
  place, as the services answer: it never says whether the record exists);
* 409, 422: `Refused` with the service's field errors: the form again, with the input kept;
* no answer, a timeout, 5xx, 429, 503: `Unavailable`: a Chinese "try again" page, 503, never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from services.web.session import SessionStore, User, WebSession

log = logging.getLogger("shian.web.client")


class SignInRequired(Exception):
    """No session, or the services no longer take it."""


class NotFound(Exception):
    pass


class NotAllowed(Exception):
    pass


class Unavailable(Exception):
    """A service did not answer usefully; the user should try again shortly."""

    def __init__(self, service: str, reason: str) -> None:
        super().__init__(f"{service}: {reason}")
        self.service = service


class Refused(Exception):
    """A 422 or 409: the service named the fields and the reasons."""

    def __init__(self, status: int, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{status}: {errors}")
        self.status = status
        self.errors = errors


@dataclass(frozen=True)
class SignInOutcome:
    """identity's answer to a sign-in: a session, or why not (`wrong`, `too_many`)."""

    session: WebSession | None = None
    refusal: str | None = None
    retry_after: int | None = None


def _errors_of(response: httpx.Response) -> list[dict[str, Any]]:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        return []
    if isinstance(detail, list):
        return [item for item in detail if isinstance(item, dict)]
    if isinstance(detail, str):
        return [{"loc": [], "msg": detail, "type": "domain"}]
    return []


class ServiceClient:
    def __init__(self, urls: dict[str, str], store: SessionStore, *, timeout: float, margin: int) -> None:
        self.urls = urls
        self.store = store
        self.margin = margin
        self.http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 3.0)),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
        )

    async def close(self) -> None:
        await self.http.aclose()

    # -- the raw exchange ------------------------------------------------------------------------

    async def _send(
        self, service: str, method: str, path: str, *, logged: str | None = None, **kwargs: Any
    ) -> httpx.Response:
        """`logged`: the path as the log may show it (a credential in the path stays out)."""
        shown = logged or path
        try:
            response = await self.http.request(method, f"{self.urls[service]}{path}", **kwargs)
        except httpx.HTTPError as error:
            log.warning("%s %s %s: no answer (%s)", service, method, shown, type(error).__name__)
            raise Unavailable(service, type(error).__name__) from error
        if response.status_code >= 500 or response.status_code == 429:
            log.warning("%s %s %s answered %d", service, method, shown, response.status_code)
            raise Unavailable(service, f"HTTP {response.status_code}")
        return response

    async def relay(self, service: str, method: str, path: str, *, logged: str) -> httpx.Response:
        """`method path` on `service` without a user's token, its answer as it came (only no
        answer, 5xx and 429 become `Unavailable`): for the pages whose URL is the credential,
        which is why the log gets `logged`, the path without it."""
        return await self._send(service, method, path, logged=logged, headers={"Accept": "text/html"})

    # -- identity: signing in and out -------------------------------------------------------------

    async def sign_in(self, mobile: str, password: str, *, address: str | None = None) -> SignInOutcome:
        """Sign in at identity. `address` is the browser's: identity counts sign-ins per address
        and records it, and believes the `X-Forwarded-For` naming it only when the web process's
        address is among identity's `SHIAN_TRUSTED_PROXIES`; otherwise it counts the web's own."""
        headers = {"X-Forwarded-For": address} if address else {}
        try:
            response = await self.http.post(
                f"{self.urls['identity']}/sessions",
                json={"mobile": mobile, "password": password},
                headers=headers,
            )
        except httpx.HTTPError as error:
            raise Unavailable("identity", type(error).__name__) from error
        if response.status_code == 429:
            retry = response.headers.get("Retry-After", "")
            return SignInOutcome(refusal="too_many", retry_after=int(retry) if retry.isdigit() else None)
        if response.status_code in (401, 422):
            return SignInOutcome(refusal="wrong")
        if response.status_code != 201:
            raise Unavailable("identity", f"HTTP {response.status_code}")
        pair = response.json()
        now = time.time()
        session = WebSession(
            id="",
            access_token=pair["access_token"],
            refresh_token=pair["refresh_token"],
            access_expires_at=now + int(pair["expires_in"]),
            refresh_expires_at=now + int(pair["refresh_expires_in"]),
            user=User(account_id="", name="", role="", county_id=""),
        )
        me = await self._json(session, "identity", "GET", "/accounts/me")
        session.user = User(
            account_id=str(me["id"]),
            name=str(me["name"]),
            role=str(me["role"]),
            county_id=str(me["county_id"]),
            township_id=me.get("township_id"),
            village_id=me.get("village_id"),
        )
        session.user.place_name = await self._place_name(session)
        return SignInOutcome(session=session)

    async def _place_name(self, session: WebSession) -> str:
        """The name of the user's own place, from the registry (shown on every page)."""
        user = session.user
        wanted = user.village_id or user.township_id or user.county_id
        if user.role == "ops":
            return ""
        try:
            places = await self._json(session, "registry", "GET", "/places")
        except (NotFound, NotAllowed, Refused, Unavailable):
            return ""
        for place in places if isinstance(places, list) else []:
            if place.get("id") == wanted:
                return str(place.get("name", ""))
        return ""

    async def set_password_with_code(self, mobile: str, code: str, password: str) -> None:
        """A first password (or one after a reset) with the one-time code an office gave: no
        session. A wrong or used code: `NotAllowed`; a password breaking a rule: `Refused`."""
        response = await self._send(
            "identity", "POST", "/password", json={"mobile": mobile, "code": code, "password": password}
        )
        if response.status_code in (401, 403):
            raise NotAllowed()
        if response.status_code in (409, 422):
            raise Refused(response.status_code, _errors_of(response))
        if response.status_code != 204:
            raise Unavailable("identity", f"HTTP {response.status_code}")

    async def sign_out(self, session: WebSession) -> None:
        """Ends the session at identity too (every service refuses its tokens from then on)."""
        try:
            await self._send(
                "identity",
                "DELETE",
                "/sessions/current",
                headers={"Authorization": f"Bearer {session.access_token}"},
            )
        except Unavailable:
            log.warning("identity unavailable at sign-out; the web session is ended here anyway")

    # -- calls as the user ------------------------------------------------------------------------

    async def fresh(self, session: WebSession) -> WebSession:
        """The session with an access token good for at least `margin` seconds more."""
        if session.access_expires_at - time.time() > self.margin:
            return session
        for _ in range(50):  # another request of the same browser may be refreshing: wait for it
            if await self.store.lock(session.id):
                try:
                    current = await self.store.load(session.id)
                    if current is None:
                        raise SignInRequired()
                    if current.access_expires_at - time.time() > self.margin:
                        return current
                    return await self._refresh(current)
                finally:
                    await self.store.unlock(session.id)
            await asyncio.sleep(0.1)
            current = await self.store.load(session.id)
            if current is None:
                raise SignInRequired()
            if current.access_expires_at - time.time() > self.margin:
                return current
        raise Unavailable("identity", "refresh lock held too long")

    async def _refresh(self, session: WebSession) -> WebSession:
        response = await self._send(
            "identity", "POST", "/sessions/refresh", json={"refresh_token": session.refresh_token}
        )
        if response.status_code != 200:
            await self.store.delete(session.id)
            raise SignInRequired()
        pair = response.json()
        now = time.time()
        session.access_token = pair["access_token"]
        session.refresh_token = pair["refresh_token"]
        session.access_expires_at = now + int(pair["expires_in"])
        session.refresh_expires_at = now + int(pair["refresh_expires_in"])
        await self.store.save(session)
        return session

    async def _json(
        self,
        session: WebSession,
        service: str,
        method: str,
        path: str,
        idempotency_key: str | None = None,
        **kwargs: Any,
    ) -> Any:
        headers = {"Authorization": f"Bearer {session.access_token}", "Accept": "application/json"}
        headers.update(kwargs.pop("headers", None) or {})  # e.g. Idempotency-Key, Content-Type
        if idempotency_key:  # one per form as rendered: a double submit or a retry makes one record
            headers["Idempotency-Key"] = idempotency_key
        response = await self._send(service, method, path, headers=headers, **kwargs)
        code = response.status_code
        if code == 401:  # revoked or ended at identity: this web session is over too (and the
            await self.store.delete(session.id)  # sign-in page must not send the browser back)
            raise SignInRequired()
        if code == 403:
            raise NotAllowed()
        if code == 404:
            raise NotFound()
        if code in (409, 422):
            raise Refused(code, _errors_of(response))
        if code >= 400:
            raise Unavailable(service, f"HTTP {code}")
        if code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as error:
            raise Unavailable(service, "not JSON") from error

    async def call(self, session: WebSession, service: str, method: str, path: str, **kwargs: Any) -> Any:
        """`method path` on `service` as the user: the decoded JSON answer, or one of this
        module's exceptions. `kwargs` go to httpx (`params=`, `json=`)."""
        session = await self.fresh(session)
        return await self._json(session, service, method, path, **kwargs)

    async def get(self, session: WebSession, service: str, path: str, **params: Any) -> Any:
        clean = {key: value for key, value in params.items() if value is not None}
        return await self.call(session, service, "GET", path, params=clean)

    async def post(
        self,
        session: WebSession,
        service: str,
        path: str,
        body: dict[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> Any:
        return await self.call(session, service, "POST", path, json=body, idempotency_key=idempotency_key)

    async def upload(
        self,
        session: WebSession,
        service: str,
        path: str,
        content: bytes,
        *,
        content_type: str,
        idempotency_key: str | None = None,
        **params: Any,
    ) -> Any:
        """A file as the request body (a photo), with `params` in the query."""
        headers = {"Content-Type": content_type}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        return await self.call(
            session, service, "POST", path, content=content, params=params, headers=headers
        )

    async def patch(
        self,
        session: WebSession,
        service: str,
        path: str,
        body: dict[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> Any:
        return await self.call(session, service, "PATCH", path, json=body, idempotency_key=idempotency_key)

    async def put(
        self,
        session: WebSession,
        service: str,
        path: str,
        body: dict[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> Any:
        return await self.call(session, service, "PUT", path, json=body, idempotency_key=idempotency_key)

    async def delete(self, session: WebSession, service: str, path: str) -> Any:
        return await self.call(session, service, "DELETE", path)

    @asynccontextmanager
    async def stream(
        self, session: WebSession, service: str, path: str, *, timeout: float | None = None, **params: Any
    ) -> AsyncIterator[httpx.Response]:
        """`GET path` on `service` as the user, its body not yet read: a file passed on to the
        browser chunk by chunk (`response.aiter_bytes()`), never held whole. Failures as `call`.
        `timeout`: for a document the service takes a while to write (a PDF)."""
        session = await self.fresh(session)
        headers = {"Authorization": f"Bearer {session.access_token}"}
        extra: dict[str, Any] = {"timeout": httpx.Timeout(timeout, connect=3.0)} if timeout else {}
        request = self.http.build_request(
            "GET", f"{self.urls[service]}{path}", params=params, headers=headers, **extra
        )
        try:
            response = await self.http.send(request, stream=True)
        except httpx.HTTPError as error:
            raise Unavailable(service, type(error).__name__) from error
        try:
            code = response.status_code
            if code == 401:
                await self.store.delete(session.id)
                raise SignInRequired()
            if code == 403:
                raise NotAllowed()
            if code == 404:
                raise NotFound()
            if code in (409, 422):
                await response.aread()
                raise Refused(code, _errors_of(response))
            if code >= 400:
                raise Unavailable(service, f"HTTP {code}")
            yield response
        finally:
            await response.aclose()
