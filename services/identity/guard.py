"""Caller before body, for identity's own tokens.

The shared guard (`shared.admission.CallerFirst`) reads no body of a request without a valid
bearer token, but it takes `shian token`'s HS256 tokens too, which identity does not. This one does the
same with identity's keys: a command carrying a body must carry an access token identity signed
(unexpired), except the routes that are how one gets a token or a password. The route then checks
the session and the account (`services.identity.context.current_caller`).
"""

from __future__ import annotations

import anyio.to_thread
import jwt
from starlette.types import ASGIApp, Receive, Scope, Send

from services.identity.context import Identity
from shared.admission import answer
from shared.service import ServiceRuntime

PUBLIC_COMMANDS = frozenset({"/sessions", "/sessions/refresh", "/password", "/token"})


class IdentityCallerFirst:
    def __init__(self, app: ASGIApp, *, runtime: ServiceRuntime, identity: Identity) -> None:
        self.app = app
        self.runtime = runtime
        self.identity = identity

    def _verifies(self, token: str) -> bool:
        try:
            with self.runtime.db.read_session() as session:
                self.identity.verifier.claims(session, token, now=self.runtime.clock.now())
        except (jwt.InvalidTokenError, ValueError):
            return False
        return True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] != "http"
            or scope["method"] in ("GET", "HEAD", "OPTIONS")
            or scope["path"] in PUBLIC_COMMANDS
        ):
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        declared = headers.get(b"content-length")
        has_body = b"chunked" in headers.get(b"transfer-encoding", b"") or declared not in (None, b"0")
        if has_body:
            scheme, _, token = headers.get(b"authorization", b"").decode("latin-1").partition(" ")
            ok = scheme.lower() == "bearer" and bool(token.strip())
            if ok:
                ok = await anyio.to_thread.run_sync(self._verifies, token.strip())
            if not ok:
                await answer(send, 401, "missing or invalid bearer token", {"WWW-Authenticate": "Bearer"})
                return
        await self.app(scope, receive, send)
