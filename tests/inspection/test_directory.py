"""The business directory, inspection's projection of the registry's businesses: what each event
sets, and what a registration seen again leaves alone."""

from __future__ import annotations

import uuid
from datetime import date

from shared.catalogue.registry import BusinessRegistered, BusinessStatusChanged, BusinessUpdated
from tests.support.county import DONGSHAN, SHANGCUN, XISHUI
from tests.support.inspection import Inspection


def test_a_registration_seen_again_refreshes_the_business_but_keeps_its_place(inspection: Inspection):
    business_id = inspection.business("好味餐馆", registered_on=date(2020, 1, 1))
    inspection.feed(
        BusinessUpdated(
            business_id=uuid.UUID(business_id),
            name="好味餐馆",
            kind="catering",
            village_id=None,
            risk_level="B",
            status="active",
        ),
        township_id=XISHUI,
    )
    inspection.feed(
        BusinessRegistered(
            business_id=uuid.UUID(business_id),
            name="好味酒家",
            kind="catering",
            village_id=SHANGCUN,
            risk_level="C",
            registered_on=date(2024, 5, 1),
        ),
        township_id=DONGSHAN,
    )
    found = inspection.as_("county", "GET", f"/directory/businesses/{business_id}").json()
    assert (found["name"], found["risk_level"], found["village_id"]) == ("好味酒家", "C", SHANGCUN)
    assert (found["township_id"], found["registered_on"]) == (XISHUI, "2020-01-01")


def test_a_change_of_status_sets_the_status_alone(inspection: Inspection):
    business_id = inspection.business("好味餐馆", risk_level="B")
    inspection.feed(
        BusinessStatusChanged(
            business_id=uuid.UUID(business_id),
            status="suspended",
            previous_status="active",
            reason="整改",
        )
    )
    found = inspection.as_("dongshan", "GET", f"/directory/businesses/{business_id}").json()
    assert (found["status"], found["risk_level"], found["name"]) == ("suspended", "B", "好味餐馆")
