"""Identity wired into the four services, in-process: each takes identity's access token, refuses it
once the session is signed out (from the `session.revoked` event it reads on identity's stream), and
a service started after the sign-out still refuses it (it reads the stream back at start)."""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable

from fastapi.testclient import TestClient

from shared.clock import ManualClock
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
