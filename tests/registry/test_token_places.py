"""A token is a credential only for places the registry knows (hardening issue, item 10).

A token for another county id created a new county through PUT /places. Now a token naming a
county, township or village that is not defined is 401 and writes nothing; before any place is
defined, only a county token for the deployment's own county may load the definition.
"""

from __future__ import annotations

from typing import Any

import pytest

from shared.auth import Role, issue_token
from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.county import COUNTY, DEFINITION, DONGSHAN, SHANGCUN, START
from tests.support.registry import WRITES_NOTHING, Registry, running_registry
from tests.support.settings import make_settings

OTHER = {**DEFINITION, "id": "other", "name": "别县", "townships": [{"id": "other.t", "name": "别镇"}]}
TABLES = (*WRITES_NOTHING, "places")


def bearer(settings: Settings, **claims: Any) -> dict[str, str]:
    return {"Authorization": f"Bearer {issue_token(settings, subject='mallory', **claims)}"}


UNKNOWN_PLACES = {
    "another county": {"role": Role.county, "county_id": "other"},
    "an unknown township": {"role": Role.township, "county_id": COUNTY, "township_id": "qingyun.nowhere"},
    "a village as township": {"role": Role.township, "county_id": COUNTY, "township_id": SHANGCUN},
    "an unknown village": {
        "role": Role.village,
        "county_id": COUNTY,
        "township_id": DONGSHAN,
        "village_id": "qingyun.dongshan.nowhere",
    },
    "a village of another township": {
        "role": Role.village,
        "county_id": COUNTY,
        "township_id": "qingyun.xishui",
        "village_id": SHANGCUN,
    },
    "a county token naming a township": {"role": Role.county, "county_id": COUNTY, "township_id": DONGSHAN},
    "ops of another county": {"role": Role.ops, "county_id": "other"},
}


def test_a_token_for_another_county_cannot_define_it(registry: Registry):
    before = registry.counts(*TABLES)
    response = registry.client.put(
        "/places", json=OTHER, headers=bearer(registry.settings, **UNKNOWN_PLACES["another county"])
    )
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert registry.counts(*TABLES) == before


@pytest.mark.parametrize("case", sorted(UNKNOWN_PLACES))
def test_a_token_for_a_place_not_defined_is_refused_everywhere(registry: Registry, case: str):
    headers = bearer(registry.settings, **UNKNOWN_PLACES[case])
    business = registry.register()
    before = registry.counts(*TABLES)
    for method, url, body in (
        ("GET", "/places", None),
        ("GET", "/businesses", None),
        ("GET", f"/businesses/{business['id']}", None),
        ("POST", "/businesses", {"name": "假饭店", "kind": "catering", "village_id": SHANGCUN}),
        ("PUT", "/places", DEFINITION),
    ):
        response = registry.client.request(method, url, json=body, headers=headers)
        assert response.status_code == 401, (case, method, url, response.text)
    assert registry.counts(*TABLES) == before


def test_the_first_definition_is_loaded_only_for_the_deployments_county(settings: Settings):
    with running_registry(settings, ManualClock(START), load_places=False) as registry:
        other = bearer(settings, role=Role.county, county_id="other")
        assert registry.client.put("/places", json=OTHER, headers=other).status_code == 401
        assert registry.counts("places")["places"] == 0
        township = bearer(settings, role=Role.township, county_id=COUNTY, township_id=DONGSHAN)
        assert registry.client.put("/places", json=DEFINITION, headers=township).status_code == 401
        # the demo county's id is the default: the county file `shian token` reads
        assert registry.as_("county", "PUT", "/places", json=DEFINITION).status_code == 200
        # the places just defined are credentials at once
        assert registry.as_("dongshan", "GET", "/places").status_code == 200
        assert registry.as_("shangcun", "GET", "/banquets").status_code == 200
        # a township added later too
        grown = {
            **DEFINITION,
            "townships": [*DEFINITION["townships"], {"id": "qingyun.nanshan", "name": "南山镇"}],
        }
        assert registry.as_("county", "PUT", "/places", json=grown).status_code == 200
        nanshan = bearer(settings, role=Role.township, county_id=COUNTY, township_id="qingyun.nanshan")
        assert registry.client.get("/businesses", headers=nanshan).status_code == 200


def test_shian_county_id_names_the_county_to_bootstrap(tmp_path, redis_url: str, stream_prefix: str):
    settings = make_settings(tmp_path / "var", redis_url, stream_prefix, county_id="other")
    with running_registry(settings, ManualClock(START), load_places=False) as registry:
        assert registry.as_("county", "PUT", "/places", json=DEFINITION).status_code == 401
        other = bearer(settings, role=Role.county, county_id="other")
        assert registry.client.put("/places", json=OTHER, headers=other).status_code == 200
        assert registry.client.get("/places", headers=other).status_code == 200
        assert registry.as_("county", "GET", "/places").status_code == 401


def test_checking_the_place_reads_the_places_once_not_per_request(registry: Registry):
    known = registry.client.app.state.known_places  # type: ignore[attr-defined]
    registry.as_("dongshan", "GET", "/businesses")
    reloads, lookups = known.reloads, known.lookups
    for who in ("county", "dongshan", "inspector", "shangcun", "hecun", "ops") * 5:
        registry.as_(who, "GET", "/places")
    assert (known.reloads, known.lookups) == (reloads, lookups)


def test_only_the_first_definition_is_bootstrapped(registry: Registry):
    """Once a county is defined, a token for a county not defined is refused, even the county a
    changed configuration names: the bootstrap is for an empty registry only."""
    app = registry.client.app
    app.state.settings = registry.settings.model_copy(update={"county_id": "other"})  # type: ignore[attr-defined]
    before = registry.counts(*TABLES)
    other = bearer(registry.settings, role=Role.county, county_id="other")
    assert registry.client.put("/places", json=OTHER, headers=other).status_code == 401
    assert registry.counts(*TABLES) == before
