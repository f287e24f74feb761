"""Signed-in browsers: the tokens stay on the server, the browser holds only an opaque id.

The cookie carries 32 random bytes and nothing else (HttpOnly, SameSite=Lax, Path=/, Secure over
https, `__Host-` prefixed then). Redis keeps, under the SHA-256 of that id (a copy of Redis's
data does not give anyone a cookie to present), the access and refresh tokens identity issued,
when they end, and who the user is. The record expires after `idle_minutes` without a request, or
when the refresh token ends, whichever comes first. Signing in always starts a new id, so an id
planted in a browser before sign-in (session fixation) is worth nothing after it.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from redis.asyncio import Redis
from starlette.requests import Request
from starlette.responses import Response

COOKIE = "shian_session"
SECURE_COOKIE = "__Host-shian_session"


@dataclass
class User:
    """Who is signed in, as identity's `/accounts/me` says, with the name of their place."""

    account_id: str
    name: str
    role: str
    county_id: str
    township_id: str | None = None
    village_id: str | None = None
    place_name: str = ""


@dataclass
class WebSession:
    id: str
    access_token: str
    refresh_token: str
    access_expires_at: float  # epoch seconds
    refresh_expires_at: float
    user: User
    created_at: float = field(default_factory=time.time)

    def to_json(self) -> str:
        data = asdict(self)
        data.pop("id")
        return json.dumps(data)

    @classmethod
    def from_json(cls, session_id: str, text: str | bytes) -> WebSession:
        data: dict[str, Any] = json.loads(text)
        user = User(**data.pop("user"))
        return cls(id=session_id, user=user, **data)


def new_id() -> str:
    return secrets.token_urlsafe(32)


def cookie_name(secure: bool) -> str:
    return SECURE_COOKIE if secure else COOKIE


def cookie_id(request: Request, secure: bool) -> str | None:
    """The id the browser presented, if it looks like one of ours."""
    value = request.cookies.get(cookie_name(secure))
    if value and 20 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum():
        return value
    return None


def set_cookie(response: Response, session_id: str, *, secure: bool) -> None:
    response.set_cookie(
        cookie_name(secure),
        session_id,
        httponly=True,
        samesite="lax",  # Strict would drop the cookie when a link in an SMS opens the page
        secure=secure,
        path="/",
    )


def clear_cookie(response: Response, *, secure: bool) -> None:
    response.delete_cookie(cookie_name(secure), path="/", secure=secure, httponly=True, samesite="lax")


class SessionStore:
    """Web sessions in Redis, one key each, expiring on their own."""

    def __init__(self, redis: Redis, prefix: str, idle_seconds: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.idle_seconds = idle_seconds

    def _key(self, session_id: str) -> str:
        return f"{self.prefix}.web.session:{hashlib.sha256(session_id.encode()).hexdigest()}"

    def _ttl(self, session: WebSession) -> int:
        left = int(session.refresh_expires_at - time.time())
        return max(1, min(self.idle_seconds, left))

    async def save(self, session: WebSession) -> None:
        await self.redis.set(self._key(session.id), session.to_json(), ex=self._ttl(session))

    async def load(self, session_id: str) -> WebSession | None:
        text = await self.redis.get(self._key(session_id))
        if text is None:
            return None
        session = WebSession.from_json(session_id, text)
        await self.redis.expire(self._key(session_id), self._ttl(session))  # sliding idle expiry
        return session

    async def delete(self, session_id: str) -> None:
        await self.redis.delete(self._key(session_id))

    async def lock(self, session_id: str, seconds: int = 15) -> bool:
        """One refresh at a time per session, across replicas: identity ends a whole session when
        a used refresh token is shown again, so two concurrent refreshes would sign the user out."""
        return bool(await self.redis.set(self._key(session_id) + ":refresh", "1", nx=True, ex=seconds))

    async def unlock(self, session_id: str) -> None:
        await self.redis.delete(self._key(session_id) + ":refresh")


class SignInLimiter:
    """Sign-in attempts per browser address and minute, counted here: identity sees every
    sign-in through the web as coming from the web process's one address, so its own
    per-address limit would be shared by the whole county (identity's per-account limit and
    lockout still apply to each account)."""

    def __init__(self, redis: Redis, prefix: str, per_minute: int) -> None:
        self.redis = redis
        self.prefix = prefix
        self.per_minute = per_minute

    async def allow(self, address: str, now: float | None = None) -> int | None:
        """None if this attempt is allowed, else the seconds to wait."""
        moment = time.time() if now is None else now
        minute = int(moment // 60)
        key = f"{self.prefix}.web.signin:{hashlib.sha256(address.encode()).hexdigest()[:32]}:{minute}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, 120)
            count, _ = await pipe.execute()
        if int(count) <= self.per_minute:
            return None
        return 60 - int(moment % 60)
