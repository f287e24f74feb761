"""HTTP: the checklist templates an inspection is recorded against."""

from __future__ import annotations

from datetime import date

from fastapi import Query
from pydantic import BaseModel

from services.inspection.checklists import templates
from shared.auth import Role
from shared.clock import local_today
from shared.deps import ClockDep, CurrentUser
from shared.errors import NotFound
from shared.routing import ServiceRouter

router = ServiceRouter(prefix="/checklists", tags=["checklists"])

READERS = (Role.county, Role.township, Role.inspector, Role.village)


class ChecklistItemRead(BaseModel):
    code: str
    text: str
    key: bool
    section: str


class ChecklistRead(BaseModel):
    kind: str
    version: int
    effective_from: date
    title: str
    minimum_items: int
    items: list[ChecklistItemRead]


def _read(template: templates.ChecklistTemplate) -> ChecklistRead:
    return ChecklistRead(
        kind=template.kind,
        version=template.version,
        effective_from=template.effective_from,
        title=template.title,
        minimum_items=template.minimum_items,
        items=[ChecklistItemRead(**vars(item)) for item in template.items],
    )


@router.get("", response_model=list[ChecklistRead], summary="Every checklist template and version")
def list_checklists(user: CurrentUser):
    user.ensure_role(*READERS)
    return [_read(template) for template in templates.all_templates()]


@router.get("/current", response_model=ChecklistRead, summary="The checklist in force for a business kind")
def current_checklist(user: CurrentUser, clock: ClockDep, business_kind: str = Query(max_length=40)):
    """The checklist an inspection of a business of this kind is recorded against today (the
    newest version in force in Beijing time); an unknown kind gets the general one, as
    `POST /inspections` does."""
    user.ensure_role(*READERS)
    kind = templates.checklist_kind_for(business_kind)
    found = templates.template_for(kind, on=local_today(clock))
    if found is None:
        raise NotFound()
    return _read(found)


@router.get("/{kind}/{version}", response_model=ChecklistRead, summary="One version of a checklist")
def get_checklist(kind: str, version: int, user: CurrentUser):
    user.ensure_role(*READERS)
    found = next((t for t in templates.versions(kind) if t.version == version), None)
    if found is None:
        raise NotFound()
    return _read(found)
