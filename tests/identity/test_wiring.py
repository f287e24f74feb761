"""Identity wired into the four services, in-process: each takes identity's access token, refuses it
once the session is signed out (from the `session.revoked` event it reads on identity's stream), and
a service started after the sign-out still refuses it (it reads the stream back at start); the
revoked sessions past their time are forgotten."""

from __future__ import annotations

import asyncio
import importlib
import time
from collections.abc import Callable
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from shared import service
from shared.bus import publish
from shared.catalogue.identity import SessionRevoked
from shared.clock import ManualClock
from shared.events import Envelope
from shared.migrations import upgrade
from shared.settings import Settings
from tests.support.identity import START, IdentityApp, cheap_config, running_identity
from tests.support.services import start_county

READS = {
    "registry": "/businesses",
    "inspection": "/directory/businesses",
    "alerts": "/incidents",
    "reporting": "/activities/trainings",
}


def _verify_through(identity: IdentityApp, client: TestClient) -> None:
    """The service's verifier reads identity's JWKS through identity's test client (there is no
    port to fetch from), with the service's own revoked sessions."""
    app = client.app
    app.state.token_verifier = identity.verifier(revoked=app.state.runtime.revoked)  # type: ignore[attr-defined]


def _until(check: Callable[[], bool], timeout: float) -> float | None:
    """Seconds until `check()` held, or None if it did not within `timeout`."""
    begin = time.monotonic()
    while time.monotonic() - begin < timeout:
        if check():
            return time.monotonic() - begin
        time.sleep(0.05)
    return None


def test_a_signed_out_session_is_refused_by_every_service_and_after_a_restart(settings: Settings) -> None:
    clock = ManualClock(START)
    with (
        start_county(settings, clock) as county,
        running_identity(settings, clock, cheap_config()) as identity,
    ):
        for client in county.clients.values():
            _verify_through(identity, client)
        bearer = {"Authorization": f"Bearer {identity.tokens['county']}"}
        for name, path in READS.items():
            answer = county.clients[name].get(path, headers=bearer)
            assert answer.status_code == 200, (name, answer.text)

        assert identity.as_("county", "DELETE", "/sessions/current").status_code == 204
        for name, path in READS.items():
            took = _until(
                lambda name=name, path=path: (
                    county.clients[name].get(path, headers=bearer).status_code == 401
                ),
                5,
            )
            assert took is not None and took <= 2.0, (name, took)

        # a service started after the sign-out reads the revocation back from the stream
        module = importlib.import_module("services.alerts.app")
        with TestClient(module.create(settings, clock)) as restarted:
            _verify_through(identity, restarted)
            assert _until(lambda: len(restarted.app.state.runtime.revoked) >= 1, 5) is not None  # type: ignore[attr-defined]
            assert restarted.get("/incidents", headers=bearer).status_code == 401


def test_a_service_forgets_the_revoked_sessions_past_their_time(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Most revoked sessions are never presented again, so a lookup alone would keep them for
    good: the follower of identity's stream drops the ones past their `until`."""
    monkeypatch.setattr(service, "REVOCATION_PURGE_SECONDS", 0.0)
    clock = ManualClock(START)
    module = importlib.import_module("services.alerts.app")
    upgrade(module.SPEC.migrations, settings.database_url("alerts"))
    short = [f"s-short-{n}" for n in range(50)]
    revocations = [
        SessionRevoked(session_ids=short, until=START + timedelta(minutes=15), reason="signed_out"),
        SessionRevoked(session_ids=["s-long"], until=START + timedelta(minutes=60), reason="password_reset"),
    ]
    envelopes = [
        Envelope.wrap(event, county_id="qingyun", township_id=None, actor="identity") for event in revocations
    ]
    with TestClient(module.create(settings, clock)) as client:
        runtime = client.app.state.runtime  # type: ignore[attr-defined]
        asyncio.run(publish(settings, envelopes, producer="identity"))
        assert _until(lambda: len(runtime.revoked) == 51, 10) is not None, len(runtime.revoked)
        clock.advance(timedelta(minutes=16))
        assert _until(lambda: len(runtime.revoked) == 1, 10) is not None, len(runtime.revoked)
        assert runtime.revoked.is_revoked("s-long") and not runtime.revoked.is_revoked("s-short-0")
        clock.advance(timedelta(minutes=45))
        assert _until(lambda: len(runtime.revoked) == 0, 10) is not None, len(runtime.revoked)
