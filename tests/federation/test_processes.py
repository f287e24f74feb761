"""Federation and machine scopes with the five services as real processes (`shian.launcher.System`,
as `shian up` starts them), configured only through their environment: a province's OIDC provider
(tests/support/oidc.py, a real HTTP server on 127.0.0.1) signs its users in over HTTP, and their
tokens work in every domain service within their township; identity's machine accounts reach
exactly the routes of their scopes; identity rotates its key and every service takes the new one
within the shipped refetch interval (10 s), with no restart."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from shared.auth import Role
from shared.clock import local_today
from shared.localredis import free_port
from shared.settings import DATA_SERVICES, SERVICE_NAMES
from shian.demo import load_demo_accounts, read_county
from shian.launcher import System
from tests.support.oidc import CLIENT_ID, LocalOidcProvider
from tests.support.system import place_headers, service_env, start_or_fail

pytestmark = pytest.mark.e2e

SECRET = "fed-e2e-secret-key-" + "0f1e2d3c4b5a6978" * 2
DONGSHAN, XISHUI, SHANGCUN, HECUN = (
    "qingyun.dongshan",
    "qingyun.xishui",
    "qingyun.dongshan.shangcun",
    "qingyun.xishui.hecun",
)
DEADLINE = 30.0
SHIPPED_REFETCH_SECONDS = 10.0
READS = {
    "registry": "/businesses",
    "inspection": "/coverage",
    "alerts": "/incidents",
    "reporting": "/activities/trainings",
}
PERIOD = {"from": (local_today() - timedelta(days=30)).isoformat(), "to": local_today().isoformat()}


def _logs(system: System) -> str:
    parts = []
    for name, proc in system.processes.items():
        lines = system.log_tail(name, 300).splitlines()
        errors = [line for line in lines if "Error" in line or "error" in line or "refused" in line]
        parts.append(f"--- {name} ({proc.log_path}) ---\n" + ("\n".join(errors[-12:]) or "(nothing logged)"))
    return "\n".join(parts)


@pytest.fixture(scope="module")
def provider() -> Iterator[LocalOidcProvider]:
    from tests.federation.test_oidc import USERS

    with LocalOidcProvider(users=dict(USERS)) as running:
        yield running


@pytest.fixture(scope="module")
def system(
    redis_url: str, tmp_path_factory: pytest.TempPathFactory, provider: LocalOidcProvider
) -> Iterator[System]:
    from tests.federation.test_oidc import PLACE_MAP, ROLE_MAP

    var_dir = tmp_path_factory.mktemp("fed-e2e") / "var"
    prefix = f"fed{uuid.uuid4().hex[:10]}"
    env = service_env(
        var_dir,
        prefix,
        SECRET,
        SHIAN_OIDC_ISSUER=provider.issuer,
        SHIAN_OIDC_AUDIENCE=CLIENT_ID,
        SHIAN_OIDC_ROLE_CLAIM="realm_access.roles",
        SHIAN_OIDC_ROLE_MAP=json.dumps(ROLE_MAP),
        SHIAN_OIDC_PLACE_CLAIM="division_code",
        SHIAN_OIDC_PLACE_MAP=json.dumps(PLACE_MAP),
    )
    launched = System(
        var_dir=var_dir,
        redis_url=redis_url,
        ports={name: free_port() for name in SERVICE_NAMES},
        env=env,
    )
    try:
        start_or_fail(launched, _logs)
        yield launched
    finally:
        launched.stop()


def eventually(check: Callable[[], Any], what: str, system: System, timeout: float = DEADLINE) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = check()
        if last:
            return last
        time.sleep(0.1)
    pytest.fail(f"timed out after {timeout}s waiting for {what} (last: {last!r})\n{_logs(system)}")


def test_province_users_machines_and_a_rotated_key_across_the_real_services(
    system: System, provider: LocalOidcProvider
) -> None:
    clients = {name: httpx.Client(base_url=system.urls[name], timeout=15) for name in DATA_SERVICES}
    registry, inspection, alerts, reporting, identity = (clients[name] for name in DATA_SERVICES)

    def dev(role: Role, place: str) -> dict[str, str]:
        return place_headers(system.settings, role, place, subject=f"fed-{role.value}")

    definition = read_county()
    assert (
        registry.put(
            "/places", json=definition.model_dump(mode="json"), headers=dev(Role.county, "qingyun")
        ).status_code
        == 200
    )
    xishui = registry.post(
        "/businesses",
        json={"name": "西水饭店", "kind": "catering", "village_id": HECUN},
        headers=dev(Role.township, XISHUI),
    )
    assert xishui.status_code == 201, xishui.text
    xishui_id = xishui.json()["id"]

    # --- a province's township user, signed in at the province ---
    province = {"Authorization": f"Bearer {provider.password_grant('dongshan')['access_token']}"}
    created = registry.post(
        "/businesses",
        json={"name": "联邦东山饭店", "kind": "catering", "village_id": SHANGCUN},
        headers=province,
    )
    assert created.status_code == 201, f"{created.text}\n{_logs(system)}"
    business_id = created.json()["id"]
    assert registry.get(f"/businesses/{xishui_id}", headers=province).status_code == 404
    eventually(
        lambda: inspection.get(f"/directory/businesses/{business_id}", headers=province).status_code == 200,
        "inspection to take the province's token and know the business",
        system,
    )
    eventually(
        lambda: (
            inspection.get(
                f"/directory/businesses/{xishui_id}", headers=dev(Role.county, "qingyun")
            ).status_code
            == 200
        ),
        "inspection to know Xishui's business",
        system,
    )
    assert inspection.get(f"/directory/businesses/{xishui_id}", headers=province).status_code == 404
    incident = alerts.post(
        "/incidents",
        json={"township_id": DONGSHAN, "ill_count": 2, "place_kind": "other", "description": "联邦上报"},
        headers=province,
    )
    assert incident.status_code == 201, incident.text
    assert alerts.get(f"/incidents/{incident.json()['id']}", headers=province).status_code == 200
    eventually(
        lambda: reporting.get(f"/summaries/{DONGSHAN}", params=PERIOD, headers=province).status_code == 200,
        "reporting to take the province's token",
        system,
    )
    assert reporting.get(f"/summaries/{XISHUI}", params=PERIOD, headers=province).status_code == 404
    forged = provider.mint(
        {"sub": "x", "realm_access": {"roles": ["spj-county"]}, "division_code": "331001"}, kid="nope"
    )
    for name, path in READS.items():  # a kid the provider never published: refused everywhere
        answer = clients[name].get(path, headers={"Authorization": f"Bearer {forged}"})
        assert answer.status_code == 401, (name, answer.text)

    # --- identity: the county office signs in and makes machine accounts ---
    accounts = load_demo_accounts(system.settings, definition)
    office = next(account for account in accounts if account.role == "county")
    signed = identity.post("/sessions", json={"mobile": office.mobile, "password": office.password})
    assert signed.status_code == 201, signed.text
    county = {"Authorization": f"Bearer {signed.json()['access_token']}"}

    def machine(scopes: list[str]) -> dict[str, str]:
        made = identity.post("/machines", json={"name": "省平台", "scopes": scopes}, headers=county)
        assert made.status_code == 201, made.text
        issued = made.json()
        token = identity.post(
            "/token",
            data={
                "grant_type": "client_credentials",
                "client_id": issued["machine"]["client_id"],
                "client_secret": issued["client_secret"],
            },
        )
        assert token.status_code == 200, token.text
        return {"Authorization": f"Bearer {token.json()['access_token']}"}

    figures = machine(["reporting:read"])
    importer = machine(["registry:import"])
    eventually(
        lambda: reporting.get("/statistics/qingyun", params=PERIOD, headers=figures).status_code == 200,
        "reporting to take the machine's token",
        system,
    )
    assert reporting.get(f"/statistics/{XISHUI}", params=PERIOD, headers=figures).status_code == 200
    for name, path in (
        ("registry", "/businesses"),
        ("alerts", "/incidents"),
        ("reporting", "/activities/trainings"),
    ):
        assert clients[name].get(path, headers=figures).status_code == 403, name
    from services.registry.imports import ledger

    header = ",".join(column.label for column in ledger.COLUMNS)
    imported = registry.post(
        "/imports/businesses",
        content=f"{header}\n夜间导入饭店,餐饮单位,{HECUN},,,,,,,,,,,\n".encode(),
        headers=importer,
    )
    assert imported.status_code == 200 and imported.json()["imported"] == 1, imported.text
    assert (
        registry.post(
            "/businesses", json={"name": "x", "kind": "catering", "village_id": HECUN}, headers=importer
        ).status_code
        == 403
    )

    # --- identity rotates its key: every service takes the new one within the shipped interval ---
    reads = READS
    for name, path in reads.items():
        assert clients[name].get(path, headers=county).status_code == 200, name
    rotated = identity.post("/keys/rotate", headers=county)
    assert rotated.status_code == 201, rotated.text
    again = identity.post("/sessions", json={"mobile": office.mobile, "password": office.password})
    new = {"Authorization": f"Bearer {again.json()['access_token']}"}
    began = time.monotonic()
    taken: dict[str, float] = {}
    while len(taken) < len(reads) and time.monotonic() - began < SHIPPED_REFETCH_SECONDS + 10:
        for name, path in reads.items():
            if name not in taken and clients[name].get(path, headers=new).status_code == 200:
                taken[name] = time.monotonic() - began
        time.sleep(0.2)
    assert set(taken) == set(reads), taken
    assert max(taken.values()) <= SHIPPED_REFETCH_SECONDS + 5, taken
    for name, path in reads.items():  # the retired key's token is still good until it expires
        assert clients[name].get(path, headers=county).status_code == 200, name
    print(f"\nseconds until each service took the rotated key: {taken}")
