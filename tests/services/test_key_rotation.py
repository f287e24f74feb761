"""Identity rotates its signing key while the four domain services run: each takes a token of the new
key as soon as its verifier may fetch identity's JWKS again (an unknown kid refetches at most every
SHIAN_JWKS_REFETCH_SECONDS, 10 s as shipped, 2 s here), and a token of the retired key keeps
working until it expires, since identity publishes the retired key for the access-token life plus
the allowed clock skew (services/identity/keys/service.py: rotate)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import jwt

from shared.clock import ManualClock
from shared.settings import Settings
from shared.tokens import JwksVerifier
from tests.support.identity import cheap_config, running_identity
from tests.support.services import start_county

READS = {
    "registry": "/businesses",
    "inspection": "/directory/businesses",
    "alerts": "/incidents",
    "reporting": "/activities/trainings",
}
REFETCH_SECONDS = 2.0
SLACK_SECONDS = 3.0  # a loaded 2-core machine


def test_every_service_takes_a_rotated_key_within_the_refetch_interval_and_the_retired_until_expiry(
    settings: Settings,
) -> None:
    settings = settings.model_copy(update={"jwks_refetch_seconds": REFETCH_SECONDS})
    clock = ManualClock(datetime.now(UTC))
    with (
        start_county(settings) as county,
        running_identity(settings, clock, cheap_config()) as identity,
    ):
        verifiers: dict[str, JwksVerifier] = {}
        for name, client in county.clients.items():
            state = client.app.state  # type: ignore[attr-defined]
            # identity's JWKS through its test client, at the interval the settings give
            verifiers[name] = identity.verifier(
                revoked=state.runtime.revoked, refetch_seconds=settings.jwks_refetch_seconds
            )
            state.token_verifier = verifiers[name]

        def status(service: str, token: str) -> int:
            headers = {"Authorization": f"Bearer {token}"}
            return county.clients[service].get(READS[service], headers=headers).status_code

        old = identity.tokens["county"]
        for service in READS:
            assert status(service, old) == 200, service
        fetches = {name: verifier.fetches for name, verifier in verifiers.items()}

        rotated = identity.as_("county", "POST", "/keys/rotate")
        assert rotated.status_code == 201, rotated.text
        identity.again("county")
        new = identity.tokens["county"]
        new_kid = jwt.get_unverified_header(new)["kid"]
        assert new_kid == rotated.json()["kid"] != jwt.get_unverified_header(old)["kid"]

        for service in READS:
            verifier = verifiers[service]
            began = time.monotonic()
            # the rule, request by request: within the interval of the last fetch the new kid is
            # refused (no fetch), after it the set is fetched once and the token taken
            while True:
                since_fetch = time.monotonic() - verifier.fetched_at
                answer = status(service, new)
                if answer == 200:
                    break
                assert answer == 401, (service, answer)
                assert since_fetch < REFETCH_SECONDS + SLACK_SECONDS, (service, since_fetch)
                time.sleep(0.1)
            waited = time.monotonic() - began
            assert waited <= REFETCH_SECONDS + SLACK_SECONDS, (service, waited)
            assert verifier.fetches - fetches[service] == 1, (service, verifier.fetches, fetches[service])
            # the retired key's token is still good: its key is still published
            assert status(service, old) == 200, service

        # a burst of the new token costs no further fetch
        for service in READS:
            for _ in range(20):
                assert status(service, new) == 200
            assert verifiers[service].fetches - fetches[service] == 1

        # past the access-token life (15 min) and the skew (30 s): the old token has expired, the
        # retired key left the JWKS, and a new sign-in is taken everywhere
        identity.advance(minutes=15, seconds=31)
        published = {key["kid"] for key in identity.client.get("/.well-known/jwks.json").json()["keys"]}
        assert published == {new_kid}
        identity.again("county")
        for service in READS:
            assert status(service, old) == 401, service
            assert status(service, identity.tokens["county"]) == 200, service
