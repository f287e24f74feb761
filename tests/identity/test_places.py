"""Identity keeps the county's places from the registry's stream and checks the accounts' places
against them once it has them."""

from __future__ import annotations

import time

import redis
import sqlalchemy as sa

from shared.bus import OutgoingEvent, encode_message
from shared.catalogue.registry import PlaceDefined
from shared.events import Envelope
from tests.support.identity import COUNTY, DONGSHAN, HECUN, SHANGCUN, XISHUI, IdentityApp

PLACES = [
    (COUNTY, "county", "青云县", None),
    (DONGSHAN, "township", "东山镇", COUNTY),
    (XISHUI, "township", "西水乡", COUNTY),
    (SHANGCUN, "village", "上村", DONGSHAN),
    (HECUN, "village", "河村", XISHUI),
]


def _publish_places(identity: IdentityApp) -> None:
    """The registry's `place.defined` events, on the registry's stream as the registry writes them."""
    client = redis.Redis.from_url(identity.settings.redis_url)
    stream = identity.settings.stream("registry")
    try:
        for place_id, level, name, parent in PLACES:
            envelope = Envelope.wrap(
                PlaceDefined(place_id=place_id, level=level, name=name, parent_id=parent),
                county_id=COUNTY,
                township_id=place_id if level == "township" else parent if level == "village" else None,
                actor="county:office",
            )
            item = OutgoingEvent(stream, envelope.to_bytes(), str(envelope.event_id), envelope.type)
            client.xadd(stream, {"__data__": encode_message(item)})
    finally:
        client.close()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with identity.runtime.db.engine.connect() as connection:
            count = connection.execute(sa.text("SELECT count(*) FROM place_directory")).scalar_one()
        if count == len(PLACES):
            return
        time.sleep(0.1)
    raise AssertionError("identity did not take the places from the registry's stream")


def test_accounts_name_places_the_county_has_once_identity_knows_them(offices: IdentityApp):
    # before the registry has told identity of the county, places are taken as given
    offices.create(
        "county", name="甲", mobile="13900000001", role="inspector", township_id="qingyun.elsewhere"
    )
    _publish_places(offices)
    unknown = offices.as_(
        "county",
        "POST",
        "/accounts",
        json={"name": "乙", "mobile": "13900000002", "role": "inspector", "township_id": "qingyun.elsewhere"},
    )
    assert unknown.status_code == 422 and unknown.json()["detail"][0]["loc"] == ["body", "township_id"]
    elsewhere = offices.as_(
        "dongshan",
        "POST",
        "/accounts",
        json={"name": "丙", "mobile": "13900000003", "role": "village", "village_id": HECUN},
    )
    assert elsewhere.status_code == 422 and elsewhere.json()["detail"][0]["loc"] == ["body", "village_id"]
    assert offices.create("dongshan", name="丁", mobile="13900000004", role="village", village_id=SHANGCUN)
    rows = [
        {"village_id": SHANGCUN, "name": "李明", "mobile": "13900000011"},
        {"village_id": HECUN, "name": "张伟", "mobile": "13900000012"},
    ]
    bulk = offices.as_(
        "county", "POST", "/accounts/coordinators", json={"township_id": DONGSHAN, "villages": rows}
    )
    assert bulk.status_code == 422 and bulk.json()["detail"][0]["loc"] == ["body", "villages.1.village_id"]
