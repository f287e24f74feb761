"""Schemathesis over the four services' OpenAPI documents: whatever a client sends, no answer is a 5xx,
and every answer has the shape its document promises.

The four apps run in-process on the session's real Redis with their relays and consumers and a
county loaded, so generated requests reach real rows and real scope checks. `make test` runs a short,
reproducible pass (hypothesis derandomized, `SHIAN_FUZZ_EXAMPLES` examples per operation, 10 by
default); run it longer locally with e.g. `SHIAN_FUZZ_EXAMPLES=300 .venv/bin/pytest tests/security`.

Strings are generated as valid UTF-8 (schemathesis's default codec): a lone surrogate in a JSON
string is answered by the HTTP shell for every endpoint at once, not per operation.
"""

from __future__ import annotations

import importlib
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.python import asgi

from shared.auth import Role, issue_token
from shared.migrations import upgrade
from shared.places import find_place

# The four domain services, fuzzed with `shian token`'s tokens; identity (its own tokens, sign-in
# and accounts) is fuzzed by tests/identity/test_fuzz.py.
from shared.settings import DOMAIN_SERVICES as SERVICE_NAMES
from shian.docs import endpoints
from tests.support.county import COUNTY, DEFINITION, DONGSHAN
from tests.support.security import REQUESTS
from tests.support.settings import make_settings
from tests.support.waiting import wait_for

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


class System:
    """The four apps, started, with a county loaded, and the bearer headers of who calls them."""

    def __init__(self, apps: dict[str, Any], headers: dict[str, dict[str, str]]) -> None:
        self.apps = apps
        self.headers = headers
        self.calls = 0

        self.schemas = {
            name: schemathesis.openapi.from_asgi("/openapi.json", app) for name, app in apps.items()
        }


@pytest.fixture(scope="module")
def system(
    tmp_path_factory: pytest.TempPathFactory, redis_url: str, request: pytest.FixtureRequest
) -> Iterator[System]:
    config = make_settings(tmp_path_factory.mktemp("fuzz") / "var", redis_url, f"fz{uuid.uuid4().hex[:10]}")
    apps = {}
    for name in SERVICE_NAMES:
        module = importlib.import_module(f"services.{name}.app")
        upgrade(module.SPEC.migrations, config.database_url(name))
        apps[name] = module.create(config)

    def bearer(**claims: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {issue_token(config, **claims)}"}

    headers = {
        "county": bearer(subject="county-office", role=Role.county, county_id=COUNTY),
        "township": bearer(subject="ds-office", role=Role.township, county_id=COUNTY, township_id=DONGSHAN),
    }
    try:
        clients = {name: asgi.get_client(app).__enter__() for name, app in apps.items()}  # starts lifespans
        answer = clients["registry"].put("/places", json=DEFINITION, headers=headers["county"])
        assert answer.status_code == 200, answer.text
        for name in ("inspection", "alerts", "reporting"):
            wait_for(lambda name=name: _knows_county(apps[name], name), what=f"{name} to learn the places")
        system = System(apps, headers)
        yield system
        request.config.stash[REQUESTS] = request.config.stash.get(REQUESTS, 0) + system.calls
    finally:
        asgi.shutdown_lifespans()


def _knows_county(app: Any, name: str) -> bool:
    table = importlib.import_module(f"services.{name}.database").place_directory
    with app.state.runtime.db.session() as session:
        return all(
            find_place(session, table, village["id"])
            for t in DEFINITION["townships"]
            for village in t["villages"]
        )


WHO = st.sampled_from(("county", "township"))


@pytest.mark.parametrize(
    ("service", "method", "path"),
    [pytest.param(s, m, p, id=f"{s} {m} {p}") for s, m, p, _ in endpoints() if s in SERVICE_NAMES],
)
def test_no_server_error(system: System, service: str, method: str, path: str) -> None:
    """Valid and invalid requests alike (schemathesis's positive and negative modes), each as the
    county office or a township: never a 5xx, always the documented shape."""
    operation = system.schemas[service][path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @FUZZ
    @given(case=cases, who=WHO)
    def run(case: schemathesis.Case, who: str) -> None:
        system.calls += 1
        case.call_and_validate(headers=system.headers[who], checks=CHECKS)

    run()
