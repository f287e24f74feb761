"""Federation: a province's own OpenID Connect provider, started by the tests as a real HTTP server on
127.0.0.1 (tests/support/oidc.py), whose ID and access tokens the four domain services (in-process,
on the session's Redis) take beside identity's. Its users sign in over HTTP with the province's role
names (Keycloak's `realm_access.roles`) and administrative division codes, which the services map
to Shian's roles and places.

* a township user of the province sees its township's records in every service and gets 404 for
  another township's; the county user sees both; a village user is scoped to its village;
* forged, foreign, stale and unmappable tokens are refused with 401 by every service;
* a key the provider rotates in is taken after one refetch of its JWKS, and made-up kids do not
  turn into a flood of fetches;
* with the provider down, identity's tokens (and the province's tokens already verified keys) keep
  working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization

from shared.clock import ManualClock, local_today
from tests.support.county import COUNTY, DONGSHAN, HECUN, SHANGCUN, XISHUI
from tests.support.identity import cheap_config, running_identity
from tests.support.oidc import CLIENT_ID, LocalOidcProvider, User, new_key
from tests.support.services import County, knows_place, start_county
from tests.support.settings import make_settings
from tests.support.waiting import wait_for

# the province's names for Shian's roles, and its division codes for Shian's places
ROLE_MAP = {
    "spj-county": "county",
    "spj-township": "township",
    "spj-inspector": "inspector",
    "spj-village": "village",
    "spj-ops": "ops",
}
PLACE_MAP = {"331001": COUNTY, "331001101": DONGSHAN, "331001102": XISHUI, "331001101201": SHANGCUN}
REFETCH_SECONDS = 1.0


def province_user(role: str, code: str) -> User:
    return User(
        password="Prov#2026-" + role,
        claims={"realm_access": {"roles": ["offline_access", role]}, "division_code": code},
    )


USERS = {
    "county": province_user("spj-county", "331001"),
    "dongshan": province_user("spj-township", "331001101"),
    "inspector": province_user("spj-inspector", "331001101"),
    "shangcun": province_user("spj-village", "331001101201"),
    "ops": province_user("spj-ops", "331001"),
}


@dataclass
class Federation:
    provider: LocalOidcProvider
    county: County
    records: dict[str, dict[str, str]]  # township -> name -> id

    def call(self, service: str, method: str, url: str, token: str, **kwargs: Any) -> Any:
        headers = {"Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
        return self.county.clients[service].request(method, url, headers=headers, **kwargs)

    def token_of(self, who: str, kind: str = "access_token") -> str:
        return str(self.provider.password_grant(who)[kind])


PERIOD = {"from": (local_today() - timedelta(days=30)).isoformat(), "to": local_today().isoformat()}


def reads(records: dict[str, str], township: str) -> dict[str, tuple[str, dict[str, Any]]]:
    """A read of one record of `township` in each service."""
    return {
        "registry": (f"/businesses/{records['business']}", {}),
        "inspection": (f"/directory/businesses/{records['business']}", {}),
        "alerts": (f"/incidents/{records['incident']}", {}),
        "reporting": (f"/summaries/{township}", {"params": PERIOD}),
    }


@pytest.fixture(scope="module")
def federation(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Federation]:
    provider = LocalOidcProvider(users=dict(USERS))
    with provider:
        settings = make_settings(
            tmp_path_factory.mktemp("federation") / "var",
            redis_url,
            f"f{uuid.uuid4().hex[:10]}",
            oidc_issuer=provider.issuer,
            oidc_audience=CLIENT_ID,
            oidc_role_claim="realm_access.roles",
            oidc_role_map=ROLE_MAP,
            oidc_place_claim="division_code",
            oidc_place_map=PLACE_MAP,
            oidc_refetch_seconds=REFETCH_SECONDS,
        )
        with start_county(settings) as county:
            wait_for(lambda: knows_place(county, "inspection", HECUN), what="inspection to learn the places")
            records: dict[str, dict[str, str]] = {}
            for township, office, village in ((DONGSHAN, "dongshan", SHANGCUN), (XISHUI, "xishui", HECUN)):
                business = county.register_business(office, name=f"{office}饭店", village_id=village)
                incident = county.alerts.post(
                    "/incidents",
                    json={
                        "township_id": township,
                        "ill_count": 3,
                        "place_kind": "other",
                        "description": f"{office}腹泻",
                    },
                    headers=county.headers(office),
                )
                assert incident.status_code == 201, incident.text
                records[township] = {"business": business["id"], "incident": incident.json()["id"]}
            for township in (DONGSHAN, XISHUI):
                business_id = records[township]["business"]
                wait_for(
                    lambda business_id=business_id: (
                        county.inspection.get(
                            f"/directory/businesses/{business_id}", headers=county.headers("county")
                        ).status_code
                        == 200
                    ),
                    what="inspection's directory to hold the business",
                )
            yield Federation(provider, county, records)


def test_a_province_user_is_taken_by_every_service_within_its_place(federation: Federation):
    own, other = federation.records[DONGSHAN], federation.records[XISHUI]
    for kind in ("access_token", "id_token"):
        token = federation.token_of("dongshan", kind)
        for service, (url, kwargs) in reads(own, DONGSHAN).items():
            answer = federation.call(service, "GET", url, token, **kwargs)
            assert answer.status_code == 200, (kind, service, answer.text)
        for service, (url, kwargs) in reads(other, XISHUI).items():
            answer = federation.call(service, "GET", url, token, **kwargs)
            assert (answer.status_code, answer.json()) == (404, {"detail": "not found"}), (kind, service)
    # the county user sees both townships
    county = federation.token_of("county")
    for records, township in ((own, DONGSHAN), (other, XISHUI)):
        for service, (url, kwargs) in reads(records, township).items():
            assert federation.call(service, "GET", url, county, **kwargs).status_code == 200, service
    # a township user writes in its township (a body: verified before it is read) and names
    # another's village in vain; the audit names the province's subject
    token = federation.token_of("dongshan")
    body = {"name": "联邦饭店", "kind": "catering", "village_id": SHANGCUN}
    created = federation.call("registry", "POST", "/businesses", token, json=body)
    assert created.status_code == 201, created.text
    elsewhere = federation.call("registry", "POST", "/businesses", token, json={**body, "village_id": HECUN})
    assert elsewhere.status_code == 422 and "village_id" in elsewhere.text
    # a village coordinator: its village's business, not the township's office work
    village = federation.token_of("shangcun")
    listed = federation.call("registry", "GET", "/businesses", village).json()["items"]
    assert {item["village_id"] for item in listed} == {SHANGCUN}
    assert federation.call("registry", "GET", f"/businesses/{other['business']}", village).status_code == 404
    # operations: no domain data, as for identity's ops
    ops = federation.token_of("ops")
    assert federation.call("registry", "GET", f"/businesses/{own['business']}", ops).status_code == 404
    # the inspector records an inspection in its township
    inspector = federation.token_of("inspector")
    listed = federation.call("inspection", "GET", "/inspections", inspector)
    assert listed.status_code == 200, listed.text


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    head = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(claims).encode())
    return head + "." + _b64(signature)


def hostile_tokens(provider: LocalOidcProvider) -> dict[str, str]:
    """Tokens each service must refuse, by what is wrong with them."""
    claims = {"sub": "prov-dongshan", **USERS["dongshan"].claims}
    now = int(time.time())
    good = provider.mint(claims)
    head, body, signature = good.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    public_pem = provider.current.private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    hs_header = {"alg": "HS256", "typ": "JWT", "kid": provider.current.kid}
    hs_signing_input = _unsigned(hs_header, payload).rsplit(".", 1)[0]
    hs_signature = hmac.new(public_pem, hs_signing_input.encode(), hashlib.sha256).digest()
    tampered = json.dumps({**payload, "division_code": "331001"}).encode()  # to the county's code
    stranger = new_key()
    flipped = "A" if signature[10] != "A" else "B"
    return {
        "wrong issuer": provider.mint({**claims, "iss": "http://127.0.0.1:1/realms/other"}),
        "wrong audience": provider.mint({**claims, "aud": "another-client"}),
        "expired": provider.mint(claims, lifetime=-120),
        "issued in the future": provider.mint({**claims, "iat": now + 3600, "exp": now + 7200}),
        "not valid yet": provider.mint({**claims, "nbf": now + 3600}),
        "without exp": _unsigned({"alg": "none"}, {k: v for k, v in payload.items() if k != "exp"}),
        "HS256 keyed with the public key": hs_signing_input + "." + _b64(hs_signature),
        "alg none": _unsigned({"alg": "none", "typ": "JWT", "kid": provider.current.kid}, payload),
        "unknown kid": provider.mint(claims, kid="prov-nobody"),
        "a stranger's key under the provider's kid": provider.mint(
            claims, key=stranger, kid=provider.current.kid
        ),
        "tampered claims": f"{head}.{_b64(tampered)}.{signature}",
        "tampered signature": f"{head}.{body}.{signature[:10]}{flipped}{signature[11:]}",
        "unmapped role": provider.mint(
            {**claims, "realm_access": {"roles": ["offline_access", "spj-guest"]}}
        ),
        "no role": provider.mint({k: v for k, v in claims.items() if k != "realm_access"}),
        "two roles": provider.mint({**claims, "realm_access": {"roles": ["spj-township", "spj-county"]}}),
        "unmapped place": provider.mint({**claims, "division_code": "339999"}),
        "no place": provider.mint({k: v for k, v in claims.items() if k != "division_code"}),
        "a township role for a village": provider.mint({**claims, "division_code": "331001101201"}),
        "no subject": jwt.encode(
            {k: v for k, v in payload.items() if k != "sub"},
            provider.current.private,
            algorithm="RS256",
            headers={"kid": provider.current.kid},
        ),
    }


def test_forged_foreign_stale_and_unmappable_tokens_are_refused_by_every_service(
    federation: Federation, caplog: pytest.LogCaptureFixture
):
    tokens = hostile_tokens(federation.provider)
    own = federation.records[DONGSHAN]
    wrong = []
    with caplog.at_level(logging.INFO, logger="shian.auth"):
        for name, token in tokens.items():
            for service, (url, kwargs) in reads(own, DONGSHAN).items():
                answer = federation.call(service, "GET", url, token, **kwargs)
                if answer.status_code != 401:
                    wrong.append(f"{name} at {service}: {answer.status_code} {answer.text[:100]}")
            # and with a body: refused before it is read
            answer = federation.call(
                "registry",
                "POST",
                "/businesses",
                token,
                json={"name": "x", "kind": "catering", "village_id": SHANGCUN},
            )
            if answer.status_code != 401:
                wrong.append(f"{name} at registry POST: {answer.status_code}")
    assert not wrong, "\n".join(wrong)
    logged = " ".join(record.getMessage() for record in caplog.records if record.name == "shian.auth")
    for reason in ("maps to no Shian role", "maps to no place", "needs a township", "several roles"):
        assert reason in logged, reason
    # the well-formed token of the same user is taken (the refusals were for what they said)
    good = federation.provider.mint({"sub": "prov-dongshan", **USERS["dongshan"].claims})
    assert federation.call("registry", "GET", f"/businesses/{own['business']}", good).status_code == 200


def _verifiers(federation: Federation) -> dict[str, Any]:
    return {name: client.app.state.federation for name, client in federation.county.clients.items()}  # type: ignore[attr-defined]


def test_a_rotated_provider_key_is_taken_after_one_refetch(federation: Federation):
    provider = federation.provider
    own = federation.records[DONGSHAN]
    claims = {"sub": "prov-dongshan", **USERS["dongshan"].claims}
    for service, (url, kwargs) in reads(own, DONGSHAN).items():  # every service holds the old key
        assert federation.call(service, "GET", url, provider.mint(claims), **kwargs).status_code == 200
    fetches = {name: verifier.fetches for name, verifier in _verifiers(federation).items()}
    old = provider.mint(claims)
    provider.rotate()
    time.sleep(REFETCH_SECONDS)  # the last fetch of any service is at least the refetch interval ago
    rotated = provider.mint(claims)
    assert jwt.get_unverified_header(rotated)["kid"] != jwt.get_unverified_header(old)["kid"]
    for service, (url, kwargs) in reads(own, DONGSHAN).items():
        answer = federation.call(service, "GET", url, rotated, **kwargs)
        assert answer.status_code == 200, (service, answer.text)
        # the old key left the provider's set: its token is refused once the set is fetched again
        assert federation.call(service, "GET", url, old, **kwargs).status_code == 401, service
    after = {name: verifier.fetches for name, verifier in _verifiers(federation).items()}
    # one fetch for the new kid; the old kid, unknown now, may cost one more only after the interval
    assert all(1 <= after[name] - fetches[name] <= 2 for name in after), (fetches, after)

    # a flood of made-up kids within the interval: at most one more fetch per service
    before = provider.requests["jwks"]
    for number in range(40):
        token = provider.mint(claims, kid=f"made-up-{number}")
        assert federation.call("alerts", "GET", f"/incidents/{own['incident']}", token).status_code == 401
    assert provider.requests["jwks"] - before <= 1 + int(2 / REFETCH_SECONDS)


def test_with_the_provider_down_identity_tokens_keep_working(federation: Federation):
    provider = federation.provider
    own = federation.records[DONGSHAN]
    claims = {"sub": "prov-dongshan", **USERS["dongshan"].claims}
    cached = provider.mint(claims)
    for service, (url, kwargs) in reads(own, DONGSHAN).items():
        assert federation.call(service, "GET", url, cached, **kwargs).status_code == 200
    county_settings = federation.county.settings
    clock = ManualClock(datetime.now(UTC))
    with running_identity(county_settings, clock, cheap_config()) as identity:
        for client in federation.county.clients.values():
            app = client.app
            app.state.token_verifier = identity.verifier(revoked=app.state.runtime.revoked)  # type: ignore[attr-defined]
        provider.stop()
        try:
            time.sleep(REFETCH_SECONDS)
            unknown = provider.mint(claims, key=new_key())  # needs a fetch the provider cannot answer
            for service, (url, kwargs) in reads(own, DONGSHAN).items():
                answer = federation.call(service, "GET", url, identity.tokens["county"], **kwargs)
                assert answer.status_code == 200, (service, answer.text)
                began = time.monotonic()
                assert federation.call(service, "GET", url, unknown, **kwargs).status_code == 401
                assert time.monotonic() - began < 5  # the fetch fails fast, it does not hang
                # the province's key already held keeps verifying while its provider is away
                assert federation.call(service, "GET", url, cached, **kwargs).status_code == 200
                # `shian token`'s tokens (tests and development) are untouched too
                assert (
                    federation.call(
                        service,
                        "GET",
                        url,
                        federation.county.headers("dongshan")["Authorization"][7:],
                        **kwargs,
                    ).status_code
                    == 200
                )
        finally:
            provider.start()
