"""The demo county every test works in: its places, the people who hold tokens for it, and the
moment the pinned clocks start from. One copy, imported by the harnesses and the tests."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.auth import Role, issue_token
from shared.catalogue.registry import PlaceDefined
from shared.clock import LOCAL_ZONE
from shared.settings import Settings

COUNTY = "qingyun"
DONGSHAN = "qingyun.dongshan"
XISHUI = "qingyun.xishui"
SHANGCUN = "qingyun.dongshan.shangcun"
XIACUN = "qingyun.dongshan.xiacun"
HECUN = "qingyun.xishui.hecun"

DEFINITION: dict[str, Any] = {
    "id": COUNTY,
    "name": "青云县",
    "townships": [
        {
            "id": DONGSHAN,
            "name": "东山镇",
            "villages": [
                {"id": SHANGCUN, "name": "上村", "coordinator": "李明"},
                {"id": XIACUN, "name": "下村", "coordinator": "王芳"},
            ],
        },
        {"id": XISHUI, "name": "西水乡", "villages": [{"id": HECUN, "name": "河村", "coordinator": "张伟"}]},
    ],
}

START = datetime(2026, 3, 2, 9, 0, tzinfo=LOCAL_ZONE)  # a Monday morning: where every pinned clock starts

TOKENS: dict[str, dict[str, Any]] = {
    "county": {"subject": "county-office", "role": Role.county, "county_id": COUNTY},
    "dongshan": {"subject": "ds-office", "role": Role.township, "county_id": COUNTY, "township_id": DONGSHAN},
    "xishui": {"subject": "xs-office", "role": Role.township, "county_id": COUNTY, "township_id": XISHUI},
    "inspector": {
        "subject": "ds-inspector",
        "role": Role.inspector,
        "county_id": COUNTY,
        "township_id": DONGSHAN,
    },
    "shangcun": {
        "subject": "li-ming",
        "role": Role.village,
        "county_id": COUNTY,
        "township_id": DONGSHAN,
        "village_id": SHANGCUN,
    },
    "hecun": {
        "subject": "zhang-wei",
        "role": Role.village,
        "county_id": COUNTY,
        "township_id": XISHUI,
        "village_id": HECUN,
    },
    "ops": {"subject": "ops", "role": Role.ops, "county_id": COUNTY},
}
"""Who tests act as, by name: the claims of each one's token."""


def bearer(settings: Settings, **claims: Any) -> dict[str, str]:
    """The Authorization header of a token with these claims."""
    return {"Authorization": f"Bearer {issue_token(settings, **claims)}"}


def headers_for(settings: Settings, tokens: dict[str, dict[str, Any]] = TOKENS) -> dict[str, dict[str, str]]:
    """The Authorization header of everyone in `tokens`, signed with the settings' key."""
    return {who: bearer(settings, **claims) for who, claims in tokens.items()}


def place_events() -> list[PlaceDefined]:
    """DEFINITION as the `place.defined` events the registry publishes, parents first."""
    events = [PlaceDefined(place_id=COUNTY, level="county", name=DEFINITION["name"])]
    for township in DEFINITION["townships"]:
        events.append(
            PlaceDefined(place_id=township["id"], level="township", name=township["name"], parent_id=COUNTY)
        )
        for village in township["villages"]:
            events.append(
                PlaceDefined(
                    place_id=village["id"], level="village", name=village["name"], parent_id=township["id"]
                )
            )
    return events
