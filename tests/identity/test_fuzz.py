"""Schemathesis over identity's OpenAPI document, as tests/security does for the four services:
whatever a client sends, as the county office, a township office or nobody, no answer is a 5xx and
every answer has the shape the document promises."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.python import asgi

from shared.clock import ManualClock
from tests.support.identity import COUNTY, COUNTY_MOBILE, DONGSHAN, PASSWORD, START, cheap_config

EXAMPLES = int(os.environ.get("SHIAN_FUZZ_EXAMPLES", "10"))
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.content_type_conformance,
]
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


@dataclass
class Fuzzed:
    app: Any
    schema: Any
    headers: dict[str, dict[str, str]]


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Fuzzed]:
    """One identity app, its lifespan run by schemathesis's client, with a county office and a
    township office signed in."""
    from services.identity.accounts import service as accounts
    from services.identity.app import SPEC, create
    from shared.migrations import upgrade
    from tests.support.settings import make_settings

    base = make_settings(tmp_path_factory.mktemp("fuzz") / "var", redis_url, f"fz{uuid.uuid4().hex[:10]}")
    settings = base
    upgrade(SPEC.migrations, settings.database_url("identity"))
    clock = ManualClock(START)
    app = create(settings, clock, cheap_config(access_ttl_seconds=3600))
    try:
        client = asgi.get_client(app).__enter__()  # starts the lifespan
        with app.state.runtime.db.session() as session:
            county = accounts.bootstrap_county(
                session,
                app.state.identity,
                county_id=COUNTY,
                name="王主任",
                mobile=COUNTY_MOBILE,
                now=clock.now(),
            )

        def sign_in(mobile: str, code: str) -> dict[str, str]:
            answer = client.post("/password", json={"mobile": mobile, "code": code, "password": PASSWORD})
            assert answer.status_code == 204, answer.text
            token = client.post("/sessions", json={"mobile": mobile, "password": PASSWORD}).json()[
                "access_token"
            ]
            return {"Authorization": f"Bearer {token}"}

        headers = {"county": sign_in(COUNTY_MOBILE, county.code), "nobody": {}}
        township = client.post(
            "/accounts",
            json={"name": "东山办", "mobile": "13800000002", "role": "township", "township_id": DONGSHAN},
            headers=headers["county"],
        ).json()
        headers["township"] = sign_in("13800000002", township["code"])
        yield Fuzzed(app, schemathesis.openapi.from_asgi("/openapi.json", app), headers)
    finally:
        asgi.shutdown_lifespans()


def _operations() -> list[tuple[str, str]]:
    from fastapi.routing import APIRoute

    from services.identity.app import SPEC

    found = []
    for router in SPEC.routers:
        for route in router.routes:
            if isinstance(route, APIRoute):
                found.extend((method, route.path) for method in sorted(route.methods))
    return found


@pytest.mark.parametrize(("method", "path"), [pytest.param(m, p, id=f"{m} {p}") for m, p in _operations()])
def test_no_server_error(fuzzed: Fuzzed, method: str, path: str) -> None:
    operation = fuzzed.schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )
    headers = fuzzed.headers

    @FUZZ
    @given(case=cases, who=st.sampled_from(sorted(headers)))
    def run(case: schemathesis.Case, who: str) -> None:
        if (method, path) in (("POST", "/accounts/{account_id}/disable"), ("POST", "/keys/rotate")):
            who = "township" if who == "county" else who  # the county stays able to call the rest
        case.call_and_validate(headers=headers[who], checks=CHECKS)

    run()
