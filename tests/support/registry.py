"""The registry's harness: the app with the demo county's places loaded over HTTP, and a helper to
register a business."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

from services.registry.app import SPEC, create
from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.county import DEFINITION, SHANGCUN
from tests.support.harness import ServiceHarness, running_service

WRITES_NOTHING = ("businesses", "licences", "staff", "health_certificates", "banquets", "outbox", "audit_log")


class Registry(ServiceHarness):
    """The registry app with a manual clock, and helpers that read its database directly."""

    writes: ClassVar[tuple[str, ...]] = WRITES_NOTHING

    def register(self, who: str = "dongshan", **fields: Any) -> dict[str, Any]:
        body = {"name": "好味餐馆", "kind": "catering", "village_id": SHANGCUN, **fields}
        response = self.as_(who, "POST", "/businesses", json=body)
        assert response.status_code == 201, response.text
        return response.json()


@contextmanager
def running_registry(
    settings: Settings, clock: ManualClock, *, load_places: bool = True
) -> Iterator[Registry]:
    """The registry app started (relay, consumers, expiry loop) and stopped around the block."""
    with running_service(Registry, SPEC, create, settings, clock) as system:
        if load_places:
            response = system.as_("county", "PUT", "/places", json=DEFINITION)
            assert response.status_code == 200, response.text
        yield system


def names_of(page: dict[str, Any]) -> list[str]:
    return [item["name"] for item in page["items"]]
